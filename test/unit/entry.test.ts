// The Action's entry modules follow actions/typescript-action, which `npx @github/local-action . src/main.ts .env`
// relies on: src/main.ts exports `run` and starts nothing when imported; src/index.ts only calls it.
import { afterEach, beforeEach, expect, test, vi } from 'vitest'

const prune = vi.hoisted(() => vi.fn(async () => Promise.reject(new Error('stub run: no registry here'))))
vi.mock('../../src/run.js', () => ({ run: prune }))

let exitCode: typeof process.exitCode
let signalListeners: Map<NodeJS.Signals, unknown[]>
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']
beforeEach(() => {
  exitCode = process.exitCode
  signalListeners = new Map(SIGNALS.map((s) => [s, process.listeners(s)]))
  prune.mockClear()
  vi.resetModules()
})
afterEach(() => {
  process.exitCode = exitCode
  // run() installs SIGINT/SIGTERM handlers for the run; a failed run leaves them: remove them from the test worker.
  for (const s of SIGNALS) {
    for (const listener of process.listeners(s)) {
      if (!signalListeners.get(s)?.includes(listener)) process.off(s, listener)
    }
  }
  vi.unstubAllEnvs()
  vi.restoreAllMocks()
})

test('importing src/main.ts starts no run; run is a function that does one', async () => {
  const written = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  const main = await import('../../src/main.js')
  await new Promise((resolve) => setImmediate(resolve))
  expect(typeof main.run).toBe('function')
  expect(prune).not.toHaveBeenCalled()
  expect(written).not.toHaveBeenCalled()

  vi.stubEnv('INPUT_REGISTRY', 'http://127.0.0.1:5000')
  vi.stubEnv('INPUT_KEEP-COUNT', '3')
  vi.stubEnv('INPUT_PLAN-FILE', '/dev/null')
  vi.stubEnv('HOME', '/nonexistent-home')
  await main.run()
  expect(prune).toHaveBeenCalledTimes(1)
  expect(prune.mock.calls[0]).toEqual([
    expect.objectContaining({ registry: 'http://127.0.0.1:5000', keepCount: 3 }),
    expect.anything(),
  ])
  // The one try/catch of the template: a failure becomes setFailed, not an unhandled rejection.
  expect(written).toHaveBeenCalledWith(expect.stringContaining('::error::stub run: no registry here'))
  expect(process.exitCode).toBe(1)
})

test('src/index.ts calls run once', async () => {
  const run = vi.fn(async () => {})
  vi.doMock('../../src/main.js', () => ({ run }))
  await import('../../src/index.js')
  expect(run).toHaveBeenCalledTimes(1)
  vi.doUnmock('../../src/main.js')
})
