// Vitest global setup for the main test run.
// - Every run starts a fresh `.test-artifacts/` for the final secret scan.
// - Every temporary directory the tests make (with `tmpdir()`, in the workers and in the processes they start) goes
//   under one scratch directory, removed when the run ends: a run makes a few hundred, and a test that fails half-way
//   does not clean up after itself.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resetArtifacts } from './artifacts.js'

export default function setup(): () => void {
  resetArtifacts()
  const scratch = mkdtempSync(join(tmpdir(), 'registry-prune-test-'))
  process.env.TMPDIR = scratch
  return () => rmSync(scratch, { recursive: true, force: true })
}
