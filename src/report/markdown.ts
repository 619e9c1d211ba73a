// The job summary (GitHub) and the summary artifact (GitLab): Markdown with HTML, every registry value escaped,
// always under GitHub's 1 MiB limit (a larger summary is dropped whole).
import type { RunResult } from '../types.js'
import { escapeMarkdown as esc, formatBytes, formatTime, shortDigest } from './format.js'
import { isImage, outcomes, totals, type RepositoryOutcome, type Totals } from './outcome.js'

export const SUMMARY_LIMIT = 1024 * 1024
/** Room kept for the closing lines once the per-image details stop. */
const DETAILS_BUDGET = SUMMARY_LIMIT - 64 * 1024

export function toMarkdown(result: RunResult): string {
  const repos = outcomes(result)
  const t = totals(result, repos)
  const dry = result.settings.dryRun
  const parts = [
    `## registry-prune: ${esc(new URL(result.settings.registry).host)}`,
    dry ? '> [!NOTE]\n> **Dry run**: nothing was deleted. This is exactly what a real run would do.' : '',
    ...result.failures.map((f) => `> [!CAUTION]\n> ${esc(f)}`),
    ...[...result.warnings, ...(result.gc?.warnings ?? [])].map((w) => `> [!WARNING]\n> ${esc(w)}`),
    totalsTable(t, dry),
    phasesLine(result),
    gcSection(result, t),
    repositoryTable(repos, dry),
  ].filter(Boolean)
  let text = parts.join('\n\n') + '\n'
  let shown = 0
  for (const repo of repos) {
    const details = detailsOf(repo)
    if (Buffer.byteLength(text) + Buffer.byteLength(details) > DETAILS_BUDGET) break
    text += `\n${details}`
    shown++
  }
  if (shown < repos.length) {
    text += `\n_${repos.length - shown} more repositories are listed in the plan file \`${esc(result.settings.planFile)}\`._\n`
  }
  return text
}

/** One line: where the time went, and the requests each phase sent (issue 15). */
function phasesLine(result: RunResult): string {
  const p = result.phases
  if (!p) return ''
  const names = { inventory: 'inventory', recheck: 're-check', deletions: 'deletions', gc: 'garbage collection' } as const
  const parts = (Object.keys(names) as (keyof typeof names)[])
    .filter((k) => k === 'inventory' || p[k].seconds > 0 || p[k].requests > 0)
    .map((k) => `${names[k]} ${p[k].seconds.toFixed(1)} s (${p[k].requests} requests)`)
  const c = result.cache
  const cache = c ? `; cache: ${c.manifestHits} manifests and ${c.blobHits} configs not fetched` : ''
  return `_Phases: ${parts.join(', ')}${cache}._`
}

function totalsTable(t: Totals, dry: boolean): string {
  const rows = [
    ['Repositories inventoried', String(t.repositories)],
    ['Repositories skipped (nothing deleted there)', String(t.repositoriesSkipped)],
    [dry ? 'Images that would be deleted' : 'Images deleted', String(t.imagesDeleted)],
    ['… of which untagged', `${t.untaggedDeleted} (${formatBytes(t.untaggedBytes)})`],
    ['Images kept', String(t.imagesKept)],
    ['Manifests deleted (with children and signatures)', String(t.manifestsDeleted)],
    ['Reclaimable (estimate from the plan)', formatBytes(t.reclaimableBytes)],
  ]
  return ['| | |', '| --- | ---: |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n')
}

function gcSection(result: RunResult, t: Totals): string {
  const gc = result.gc
  const mode = result.settings.gc.mode
  if (!gc && mode !== 'off') {
    return `### Garbage collection (${mode}): failed\n\nThe collector did not finish (the problem is above), so nothing was ` +
      'measured, and the blobs of deleted manifests stay on disk until it runs.'
  }
  if (!gc) {
    return result.settings.dryRun
      ? ''
      : '_API deletes free no disk space by themselves: run the registry\'s garbage collector (input `garbage-collect`)._'
  }
  const how = gc.measuredBy === 'du' ? 'drop of `du -sb` of the storage root' : 'sizes of the blobs the collector deleted'
  const data = gc.blobBytesDeleted
  const table = [
    `### Garbage collection (${gc.mode}${gc.dryRun ? ', dry run' : ''})`,
    '| estimate from the plan | measured on the host | blob data deleted | blobs deleted |',
    '| ---: | ---: | ---: | ---: |',
    `| ${formatBytes(t.reclaimableBytes)} | ${gc.dryRun ? 'nothing (dry run)' : formatBytes(gc.reclaimedBytes)} | ${
      gc.dryRun ? '-' : formatBytes(data)
    } | ${gc.blobsDeleted.length} |`,
  ]
  const paragraphs = [`Measured by: ${how}.`]
  if (gc.dryRun) {
    paragraphs.push(
      `The collector, run with \`--dry-run\`, reports ${gc.blobsEligible ?? 0} blobs already eligible for deletion: ` +
        'orphaned before this run. The effect of this run is the estimate.',
    )
  } else {
    paragraphs.push(...gcDifferences(gc, t))
  }
  return [table.join('\n'), ...paragraphs].join('\n\n')
}

