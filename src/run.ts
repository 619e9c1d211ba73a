// One run, the same for every front door: inventory -> plan -> apply -> gc. Reporting is the caller's.
import { writeFile } from 'node:fs/promises'
import { apply } from './apply.js'
import { collectGarbage, measureBefore, openGc } from './gc/gc.js'
import { inventory } from './inventory.js'
import { plan } from './plan.js'
import { RegistryClient } from './registry/client.js'
import { toJson } from './report/json.js'
import { addUntagged } from './untagged.js'
import type { ApplyResult, GcResult, Inventory, Io, Plan, Settings } from './types.js'

export interface RunResult {
  settings: Settings
  startedAt: number
  plan: Plan
  /** Undefined on a dry run, and when `prune` is false. */
  applied: ApplyResult | undefined
  gc: GcResult | undefined
  /** HTTP requests by kind, for the report and the benchmark. */
  requests: Record<string, number>
  /** Why the run must end non-zero although it finished (skipped repositories, failed deletions). */
  failures: string[]
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
  try {
    let current: Inventory = { repositories: [] }
    if (settings.prune) {
      current = await log.group('Inventory', () => inventory(client, settings, log))
      if (settings.untagged === 'delete') current = await addUntagged(current, client, shell, settings, log)
    }
    const planned = plan(current, settings, io.now())
    await writeFile(settings.planFile, '') // fail early on an unwritable path, before anything is deleted
    const storageBytesBefore = shell ? await measureBefore(shell, settings.gc) : undefined
    const applied = settings.prune && !settings.dryRun ? await log.group('Delete', () => apply(client, planned, settings, log)) : undefined
    const gc = shell
      ? await collectGarbage(shell, settings.gc, { dryRun: settings.dryRun, blobSizes: blobSizes(current), storageBytesBefore }, log)
      : undefined
    const result: RunResult = {
      settings,
      startedAt,
      plan: planned,
      applied,
      gc,
      requests: { ...client.stats },
      failures: failures(settings, planned, applied),
    }
    await writeFile(settings.planFile, `${JSON.stringify(toJson(result), null, 2)}\n`)
    return result
  } finally {
    await Promise.allSettled([client.close(), shell?.close()])
  }
}

/** Sizes of every blob the inventory saw (manifest bodies, configs, layers): GC reports digests, we report bytes. */
function blobSizes(inv: Inventory): Map<string, number> {
  const sizes = new Map<string, number>()
  for (const repo of inv.repositories) {
    for (const m of repo.manifests.values()) {
      sizes.set(m.digest, m.size)
      for (const b of m.blobs) sizes.set(b.digest, b.size)
    }
  }
  return sizes
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
