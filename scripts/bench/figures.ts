// The benchmark's arithmetic and presentation, pure: measured times and counts in, figures, targets and a table out.
import type { CeilingResult } from './ceiling.js'
import type { FixtureMode } from './fixture.js'
import type { OursResult } from './ours.js'

/** The targets (figures to meet, not a timed test). */
export const TARGETS = {
  /** Issue 15: at least 0.9 of the minimal client's tags/s, dry run and real run (issue 6 asked 0.6). */
  minRatio: 0.9,
  maxRequestsPerTagDistinct: 2.0,
  maxRequestsPerTagAliases: 1.2,
  maxPeakRssMiB: 300,
  /** RSS is judged at this size and above (DECISIONS 22: an explicit large run). */
  rssJudgedFromTags: 100_000,
  maxGrowth: 0.25,
  /** Issue 15's cache: on an unchanged registry, at most this many requests per tag, and this much faster. */
  maxWarmRequestsPerTag: 1.05,
  minWarmSpeedup: 0.4,
} as const

export interface SizeFigures {
  tags: number
  repos: number
  images: number
  ceilingTagsPerSecond: number
  ceilingSeconds: number
  /** Manifest and config GETs of the minimal loop over tags. */
  ceilingRequestsPerTag: number
  oursTagsPerSecond: number
  oursSeconds: number
  /** ours over ceiling, in tags per second. */
  ratio: number
  /** Ours without start-up and report: its inventory phase alone (from the plan JSON), and the ratio on that. */
  oursInventorySeconds: number
  inventoryRatio: number
  /** Manifest, config and blob requests over tags (DECISIONS 20). */
  requestsPerTag: number
  /** Reported apart: ping, token, catalog and tag-list requests. */
  otherRequests: { ping: number; token: number; catalog: number; tags: number }
  retries: number
  peakRssMiB: number
  msPerTag: number
  imagesDeleted: number
  /** What a user's CI log and job summary hold after the run (issue 12: under 1 MiB each). */
  logBytes: number
  summaryBytes: number
}

export function sizeFigures(
  fixture: { tags: number; repos: number; images: number },
  ceiling: CeilingResult,
  ours: OursResult,
): SizeFigures {
  const r = ours.requests
  const n = (key: string): number => r[key] ?? 0
  return {
    tags: fixture.tags,
    repos: fixture.repos,
    images: fixture.images,
    ceilingTagsPerSecond: fixture.tags / ceiling.seconds,
    ceilingSeconds: ceiling.seconds,
    ceilingRequestsPerTag: (ceiling.manifestRequests + ceiling.blobRequests) / fixture.tags,
    oursTagsPerSecond: fixture.tags / ours.seconds,
    oursSeconds: ours.seconds,
    ratio: ceiling.seconds / ours.seconds,
    oursInventorySeconds: ours.phases.inventory?.seconds ?? ours.seconds,
    inventoryRatio: ceiling.seconds / (ours.phases.inventory?.seconds ?? ours.seconds),
    requestsPerTag: (n('manifest') + n('blob')) / fixture.tags,
    otherRequests: { ping: n('ping'), token: n('token'), catalog: n('catalog'), tags: n('tags') },
    retries: n('retries'),
    peakRssMiB: ours.peakRssMiB,
    msPerTag: (ours.seconds * 1000) / fixture.tags,
    imagesDeleted: ours.totals.imagesDeleted ?? 0,
    logBytes: ours.logBytes,
    summaryBytes: ours.summaryBytes,
  }
}

/** Of several rounds at one size, the least disturbed: the fastest run of each side (a shared machine only slows). */
export function bestOf(rounds: SizeFigures[]): SizeFigures {
  if (rounds.length === 0) throw new Error('no rounds measured')
  const ceiling = rounds.reduce((a, b) => (b.ceilingSeconds < a.ceilingSeconds ? b : a))
  const ours = rounds.reduce((a, b) => (b.oursSeconds < a.oursSeconds ? b : a))
  return {
    ...ours,
    ceilingTagsPerSecond: ceiling.ceilingTagsPerSecond,
    ceilingSeconds: ceiling.ceilingSeconds,
    ceilingRequestsPerTag: ceiling.ceilingRequestsPerTag,
    ratio: ceiling.ceilingSeconds / ours.oursSeconds,
    inventoryRatio: ceiling.ceilingSeconds / ours.oursInventorySeconds,
    peakRssMiB: Math.max(...rounds.map((r) => r.peakRssMiB)),
  }
}

