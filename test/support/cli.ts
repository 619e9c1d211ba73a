// Runs the bundled CLI the way a user does (`node dist/cli/index.js`, or an installed `registry-prune`), in a fresh
// working directory, and gathers everything it left behind for the assertions and the secret scans. Also the fixture
// helpers the CLI and GitLab tests share: an htpasswd registry, and the expected outcome of a real run.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { recordArtifacts, recordSecret } from './artifacts.js'
import type { PlanJson } from './action.js'
import type { Fixtures } from './fixtures.js'
import { resolveTag, type Target } from './push.js'
import { startRegistry, type TestRegistry } from './registry.js'

export const CLI_ENTRY = join(import.meta.dirname, '../../dist/cli/index.js')

export interface CliRun {
  code: number
  stdout: string
  stderr: string
  /** The working directory the CLI ran in (the plan file lands there by default). */
  cwd: string
  /** stdout parsed, when it is JSON. */
  json: PlanJson | undefined
  /** Every file the run left in its working directory, by name. */
  files: Record<string, string>
  /** stdout, stderr and every file: for the secret scans. */
  everything: string
}

export interface CliOptions {
  env?: Record<string, string>
  /** The command to run instead of `node dist/cli/index.js`, e.g. an installed bin. */
  command?: string[]
  cwd?: string
}

/** The environment without anything that could steer a run: REGISTRY_PRUNE_*, CI variables, docker and podman logins. */
export function cleanEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(REGISTRY_PRUNE_|INPUT_|GITHUB_|CI_|DOCKER_CONFIG$|REGISTRY_AUTH_FILE$|XDG_RUNTIME_DIR$|XDG_CONFIG_HOME$)/.test(key)) continue
    env[key] = value
  }
  return { ...env, HOME: home }
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const env = options.env ?? {}
  if ((env.REGISTRY_PRUNE_PASSWORD ?? '').length >= 8) recordSecret(env.REGISTRY_PRUNE_PASSWORD!, env.REGISTRY_PRUNE_USERNAME)
  for (const name of ['REGISTRY_PRUNE_SSH_PRIVATE_KEY', 'REGISTRY_PRUNE_SSH_PASSPHRASE']) {
    if ((env[name] ?? '').length >= 8) recordSecret(env[name]!)
  }
  const cwd = options.cwd ?? (await mkdtemp(join(tmpdir(), 'registry-prune-cli-')))
  const [command, ...prefix] = options.command ?? [process.execPath, CLI_ENTRY]
  const child = spawn(command!, [...prefix, ...args], {
    cwd,
    env: { ...cleanEnv(cwd), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (c) => resolve(c ?? -1))
  })
  const files: Record<string, string> = {}
  for (const entry of await readdir(cwd, { withFileTypes: true })) {
    if (entry.isFile()) files[entry.name] = await readFile(join(cwd, entry.name), 'utf8')
  }
  let json: PlanJson | undefined
  try {
    json = JSON.parse(stdout) as PlanJson
  } catch {
    json = undefined
  }
  const everything = [stdout, stderr, ...Object.values(files)].join('\n')
  recordArtifacts('cli', everything)
  return { code, stdout, stderr, cwd, json, files, everything }
}

/** `KEY=value` lines -> object. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z0-9_]+)=(.*)$/.exec(line)
    if (match) out[match[1]!] = match[2]!
  }
  return out
}

/** A registry that wants Basic auth (htpasswd, bcrypt), with `user:password` as its only account. */
export async function startHtpasswdRegistry(user: string, password: string): Promise<{ reg: TestRegistry; target: Target }> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-htpasswd-'))
  const htpasswd = join(dir, 'htpasswd')
  await writeFile(htpasswd, execFileSync('htpasswd', ['-nbB', user, password]))
  const reg = await startRegistry({ auth: `auth:\n  htpasswd:\n    realm: test\n    path: ${htpasswd}` })
  const headers = { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` }
  return { reg, target: { url: reg.url, headers } }
}

/** tag -> digest for every tag of every fixture repository, as the registry answers now. */

/**
 * The fixture registry after a real run with keep-count 2 (the outcome the action test asserts): every kept tag
 * resolves to its original digest, deleted tags and the children of deleted indexes are gone, children of kept
 * indexes remain. Returns the problems found, empty when the registry is as expected.
 */
export async function prunedLikeTheAction(t: Target, fx: Fixtures): Promise<string[]> {
  const problems: string[] = []
  for (const [repo, tags] of Object.entries(fx.keptTags)) {
    for (const tag of tags) {
      const original = fx.tags[repo]?.[tag] || undefined
      const now = await resolveTag(t, repo, tag)
      if (now === undefined) problems.push(`${repo}:${tag} is gone`)
      else if (original && now !== original) problems.push(`${repo}:${tag} moved to ${now}`)
    }
  }
  for (const [repo, tags] of Object.entries(fx.deletedTags)) {
    for (const tag of tags) if ((await resolveTag(t, repo, tag)) !== undefined) problems.push(`${repo}:${tag} remains`)
  }
  for (const [repo, digests] of Object.entries(fx.keptChildren)) {
    for (const d of digests) if ((await resolveTag(t, repo, d)) !== d) problems.push(`${repo}@${d} (kept child) is gone`)
  }
  for (const [repo, digests] of Object.entries(fx.deletedChildren)) {
    for (const d of digests) if ((await resolveTag(t, repo, d)) !== undefined) problems.push(`${repo}@${d} remains`)
  }
  return problems
}

/** image digest -> `decision: reason`, over every repository of a plan. */
