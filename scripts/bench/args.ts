// The benchmark's flags. Sizes and modes are flags so the large runs (100,000 tags) stay explicit (DECISIONS 22).
import { parseArgs } from 'node:util'
import type { FixtureMode } from './fixture.js'

export interface BenchArgs {
  tags: number
  repos: number
  mode: FixtureMode
  concurrency: number
  /** The second size is the first divided by this (tags and repositories); 0 = no second size. */
  smallFactor: number
  rounds: number
  keepCount: number
  json: boolean
  /** Where the registry stores its files: tmpfs (/dev/shm, fast to populate) or the temp directory on disk. */
  storage: 'tmpfs' | 'disk'
  pushConcurrency: number
  /** Directory for `node --cpu-prof` profiles of our runs. */
  cpuProf: string | undefined
  /** What to measure on each size: dry (the dry run, the default), real (a real run, phase by phase), cache. */
  modes: BenchMode[]
  /** For the cache rows: the share of tags moved before the last run (0.05 = 5%). */
  moveShare: number
  help: boolean
}

export type BenchMode = 'dry' | 'real' | 'cache'
const MODES: readonly BenchMode[] = ['dry', 'real', 'cache']

export const BENCH_HELP = `Usage: npx tsx scripts/bench.ts [flags]   (npm run bench -- [flags])

Starts a real registry, pushes a fixture through the API, then measures a minimal keep-alive client and
registry-prune's whole dry run (node dist/cli/index.js), each a program of its own timed from spawn to exit, start-up
included. Needs npm run build.

  --tags N             tags in the registry (default 20000)
  --repos N            repositories (default 100)
  --distinct           worst case: every tag its own image, no aliases, no indexes
  --aliases            most tags alias: five tags per image (80% aliases), no indexes
  --concurrency N      requests in flight, both clients (default 8)
  --small-factor N     also measure at tags/N over repos/N to show how cost grows (default 5; 0 = skip)
  --rounds N           measure each size N times, alternating, and keep the fastest of each side (default 1)
  --keep-count N       registry-prune's keep-count (default 10, so image ages are needed)
  --storage tmpfs|disk registry storage (default tmpfs when /dev/shm exists)
  --push-concurrency N requests in flight while populating (default 16)
  --cpu-prof DIR       run registry-prune under node --cpu-prof, profiles in DIR
  --modes LIST         what to measure, comma-separated (default dry):
                         dry    the dry run against the minimal client's reads
                         real   a real run with deletions and GC, phase by phase (inventory, re-check, deletions,
                                GC), against a minimal client doing the same safe work; each side on the same
                                restored storage; prints log and summary bytes
                         cache  dry runs without a cache, with a cold, a warm cache, and after --move-percent of
                                the tags moved (moves tags: measured last)
  --move-percent N     tags moved before the last cache run (default 5)
  --json               print the figures as JSON on stdout (the table goes to stderr)
`

export function parseBenchArgs(argv: string[], tmpfsAvailable: boolean): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      tags: { type: 'string' },
      repos: { type: 'string' },
      distinct: { type: 'boolean' },
      aliases: { type: 'boolean' },
      concurrency: { type: 'string' },
      'small-factor': { type: 'string' },
      rounds: { type: 'string' },
      'keep-count': { type: 'string' },
      storage: { type: 'string' },
      'push-concurrency': { type: 'string' },
      'cpu-prof': { type: 'string' },
      modes: { type: 'string' },
      'move-percent': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const whole = (flag: string, text: string | undefined, fallback: number, min: number): number => {
    if (text === undefined) return fallback
    const n = Number(text)
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} ${text}: expected a whole number >= ${min}`)
    return n
  }
  if (values.distinct && values.aliases) throw new Error('--distinct and --aliases exclude each other: pick one fixture')
  const storage = values.storage ?? (tmpfsAvailable ? 'tmpfs' : 'disk')
  if (storage !== 'tmpfs' && storage !== 'disk') throw new Error(`--storage ${storage}: expected tmpfs or disk`)
  if (storage === 'tmpfs' && !tmpfsAvailable) throw new Error('--storage tmpfs: /dev/shm does not exist here; use disk')
  const args: BenchArgs = {
    tags: whole('tags', values.tags, 20_000, 1),
    repos: whole('repos', values.repos, 100, 1),
    mode: values.distinct ? 'distinct' : values.aliases ? 'aliases' : 'mixed',
    concurrency: whole('concurrency', values.concurrency, 8, 1),
    smallFactor: whole('small-factor', values['small-factor'], 5, 0),
    rounds: whole('rounds', values.rounds, 1, 1),
    keepCount: whole('keep-count', values['keep-count'], 10, 0),
    json: values.json ?? false,
    storage,
    pushConcurrency: whole('push-concurrency', values['push-concurrency'], 16, 1),
    cpuProf: values['cpu-prof'],
    modes: parseModes(values.modes ?? 'dry'),
    moveShare: whole('move-percent', values['move-percent'], 5, 1) / 100,
    help: values.help ?? false,
  }
  if (args.repos > args.tags) throw new Error(`--repos ${args.repos} is more than --tags ${args.tags}: every repository needs a tag`)
  return args
}

/** The second, smaller size: both counts divided by the factor, at least one tag per repository. */
export function smallSize(args: Pick<BenchArgs, 'tags' | 'repos' | 'smallFactor'>): { tags: number; repos: number } | undefined {
  if (args.smallFactor <= 1) return undefined
  const repos = Math.max(1, Math.round(args.repos / args.smallFactor))
  const tags = Math.max(repos, Math.round(args.tags / args.smallFactor))
  return { tags, repos }
}

function parseModes(text: string): BenchMode[] {
  const modes = text.split(',').map((m) => m.trim()).filter(Boolean)
  for (const m of modes) {
    if (!MODES.includes(m as BenchMode)) throw new Error(`--modes ${text}: ${m} is not one of ${MODES.join(', ')}`)
  }
  if (modes.length === 0) throw new Error('--modes: name at least one of dry, real, cache')
  return [...new Set(modes)] as BenchMode[]
}
