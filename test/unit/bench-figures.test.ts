// The benchmark's arithmetic and flags: requests per tag count only manifest and blob requests (DECISIONS 20), the
// targets are judged only where the run can show them, and bad flags are refused.
import { describe, expect, it } from 'vitest'
import { parseBenchArgs, smallSize } from '../../scripts/bench/args.js'
import type { CeilingResult } from '../../scripts/bench/ceiling.js'
import { bestOf, formatTable, growth, sizeFigures, verdicts } from '../../scripts/bench/figures.js'
import type { OursResult } from '../../scripts/bench/ours.js'
import { cacheVerdicts, realRunVerdicts, type CacheRound, type PhaseRow } from '../../scripts/bench/whole-run.js'

const ceiling = (seconds: number): CeilingResult => ({ seconds, tags: 1000, manifestRequests: 1000, blobRequests: 800, listRequests: 11 })
const ours = (seconds: number, peakRssMiB = 120): OursResult => ({
  seconds,
  peakRssMiB,
  peakRssBy: 'getrusage',
  requests: { ping: 1, token: 0, catalog: 1, tags: 10, manifest: 1000, blob: 800, delete: 0, retries: 2 },
  totals: { imagesDeleted: 500 },
  repositories: 10,
  phases: {},
  cache: undefined,
  logBytes: 0,
  summaryBytes: 0,
})
const fixture = { tags: 1000, repos: 10, images: 800 }

describe('benchmark figures', () => {
  it('divides manifest and blob requests by tags, and reports the others apart', () => {
    const f = sizeFigures(fixture, ceiling(2), ours(4))
    expect(f.requestsPerTag).toBeCloseTo(1.8)
    expect(f.otherRequests).toEqual({ ping: 1, token: 0, catalog: 1, tags: 10 })
    expect(f.ratio).toBeCloseTo(0.5)
    expect(f.ceilingTagsPerSecond).toBe(500)
    expect(f.oursTagsPerSecond).toBe(250)
    expect(f.msPerTag).toBe(4)
    expect(f.retries).toBe(2)
  })

  it('keeps the fastest of each side over rounds, and the highest RSS', () => {
    const best = bestOf([sizeFigures(fixture, ceiling(2), ours(4, 100)), sizeFigures(fixture, ceiling(3), ours(3, 150))])
    expect(best.ceilingSeconds).toBe(2)
    expect(best.oursSeconds).toBe(3)
    expect(best.ratio).toBeCloseTo(2 / 3)
    expect(best.peakRssMiB).toBe(150)
  })

  it('judges only the targets the fixture and size can show', () => {
    const large = sizeFigures(fixture, ceiling(2), ours(3))
    const small = sizeFigures({ ...fixture, tags: 200 }, ceiling(0.4), ours(0.5))
    expect(growth(large, small)).toBeCloseTo(0.2)
    const mixed = verdicts('mixed', large, small)
    expect(mixed.map((v) => v.met)).toEqual([false, true])
    expect(verdicts('distinct', large, undefined).map((v) => v.target)).toEqual([
      'tags/s >= 90% of the minimal client',
      '<= 2 requests per tag (all distinct)',
    ])
    expect(verdicts('aliases', large, undefined)[1]).toMatchObject({ value: '1.800', met: false })
    const huge = sizeFigures({ ...fixture, tags: 100_000 }, ceiling(200), ours(300, 320))
    expect(verdicts('mixed', huge, undefined)[1]).toMatchObject({ met: false, value: '320 MiB' })
  })

  it('prints one column per size and a line per target', () => {
    const large = sizeFigures(fixture, ceiling(2), ours(3))
    const table = formatTable([large], verdicts('distinct', large, undefined))
    expect(table).toMatch(/registry-prune: tags\/s\s+333/)
    expect(table).toContain('MISSED  tags/s >= 90% of the minimal client: 67%')
    expect(table).toContain('met     <= 2 requests per tag (all distinct): 1.800')
  })
})

describe('whole-run targets (issue 15)', () => {
  const total = (minimalSeconds: number, oursSeconds: number, oursRequests: number): PhaseRow =>
    ({ phase: 'total', minimalSeconds, oursSeconds, minimalRequests: 100, oursRequests })

  it('judges the real run on its whole time, and allows our one ping on top of the minimal requests', () => {
    expect(realRunVerdicts([total(90, 100, 101)]).map((v) => [v.value, v.met])).toEqual([['90%', true], ['+1', true]])
    expect(realRunVerdicts([total(80, 100, 102)]).map((v) => [v.value, v.met])).toEqual([['80%', false], ['+2', false]])
  })

  it('judges the cache on the fastest warm run of all rounds', () => {
    const round = (warm: number, perTag: number): CacheRound => ({
      minimalSeconds: 9,
      movedTags: 0,
      runs: [
        { name: 'no cache', seconds: 10, requestsPerTag: 1.78, peakRssMiB: 1 },
        { name: 'warm', seconds: warm, requestsPerTag: perTag, peakRssMiB: 1 },
      ],
    })
    expect(cacheVerdicts([round(7, 1), round(5.5, 1)]).map((v) => [v.value, v.met])).toEqual([['1.000', true], ['45%', true]])
    expect(cacheVerdicts([round(7, 1.06)]).map((v) => v.met)).toEqual([false, false])
  })
})

describe('benchmark flags', () => {
  it('defaults to 20,000 tags over 100 repositories, concurrency 8, keep-count 10, a 5x smaller second size', () => {
    const args = parseBenchArgs([], true)
    expect(args).toMatchObject({ tags: 20_000, repos: 100, mode: 'mixed', concurrency: 8, keepCount: 10, storage: 'tmpfs' })
    expect(smallSize(args)).toEqual({ tags: 4000, repos: 20 })
    expect(parseBenchArgs([], false).storage).toBe('disk')
  })

  it('picks the fixture, and no second size with --small-factor 0', () => {
    expect(parseBenchArgs(['--distinct'], true).mode).toBe('distinct')
    expect(parseBenchArgs(['--aliases', '--tags', '100000'], true)).toMatchObject({ mode: 'aliases', tags: 100_000 })
    expect(smallSize(parseBenchArgs(['--small-factor', '0'], true))).toBeUndefined()
  })

  it.each([
    [['--distinct', '--aliases'], /exclude each other/],
    [['--tags', 'many'], /--tags many: expected a whole number >= 1/],
    [['--repos', '50', '--tags', '10'], /more than --tags/],
    [['--storage', 'tmpfs'], /\/dev\/shm does not exist/],
    [['--bogus'], /Unknown option/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseBenchArgs(argv, false)).toThrow(message)
  })
})
