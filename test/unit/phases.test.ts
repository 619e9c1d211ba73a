// Issue 15: each phase's time is the wall time during which some of its work was under way (overlapping repositories
// count once), and the plan JSON and the summary carry the phases. A fake clock: no test asserts a real duration.
import { describe, expect, it } from 'vitest'
import { PhaseClock, requestsBetween } from '../../src/phases.js'
import { jsonPieces } from '../../src/report/json.js'
import { toMarkdown } from '../../src/report/markdown.js'
import type { RunResult } from '../../src/run.js'
import { emptyRun } from './result-builder.js'

describe('phase figures', () => {
  it('counts overlapping work of one phase once, and phases apart', async () => {
    let now = 0
    const clock = new PhaseClock(() => now)
    const step = (ms: number) => async () => {
      now += ms
      await Promise.resolve()
    }
    // Two re-checks side by side: 0..10 and 5..15 -> 15 ms, not 20.
    let releaseFirst!: () => void
    const first = clock.time('recheck', () => new Promise<void>((resolve) => (releaseFirst = resolve)))
    now = 5
    let releaseSecond!: () => void
    const second = clock.time('recheck', () => new Promise<void>((resolve) => (releaseSecond = resolve)))
    now = 10
    releaseFirst()
    await first
    now = 15
    releaseSecond()
    await second
    await clock.time('deletions', step(7))
    expect(clock.seconds('recheck')).toBeCloseTo(0.015)
    expect(clock.seconds('deletions')).toBeCloseTo(0.007)
    expect(clock.seconds('gc')).toBe(0)
  })

  it('counts requests between two snapshots, retries apart', () => {
    const before = { tags: 1, manifest: 10, delete: 0, retries: 1 }
    const after = { tags: 3, manifest: 30, delete: 5, retries: 4 }
    expect(requestsBetween(before, after)).toBe(27)
    expect(requestsBetween(before, after, ['delete'])).toBe(5)
  })

  it('are in the plan JSON and on one line of the summary', () => {
    const result = emptyRun({ 'cache-file': 'c.json.gz' }, {
      phases: {
        inventory: { seconds: 12.34, requests: 2000 },
        recheck: { seconds: 3, requests: 120 },
        deletions: { seconds: 1.5, requests: 40 },
        gc: { seconds: 0, requests: 0 },
      },
      cache: { file: 'c.json.gz', loaded: 10, manifestHits: 7, blobHits: 3, written: 10 },
    })
    const json = JSON.parse([...jsonPieces(result)].join('')) as Pick<RunResult, 'phases' | 'cache'>
    expect(json.phases).toEqual(result.phases)
    expect(json.cache).toEqual(result.cache)
    const lines = toMarkdown(result).split('\n').filter((l) => l.startsWith('_Phases:'))
    expect(lines).toEqual([
      '_Phases: inventory 12.3 s (2000 requests), re-check 3.0 s (120 requests), deletions 1.5 s (40 requests); ' +
        'cache: 7 manifests and 3 configs not fetched._',
    ])
  })
})
