// The whole run measured (issue 15): a real run with deletions and garbage collection, phase by phase, against a
// minimal client doing the same safe work; and the cache between runs, cold, warm, and after some tags moved.
// Each real run starts from the same populated storage, restored from a copy (DECISIONS 21).
import { spawn } from 'node:child_process'
import { cp, rm } from 'node:fs/promises'
import type { TestRegistry } from '../../test/support/registry.js'
import { REGISTRY_BIN } from '../../test/support/registry.js'
import type { FixtureSpec } from './fixture.js'
import { TARGETS, verdictLine, type Verdict } from './figures.js'
import { runMinimal, type MinimalProgram } from './minimal.js'
import { measureOurs, type OursResult } from './ours.js'
import { moveTags } from './populate.js'

export interface PhaseRow {
  phase: 'inventory' | 'recheck' | 'deletions' | 'gc' | 'total'
  minimalSeconds: number
  oursSeconds: number
  minimalRequests: number
  oursRequests: number
}

export interface RealRunRound {
  rows: PhaseRow[]
  deleted: number
  logBytes: number
  summaryBytes: number
  peakRssMiB: number
}

const say = (message: string): void => {
  process.stderr.write(`${message}\n`)
}

/** Puts the populated storage back and restarts the registry (its in-memory cache goes with it). */
export async function restore(registry: TestRegistry, pristine: string): Promise<void> {
  await rm(registry.storage, { recursive: true, force: true })
  await cp(pristine, registry.storage, { recursive: true })
  await registry.restart()
}

/** The registry's own collector, as both sides run it (the registry idle, nothing pushed meanwhile). */
export const gcCommand = (registry: TestRegistry): string => `${REGISTRY_BIN} garbage-collect ${registry.configPath}`

async function runGc(registry: TestRegistry): Promise<number> {
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    const child = spawn(REGISTRY_BIN, ['garbage-collect', registry.configPath], { stdio: 'ignore' })
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`garbage-collect exited with ${code}`))))
  })
  return (performance.now() - started) / 1000
}

/**
 * One round of the real run: the minimal client (its program: the reads of `measureCeiling`, then the re-read and the
 * deletions of `measureMinimalApply`; then the collector) and ours (`--dry-run=false` with local GC), each on a restored
 * registry; which goes first alternates with `round`.
 */
export async function realRunRound(
  registry: TestRegistry,
  pristine: string,
  programs: { cli: string; minimal: MinimalProgram },
  options: { concurrency: number; keepCount: number; round: number },
  plan: { repository: string; digests: string[] }[],
): Promise<RealRunRound> {
  const minimal = async () => {
    await restore(registry, pristine)
    const run = await runMinimal(programs.minimal, registry.url, options.concurrency, plan)
    const gc = await runGc(registry)
    return { seconds: run.seconds, inventory: run.inventory, applied: run.applied!, gc }
  }
  const ours = async (): Promise<OursResult> => {
    await restore(registry, pristine)
    return measureOurs(registry.url, {
      entry: programs.cli,
      concurrency: options.concurrency,
      dryRun: false,
      args: ['--keep-count', String(options.keepCount), '--garbage-collect', 'local', '--gc-command', gcCommand(registry)],
    })
  }
  let m
  let o
  if (options.round % 2 === 1) {
    m = await minimal()
    o = await ours()
  } else {
    o = await ours()
    m = await minimal()
  }
  const p = o.phases
  const rows: PhaseRow[] = [
    {
      phase: 'inventory',
      minimalSeconds: m.inventory.seconds,
      oursSeconds: p.inventory!.seconds,
      minimalRequests: m.inventory.manifestRequests + m.inventory.blobRequests + m.inventory.listRequests,
      oursRequests: p.inventory!.requests,
    },
    {
      phase: 'recheck',
      minimalSeconds: m.applied.recheckSeconds,
      oursSeconds: p.recheck!.seconds,
      minimalRequests: m.applied.recheckRequests,
      oursRequests: p.recheck!.requests,
    },
    {
      phase: 'deletions',
      minimalSeconds: m.applied.deletionSeconds,
      oursSeconds: p.deletions!.seconds,
      minimalRequests: m.applied.deleteRequests,
      oursRequests: p.deletions!.requests,
    },
    { phase: 'gc', minimalSeconds: m.gc, oursSeconds: p.gc!.seconds, minimalRequests: 0, oursRequests: 0 },
  ]
  rows.push({
    phase: 'total',
    // From spawn to exit, start-up included, as ours.
    minimalSeconds: m.seconds + m.gc,
    oursSeconds: o.seconds,
    minimalRequests: rows.reduce((n, r) => n + r.minimalRequests, 0),
    oursRequests: rows.reduce((n, r) => n + r.oursRequests, 0),
  })
  return { rows, deleted: m.applied.deleteRequests, logBytes: o.logBytes, summaryBytes: o.summaryBytes, peakRssMiB: o.peakRssMiB }
}

export interface CacheRound {
  minimalSeconds: number
  runs: { name: 'no cache' | 'cold' | 'warm' | 'moved'; seconds: number; requestsPerTag: number; peakRssMiB: number }[]
  movedTags: number
}

/**
 * The cache between runs, dry runs: the minimal client, ours without a cache, with a cold cache (none yet), warm (the
 * file the cold run wrote), and after `moveShare` of the tags moved (the file the warm run wrote). Moves tags: run it last.
 */
