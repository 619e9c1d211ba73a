// The job summary (GitHub) and the summary artifact (GitLab): Markdown with HTML, every registry value escaped,
// always under GitHub's 1 MiB limit (a larger summary is dropped whole).
import type { RunResult, UntaggedListingReport } from '../types.js'
import {
  escapeHtml as html,
  escapeMarkdown as esc,
  formatBytes,
  formatBytesExact,
  formatCount,
  plural,
  shortDigest,
  untaggedListingText,
} from './format.js'
import {
  byBytes,
  createdText,
  headline,
  repositoryDescription,
  repositoryNotes,
  outcomes,
  totals,
  type RepositoryOutcome,
  type Totals,
} from './outcome.js'

export const SUMMARY_LIMIT = 1024 * 1024
/** Room kept for the closing lines once the per-image details stop. */
const DETAILS_BUDGET = SUMMARY_LIMIT - 64 * 1024
/** Rows of the repository table; the rest are counted, and all are in the plan file. */
const REPOSITORY_ROWS = 500
/** Rows per repository in the per-image details (deletions come first). */
const IMAGE_ROWS = 25
/** Tags shown per image; an image can carry hundreds. */
const TAGS_SHOWN = 5

export interface SummaryOptions {
  /** When the run ended, by the front door's clock: the headline gives the time taken. */
  finishedAt?: number
}

/**
 * The summary, answer first: a headline (bytes freed or the estimate, images, repositories, time), then the
 * repositories by bytes with their share, then the totals, garbage collection and the per-image details. Plain
 * Markdown and HTML that GitHub and GitLab both render (no Mermaid, no workflow commands).
 */
export function toMarkdown(result: RunResult, options: SummaryOptions = {}): string {
  const repos = outcomes(result)
  const t = totals(result, repos)
  const dry = result.settings.dryRun
  const h = headline(result, t, options.finishedAt)
  const parts = [
    `## registry-prune: ${esc(new URL(result.settings.registry).host)}`,
    `**${h.bytes}** (${h.qualifier}) · ${h.facts.join(' · ')}`,
    dry ? '> [!NOTE]\n> **Dry run**: nothing was deleted. This is exactly what a real run would do.' : '',
    ...result.failures.map((f) => `> [!CAUTION]\n> ${esc(f)}`),
    ...[...result.warnings, ...(result.gc?.warnings ?? [])].map((w) => `> [!WARNING]\n> ${esc(w)}`),
    repositoryTable(repos, dry, result.settings.planFile),
    totalsTable(t, dry, result.untaggedListing),
    phasesLine(result),
    gcSection(result, t),
  ].filter(Boolean)
  let text = parts.join('\n\n') + '\n'
  let size = Buffer.byteLength(text)
  let shown = 0
  const planFile = result.settings.planFile
  for (const { repo } of byBytes(repos)) {
    const details = `\n${detailsOf(repo, planFile)}`
    size += Buffer.byteLength(details)
    if (size > DETAILS_BUDGET) break
    text += details
    shown++
  }
  if (shown < repos.length) {
    text += `\n_Details of ${plural(repos.length - shown, 'more repository', 'more repositories')} not shown (the ` +
      `summary stays under GitHub's 1 MiB): every image is in the plan file ${codeSpan(planFile)}._\n`
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

function totalsTable(t: Totals, dry: boolean, listing?: UntaggedListingReport): string {
  const rows = [
    ['Repositories inventoried', formatCount(t.repositories)],
    ['Repositories skipped (nothing deleted there)', formatCount(t.repositoriesSkipped)],
    [dry ? 'Images that would be deleted' : 'Images deleted', formatCount(t.imagesDeleted)],
    ['… of which untagged', `${formatCount(t.untaggedDeleted)} (${formatBytes(t.untaggedBytes)})`],
    ...(listing ? [['Untagged manifests found', untaggedListingText(listing)]] : []),
    ['Images kept', formatCount(t.imagesKept)],
    [dry ? 'Manifests that would be deleted (with children and signatures)' : 'Manifests deleted (with children and signatures)', formatCount(t.manifestsDeleted)],
    ['Reclaimable (estimate from the plan)', formatBytesExact(t.reclaimableBytes)],
  ]
  return ['### Totals', '', '| | |', '| --- | ---: |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n')
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
    } | ${formatCount(gc.blobsDeleted.length)} |`,
  ]
  const paragraphs = [`Measured by: ${how}.`]
  if (gc.dryRun) {
    paragraphs.push(
      `The collector, run with \`--dry-run\`, reports ${plural(gc.blobsEligible ?? 0, 'blob')} already eligible for deletion: ` +
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
        (unknown > 0 ? `${plural(unknown, 'blob')} orphaned before this run (or in repositories it did not read), and ` : '') +
        'the directories and link files the registry removed with them: `du` counts every directory (4 KiB on most ' +
        'filesystems) whatever the size of the blob in it, which weighs only where blobs are small.',
    )
  } else if (unknown > 0) {
    out.push(`${plural(unknown, 'deleted blob')} ${unknown === 1 ? 'was' : 'were'} orphaned before this run (or in ` +
      'repositories it did not read): ' + `${unknown === 1 ? 'its' : 'their'} size is unknown and not counted.`)
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

/** A path in a code span: nothing inside one is escaped, so only a backtick (and a line break) must go. */
const codeSpan = (text: string): string => `\`${text.replace(/`/g, "'").replace(/[\r\n]+/g, ' ')}\``

