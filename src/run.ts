// One run, the same for every front door: inventory -> plan -> apply -> gc. Reporting is the caller's.
// Once planning is done, the run always ends with a record: whatever stops it (a registry refusing deletes, a crash,
// SIGINT/SIGTERM from a cancelled job), the plan file says what was deleted, what failed and what was not attempted.
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rename, rm, writeFile } from 'node:fs/promises'
import { finished } from 'node:stream/promises'
import { apply } from './apply.js'
import { CachedReads, DigestCache, type InventoryReads } from './cache.js'
import { collectGarbage, measureBefore, openGc } from './gc/gc.js'
import { listLinkTimes } from './gc/storage.js'
import { ConfigDates, readRepositories } from './inventory.js'
import { PhaseClock, requestsBetween } from './phases.js'
import { Planner, ruleChooser } from './plan.js'
import { pushTimes } from './pushed.js'
import { RegistryClient } from './registry/client.js'
import { secretsOf } from './redact.js'
import { writeJson } from './report/json.js'
import { plainRule } from './rules.js'
import { addUntagged, listUntagged } from './untagged.js'
import type { Shell } from './gc/shell.js'
import type { BlobSizes } from './reclaim.js'
import type { ApplyResult, Io, Logger, Plan, RunResult, Settings, UntaggedListingReport } from './types.js'

export type { RunResult } from './types.js'

/** How long deletions in flight may take to finish once a signal came (DECISIONS 26). */
export const GRACE_MS = 5_000

export async function run(given: Settings, io: Io): Promise<RunResult> {
  // Settings made by hand (tests, the benchmark) without rules run as their plain inputs, as parseSettings makes them.
  const settings = given.rules.length > 0 ? given : { ...given, rules: [plainRule(given)] }
  const { log } = io
  const startedAt = io.now()
  // DECISIONS 8: with SSH, connect and check the host key before the first request to the registry.
  const shell = await openGc(settings.gc, log, secretsOf(settings))
  if (settings.insecureSkipTlsVerify) {
    log.warning('insecure-skip-tls-verify is on: the registry\'s TLS certificate is not checked. Prefer ca-cert.')
  }
  const origin = settings.credentialOrigin
  if (origin?.kind === 'found') log.info(`Credentials: user ${JSON.stringify(settings.username)} from ${origin.used}`)
  if (origin?.kind === 'none') log.debug(`No credentials for the registry; looked in ${origin.looked.join(', ')}`)
  const client = new RegistryClient({ ...settings, now: io.now, ...(io.sleep ? { sleep: io.sleep } : {}) })
  const clock = new PhaseClock()
  let cache: DigestCache | undefined
  try {
    await checkPlanFileWritable(settings.planFile) // fail early on an unwritable path, before anything is deleted
    cache = settings.cacheFile && settings.prune ? await DigestCache.load(settings.cacheFile, settings.registry, log, io.now) : undefined
    // Only the inventory reads through the cache: apply's re-check always GETs and hashes what tags point at now.
    const reads: InventoryReads = cache ? new CachedReads(client, cache) : client
    const start = { ...client.stats }
    const planning = clock.time('inventory', () => inventoryAndPlan(settings, reads, shell, io))
    const planned = await untilInterrupted(planning, io.signal, 0)
    const inventoried = { ...client.stats }
    const result: RunResult = {
      settings,
      startedAt,
      plan: planned === INTERRUPTED ? { repositories: [], reclaimableBytes: 0, untaggedReclaimableBytes: 0 } : planned.planned,
      applied: undefined,
      gc: undefined,
      requests: {},
      failures: [],
      warnings: planned === INTERRUPTED ? [] : planned.warnings,
      ...(planned !== INTERRUPTED && planned.untaggedListing ? { untaggedListing: planned.untaggedListing } : {}),
    }
    if (planned === INTERRUPTED) {
      result.failures.push(`${interruption(io.signal)} while reading the registry: nothing was deleted`)
    } else {
      result.failures.push(...planFailures(settings, planned.planned, planned.literal))
      if (settings.prune && !settings.dryRun) await io.confirm?.(planned.planned) // throws when declined: nothing deleted yet
      await carryOut(result, { client, shell, sizes: planned.sizes, io, clock })
      // Not on the way out after a signal: the grace period is for the record, not for the next run's speed-up.
      if (cache && !io.signal?.aborted) await saveCache(cache, io, result.warnings)
    }
    result.requests = { ...client.stats }
    result.phases = {
      inventory: { seconds: clock.seconds('inventory'), requests: requestsBetween(start, inventoried) },
      // Re-checks and deletions overlap (repositories side by side); the kind of request tells them apart. The
      // collector sends no HTTP request.
      recheck: {
        seconds: clock.seconds('recheck'),
        requests: requestsBetween(inventoried, result.requests) - requestsBetween(inventoried, result.requests, ['delete']),
      },
      deletions: { seconds: clock.seconds('deletions'), requests: requestsBetween(inventoried, result.requests, ['delete']) },
      gc: { seconds: clock.seconds('gc'), requests: 0 },
    }
    if (cache && settings.cacheFile) result.cache = { file: settings.cacheFile, ...cache.stats }
    if (io.signal?.aborted) result.interrupted = interruption(io.signal)
    await writePlanFile(result)
    return result
  } finally {
    // A run cut short, or one that failed before saving, leaves the old file as it was.
    await cache?.discard()
    // A run cut short does not wait for requests it no longer needs.
    if (io.signal?.aborted) void client.close()
    else await Promise.allSettled([client.close(), shell?.close()])
    if (io.signal?.aborted) void shell?.close()
  }
}

