import { describe, expect, it } from 'vitest'
import { ProgressMeter, withProgress } from '../../src/progress.js'
import { linesLogger } from '../support/logger.js'

describe('progress', () => {
  it('says where a phase is: counts, rate and ETA, then one line of figures when it ends', async () => {
    let clock = 0
    const meter = new ProgressMeter(() => clock)
    const log = linesLogger()
    const logged = withProgress(log, meter, { live: true })
    await logged.group('Inventory', async () => {
      logged.progress?.tick('repositories-total', 4)
      clock = 10_000
      logged.progress?.tick('tags', 1500)
      logged.progress?.tick('repositories')
      expect(meter.status()).toBe('Inventory: 1/4 repositories, 1,500 tags read (150 tags/s) (10.0 s, ETA 30.0 s)')
      logged.progress?.tick('repositories', 3)
      clock = 20_000
    })
    await logged.group('Delete', async () => {
      logged.progress?.tick('deletions-total', 1)
      logged.progress?.tick('deletions')
    })
    expect(log.lines).toEqual([
      'info: == Inventory',
      'info: Inventory done in 20.0 s: 4/4 repositories, 1,500 tags read (75 tags/s)',
      'info: == Delete',
      'info: Delete done in 0 ms: 1/1 manifest deleted',
    ])
  })

  it('without a live line, prints the status every interval while a phase runs, and nothing between phases', async () => {
    const meter = new ProgressMeter(() => 0)
    const log = linesLogger()
    const logged = withProgress(log, meter, { live: false, intervalMs: 5 })
    await logged.group('Inventory', async () => {
      logged.progress?.tick('repositories-total', 2)
      // Wait for the timer by its own lines, not by time: the test never asserts a duration.
      while (log.lines.filter((l) => l.startsWith('info: Inventory: 0/2')).length < 2) await new Promise((r) => setTimeout(r, 1))
    })
    const count = log.lines.length
    await new Promise((r) => setTimeout(r, 20))
    expect(log.lines.length).toBe(count)
    expect(log.lines.at(-1)).toBe('info: Inventory done in 0 ms: 0/2 repositories')
  })

  it('a group inside a phase is the front door\'s own (collapsed) group, not a phase', async () => {
    const groups: string[] = []
    const log = { ...linesLogger(), group: <T>(name: string, body: () => Promise<T>) => (groups.push(name), body()) }
    const logged = withProgress(log, new ProgressMeter(() => 0), { live: true })
    await logged.group('Garbage collection', () => logged.group('Collector output', async () => logged.info('x')))
    expect(groups).toEqual(['Collector output'])
  })
})

describe('where the CLI runs, and colour', () => {
  it('takes GitLab (also gitlab-ci-local, which sets GITLAB_CI=false) and GitHub Actions from the environment', async () => {
    const { ciOf } = await import('../../src/cli/logger.js')
    expect(ciOf({ GITLAB_CI: 'true' })).toBe('gitlab')
    expect(ciOf({ GITLAB_CI: 'false', CI_JOB_ID: '7' })).toBe('gitlab')
    expect(ciOf({ GITLAB_CI: 'false' })).toBeUndefined()
    expect(ciOf({ GITHUB_ACTIONS: 'true' })).toBe('github')
    expect(ciOf({})).toBeUndefined()
  })

  it('colours a terminal; NO_COLOR (any non-empty value) always wins; FORCE_COLOR turns it on elsewhere', async () => {
    const { colorEnabled } = await import('../../src/cli/color.js')
    const tty = { isTTY: true }
    const pipe = { isTTY: false }
    expect(colorEnabled({}, tty)).toBe(true)
    expect(colorEnabled({}, pipe)).toBe(false)
    expect(colorEnabled({ NO_COLOR: '0' }, tty)).toBe(false)
    expect(colorEnabled({ NO_COLOR: '' }, tty)).toBe(true)
    expect(colorEnabled({ FORCE_COLOR: '1' }, pipe)).toBe(true)
    expect(colorEnabled({ FORCE_COLOR: '0' }, tty)).toBe(false)
    expect(colorEnabled({ FORCE_COLOR: '1', NO_COLOR: '1' }, tty)).toBe(false)
    expect(colorEnabled({ TERM: 'dumb' }, tty)).toBe(false)
  })
})
