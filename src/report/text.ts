// The CLI's report on a terminal: per repository what is kept or deleted and why, the totals and the GC figures.
// Plain text; every value that came from the registry has its control characters replaced, so a hostile tag cannot
// drive the terminal.
import type { RunResult } from '../types.js'
import { formatBytes, formatCount, plural, shortDigest, untaggedListingText } from './format.js'
import {
  byBytes,
  createdText,
  headline,
  headlineText,
  isImage,
  outcomes,
  repositoryDescription,
  repositoryNotes,
  totals,
  type Outcome,
  type RepositoryOutcome,
} from './outcome.js'

type Row = RepositoryOutcome['manifests'][number]

/** Replaces C0/C1 controls and invisible direction marks: they would move the cursor or reorder the line. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '?')
}

const MARK: Record<Outcome, string> = {
  kept: 'keep',
  'would delete': 'DELETE?',
  deleted: 'DELETED',
  spared: 'spared',
  failed: 'FAILED',
  'not attempted': 'untried',
}

/** Per-manifest lines in the whole report: a job log is cut at a few MiB, and every manifest is in the plan file. */
const MANIFEST_LINES = 2000
/** Repositories listed in the report, largest first. */
const REPOSITORY_LINES = 500

export interface TextOptions {
  /** When the run ended, by the front door's clock: the headline gives the time taken. */
  finishedAt?: number
  /** Colours for a terminal (the CLI decides, see src/cli/color.ts); none by default. */
  paint?: Paint
}

type Paint = Record<'red' | 'green' | 'bold', (text: string) => string>
const noPaint: Paint = { red: (t) => t, green: (t) => t, bold: (t) => t }

/** The one-line result (`--quiet`, and the first line of the report). */
export function resultLine(result: RunResult, options: TextOptions = {}): string {
  return `registry-prune: ${printable(headlineText(headline(result, totals(result), options.finishedAt)))}`
}

export function toText(result: RunResult, options: TextOptions = {}): string {
  const repos = outcomes(result)
  const t = totals(result, repos)
  const dry = result.settings.dryRun
  const paint = options.paint ?? noPaint
  const lines = [paint.bold(resultLine(result, options)), `Registry: ${printable(result.settings.registry)}`]
  if (dry) lines.push('DRY RUN: nothing was deleted. Below is exactly what a real run would do.')
  lines.push('')
  // Largest first, as in the summary. Per-manifest lines stop at a budget, then repositories get one line each, up to
  // a number: the rest is counted, and all of it is in the plan file.
  let budget = MANIFEST_LINES
  let hidden = 0
  const sorted = byBytes(repos)
  for (const { repo } of sorted.slice(0, REPOSITORY_LINES)) {
    const [head, ...rows] = repositoryLines(repo, paint)
    const shown = rows.slice(0, Math.max(0, budget))
    budget -= shown.length
    hidden += rows.length - shown.length
    if (shown.length > 0 && rows.length > shown.length) shown.push(`  … ${plural(rows.length - shown.length, 'more line')} not shown`)
    lines.push(head as string, ...shown)
    if (shown.length > 0) lines.push('')
  }
  if (hidden > 0 || sorted.length > REPOSITORY_LINES) {
    const more = sorted.length > REPOSITORY_LINES ? `${plural(sorted.length - REPOSITORY_LINES, 'more repository', 'more repositories')} and ` : ''
    lines.push('', `${more}${plural(hidden, 'line')} of detail not shown: every manifest is in the plan file ` +
      `${printable(result.settings.planFile)}.`, '')
  }
  if (repos.length === 0) lines.push('No repository matched --repositories.', '')

  const width = 46
  const row = (label: string, value: string): string => `  ${label.padEnd(width)}${value}`
  lines.push(
    'Totals',
    row('Repositories inventoried', formatCount(t.repositories)),
    row('Repositories skipped (nothing deleted there)', formatCount(t.repositoriesSkipped)),
    row(dry ? 'Images that would be deleted' : 'Images deleted', formatCount(t.imagesDeleted)),
    row('  of which untagged', `${formatCount(t.untaggedDeleted)} (${formatBytes(t.untaggedBytes)})`),
    ...(result.untaggedListing ? [row('Untagged manifests found', untaggedListingText(result.untaggedListing))] : []),
    row('Images kept', formatCount(t.imagesKept)),
    row(dry ? 'Manifests that would be deleted (all kinds)' : 'Manifests deleted (all kinds)', formatCount(t.manifestsDeleted)),
    row('Reclaimable (estimate from the plan)', formatBytes(t.reclaimableBytes)),
  )
  const gc = result.gc
  if (gc) {
    lines.push(
      '',
      `Garbage collection (${gc.mode}${gc.dryRun ? ', dry run' : ''})`,
      row('Blobs deleted', formatCount(gc.blobsDeleted.length)),
      ...(!gc.dryRun ? [row('Blob data deleted', formatBytes(gc.blobBytesDeleted))] : []),
      row(
        'Measured on the host',
        gc.dryRun
          ? `nothing (dry run; ${plural(gc.blobsEligible ?? 0, 'blob')} ${gc.blobsEligible === 1 ? 'was' : 'were'} already eligible before this run)`
          : `${formatBytes(gc.reclaimedBytes)} (by ${gc.measuredBy === 'du' ? 'du -sb of the storage root' : 'the sizes of the deleted blobs'})`,
      ),
    )
    for (const warning of gc.warnings) lines.push(`  warning: ${printable(warning)}`)
  } else if (!dry && result.settings.prune) {
    lines.push('', 'API deletes free no disk space by themselves: run the registry\'s garbage collector (--garbage-collect).')
  }
  for (const warning of result.warnings) lines.push(`warning: ${printable(warning)}`)
  if (result.failures.length > 0) {
    lines.push('', 'Problems:', ...result.failures.map((f) => `  - ${printable(f)}`))
  }
  lines.push('', `Plan file: ${printable(result.settings.planFile)}`)
  return `${lines.join('\n')}\n`
}

