// Issue 12: credentials from the logins people already have, against the real registry with htpasswd Basic auth.
// The helper is the real `docker-credential-pass` over a throw-away GPG key; logins are stored through the helper's
// own `store` command, as `docker login` does. Runs go through the CLI's front door (cliMain, from source) with an
// environment made for each case: no username or password is given anywhere.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliMain } from '../../src/cli/main.js'
import type { PlanJson } from '../support/action.js'
import { recordArtifacts, recordSecret } from '../support/artifacts.js'
import { startHtpasswdRegistry } from '../support/cli.js'
import { makeGpgKey, type GpgKey, type PassStore } from '../support/pass-store.js'
import { pushImage, resolveTag, type Target } from '../support/push.js'
import type { TestRegistry } from '../support/registry.js'

const USER = 'alice'
const PASSWORD = 'alice-helper-Pa55word'

let reg: TestRegistry
let target: Target
let host: string
let key: GpgKey
let pass: PassStore
let work: string

beforeAll(async () => {
  recordSecret(PASSWORD, USER)
  ;({ reg, target } = await startHtpasswdRegistry(USER, PASSWORD))
  host = new URL(reg.url).host
  key = await makeGpgKey()
  pass = await key.passStore()
  work = await mkdtemp(join(tmpdir(), 'registry-prune-credentials-'))
}, 60_000)
afterAll(async () => {
  await reg?.stop()
  await key?.remove()
  if (work) await rm(work, { recursive: true, force: true })
})

interface Run {
  code: number
  stdout: string
  stderr: string
  plan: string
}

/** Two images in a repository of the case's own: a real run with keep-count 1 deletes the older one. */
async function twoImages(repo: string): Promise<{ older: string; newer: string }> {
  const older = await pushImage(target, repo, 'v1', { layers: [`${repo}-1`], created: '2024-01-01T00:00:00Z' })
  const newer = await pushImage(target, repo, 'v2', { layers: [`${repo}-2`], created: '2024-02-01T00:00:00Z' })
  return { older: older.digest, newer: newer.digest }
}

/** The CLI with only the given environment (plus PATH), in a home of its own: nothing of the machine's logins. */
async function cli(name: string, args: string[], env: Record<string, string>): Promise<Run> {
  const home = await mkdtemp(join(work, `${name}-`))
  const plan = join(home, 'plan.json')
  let stdout = ''
  let stderr = ''
  const sink = (add: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        add(chunk.toString())
        done()
      },
    })
  const code = await cliMain(['--registry', reg.url, '--keep-count', '1', '--plan-file', plan, '--json', ...args], {
    stdout: sink((t) => (stdout += t)),
    stderr: { write: (t: string) => (stderr += t) },
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env },
  })
  const run = { code, stdout, stderr, plan: await readFile(plan, 'utf8').catch(() => '') }
  recordArtifacts(`credentials-${name}`, [run.stdout, run.stderr, run.plan])
  for (const text of [run.stdout, run.stderr, run.plan]) {
    expect(text).not.toContain(PASSWORD)
    expect(text).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'))
  }
  return run
}

async function dockerConfig(name: string, config: unknown): Promise<string> {
  const dir = join(work, `docker-${name}`)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'config.json'), JSON.stringify(config))
  return dir
}

/** tag -> decision in a repository of the run's JSON: the registry was read with the credentials found. */
function decisions(run: Run, repo: string): Record<string, string> {
  const json = JSON.parse(run.stdout) as PlanJson
  const images = json.repositories.find((r) => r.name === repo)?.images ?? []
  return Object.fromEntries(images.flatMap((i) => i.tags.map((t) => [t, i.decision])))
}

const origin = (run: Run): unknown => (JSON.parse(run.stdout) as { settings: { credentialOrigin: unknown } }).settings.credentialOrigin

