// What happened to each planned manifest, and the totals every report and output is made from.
import type { RunResult } from '../types.js'
import type { PlannedManifest, RepositoryPlan } from '../types.js'
import { formatBytesExact, formatDuration, formatTime, plural } from './format.js'

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

/** The plan's verdict on a repository whose listing could not be read completely (see the planner's skipReason). */
const listingIncomplete = (plan: RepositoryPlan): boolean => plan.skipped?.startsWith('the listing is incomplete') ?? false

/**
 * An image's created time as the reports show it. A date is read only where a rule needs it (DECISIONS 12), so a
 * missing one is "not needed" unless the repository was ordered by tag name because of it (DECISIONS 4).
 */
export function createdText(m: PlannedManifest, plan: RepositoryPlan): string {
  if (m.created !== undefined) return formatTime(m.created)
  if (listingIncomplete(plan)) return 'not read (repository not read completely)'
  if (m.role === 'signature' || m.role === 'referrer') return 'not read (not needed)'
  if (plan.order === 'tag-name' || /undated/.test(m.reason)) return 'undated (no usable created)'
  return 'not read (not needed)'
}

/**
 * The planner's notes as the reports show them. A repository that could not be read completely was not ordered at all
 * (its dates were never read), so the note that it was ordered by tag name for want of dates would mislead.
 */
export function repositoryNotes(plan: RepositoryPlan): string[] {
  return listingIncomplete(plan) ? plan.notes.filter((note) => !/no usable created date/.test(note)) : plan.notes
}

/** How a repository was handled, in a few words: the skip reason when it was skipped, else how it was ordered. */
export function repositoryDescription(plan: RepositoryPlan): string {
  if (plan.skipped) return `skipped, nothing deleted: ${plan.skipped}`
  return plan.order === 'created' ? 'ordered by created time' : 'ordered by tag name (some images have no usable created date)'
}

/**
 * Images deleted (or to delete) and kept in one repository, and the bytes the deleted ones reference (a layer shared by
 * two of them counts twice). An index's size already holds its children's, so children add nothing.
 */
export function repositoryFigures({ manifests }: RepositoryOutcome): { deleted: number; kept: number; bytes: number } {
  let deleted = 0
  let kept = 0
  let bytes = 0
  for (const { manifest, outcome } of manifests) {
    const removed = gone(outcome)
    if (removed && manifest.role !== 'child') bytes += manifest.size
    if (isImage(manifest) && removed) deleted++
    else if (isImage(manifest)) kept++
  }
  return { deleted, kept, bytes }
}

/** Repositories by the bytes of what they delete, largest first, then by name. */
export function byBytes(repos: RepositoryOutcome[]): { repo: RepositoryOutcome; figures: ReturnType<typeof repositoryFigures> }[] {
  return repos
    .map((repo) => ({ repo, figures: repositoryFigures(repo) }))
    .sort((a, b) => b.figures.bytes - a.figures.bytes || (a.repo.plan.name < b.repo.plan.name ? -1 : 1))
}

export interface Headline {
  /** The answer: bytes freed (measured), or the estimate, labelled. */
  bytes: string
  /** What qualifies it (dry run, GC not run, how it was measured). */
  qualifier: string
  /** Images deleted and kept, repositories, time taken. */
  facts: string[]
}

/** The one line every report starts with. `finishedAt` gives the time taken (the caller's clock). */
export function headline(result: RunResult, t: Totals, finishedAt?: number): Headline {
  const dry = result.settings.dryRun
  const gc = result.gc
  let bytes: string
  let qualifier: string
  if (dry) {
    bytes = `${formatBytesExact(t.reclaimableBytes)} would be freed`
    qualifier = 'estimate from the plan; dry run, nothing deleted'
  } else if (gc) {
    bytes = `${formatBytesExact(gc.reclaimedBytes)} freed`
    qualifier = gc.measuredBy === 'du' ? 'measured on the host by du' : 'measured by the sizes of the blobs the collector deleted'
  } else if (result.settings.gc.mode !== 'off') {
    bytes = `${formatBytesExact(t.reclaimableBytes)} reclaimable`
    qualifier = 'estimate; garbage collection failed, so nothing was freed or measured'
  } else {
    bytes = `${formatBytesExact(t.reclaimableBytes)} reclaimable`
    qualifier = 'estimate; freed once the registry\'s garbage collector runs'
  }
  const images = dry
    ? `${plural(t.imagesDeleted, 'image')} would be deleted, ${formatCountKept(t.imagesKept)}`
    : `${plural(t.imagesDeleted, 'image')} deleted, ${formatCountKept(t.imagesKept)}`
  const facts = [images, plural(t.repositories, 'repository', 'repositories')]
  if (finishedAt !== undefined) facts.push(formatDuration(finishedAt - result.startedAt))
  return { bytes, qualifier, facts }
}

const formatCountKept = (n: number): string => `${n.toLocaleString('en-US')} kept`

/** The headline as one plain line: `219.3 KiB (224,592 bytes) would be freed (estimate ...) · 4 images ... · 1.2 s`. */
export function headlineText(h: Headline): string {
  return [`${h.bytes} (${h.qualifier})`, ...h.facts].join(' · ')
}
