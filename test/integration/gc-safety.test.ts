// Issue 11 items 4-6 against the real registry, the real collector and a real sshd: a dry run never changes storage,
// the tool owns the collector's flags whatever the quoting, and no secret reaches a hook's environment, the plan file or
// the summary. The CLI runs in this process (src, not the bundle), as `registry-prune` would with this environment.
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliMain } from '../../src/cli/main.js'
import { collectGarbage, openGc } from '../../src/gc/gc.js'
import type { GcSettings, Logger } from '../../src/types.js'
import { runAction } from '../support/action.js'
import { recordArtifacts, recordSecret } from '../support/artifacts.js'
import { ACCEPT, pullsCompletely, pushImage, pushIndex } from '../support/push.js'
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../support/registry.js'
import { startSshd, type TestSshd } from '../support/sshd.js'

let sshd: TestSshd
let reg: TestRegistry
let scratch: string

beforeAll(async () => {
  ;[sshd, reg] = await Promise.all([startSshd(), startRegistry()])
  scratch = await mkdtemp(join(tmpdir(), 'registry-prune-gc-safety-'))
})
afterAll(async () => {
  await Promise.all([sshd?.stop(), reg?.stop()])
  await rm(scratch, { recursive: true, force: true })
})

const quiet: Logger = { info: () => {}, warning: () => {}, error: () => {}, debug: () => {}, group: (_n, body) => body() }

/** Blob data files in the storage, counted on disk (not by asking the collector). */
const blobFiles = (): number =>
  Number(execFileSync('sh', ['-c', `find ${reg.storage}/docker/registry/v2/blobs -name data -type f | wc -l`], { encoding: 'utf8' }))

