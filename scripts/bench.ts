// npm run bench: how fast registry-prune reads a registry, against the registry's own ceiling (issue 6).
// Starts a real registry, pushes a fixture through the API, then measures (a) a minimal keep-alive client getting the
// same information and (b) our whole dry run as a user runs it, at two sizes. Figures, not a timed test.
import { existsSync } from 'node:fs'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRegistry } from '../test/support/registry.js'
import { BENCH_HELP, parseBenchArgs, smallSize, type BenchArgs } from './bench/args.js'
import { measureCeiling } from './bench/ceiling.js'
import { fixtureCounts, type FixtureSpec } from './bench/fixture.js'
import { bestOf, formatTable, growth, sizeFigures, verdicts, type SizeFigures } from './bench/figures.js'
import { buildMinimal, runMinimal, type MinimalProgram } from './bench/minimal.js'
import { measureOurs, snapshotCli } from './bench/ours.js'
import { populate } from './bench/populate.js'
import { bestRealRun, cacheRound, restore, formatCache, formatRealRun, realRunRound, type CacheRound, type RealRunRound } from './bench/whole-run.js'

const say = (message: string): void => {
  process.stderr.write(`${message}\n`)
}

interface SizeRun {
  best: SizeFigures | undefined
  rounds: SizeFigures[]
  /** The real-run and cache tables (issue 15), when those modes ran. */
  text: string
  real?: RealRunRound[]
  cache?: CacheRound[]
}

/**
 * What a stopped benchmark must not leave behind: the registry's storage (gigabytes of tmpfs at 100,000 tags, which is
 * memory) and the registry itself. `finally` does not run when a signal ends the process, so a handler does it.
 */
const leftovers = new Set<() => Promise<void>>()
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    say(`bench: ${signal}: stopping the registry and removing its storage`)
    void Promise.allSettled([...leftovers].map((clean) => clean())).then(() => process.exit(code))
  })
}

async function measureSize(
  args: BenchArgs,
  programs: { cli: string; minimal: MinimalProgram },
  tags: number,
  repos: number,
): Promise<SizeRun> {
  const { cli } = programs
  const spec: FixtureSpec = { tags, repos, mode: args.mode }
  const counts = fixtureCounts(spec)
  const storageRoot = await mkdtemp(join(args.storage === 'tmpfs' ? '/dev/shm' : tmpdir(), 'registry-prune-bench-'))
  const removeStorage = () => rm(storageRoot, { recursive: true, force: true })
  leftovers.add(removeStorage)
  const registry = await startRegistry({ storage: join(storageRoot, 'storage') })
  const stopRegistry = () => registry.stop()
  leftovers.add(stopRegistry)
  try {
    say(`populating ${registry.url}: ${counts.tags} tags, ${counts.images} images, ${counts.indexes} indexes in ${repos} repositories (${args.mode})`)
    let last = 0
    const pushed = await populate(registry.url, spec, {
      concurrency: args.pushConcurrency,
      progress: (done) => {
        if (performance.now() - last < 5000) return
        last = performance.now()
        say(`  ${done}/${counts.tags} tags pushed`)
      },
    })
    say(`  pushed in ${pushed.seconds.toFixed(1)} s (${pushed.requests} requests)`)
    // The first read after pushing was slower here (354 against 626 tags/s, once): one unmeasured pass first, so
    // neither side gets the registry warm from the other.
    const warm = await measureCeiling(registry.url, args.concurrency)
    if (warm.tags !== counts.tags) throw new Error(`the registry lists ${warm.tags} tags, the fixture pushed ${counts.tags}`)
    say(`  warm-up read in ${warm.seconds.toFixed(1)} s`)
    const rounds: SizeFigures[] = []
    for (let round = 1; round <= (args.modes.includes('dry') ? args.rounds : 0); round++) {
      const load = loadavg()[0]!.toFixed(2)
      // The minimal client as a program of its own, timed from spawn to exit like ours (bench/minimal.ts).
      const runCeiling = async () => {
        const minimal = await runMinimal(programs.minimal, registry.url, args.concurrency)
        return { ...minimal.inventory, seconds: minimal.seconds }
      }
      const runOurs = () =>
        measureOurs(registry.url, {
          entry: cli,
          concurrency: args.concurrency,
          args: ['--keep-count', String(args.keepCount)],
          ...(args.cpuProf ? { cpuProfileDir: args.cpuProf } : {}),
        })
      // Alternate which side goes first, so a slow spell on the shared machine does not always hit the same one.
      let ceiling
      let ours
      if (round % 2 === 1) {
        ceiling = await runCeiling()
        ours = await runOurs()
      } else {
        ours = await runOurs()
        ceiling = await runCeiling()
      }
      const figures = sizeFigures({ tags: counts.tags, repos, images: counts.images }, ceiling, ours)
      rounds.push(figures)
      say(
        `  round ${round} (load ${load}): minimal ${figures.ceilingTagsPerSecond.toFixed(0)} tags/s, ` +
          `ours ${figures.oursTagsPerSecond.toFixed(0)} tags/s (${(figures.ratio * 100).toFixed(0)}%), ` +
          `${figures.requestsPerTag.toFixed(3)} requests/tag, peak RSS ${figures.peakRssMiB.toFixed(0)} MiB`,
      )
    }
    const run: SizeRun = { best: rounds.length > 0 ? bestOf(rounds) : undefined, rounds, text: '' }
    // Real runs delete and the cache rows move tags: each starts from a copy of the populated storage.
    const pristine = join(storageRoot, 'pristine')
    if (args.modes.includes('real') || args.modes.includes('cache')) await cp(registry.storage, pristine, { recursive: true })
    if (args.modes.includes('real')) {
      const planned = await measureOurs(registry.url, {
        entry: cli, concurrency: args.concurrency, args: ['--keep-count', String(args.keepCount)], withDeletions: true,
      })
      const deletions = planned.deletions ?? []
      run.real = []
      for (let round = 1; round <= args.rounds; round++) {
        const r = await realRunRound(registry, pristine, programs, { ...args, round }, deletions)
        run.real.push(r)
        say(`  real run, round ${round}: ${r.rows.map((row) => `${row.phase} ${row.minimalSeconds.toFixed(1)}/${row.oursSeconds.toFixed(1)} s`).join(', ')} (minimal/ours)`)
      }
      run.text += formatRealRun(bestRealRun(run.real), counts.tags, run.real[0]!.deleted, run.real.at(-1)!)
    }
    if (args.modes.includes('cache')) {
      run.cache = []
      const cacheFile = join(storageRoot, 'registry-prune.cache')
      for (let round = 1; round <= args.rounds; round++) {
        await restore(registry, pristine)
        const r = await cacheRound(registry, spec, programs, { ...args, round, cacheFile }, counts.tags)
        run.cache.push(r)
        say(`  cache, round ${round}: ${r.runs.map((x) => `${x.name} ${x.seconds.toFixed(1)} s ${x.requestsPerTag.toFixed(3)}/tag`).join(', ')}`)
      }
      run.text += formatCache(run.cache, counts.tags)
    }
    return run
  } finally {
    await registry.stop()
    leftovers.delete(stopRegistry)
    await removeStorage()
    leftovers.delete(removeStorage)
  }
}