/** A bar of Unicode blocks, `width` cells for the whole, in eighths of a cell: GitHub and GitLab render it as text. */
function bar(share: number, width = 10): string {
  const eighths = Math.round(Math.max(0, Math.min(1, share)) * width * 8)
  const partial = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8]
  return '█'.repeat(Math.floor(eighths / 8)) + partial
}

function repositoryTable(repos: RepositoryOutcome[], dry: boolean, planFile: string): string {
  if (repos.length === 0) return '_No repository matched `repositories`._'
  const sorted = byBytes(repos)
  const sum = sorted.reduce((s, r) => s + r.figures.bytes, 0)
  const head = `| repository | size of ${dry ? 'images to delete' : 'deleted images'} | share | ${dry ? 'would delete' : 'deleted'} | kept | note |`
  const rows = sorted.slice(0, REPOSITORY_ROWS).map(({ repo: { plan, error }, figures }) => {
    const share = sum > 0 ? figures.bytes / sum : 0
    const note = [plan.skipped && `skipped, nothing deleted: ${plan.skipped}`, error, ...repositoryNotes(plan)].filter(Boolean).join('; ')
    const shareText = figures.bytes > 0 ? `${bar(share)} ${(share * 100).toFixed(share < 0.1 ? 1 : 0)} %` : ''
    return `| ${esc(plan.name)} | ${formatBytes(figures.bytes)} | ${shareText} | ${formatCount(figures.deleted)} | ${formatCount(
      figures.kept,
    )} | ${esc(note)} |`
  })
  const lines = [
    '### Repositories, by bytes',
    '',
    head,
    '| --- | ---: | --- | ---: | ---: | --- |',
    ...rows,
    '',
    '_Size: what the deleted manifests reference, layers shared between them counted in each; the estimate above ' +
      'counts each blob once, and only blobs nothing kept uses._',
  ]
  if (sorted.length > REPOSITORY_ROWS) {
    lines.push('', `_${plural(sorted.length - REPOSITORY_ROWS, 'more repository', 'more repositories')} not shown ` +
      `(the smallest): every repository is in the plan file ${codeSpan(planFile)}._`)
  }
  return lines.join('\n')
}

function detailsOf({ plan, manifests, untags }: RepositoryOutcome, planFile: string): string {
  const pushed = plan.ageFrom === 'pushed'
  const rows = manifests.slice(0, IMAGE_ROWS).map(({ manifest: m, outcome, note }) => {
    const shownTags = m.tags.slice(0, TAGS_SHOWN).map(html).join(', ')
    const more = m.tags.length > TAGS_SHOWN ? ` and ${m.tags.length - TAGS_SHOWN} more` : ''
    const tags = m.tags.length ? shownTags + more : '<i>untagged</i>'
    const reason = html(note ? `${m.reason}; ${note}` : m.reason)
    return `<tr><td>${tags}</td><td><code>${html(shortDigest(m.digest))}</code></td><td>${m.role}</td><td>${html(
      createdText(m, plan),
    )}</td><td>${formatBytes(m.size)}</td><td>${outcome}</td><td>${reason}</td></tr>`
  })
  if (manifests.length > IMAGE_ROWS) {
    rows.push(`<tr><td colspan="7"><i>${plural(manifests.length - IMAGE_ROWS, 'more manifest')} not shown: every one is ` +
      `in the plan file <code>${html(planFile)}</code></i></td></tr>`)
  }
  return [
    `<details><summary>${html(plan.name)}: ${plural(manifests.length, 'manifest')}, ${html(repositoryDescription(plan))}</summary>`,
    '',
    `<table><tr><th>tags</th><th>digest</th><th>role</th><th>${pushed ? 'pushed' : 'created'}</th><th>size</th><th>outcome</th><th>reason</th></tr>`,
    ...rows,
    '</table>',
    ...untags.map(({ untag, outcome, note }) =>
      `<p>tag <code>${html(untag.tag)}</code> on <code>${html(shortDigest(untag.digest))}</code>: ${outcome} (${html(note ? `${untag.reason}; ${note}` : untag.reason)})</p>`,
    ),
    '</details>',
    '',
  ].join('\n')
}