interface Parts {
  client: RegistryClient
  shell: Shell | undefined
  sizes: BlobSizes
  io: Io
  clock: PhaseClock
}

/** Deletions, then GC; every failure becomes one of the run's failures, so the record is still written. */
/** A cache that cannot be written costs the next run time, not this run its result: a warning. */
async function saveCache(cache: DigestCache, io: Io, warnings: string[]): Promise<void> {
  try {
    await cache.save()
  } catch (error) {
    const message = `cache-file ${cache.path} could not be written: ${(error as Error).message}`
    io.log.warning(message)
    warnings.push(message)
  }
}

async function carryOut(result: RunResult, { client, shell, sizes, io, clock }: Parts): Promise<void> {
  const { settings } = result
  const { log } = io
  let deletionsFinished = true
  try {
    const storage = shell ? await clock.time('gc', () => measureStorage(shell, settings, log)) : { storageBytesBefore: undefined }
    if (settings.prune && !settings.dryRun) {
      const into: ApplyResult = { repositories: [] }
      result.applied = into
      const deleting = log.group('Delete', () =>
        apply(client, result.plan, settings, log, { into, clock, ...(io.signal ? { signal: io.signal } : {}) }),
      )
      let stoppedBy: string | undefined
      try {
        if ((await untilInterrupted(deleting, io.signal, GRACE_MS)) === INTERRUPTED) deletionsFinished = false
      } catch (error) {
        // The registry refuses deletes everywhere (disabled, read-only): said once, not once per repository.
        deletionsFinished = false
        stoppedBy = (error as Error).message
        result.failures.push(stoppedBy)
      }
      settleInFlight(into)
      for (const r of into.repositories) {
        if (r.error && r.error !== stoppedBy) result.failures.push(`${r.name}: ${r.error}`)
      }
    }
    if (io.signal?.aborted) {
      result.failures.push(`${interruption(io.signal)}: no deletion was started after it${shell ? ', and garbage collection did not run' : ''}`)
      return
    }
    if (!shell) return
    if (!deletionsFinished) {
      result.warnings.push('Garbage collection did not run: the deletions did not finish.')
      return
    }
    // A failing collector must not cost the record of what was deleted: it becomes a failure of the finished run.
    const collecting = clock.time('gc', () =>
      collectGarbage(shell, settings.gc, { dryRun: settings.dryRun, blobSizes: sizes, ...storage }, log),
    )
    const gc = await untilInterrupted(collecting, io.signal, GRACE_MS)
    if (gc === INTERRUPTED) {
      result.failures.push(`${interruption(io.signal)} during garbage collection: the collector may still be running`)
    } else {
      result.gc = gc
    }
  } catch (error) {
    // A crash after planning: the record of what was done so far still gets written.
    result.failures.push((error as Error).message)
  }
}

/** A DELETE sent and never answered in time: its fate is unknown, so it is recorded as failed, not as deleted. */
function settleInFlight(applied: ApplyResult): void {
  for (const r of applied.repositories) {
    if (r.inFlight === undefined) continue
    r.failed ??= r.inFlight
    r.error ??= 'interrupted while its DELETE was in flight: it may or may not be deleted'
    r.inFlight = undefined
  }
}

const INTERRUPTED = Symbol('interrupted')

/**
 * The work's result, or INTERRUPTED once `signal` aborts and `graceMs` more have passed without the work ending.
 * The work is not cancelled: it is only no longer waited for.
 */