/** Why the estimate and the measured bytes differ, from what the collector deleted (issue 3: say why). */
function gcDifferences(gc: NonNullable<RunResult['gc']>, t: Totals): string[] {
  const out: string[] = []
  const data = gc.blobBytesDeleted
  const unknown = gc.blobsOfUnknownSize
  if (gc.measuredBy === 'du' && gc.reclaimedBytes > data) {
    out.push(
      `Of the ${formatBytes(gc.reclaimedBytes)} measured, ${formatBytes(data)} is the data of the deleted blobs this run ` +
        `knows; the other ${formatBytes(gc.reclaimedBytes - data)} is ` +
        (unknown > 0 ? `${unknown} blobs orphaned before this run (or in repositories it did not read), and ` : '') +
        'the directories and link files the registry removed with them: `du` counts every directory (4 KiB on most ' +
        'filesystems) whatever the size of the blob in it, which weighs only where blobs are small.',
    )
  } else if (unknown > 0) {
    out.push(`${unknown} deleted blobs were orphaned before this run (or in repositories it did not read): their ` +
      'size is unknown and not counted.')
  }
  if (data < t.reclaimableBytes) {
    out.push(
      `The collector deleted ${formatBytes(t.reclaimableBytes - data)} less blob data than the estimate: manifests ` +
        'spared at the re-check keep theirs, and blobs shared with repositories this run did not inventory stay.',
    )
  } else if (data === t.reclaimableBytes && unknown === 0) {
    out.push('The blob data deleted is exactly the estimate.')
  }
  return out
}

function repositoryTable(repos: RepositoryOutcome[], dry: boolean): string {
  if (repos.length === 0) return '_No repository matched `repositories`._'
  const head = `| repository | kept | ${dry ? 'would delete' : 'deleted'} | size of deleted (shared layers included) | note |`
  const rows = repos.map(({ plan, manifests, error }) => {
    const images = manifests.filter((m) => isImage(m.manifest))
    const removed = manifests.filter((m) => m.outcome === 'deleted' || m.outcome === 'would delete')
    const note = [plan.skipped && `skipped: ${plan.skipped}`, error, ...plan.notes].filter(Boolean).join('; ')
    return `| ${esc(plan.name)} | ${images.length - removed.filter((m) => isImage(m.manifest)).length} | ${
      removed.filter((m) => isImage(m.manifest)).length
    } | ${formatBytes(removed.reduce((s, m) => s + m.manifest.size, 0))} | ${esc(note)} |`
  })
  return [head, '| --- | ---: | ---: | ---: | --- |', ...rows].join('\n')
}

function detailsOf({ plan, manifests }: RepositoryOutcome): string {
  const rows = manifests.map(({ manifest: m, outcome, note }) => {
    const tags = m.tags.length ? m.tags.map(esc).join(', ') : '<i>untagged</i>'
    const reason = esc(note ? `${m.reason}; ${note}` : m.reason)
    return `<tr><td>${tags}</td><td><code>${esc(shortDigest(m.digest))}</code></td><td>${m.role}</td><td>${formatTime(
      m.created,
    )}</td><td>${formatBytes(m.size)}</td><td>${outcome}</td><td>${reason}</td></tr>`
  })
  return [
    `<details><summary>${esc(plan.name)}: ${manifests.length} manifests, ordered by ${plan.order === 'created' ? 'created time' : 'tag name'}</summary>`,
    '',
    '<table><tr><th>tags</th><th>digest</th><th>role</th><th>created</th><th>size</th><th>outcome</th><th>reason</th></tr>',
    ...rows,
    '</table>',
    '</details>',
    '',
  ].join('\n')
}