function repositoryLines({ plan, manifests, error }: RepositoryOutcome, paint: Paint): string[] {
  const images = manifests.filter((m) => isImage(m.manifest))
  const removed = images.filter((m) => m.outcome === 'deleted' || m.outcome === 'would delete').length
  const lines = [`${printable(plan.name)}: ${images.length - removed} kept, ${removed} deleted; ${printable(repositoryDescription(plan))}`]
  if (error) lines.push(`  error: ${printable(error)}`)
  for (const note of repositoryNotes(plan)) lines.push(`  note: ${printable(note)}`)

  // Each image, then what follows it (index children, signatures, referrers) indented under it.
  const followers = new Map<string, Row[]>()
  const shown = new Set<Row>()
  for (const m of manifests) {
    if (isImage(m.manifest) || m.manifest.parent === undefined) continue
    followers.set(m.manifest.parent, [...(followers.get(m.manifest.parent) ?? []), m])
  }
  const ordered: { row: Row; depth: number }[] = []
  const add = (row: Row, depth: number): void => {
    if (shown.has(row)) return
    shown.add(row)
    ordered.push({ row, depth })
    for (const child of followers.get(row.manifest.digest) ?? []) add(child, depth + 1)
  }
  for (const m of manifests) if (isImage(m.manifest)) add(m, 0)
  for (const m of manifests) add(m, 0) // followers whose parent is not in the plan (orphans)

  const tagWidth = Math.min(32, Math.max(8, ...ordered.map(({ row, depth }) => tagsOf(row).length + depth * 2)))
  for (const { row, depth } of ordered) {
    const m = row.manifest
    const reason = row.note ? `${m.reason}; ${row.note}` : m.reason
    const label = `${'  '.repeat(depth)}${tagsOf(row)}`
    lines.push(
      [
        `  ${(row.outcome === 'kept' ? paint.green : row.outcome === 'spared' ? (t: string) => t : paint.red)(MARK[row.outcome].padEnd(7))}`,
        label.length > tagWidth ? `${label.slice(0, tagWidth - 1)}…` : label.padEnd(tagWidth),
        shortDigest(m.digest),
        (m.role === 'image' || m.role === 'untagged' ? shortCreated(m, plan) : m.role).padEnd(10),
        formatBytes(m.size).padStart(9),
        printable(reason),
      ].join('  '),
    )
  }
  return lines
}

function tagsOf({ manifest }: Row): string {
  return manifest.tags.length > 0 ? printable(manifest.tags.join(', ')) : '(untagged)'
}

/** The date of `createdText` in ten characters, or the words when there is no date. */
function shortCreated(m: Row['manifest'], plan: RepositoryOutcome['plan']): string {
  const text = createdText(m, plan)
  return m.created === undefined ? text : text.slice(0, 10)
}