async function untilInterrupted<T>(work: Promise<T>, signal: AbortSignal | undefined, graceMs: number) {
  if (!signal) return work
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const cut = new Promise<typeof INTERRUPTED>((resolve) => {
    const start = () => (timer = setTimeout(() => resolve(INTERRUPTED), graceMs))
    if (signal.aborted) start()
    else signal.addEventListener('abort', (onAbort = start), { once: true })
  })
  work.catch(() => undefined) // a rejection after the cut has no one left to hear it
  try {
    return await Promise.race([work, cut])
  } finally {
    clearTimeout(timer)
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}

function interruption(signal: AbortSignal | undefined): 'SIGINT' | 'SIGTERM' {
  return signal?.reason === 'SIGINT' ? 'SIGINT' : 'SIGTERM'
}

/** The plan file's directory takes a new file (the record is written there, then renamed into place). */
async function checkPlanFileWritable(path: string): Promise<void> {
  const probe = `${path}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(probe, '')
  await rm(probe, { force: true })
}

/** Written beside its final path, then renamed: the plan file is never left empty or cut short (issue 11). */
async function writePlanFile(result: RunResult): Promise<void> {
  const path = result.settings.planFile
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const out = createWriteStream(temporary)
    await writeJson(result, out)
    out.end()
    await finished(out)
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
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
): Promise<{
  planned: Plan
  sizes: BlobSizes
  warnings: string[]
  literal: Set<string>
  untaggedListing?: UntaggedListingReport
}> {
  const { log } = io
  const warnings: string[] = []
  const planner = new Planner(settings.rules, io.now())
  const ruleOf = ruleChooser(settings.rules)
  let literal = new Set<string>()
  let untaggedListing: UntaggedListingReport | undefined
  if (settings.prune) {
    // Both storage listings come before any tag is read (a manifest pushed later is never taken for an old one).
    const untaggedWanted = settings.rules.some((rule) => rule.untagged === 'delete')
    const untagged = untaggedWanted ? await listUntagged(shell, settings, log) : undefined
    if (untagged && 'note' in untagged) warnings.push(untagged.note)
    if (untagged && 'warning' in untagged && untagged.warning) warnings.push(untagged.warning)
    if (untagged && 'source' in untagged) untaggedListing = { source: untagged.source, candidates: 0 }
    const linkTimes = await readLinkTimes(shell, settings)
    const dates = new ConfigDates(client)
    const selection = await log.group('Inventory', () =>
      readRepositories(client, settings, dates, log, async (read) => {
        // The repository's own rule decides what it needs read (untagged ages, keep-untagged).
        const own = { ...settings, ...ruleOf(read.name) }
        const repo = untagged && own.untagged === 'delete' ? await addUntagged(read, untagged, client, own, dates) : read
        if (untaggedListing) untaggedListing.candidates += repo.untagged?.length ?? 0
        if (own.ageFrom === 'pushed' && linkTimes) repo.pushed = pushTimes(repo, linkTimes.get(repo.name))
        planner.add(repo)
      }),
    )
    literal = selection.literal
    for (const pattern of selection.unmatched) {
      warnings.push(`The repositories pattern ${pattern} matches no repository in the catalog.`)
    }
  }
  const sizes = shell ? planner.blobSizes : new Map<string, number>()
  return { planned: planner.finish(), sizes, warnings, literal, ...(untaggedListing ? { untaggedListing } : {}) }
}

/**
 * Push times for `age-from: pushed`, or undefined when no rule uses them. Unlike the untagged listing there is no
 * fallback: without push times, ages would silently mean something else, so the run stops before any tag is read.
 */
async function readLinkTimes(shell: Shell | undefined, settings: Settings) {
  if (!settings.rules.some((rule) => rule.ageFrom === 'pushed')) return undefined
  if (!shell || !settings.gc.storagePath) {
    throw new Error('age-from: pushed reads push times from the storage tree: set garbage-collect (ssh or local) and storage-path')
  }
  try {
    return await listLinkTimes(shell, settings.gc.storagePath)
  } catch (error) {
    throw new Error(`age-from: pushed, but the push times could not be read, so nothing is deleted: ${(error as Error).message}`)
  }
}

/** What the plan alone makes a failure of the run: skipped repositories (fail-on-skipped), missing literal names. */
function planFailures(settings: Settings, planned: Plan, literal: Set<string>): string[] {
  const out: string[] = []
  for (const r of planned.repositories) {
    if (r.unknown && literal.has(r.name)) {
      out.push(
        `${r.name}: the registry has no repository of that name (its tag list answered NAME_UNKNOWN). ` +
          'Check the name in repositories.',
      )
    } else if (settings.failOnSkipped && r.skipped) {
      out.push(`${r.name} was skipped: ${r.skipped}`)
    }
  }
  return out
}
