// Issue 5 acceptance 3, end to end: the bundled Action (`node dist/index.js`; run `npm run build` first) fails on
// every row of the bad-input table before sending anything: a server that counts connections sees none, and the
// error names the input and the expected form.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { countingServer, runAction } from '../support/action.js'
import { recordArtifacts } from '../support/artifacts.js'
import { BAD, rowName } from '../support/bad-inputs.js'

// An environment variable cannot hold a NUL byte (neither can a runner's input): those rows stay unit-tested only.
const ROWS = BAD.filter(([, values]) => !Object.values(values).some((v) => v.includes('\u0000')))

/** The `::error::` message of a workflow command, unescaped as the runner shows it. */
function errorMessage(stdout: string): string | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('::error::'))
  return line?.slice('::error::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

describe('bad inputs through the bundled Action', () => {
  let server: Awaited<ReturnType<typeof countingServer>>
  beforeAll(async () => {
    server = await countingServer()
  })
  afterAll(async () => {
    expect(server.connections(), 'connections to the registry over all rows').toBe(0)
    await server.close()
  })

  test('most of the table runs end to end', () => expect(ROWS.length).toBeGreaterThanOrEqual(BAD.length - 2))

  const named = ROWS.map(([input, values, says]) => [input, rowName(values), values, says] as const)
  test.concurrent.each(named)('%s: %s', async (input, _name, values, says) => {
    const run = await runAction({ registry: server.url, ...values })
    recordArtifacts(`bad-input-${input}`, run.everything)
    expect(run.code, run.stdout + run.stderr).toBe(1)
    const message = errorMessage(run.stdout)
    expect(message, run.stdout).toBeDefined()
    expect(message).toContain(input)
    expect(message).toMatch(/Expected /)
    expect(message).toMatch(says)
    expect(run.plan).toBeUndefined()
    expect(server.connections()).toBe(0)
  })
})
