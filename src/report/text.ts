// The CLI's report on a terminal: per repository what is kept or deleted and why, the totals and the GC figures.
// Plain text; every value that came from the registry has its control characters replaced, so a hostile tag cannot
// drive the terminal.
import type { RunResult } from '../types.js'
import { formatBytes, formatTime, shortDigest } from './format.js'
import { isImage, outcomes, totals, type Outcome, type RepositoryOutcome } from './outcome.js'

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

export function toText(result: RunResult): string {
  const repos = outcomes(result)
  const t = totals(result, repos)
  const dry = result.settings.dryRun
  const lines = [`registry-prune: ${printable(result.settings.registry)}`]
  if (dry) lines.push('DRY RUN: nothing was deleted. Below is exactly what a real run would do.')
  lines.push('')
  for (const repo of repos) lines.push(...repositoryLines(repo), '')
  if (repos.length === 0) lines.push('No repository matched --repositories.', '')

  const width = 46
  const row = (label: string, value: string): string => `  ${label.padEnd(width)}${value}`
  lines.push(
    'Totals',
    row('Repositories inventoried', String(t.repositories)),
    row('Repositories skipped (nothing deleted there)', String(t.repositoriesSkipped)),
    row(dry ? 'Images that would be deleted' : 'Images deleted', String(t.imagesDeleted)),
    row('  of which untagged', `${t.untaggedDeleted} (${formatBytes(t.untaggedBytes)})`),
    row('Images kept', String(t.imagesKept)),
    row(dry ? 'Manifests that would be deleted (all kinds)' : 'Manifests deleted (all kinds)', String(t.manifestsDeleted)),
    row('Reclaimable (estimate from the plan)', formatBytes(t.reclaimableBytes)),
  )
  const gc = result.gc
  if (gc) {
    lines.push(
      '',
      `Garbage collection (${gc.mode}${gc.dryRun ? ', dry run' : ''})`,
      row('Blobs deleted', String(gc.blobsDeleted.length)),
      ...(!gc.dryRun ? [row('Blob data deleted', formatBytes(gc.blobBytesDeleted))] : []),
      row(
        'Measured on the host',
        gc.dryRun
          ? `nothing (dry run; ${gc.blobsEligible ?? 0} blobs were already eligible before this run)`
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

function repositoryLines({ plan, manifests, error }: RepositoryOutcome): string[] {
  const images = manifests.filter((m) => isImage(m.manifest))
  const removed = images.filter((m) => m.outcome === 'deleted' || m.outcome === 'would delete').length
  const order = plan.order === 'created' ? 'newest first by created time' : 'by tag name (some images are undated)'
  const lines = [`${printable(plan.name)}: ${images.length - removed} kept, ${removed} deleted; ordered ${order}`]
  if (plan.skipped) lines.push(`  SKIPPED, nothing deleted here: ${printable(plan.skipped)}`)
  if (error) lines.push(`  error: ${printable(error)}`)
  for (const note of plan.notes) lines.push(`  note: ${printable(note)}`)

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
        `  ${MARK[row.outcome].padEnd(7)}`,
        label.length > tagWidth ? `${label.slice(0, tagWidth - 1)}…` : label.padEnd(tagWidth),
        shortDigest(m.digest),
        (m.role === 'image' || m.role === 'untagged' ? formatTime(m.created).slice(0, 10) : m.role).padEnd(10),
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
