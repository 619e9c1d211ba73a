// Issue 5 acceptance 4: no secret appears in any log, summary, plan or artifact the whole test suite produced.
// Runs after every other test (scripts/test.sh: `npx vitest run test/final` as a second step), over what the helpers
// recorded in `.test-artifacts/` (see test/support/artifacts.ts). It fails when it gathered too little to mean anything.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ARTIFACTS_DIR, SECRETS_FILE, leakForms, type RecordedSecret } from '../support/artifacts.js'

/** Below these, the suite did not run (or its helpers did not record): a scan of nothing proves nothing. */
const MIN_FILES = 20
const MIN_SECRETS = 5

function gathered(): { files: Map<string, string>; secrets: RecordedSecret[] } {
  const files = new Map<string, string>()
  let names: string[] = []
  try {
    names = readdirSync(ARTIFACTS_DIR)
  } catch {
    // no directory: reported by the size checks below
  }
  for (const name of names) {
    const path = join(ARTIFACTS_DIR, name)
    if (path !== SECRETS_FILE) files.set(name, readFileSync(path, 'utf8'))
  }
  let lines: string[] = []
  try {
    lines = readFileSync(SECRETS_FILE, 'utf8').split('\n').filter(Boolean)
  } catch {
    // no secrets recorded: reported below
  }
  return { files, secrets: lines.map((line) => JSON.parse(line) as RecordedSecret) }
}

/** How a secret is named in a failure: never the secret itself. */
const hint = (form: string): string => `${form.slice(0, 3)}… (${form.length} characters)`

describe('secrets in everything the test suite produced', () => {
  const { files, secrets } = gathered()

  it('gathered enough to mean something', () => {
    const why = `in ${ARTIFACTS_DIR}; run the whole suite (npm test) first`
    expect(files.size, `artifact files ${why}`).toBeGreaterThanOrEqual(MIN_FILES)
    expect(secrets.length, `recorded secrets ${why}`).toBeGreaterThanOrEqual(MIN_SECRETS)
    // Each kind of secret the suite hands out was recorded at least once.
    expect(secrets.some((s) => s.username !== undefined), 'a password with its user').toBe(true)
    expect(secrets.some((s) => s.value.includes('PRIVATE KEY')), 'a private key').toBe(true)
  })

  it('finds no secret, no Basic credential and no line of a private key in any of it', () => {
    const forms = new Set(secrets.flatMap(leakForms))
    const leaks: string[] = []
    for (const [name, text] of files) {
      for (const form of forms) if (text.includes(form)) leaks.push(`${name}: ${hint(form)}`)
    }
    expect(leaks).toEqual([])
  })
})