async function orphan(repo: string): Promise<void> {
  const image = await pushImage(reg, repo, 'gone', { layers: [`${repo} orphaned layer`], label: repo })
  await pushImage(reg, repo, 'stays', { layers: [`${repo} staying layer`], label: `${repo} stays` })
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${image.digest}`, { method: 'DELETE', headers: { accept: ACCEPT } })
  expect(res.status).toBe(202)
}

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI in this process with `env` as its environment (the local shell inherits process.env, set by callers). */
async function cli(args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: scratch }): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const planFile = args.some((a) => a.startsWith('--plan-file=')) ? [] : [`--plan-file=${join(scratch, 'refused.json')}`]
  const code = await cliMain([`--registry=${reg.url}`, '--keep-count=5', ...planFile, ...args], {
    stdout: { write: (t: string) => ((stdout += t), true) } as never,
    stderr: { write: (t: string) => (stderr += t) },
    env,
  })
  return { code, stdout, stderr }
}

describe('a dry run never changes storage (item 4)', () => {
  const chained = () => `echo starting garbage-collect && ${REGISTRY_BIN} garbage-collect ${reg.configPath}`

  it('refuses a chained gc-command with exit 2 before anything runs, and the blob count stays the same', async () => {
    await orphan('dry/chained')
    const before = blobFiles()
    const run = await cli(['--dry-run', '--garbage-collect=local', `--gc-command=${chained()}`])
    expect(run.code, run.stderr).toBe(2)
    expect(run.stderr).toContain('Invalid gc-command')
    expect(run.stderr).toContain("it chains commands ('&&')")
    expect(blobFiles()).toBe(before)
  })

  it('the collector step refuses it too (openGc and collectGarbage, as the run calls them)', async () => {
    const before = blobFiles()
    const gc: GcSettings = {
      mode: 'local', sshHost: '', sshPort: 22, sshUser: 'root', sshPrivateKey: '', sshPassphrase: '', sshKnownHosts: '',
      sshInsecureAcceptAnyHostKey: false, command: chained(), storagePath: '', beforeCommand: '', afterCommand: '',
    }
    const shell = await openGc(gc, quiet)
    try {
      await expect(collectGarbage(shell!, gc, { dryRun: true, blobSizes: new Map(), storageBytesBefore: undefined }, quiet))
        .rejects.toThrow(/refused: it cannot be made safe for a dry run: it chains commands/)
    } finally {
      await shell?.close()
    }
    expect(blobFiles()).toBe(before)
  })
})

describe('the tool owns the collector\'s flags (item 5)', () => {
  it('refuses -m in quoted spellings with exit 2, and the multi-arch image still pulls', async () => {
    const amd = await pushImage(reg, 'flags/multi', undefined, { layers: ['f-amd'], platform: { architecture: 'amd64', os: 'linux' } })
    const arm = await pushImage(reg, 'flags/multi', undefined, { layers: ['f-arm'], platform: { architecture: 'arm64', os: 'linux' } })
    await pushIndex(reg, 'flags/multi', 'latest', [amd, arm])
    const before = blobFiles()
    for (const flag of ['-\\m', '-"m"', "-'m'", '--delete-un""tagged', '-dm', '-md', '-m=true']) {
      for (const mode of ['local', 'ssh']) {
        const ssh = mode === 'ssh' ? [`--ssh-host=${sshd.host}:${sshd.port}`, `--ssh-known-hosts=${sshd.knownHostsLine}`] : []
        const run = await cli(
          [`--garbage-collect=${mode}`, ...ssh, `--gc-command=${REGISTRY_BIN} garbage-collect ${flag} ${reg.configPath}`],
          { PATH: process.env.PATH, HOME: scratch, REGISTRY_PRUNE_SSH_PRIVATE_KEY: sshd.privateKey },
        )
        expect(run.code, `${flag}: ${run.stderr}`).toBe(2)
        expect(run.stderr).toMatch(/Invalid gc-command .*is refused: .*multi-arch/s)
      }
    }
    expect(blobFiles()).toBe(before)
    await reg.restart()
    expect(await pullsCompletely(reg, 'flags/multi', 'latest')).toBe(true)
  })

  it('refuses -d and --dry-run in a real run, which would report deletions that did not happen', async () => {
    await orphan('flags/dry')
    const before = blobFiles()
    for (const flag of ['-d', "'--dry-run'", '--dry-run=true', '-"d"']) {
      const run = await cli(['--garbage-collect=local', `--gc-command=${REGISTRY_BIN} garbage-collect ${flag} ${reg.configPath}`])
      expect(run.code, `${flag}: ${run.stderr}`).toBe(2)
      expect(run.stderr).toContain('report blobs as deleted that the collector did not delete')
    }
    expect(blobFiles()).toBe(before)
  })
})

describe('no secret anywhere (item 6)', () => {
  const PASSWORD = 'Pr1vate-pass.word-42'
  const SECRET_NAMES = [
    'REGISTRY_PRUNE_PASSWORD', 'REGISTRY_PRUNE_SSH_PRIVATE_KEY', 'REGISTRY_PRUNE_SSH_PASSPHRASE', 'INPUT_PASSWORD',
    'INPUT_SSH-PRIVATE-KEY', 'INPUT_SSH_PRIVATE_KEY', 'INPUT_SSH-PASSPHRASE', 'TEAM_REGISTRY_TOKEN', 'TEAM_GC_KEY',
  ]
  beforeAll(() => recordSecret(PASSWORD, 'ci'))

  it.each(['local', 'ssh'])(
    'over %s: hooks and the collector see none of the secret variables; their output, the plan and the summary are masked',
    async (mode) => {
      await orphan(`secrets/${mode}`)
      const keyLines = sshd.privateKey.split('\n').filter((l) => l && !l.startsWith('-----'))
      // The environment of a CLI run in a GitLab job: the component exports REGISTRY_PRUNE_* from the variables that
      // the *-variable inputs name, and those variables are in the job's environment as well.
      const secretEnv: Record<string, string> = {
        REGISTRY_PRUNE_PASSWORD: PASSWORD,
        REGISTRY_PRUNE_SSH_PRIVATE_KEY: sshd.privateKey,
        REGISTRY_PRUNE_SSH_PASSPHRASE: 'not-a-real-passphrase',
        INPUT_PASSWORD: PASSWORD,
        'INPUT_SSH-PRIVATE-KEY': sshd.privateKey,
        RP_PASSWORD_VARIABLE: 'TEAM_REGISTRY_TOKEN',
        TEAM_REGISTRY_TOKEN: PASSWORD,
        RP_SSH_PRIVATE_KEY_VARIABLE: 'TEAM_GC_KEY',
        TEAM_GC_KEY: join(scratch, 'TEAM_GC_KEY'),
      }
      const dump = (name: string) => join(scratch, `${mode}-${name}.env`)
      const plan = join(scratch, `${mode}-plan.json`)
      const summary = join(scratch, `${mode}-summary.md`)
      const ssh = mode === 'ssh' ? [`--ssh-host=${sshd.host}:${sshd.port}`, `--ssh-known-hosts=${sshd.knownHostsLine}`] : []
      const saved = { ...process.env }
      Object.assign(process.env, secretEnv)
      let run: CliResult
      try {
        run = await cli(
          [
            '--username=ci',
            `--garbage-collect=${mode}`,
            ...ssh,
            `--plan-file=${plan}`,
            `--summary-file=${summary}`,
            `--storage-path=${reg.storage}`,
            // The password in the command itself (e.g. a curl to a maintenance endpoint): the plan must mask it.
            `--gc-before-command=env > ${dump('before')}; echo "switching with ci:${PASSWORD}"; echo "warn ${PASSWORD}" >&2`,
            `--gc-command=sh -c 'env > ${dump('collector')}; exec ${REGISTRY_BIN} garbage-collect ${reg.configPath}'`,
            `--gc-after-command=env > ${dump('after')}; echo "could not restart as ci:${PASSWORD}" >&2; exit 3`,
          ],
          { ...process.env },
        )
      } finally {
        for (const name of Object.keys(secretEnv)) delete process.env[name]
        Object.assign(process.env, saved)
      }
      // The after command failed: the run finished with problems, its stderr is in the failures.
      expect(run.code, run.stderr).toBe(1)

      for (const name of ['before', 'collector', 'after']) {
        const env = await readFile(dump(name), 'utf8')
        expect(env).toMatch(/^PATH=/m)
        for (const secret of SECRET_NAMES) expect(env, `${name}: ${secret}`).not.toMatch(new RegExp(`^${secret}=`, 'm'))
        expect(env).not.toContain(PASSWORD)
        for (const line of keyLines) expect(env).not.toContain(line)
      }

      const planText = await readFile(plan, 'utf8')
      const summaryText = await readFile(summary, 'utf8')
      recordArtifacts(`gc-safety-secrets-${mode}`, [run.stdout, run.stderr, planText, summaryText])
      for (const text of [planText, summaryText, run.stdout, run.stderr]) {
        expect(text).not.toContain(PASSWORD)
        expect(text).not.toContain(JSON.stringify(PASSWORD).slice(1, -1))
        for (const line of keyLines) expect(text).not.toContain(line)
      }
      const document = JSON.parse(planText) as { settings: { gc: { beforeCommand: string } }; failures: string[]; gc: unknown }
      expect(document.settings.gc.beforeCommand).toContain('switching with ci:***')
      expect(document.failures.join('\n')).toContain('could not restart as ci:***')
      // The hook's streamed lines were masked before the logger saw them.
      expect(run.stderr).toContain('switching with ci:***')
      expect(run.stderr).toContain('warn ***')
    },
  )

  it('through the bundled Action (node dist/index.js): hooks see no INPUT_PASSWORD or INPUT_SSH-PRIVATE-KEY', async () => {
    await orphan('secrets/action')
    const dump = (name: string) => join(scratch, `action-${name}.env`)
    const run = await runAction({
      registry: reg.url,
      username: 'ci',
      password: PASSWORD,
      'keep-count': '5',
      'garbage-collect': 'local',
      // Given, though local GC does not use it: the runner still puts it in the environment as INPUT_SSH-PRIVATE-KEY.
      'ssh-private-key': sshd.privateKey,
      'gc-before-command': `env > ${dump('before')}; echo "switching with ci:${PASSWORD}"`,
      'gc-command': `sh -c 'env > ${dump('collector')}; exec ${REGISTRY_BIN} garbage-collect ${reg.configPath}'`,
      'gc-after-command': `env > ${dump('after')}; echo "could not restart as ci:${PASSWORD}" >&2; exit 3`,
    })
    expect(run.code, run.stdout + run.stderr).toBe(1)
    const keyLines = sshd.privateKey.split('\n').filter((l) => l && !l.startsWith('-----'))
    for (const name of ['before', 'collector', 'after']) {
      const env = await readFile(dump(name), 'utf8')
      expect(env).toMatch(/^INPUT_REGISTRY=/m) // the other inputs are still there
      for (const secret of ['INPUT_PASSWORD', 'INPUT_SSH-PRIVATE-KEY', 'INPUT_SSH-PASSPHRASE']) {
        expect(env, `${name}: ${secret}`).not.toMatch(new RegExp(`^${secret}=`, 'm'))
      }
      expect(env).not.toContain(PASSWORD)
      for (const line of keyLines) expect(env).not.toContain(line)
    }
    expect(run.everything).not.toContain(PASSWORD)
    expect((run.plan as unknown as { failures: string[] }).failures.join('\n')).toContain('could not restart as ci:***')
  })
})
