// Runs the bundled Action the way the runner does: `node dist/index.js` with INPUT_* variables and the
// GITHUB_STEP_SUMMARY / GITHUB_OUTPUT files.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { recordArtifacts, recordSecret } from './artifacts.js'

export interface ActionRun {
  code: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  /** The plan file's JSON, when one was written. */
  plan: PlanJson | undefined
  /** Everything the run left behind, for the secret scans. */
  everything: string
}

export interface PlanJson {
  dryRun: boolean
  totals: Record<string, number>
  repositories: {
    name: string
    skipped?: string
    images: { digest: string; tags: string[]; role: string; decision: string; reason: string; outcome: string }[]
  }[]
}

export const ENTRY = join(import.meta.dirname, '../../dist/index.js')

/** The Node the Action declares (`runs: using: node24`), installed by scripts/setup.sh into tools/. */
export const NODE24 = join(import.meta.dirname, '../../tools/node_modules/.bin/node')

export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const re = /^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2$/gm
  for (const m of text.matchAll(re)) outputs[m[1]!] = m[3]!
  return outputs
}

export async function runAction(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  node: string = process.execPath,
  /** Called with the started process, e.g. to signal it mid-run. */
  started?: (child: ReturnType<typeof spawn>) => void,
): Promise<ActionRun> {
  if ((inputs.password ?? '').length >= 8) recordSecret(inputs.password!, inputs.username)
  for (const name of ['ssh-private-key', 'ssh-passphrase']) if ((inputs[name] ?? '').length >= 8) recordSecret(inputs[name]!)
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-action-'))
  const files = { summary: join(dir, 'summary.md'), output: join(dir, 'output.txt'), plan: join(dir, 'plan.json') }
  await Promise.all([writeFile(files.summary, ''), writeFile(files.output, '')])
  // No INPUT_/GITHUB_ of the machine, and none of its docker or podman logins (credentials.ts would find them).
  const logins = /^(DOCKER_CONFIG|REGISTRY_AUTH_FILE|XDG_RUNTIME_DIR|XDG_CONFIG_HOME)$/
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('INPUT_') && !k.startsWith('GITHUB_') && !logins.test(k)),
  )
  const inputEnv = Object.fromEntries(
    Object.entries({ 'plan-file': files.plan, ...inputs }).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]),
  )
  const child = spawn(node, [ENTRY], {
    env: {
      ...clean,
      HOME: dir, // no stray ~/.docker/config.json
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_OUTPUT: files.output,
      ...inputEnv,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  started?.(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)))
  const summary = await readFile(files.summary, 'utf8')
  const outputText = await readFile(files.output, 'utf8')
  const planText = await readFile(files.plan, 'utf8').catch(() => '')
  const run = {
    code,
    stdout,
    stderr,
    outputs: parseOutputs(outputText),
    summary,
    plan: planText ? (JSON.parse(planText) as PlanJson) : undefined,
    // `::add-mask::` lines are how the runner learns what to hide; the runner never shows them.
    everything: [stdout.replace(/^::add-mask::.*$/gm, ''), stderr, summary, outputText, planText].join('\n'),
  }
  recordArtifacts('action', run.everything)
  return run
}

/** An HTTP server that counts every connection: proof that a run sent no request. */
export async function countingServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let count = 0
  const server: Server = createServer((_req, res) => res.writeHead(500).end())
  server.on('connection', () => count++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** digest -> decision and reason, for comparing the plans of two runs. */
export function decisions(plan: PlanJson | undefined): Record<string, string> {
  return Object.fromEntries(
    (plan?.repositories ?? []).flatMap((r) => r.images.map((i) => [`${r.name}@${i.digest}`, `${i.decision}: ${i.reason}`])),
  )
}
