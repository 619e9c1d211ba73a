// Issue 5 acceptance 4: everything the test suite produces (logs, summaries, plans, outputs) is written to
// `.test-artifacts/`, with every secret the tests used, so that test/final/secrets.test.ts can search it all afterwards.
// Test helpers call `recordArtifacts` with what a run left behind and `recordSecret` with every secret they hand out.
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const ARTIFACTS_DIR = join(import.meta.dirname, '../../.test-artifacts')
export const SECRETS_FILE = join(ARTIFACTS_DIR, 'secrets.txt')

/** One recorded secret: a line of secrets.txt (JSON, so multi-line keys fit on one line). */
export interface RecordedSecret {
  value: string
  /** Set for a password: its Basic form, base64 of `user:value`, is searched for too. */
  username?: string
}

let counter = 0

/** A file name from a test's own words: letters, digits, dashes; unique within this process. */
function fileName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'artifact'
  counter++
  return `${safe}.${process.pid}.${counter}.txt`
}

/** Writes what a run produced (stdout, stderr, summary, plan, outputs, files) for the final secret scan. */
export function recordArtifacts(name: string, texts: string | readonly string[]): void {
  mkdirSync(ARTIFACTS_DIR, { recursive: true })
  const body = (typeof texts === 'string' ? [texts] : texts).join('\n')
  writeFileSync(join(ARTIFACTS_DIR, fileName(name)), body)
}

/**
 * Adds a secret the tests used (a password, a token, a private key, a passphrase) to the list the final scan
 * searches for. With `username`, the Basic form of the pair is searched for too. Secrets shorter than 8 characters
 * are refused: they would match by chance and make the scan flaky.
 */
export function recordSecret(value: string, username?: string): void {
  if (value.length < 8) throw new Error(`recordSecret: a test secret must be at least 8 characters, got ${value.length}`)
  mkdirSync(ARTIFACTS_DIR, { recursive: true })
  const entry: RecordedSecret = { value, ...(username !== undefined ? { username } : {}) }
  // O_APPEND: lines from parallel test workers do not interleave.
  appendFileSync(SECRETS_FILE, `${JSON.stringify(entry)}\n`)
}

/** Starts a fresh collection (the main test run's global setup calls it once). */
export function resetArtifacts(): void {
  rmSync(ARTIFACTS_DIR, { recursive: true, force: true })
  mkdirSync(ARTIFACTS_DIR, { recursive: true })
}

/** Every form in which a recorded secret could leak: itself, its Basic form, and each line of a multi-line one. */
export function leakForms(secret: RecordedSecret): string[] {
  const forms = [secret.value]
  if (secret.username !== undefined) {
    forms.push(Buffer.from(`${secret.username}:${secret.value}`).toString('base64'))
  }
  for (const line of secret.value.split('\n')) {
    const trimmed = line.trim()
    // PEM armour lines (`-----BEGIN ...`) are public; short lines (a base64 tail `==`) match by chance.
    if (trimmed.length >= 16 && !trimmed.startsWith('-----')) forms.push(trimmed)
  }
  return [...new Set(forms)]
}
