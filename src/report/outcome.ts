// What happened to each planned manifest, and the totals every report and output is made from.
import type { RunResult } from '../types.js'
import type { PlannedManifest, RepositoryPlan } from '../types.js'

/** A planned deletion in a real run ends as deleted, spared (the re-check), failed, or not attempted (DECISIONS 26). */
export type Outcome = 'kept' | 'would delete' | 'deleted' | 'spared' | 'failed' | 'not attempted'

export interface RepositoryOutcome {
  plan: RepositoryPlan
  manifests: { manifest: PlannedManifest; outcome: Outcome; note?: string }[]
  error?: string
}

/** Images are what users count: tagged images and untagged ones. Children and signatures go with their parent. */
export const isImage = (m: PlannedManifest): boolean => m.role === 'image' || m.role === 'untagged'

export function outcomes(result: RunResult): RepositoryOutcome[] {
  const applied = new Map(result.applied?.repositories.map((r) => [r.name, r]))
  return result.plan.repositories.map((plan) => {
    const done = applied.get(plan.name)
    const deleted = new Set(done?.deleted)
    const spared = new Map(done?.spared.map((s) => [s.digest, s.reason]))
    const manifests = plan.manifests.map((manifest) => {
      if (manifest.decision === 'keep') return { manifest, outcome: 'kept' as const }
      if (!result.applied) return { manifest, outcome: 'would delete' as const }
      if (deleted.has(manifest.digest)) return { manifest, outcome: 'deleted' as const }
      const reason = spared.get(manifest.digest)
      if (reason !== undefined) return { manifest, outcome: 'spared' as const, note: reason }
      if (done?.failed === manifest.digest) return { manifest, outcome: 'failed' as const, note: done.error }
      const why = done?.error ?? (result.interrupted ? `the run was interrupted (${result.interrupted})` : result.failures[0])
      return { manifest, outcome: 'not attempted' as const, ...(why ? { note: why } : {}) }
    })
    return { plan, manifests, error: done?.error }
  })
}

export interface Totals {
  repositories: number
  repositoriesSkipped: number
  imagesKept: number
  imagesDeleted: number
  untaggedDeleted: number
  untaggedBytes: number
  manifestsDeleted: number
  reclaimableBytes: number
  reclaimedBytes: number | undefined
  gcBlobsDeleted: number | undefined
}

const gone = (o: Outcome): boolean => o === 'deleted' || o === 'would delete'

export function totals(result: RunResult, repos = outcomes(result)): Totals {
  const all = repos.flatMap((r) => r.manifests)
  const deletedImages = all.filter((m) => gone(m.outcome) && isImage(m.manifest))
  const untagged = deletedImages.filter((m) => m.manifest.role === 'untagged')
  return {
    repositories: repos.length,
    repositoriesSkipped: repos.filter((r) => r.plan.skipped).length,
    imagesKept: all.filter((m) => !gone(m.outcome) && isImage(m.manifest)).length,
    imagesDeleted: deletedImages.length,
    untaggedDeleted: untagged.length,
    // What deleting them frees (shared layers counted once, and not when kept elsewhere), as the plan estimates it.
    untaggedBytes: result.plan.untaggedReclaimableBytes,
    manifestsDeleted: all.filter((m) => gone(m.outcome)).length,
    reclaimableBytes: result.plan.reclaimableBytes,
    reclaimedBytes: result.gc?.reclaimedBytes,
    gcBlobsDeleted: result.gc?.blobsDeleted.length,
  }
}

/** The step outputs, by their input-table names (DECISIONS 13). */
export function outputs(result: RunResult, t = totals(result)): Record<string, string> {
  return {
    'deleted-count': String(t.imagesDeleted),
    'kept-count': String(t.imagesKept),
    'reclaimable-bytes': String(t.reclaimableBytes),
    'reclaimed-bytes': String(t.reclaimedBytes ?? 0),
    'gc-blobs-deleted': String(t.gcBlobsDeleted ?? 0),
    'plan-file': result.settings.planFile,
  }
}