async function main(): Promise<number> {
  let args: BenchArgs
  try {
    args = parseBenchArgs(process.argv.slice(2), existsSync('/dev/shm'))
  } catch (error) {
    say(`bench: ${(error as Error).message}\n\n${BENCH_HELP}`)
    return 2
  }
  if (args.help) {
    process.stdout.write(BENCH_HELP)
    return 0
  }
  const started = new Date().toISOString()
  const small = smallSize(args)
  const cli = await snapshotCli()
  leftovers.add(cli.remove)
  const minimal = await buildMinimal()
  leftovers.add(minimal.remove)
  const programs = { cli: cli.entry, minimal }
  let smallRun
  let largeRun
  try {
    // The small size first: it is quick, and a broken setup shows before the long populate.
    smallRun = small ? await measureSize(args, programs, small.tags, small.repos) : undefined
    largeRun = await measureSize(args, programs, args.tags, args.repos)
  } finally {
    await cli.remove()
    await minimal.remove()
  }
  const judged = largeRun.best ? verdicts(args.mode, largeRun.best, smallRun?.best) : []
  const sizes = [...(smallRun?.best ? [smallRun.best] : []), ...(largeRun.best ? [largeRun.best] : [])]
  const table = `registry-prune benchmark: ${args.mode} fixture, concurrency ${args.concurrency}, keep-count ${args.keepCount}, ` +
    `${args.storage} storage, best of ${args.rounds} round(s)\n\n${sizes.length > 0 ? formatTable(sizes, judged) : ''}` +
    [smallRun, largeRun].map((r) => (r?.text ? `\n${r.text}` : '')).join('')
  const json = {
    startedAt: started,
    node: process.version,
    settings: { ...args, json: undefined, help: undefined },
    sizes,
    rounds: { ...(smallRun ? { small: smallRun.rounds } : {}), large: largeRun.rounds },
    growth: smallRun?.best && largeRun.best ? growth(largeRun.best, smallRun.best) : undefined,
    real: { ...(smallRun?.real ? { small: smallRun.real } : {}), large: largeRun.real },
    cache: { ...(smallRun?.cache ? { small: smallRun.cache } : {}), large: largeRun.cache },
    targets: judged,
  }
  if (args.json) {
    say(table)
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
  } else {
    process.stdout.write(table)
  }
  return 0
}

process.exitCode = await main()
