// The minimal client run as registry-prune is (issue 15): a program of its own, bundled by ncc into a private
// directory, started as a child process and timed from spawn to exit. Both sides so pay Node's start-up, loading
// their bundle, and compiling their hot code as it warms up; a loop inside the benchmark's own process, warm from the
// rounds before, paid none of that, and so charged ours for being a program at all.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { CeilingResult, MinimalApplyResult } from './ceiling.js'

const NCC = join(import.meta.dirname, '../../node_modules/.bin/ncc')
const MAIN = join(import.meta.dirname, 'minimal-main.ts')
// A failure's message carries the command and its stderr.
const run = promisify(execFile)

export interface MinimalProgram {
  entry: string
  remove: () => Promise<void>
}

/** Bundles `minimal-main.ts` with ncc (a few seconds, once per benchmark). */
export async function buildMinimal(): Promise<MinimalProgram> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-bench-minimal-'))
  await run(NCC, ['build', MAIN, '-o', dir, '--quiet'])
  return { entry: join(dir, 'index.js'), remove: () => rm(dir, { recursive: true, force: true }) }
}

export interface MinimalRun {
  /** From spawn to exit, start-up included. */
  seconds: number
  inventory: CeilingResult
  applied: MinimalApplyResult | undefined
}

/** The minimal client's reads (`plan` undefined) or its whole safe work for `plan`, in a process of its own. */
export async function runMinimal(
  program: MinimalProgram,
  url: string,
  concurrency: number,
  plan?: { repository: string; digests: string[] }[],
): Promise<MinimalRun> {
  let planFile: string | undefined
  if (plan) {
    planFile = join(program.entry, '..', 'plan.json')
    await writeFile(planFile, JSON.stringify(plan))
  }
  const args = [program.entry, plan ? 'real' : 'read', url, String(concurrency), ...(planFile ? [planFile] : [])]
  const started = performance.now()
  const { stdout } = await run(process.execPath, args)
  const seconds = (performance.now() - started) / 1000
  const { inventory, applied } = JSON.parse(stdout) as { inventory: CeilingResult; applied?: MinimalApplyResult }
  return { seconds, inventory, applied }
}