export async function cacheRound(
  registry: TestRegistry,
  spec: FixtureSpec,
  programs: { cli: string; minimal: MinimalProgram },
  options: { concurrency: number; keepCount: number; round: number; moveShare: number; cacheFile: string },
  tags: number,
): Promise<CacheRound> {
  await rm(options.cacheFile, { force: true })
  const ours = (cache: boolean) =>
    measureOurs(registry.url, {
      entry: programs.cli,
      concurrency: options.concurrency,
      args: ['--keep-count', String(options.keepCount), ...(cache ? ['--cache-file', options.cacheFile] : [])],
    })
  const perTag = (o: OursResult): number => ((o.requests.manifest ?? 0) + (o.requests.blob ?? 0)) / tags
  const row = (name: CacheRound['runs'][number]['name'], o: OursResult) =>
    ({ name, seconds: o.seconds, requestsPerTag: perTag(o), peakRssMiB: o.peakRssMiB })
  const minimal = await runMinimal(programs.minimal, registry.url, options.concurrency)
  const without = await ours(false)
  const cold = await ours(true)
  const warm = await ours(true)
  const movedTags = await moveTags(registry.url, spec, options.moveShare, options.round)
  say(`  moved ${movedTags} tags (${((movedTags / tags) * 100).toFixed(1)}%)`)
  const moved = await ours(true)
  return {
    minimalSeconds: minimal.seconds,
    runs: [row('no cache', without), row('cold', cold), row('warm', warm), row('moved', moved)],
    movedTags,
  }
}

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`

/** The best (fastest) of each side per phase over the rounds: a shared machine only slows. */
export function bestRealRun(rounds: RealRunRound[]): PhaseRow[] {
  return rounds[0]!.rows.map((_, i) => {
    const rows = rounds.map((r) => r.rows[i]!)
    return {
      ...rows[0]!,
      minimalSeconds: Math.min(...rows.map((r) => r.minimalSeconds)),
      oursSeconds: Math.min(...rows.map((r) => r.oursSeconds)),
    }
  })
}

export function formatRealRun(rows: PhaseRow[], tags: number, deleted: number, extra: RealRunRound): string {
  const lines = [
    `real run, ${tags} tags, ${deleted} manifests deleted: ours against a minimal client doing the same safe work`,
    'phase       minimal s   ours s   ratio (minimal/ours)   requests (minimal, ours)',
    ...rows.map((r) =>
      `${r.phase.padEnd(10)} ${r.minimalSeconds.toFixed(1).padStart(9)} ${r.oursSeconds.toFixed(1).padStart(8)}   ${
        (r.oursSeconds > 0 ? pct(r.minimalSeconds / r.oursSeconds) : '-').padStart(20)
      }   ${r.minimalRequests}, ${r.oursRequests}`),
    `tags/s (whole run): minimal ${(tags / rows.at(-1)!.minimalSeconds).toFixed(0)}, ours ${(tags / rows.at(-1)!.oursSeconds).toFixed(0)}`,
    `log ${extra.logBytes} bytes, summary ${extra.summaryBytes} bytes, peak RSS ${extra.peakRssMiB.toFixed(0)} MiB`,
    '',
    ...realRunVerdicts(rows).map(verdictLine),
    '',
  ]
  return lines.join('\n')
}

/** Issue 15's targets for the real run: the whole run's tags/s, and no more requests than the minimal client's. */
export function realRunVerdicts(rows: PhaseRow[]): Verdict[] {
  const total = rows.at(-1)!
  const ratio = total.minimalSeconds / total.oursSeconds
  // Our one extra request is the ping that checks the registry before anything else.
  const extra = total.oursRequests - total.minimalRequests
  return [
    { target: `real run: tags/s >= ${TARGETS.minRatio * 100}% of the minimal client`, value: pct(ratio), met: ratio >= TARGETS.minRatio },
    { target: 'real run: requests no more than the minimal client\'s (plus the ping)', value: `${extra >= 0 ? '+' : ''}${extra}`, met: extra <= 1 },
  ]
}

/** Issue 15's targets for the cache, on the best warm run: requests per tag, and time saved against no cache. */
export function cacheVerdicts(rounds: CacheRound[]): Verdict[] {
  const best = (name: string) =>
    rounds.map((r) => r.runs.find((x) => x.name === name)!).reduce((a, b) => (b.seconds < a.seconds ? b : a))
  const warm = best('warm')
  const saved = 1 - warm.seconds / best('no cache').seconds
  return [
    {
      target: `warm cache: <= ${TARGETS.maxWarmRequestsPerTag} requests per tag`,
      value: warm.requestsPerTag.toFixed(3),
      met: warm.requestsPerTag <= TARGETS.maxWarmRequestsPerTag,
    },
    { target: `warm cache: >= ${TARGETS.minWarmSpeedup * 100}% faster than no cache`, value: pct(saved), met: saved >= TARGETS.minWarmSpeedup },
  ]
}

export function formatCache(rounds: CacheRound[], tags: number): string {
  const names = rounds[0]!.runs.map((r) => r.name)
  const best = (name: string) => {
    const runs = rounds.map((r) => r.runs.find((x) => x.name === name)!)
    return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a))
  }
  const minimal = Math.min(...rounds.map((r) => r.minimalSeconds))
  const none = best('no cache')
  const lines = [
    `cache between runs (dry runs, ${tags} tags; minimal client without a cache: ${minimal.toFixed(1)} s)`,
    'run        seconds   requests/tag   faster than no cache   vs minimal client   peak RSS MiB',
    ...names.map((name) => {
      const r = best(name)
      return `${name.padEnd(9)} ${r.seconds.toFixed(1).padStart(8)} ${r.requestsPerTag.toFixed(3).padStart(14)} ${
        pct(1 - r.seconds / none.seconds).padStart(22)} ${pct(minimal / r.seconds).padStart(19)} ${r.peakRssMiB.toFixed(0).padStart(14)}`
    }),
    '',
    ...cacheVerdicts(rounds).map(verdictLine),
    '',
  ]
  return lines.join('\n')
}
