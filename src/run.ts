// One run, the same for every front door: inventory -> plan -> apply -> gc. Reporting is the caller's.
import { createWriteStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { finished } from 'node:stream/promises'
import { apply } from './apply.js'
import { CachedReads, DigestCache, type CacheStats, type InventoryReads } from './cache.js'
import { collectGarbage, measureBefore, openGc } from './gc/gc.js'
import { ConfigDates, readRepositories } from './inventory.js'
import { PhaseClock, requestsBetween, type Phases } from './phases.js'
import { Planner } from './plan.js'
import { RegistryClient } from './registry/client.js'
import { writeJson } from './report/json.js'
import { addUntagged, listUntagged } from './untagged.js'
import type { Shell } from './gc/shell.js'
import type { ApplyResult, GcResult, Io, Logger, Plan, Settings } from './types.js'

export interface RunResult {
  settings: Settings
  startedAt: number
  plan: Plan
  /** Undefined on a dry run, and when `prune` is false. */
  applied: ApplyResult | undefined
  gc: GcResult | undefined
  /** HTTP requests by kind, for the report and the benchmark. */
  requests: Record<string, number>
  /** Why the run must end non-zero although it finished (skipped repositories, failed deletions, failed GC). */
  failures: string[]
  /** What the run could not do as asked but worked around (untagged not listed, storage not measured). */
  warnings: string[]
  /** How long each phase took and the requests it sent (issue 15). */
  phases?: Phases
  /** What the cache between runs gave; undefined without `cache-file`. */
  cache?: CacheStats & { file: string }
}

export async function run(settings: Settings, io: Io): Promise<RunResult> {
  const { log } = io
  const startedAt = io.now()
  // DECISIONS 8: with SSH, connect and check the host key before the first request to the registry.
  const shell = await openGc(settings.gc, log)
  if (settings.insecureSkipTlsVerify) {
    log.warning('insecure-skip-tls-verify is on: the registry\'s TLS certificate is not checked. Prefer ca-cert.')
  }
  const client = new RegistryClient({ ...settings, now: io.now, ...(io.sleep ? { sleep: io.sleep } : {}) })
  const clock = new PhaseClock()
  try {
    const cache = settings.cacheFile && settings.prune ? await DigestCache.load(settings.cacheFile, settings.registry, log) : undefined
    // Only the inventory reads through the cache: apply's re-check always GETs and hashes what tags point at now.
    const reads: InventoryReads = cache ? new CachedReads(client, cache) : client
    const start = { ...client.stats }
    const { planned, sizes, warnings } = await clock.time('inventory', () => inventoryAndPlan(settings, reads, shell, io))
    const inventoried = { ...client.stats }
    await writeFile(settings.planFile, '') // fail early on an unwritable path, before anything is deleted
    const storage = shell ? await clock.time('gc', () => measureStorage(shell, settings, log)) : { storageBytesBefore: undefined }
    const applied = settings.prune && !settings.dryRun
      ? await log.group('Delete', () => apply(client, planned, settings, log, clock))
      : undefined
    const deleted = { ...client.stats }
    // A failing collector must not cost the record of what was deleted: it becomes a failure of the finished run.
    let gc: GcResult | undefined
    let gcFailure: string | undefined
    if (shell) {
      try {
        gc = await clock.time('gc', () =>
          collectGarbage(shell, settings.gc, { dryRun: settings.dryRun, blobSizes: sizes, ...storage }, log),
        )
      } catch (error) {
        gcFailure = (error as Error).message
      }
    }
    if (cache && settings.cacheFile) await saveCache(cache, settings.cacheFile, io, warnings)
    const result: RunResult = {
      settings,
      startedAt,
      plan: planned,
      applied,
      gc,
      requests: { ...client.stats },
      failures: [...failures(settings, planned, applied), ...(gcFailure ? [gcFailure] : [])],
      warnings,
      phases: {
        inventory: { seconds: clock.seconds('inventory'), requests: requestsBetween(start, inventoried) },
        // Re-checks and deletions overlap (repositories side by side); the kind of request tells them apart.
        recheck: {
          seconds: clock.seconds('recheck'),
          requests: requestsBetween(inventoried, deleted) - requestsBetween(inventoried, deleted, ['delete']),
        },
        deletions: { seconds: clock.seconds('deletions'), requests: requestsBetween(inventoried, deleted, ['delete']) },
        gc: { seconds: clock.seconds('gc'), requests: 0 },
      },
      ...(cache && settings.cacheFile ? { cache: { file: settings.cacheFile, ...cache.stats } } : {}),
    }
    await writePlanFile(result)
    return result
  } finally {
    await Promise.allSettled([client.close(), shell?.close()])
  }
}

/** A cache that cannot be written costs the next run time, not this run its result: a warning. */
async function saveCache(cache: DigestCache, file: string, io: Io, warnings: string[]): Promise<void> {
  try {
    await cache.save(file, io.now())
  } catch (error) {
    const message = `cache-file ${file} could not be written: ${(error as Error).message}`
    io.log.warning(message)
    warnings.push(message)
  }
}

async function writePlanFile(result: RunResult): Promise<void> {
  const out = createWriteStream(result.settings.planFile)
  await writeJson(result, out)
  out.end()
  await finished(out)
}

/** `du -sb` of storage-path before the first delete; a failure is kept for the report, GC then counts blob sizes. */
async function measureStorage(
  shell: Shell,
  settings: Settings,
  log: Logger,
): Promise<{ storageBytesBefore: number | undefined; storageUnreadable?: string }> {
  try {
    return { storageBytesBefore: await measureBefore(shell, settings.gc) }
  } catch (error) {
    log.warning((error as Error).message)
    return { storageBytesBefore: undefined, storageUnreadable: (error as Error).message }
  }
}

/**
 * Inventory and plan, one repository at a time: each is planned as soon as it is read and its inventory let go, so
 * a run holds the plan and one size per blob, not a registry's worth of manifests (issue 6).
 */
async function inventoryAndPlan(
  settings: Settings,
  client: InventoryReads,
  shell: Shell | undefined,
  io: Io,
): Promise<{ planned: Plan; sizes: Map<string, number>; warnings: string[] }> {
  const { log } = io
  const warnings: string[] = []
  const planner = new Planner(settings, io.now())
  if (settings.prune) {
    const untagged = settings.untagged === 'delete' ? await listUntagged(shell, settings, log) : undefined
    if (untagged && 'note' in untagged) warnings.push(untagged.note)
    const dates = new ConfigDates(client)
    await log.group('Inventory', () =>
      readRepositories(client, settings, dates, log, async (read) => {
        planner.add(untagged ? await addUntagged(read, untagged, client, settings, dates) : read)
      }),
    )
  }
  return { planned: planner.finish(), sizes: shell ? planner.blobSizes : new Map(), warnings }
}

function failures(settings: Settings, planned: Plan, applied: ApplyResult | undefined): string[] {
  const out: string[] = []
  if (settings.failOnSkipped) {
    for (const r of planned.repositories) {
      if (r.skipped) out.push(`${r.name} was skipped: ${r.skipped}`)
    }
  }
  for (const r of applied?.repositories ?? []) if (r.error) out.push(`${r.name}: ${r.error}`)
  return out
}