describe('docker-credential-pass (a real helper)', () => {
  beforeAll(() => {
    pass.store(host, USER, PASSWORD)
  })

  it('credsStore: the stored login is used, for reading and deleting', async () => {
    const { older, newer } = await twoImages('team/store')
    const dir = await dockerConfig('store', { credsStore: 'pass' })
    const run = await cli('store', ['--repositories', 'team/store'], { DOCKER_CONFIG: dir, ...pass.env })
    expect(run.code, run.stderr).toBe(0)
    expect(origin(run)).toEqual({ kind: 'found', used: `credsStore 'pass' in ${join(dir, 'config.json')}`, looked: [] })
    expect(run.stderr).toContain(`Credentials: user "alice" from credsStore 'pass' in ${join(dir, 'config.json')}`)
    expect(await resolveTag(target, 'team/store', 'v1')).toBeUndefined()
    expect(await resolveTag(target, 'team/store', 'v2')).toBe(newer)
    expect(older).not.toBe(newer)
  })

  it('credHelpers for the host wins over a credsStore that is not installed', async () => {
    await twoImages('team/helpers')
    const dir = await dockerConfig('helpers', { credHelpers: { [host]: 'pass' }, credsStore: 'not-installed-here' })
    const run = await cli('helpers', ['--repositories', 'team/helpers', '--dry-run'], { DOCKER_CONFIG: dir, ...pass.env })
    expect(run.code, run.stderr).toBe(0)
    expect(origin(run)).toMatchObject({ used: `credHelpers 'pass' in ${join(dir, 'config.json')}` })
    expect(decisions(run, 'team/helpers')).toEqual({ v1: 'delete', v2: 'keep' })
  })

  it('a helper without an entry for the registry: the refusal says where it looked and that nothing was sent', async () => {
    const empty = await key.passStore()
    const dir = await dockerConfig('empty', { credsStore: 'pass' })
    const run = await cli('empty', ['--repositories', 'team/store', '--dry-run'], { DOCKER_CONFIG: dir, ...empty.env })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(
      `The registry refused anonymous access (no username/password given; looked in ${join(dir, 'config.json')} ` +
        `(credsStore 'pass': no entry for ${host}; no auths entry for ${host}), `,
    )
    expect(run.stderr).toContain(
      `containers/auth.json (no file): sent no credentials); give username and password, or log in first (docker login ${host})`,
    )
    expect(run.stderr).not.toContain('check username and password')
  })

  it('a stale login in the helper: the refusal names the helper it came from', async () => {
    const stale = await key.passStore()
    const wrong = 'alice-STALE-helper-password'
    recordSecret(wrong, USER)
    stale.store(host, USER, wrong)
    const dir = await dockerConfig('stale', { credHelpers: { [host]: 'pass' } })
    const run = await cli('stale', ['--repositories', 'team/store', '--dry-run'], { DOCKER_CONFIG: dir, ...stale.env })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(
      `The registry refused the user "alice" (credentials from credHelpers 'pass' in ${join(dir, 'config.json')}); ` +
        `log in again (docker login ${host}) or give username and password`,
    )
    expect(run.stderr + run.stdout + run.plan).not.toContain(wrong)
  })
})

describe('a helper that is not installed', () => {
  it('is named in the refusal, and an inline entry of the same config is still used', async () => {
    const dir = await dockerConfig('missing', { credsStore: 'registry-prune-not-installed' })
    const refused = await cli('missing', ['--repositories', 'team/store', '--dry-run'], { DOCKER_CONFIG: dir })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(
      "(credsStore 'registry-prune-not-installed': docker-credential-registry-prune-not-installed is not installed " +
        `(not found on PATH); no auths entry for ${host})`,
    )

    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
    await dockerConfig('missing', { credsStore: 'registry-prune-not-installed', auths: { [host]: { auth } } })
    const run = await cli('missing-inline', ['--repositories', 'team/store', '--dry-run'], { DOCKER_CONFIG: dir })
    expect(run.code, run.stderr).toBe(0)
    expect(origin(run)).toMatchObject({ used: `auths["${host}"] in ${join(dir, 'config.json')}` })
  })
})

describe('podman/skopeo auth.json', () => {
  it('REGISTRY_AUTH_FILE: its auths entry is used when the docker config has none', async () => {
    await twoImages('team/podman')
    const file = join(work, 'podman-auth.json')
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
    await writeFile(file, JSON.stringify({ auths: { [host]: { auth } } }))
    const dir = await dockerConfig('podman', { auths: {} })
    const run = await cli('podman', ['--repositories', 'team/podman', '--dry-run'], {
      DOCKER_CONFIG: dir,
      REGISTRY_AUTH_FILE: file,
    })
    expect(run.code, run.stderr).toBe(0)
    expect(origin(run)).toEqual({
      kind: 'found',
      used: `auths["${host}"] in ${file}`,
      looked: [`${join(dir, 'config.json')} (no auths entry for ${host})`],
    })
    expect(decisions(run, 'team/podman')).toEqual({ v1: 'delete', v2: 'keep' })
  })
})