export interface Verdict {
  target: string
  value: string
  met: boolean
}

/** The targets this run can judge; the ones its fixture or size cannot show are left out, not passed. */
export function verdicts(mode: FixtureMode, large: SizeFigures, small: SizeFigures | undefined): Verdict[] {
  const out: Verdict[] = [
    { target: `tags/s >= ${TARGETS.minRatio * 100}% of the minimal client`, value: pct(large.ratio), met: large.ratio >= TARGETS.minRatio },
  ]
  if (mode === 'distinct') {
    const max = TARGETS.maxRequestsPerTagDistinct
    out.push({ target: `<= ${max} requests per tag (all distinct)`, value: large.requestsPerTag.toFixed(3), met: large.requestsPerTag <= max })
  }
  if (mode === 'aliases') {
    const max = TARGETS.maxRequestsPerTagAliases
    out.push({ target: `<= ${max} requests per tag (most tags alias)`, value: large.requestsPerTag.toFixed(3), met: large.requestsPerTag <= max })
  }
  if (large.tags >= TARGETS.rssJudgedFromTags) {
    out.push({
      target: `peak RSS < ${TARGETS.maxPeakRssMiB} MB at ${large.tags} tags`,
      value: `${large.peakRssMiB.toFixed(0)} MiB`,
      met: large.peakRssMiB < TARGETS.maxPeakRssMiB,
    })
  }
  if (small) {
    const g = growth(large, small)
    out.push({
      target: `time per tag at ${large.tags} within ${TARGETS.maxGrowth * 100}% of ${small.tags}`,
      value: `${g >= 0 ? '+' : ''}${pct(g)}`,
      met: g <= TARGETS.maxGrowth,
    })
  }
  return out
}

/** How much more each tag costs at the large size than at the small one (0.1 = 10% more). */
export const growth = (large: SizeFigures, small: SizeFigures): number => large.msPerTag / small.msPerTag - 1

/** One judged target, as the tables print it. */
export const verdictLine = (v: Verdict): string => `${v.met ? 'met    ' : 'MISSED '} ${v.target}: ${v.value}`

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`

/** A plain-text table, one column per size. */
export function formatTable(sizes: SizeFigures[], judged: Verdict[]): string {
  const rows: [string, (s: SizeFigures) => string][] = [
    ['tags / repositories / images', (s) => `${s.tags} / ${s.repos} / ${s.images}`],
    ['minimal client: tags/s', (s) => s.ceilingTagsPerSecond.toFixed(0)],
    ['registry-prune: tags/s', (s) => s.oursTagsPerSecond.toFixed(0)],
    ['ratio (ours / minimal)', (s) => pct(s.ratio)],
    ['seconds (minimal, ours)', (s) => `${s.ceilingSeconds.toFixed(1)}, ${s.oursSeconds.toFixed(1)}`],
    ['ratio, inventory phase only', (s) => `${pct(s.inventoryRatio)} (${s.oursInventorySeconds.toFixed(1)} s)`],
    ['requests per tag (ours, minimal)', (s) => `${s.requestsPerTag.toFixed(3)}, ${s.ceilingRequestsPerTag.toFixed(3)}`],
    ['ping/token/catalog/tag lists', (s) => Object.values(s.otherRequests).join('/')],
    ['retries', (s) => String(s.retries)],
    ['peak RSS (MiB)', (s) => s.peakRssMiB.toFixed(0)],
    ['ms per tag', (s) => s.msPerTag.toFixed(3)],
    ['images to delete (plan)', (s) => String(s.imagesDeleted)],
    ['log bytes, summary bytes', (s) => `${s.logBytes}, ${s.summaryBytes}`],
  ]
  const cells = rows.map(([label, value]) => [label, ...sizes.map(value)])
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)))
  const line = (row: string[]): string => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')
  const verdictLines = judged.map(verdictLine)
  return [...cells.map(line), '', ...verdictLines, ''].join('\n')
}
