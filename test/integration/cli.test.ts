// The CLI end to end: the built bundle (`node dist/cli/index.js`) and the packed, installed `registry-prune` bin
// against a real registry (issue 4: flags, env secrets, --json, exit codes; acceptance 1 and 3).
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { INPUTS } from '../../src/inputs.js'
import { countingServer, runAction } from '../support/action.js'
import {
  parseDotenv,
  prunedLikeTheAction,
  runCli,
  startHtpasswdRegistry,
} from '../support/cli.js'
import { pushFixtures, type Fixtures } from '../support/fixtures.js'
import { freePort, startRegistry, type TestRegistry } from '../support/registry.js'
import { snapshot } from '../support/fixtures.js'
import { decisions } from '../support/action.js'

const ROOT = join(import.meta.dirname, '../..')
const packageVersion = async (): Promise<string> =>
  (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

describe('--help and --version', () => {
  it('--help lists every input flag with its default, the secret variables and the exit codes', async () => {
    const run = await runCli(['--help'])
    expect(run.code).toBe(0)
    for (const input of INPUTS) {
      if (input.secret) {
        expect(run.stdout).toContain(`REGISTRY_PRUNE_${input.name.toUpperCase().replace(/-/g, '_')}`)
        expect(run.stdout).not.toContain(`--${input.name}=`)
      } else {
        expect(run.stdout).toContain(`--${input.name}`)
        if (input.default !== '') expect(run.stdout).toContain(`default: ${input.default}`)
      }
    }
    expect(run.stdout).toMatch(/Exit codes: 0 success; 1 failure.*2 bad input/s)
  })

  it('--version prints the package version', async () => {
    const run = await runCli(['--version'])
    expect(run.code).toBe(0)
    expect(run.stdout.trim()).toBe(await packageVersion())
  })
})

describe('the CLI on the fixture registry', () => {
  let reg: TestRegistry
  let fx: Fixtures
  beforeAll(async () => {
    reg = await startRegistry()
    fx = await pushFixtures(reg)
  })
  afterAll(async () => reg?.stop())

  it('plans what the action plans, then deletes the same 4 images, with --json, the summary and dotenv files', async () => {
    const before = await snapshot(reg, fx)
    const action = await runAction({ registry: reg.url, 'keep-count': '2', 'dry-run': 'true' })
    expect(action.code, action.stdout).toBe(0)

    const dry = await runCli([`--registry=${reg.url}`, '--keep-count', '2', '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(await snapshot(reg, fx)).toEqual(before)
    expect(dry.json).toBeUndefined() // the text report, not JSON
    expect(dry.stdout).toContain('DRY RUN: nothing was deleted')
    expect(dry.stdout).toMatch(/team\/tools\/cli: 2 kept, 2 deleted/)
    expect(dry.stdout).toMatch(/Images that would be deleted\s+4\n/)
    expect(dry.stdout).not.toMatch(/[|#*`]/) // plain text, no Markdown
    const dryPlan = JSON.parse(dry.files['registry-prune-plan.json']!) as typeof action.plan
    expect(decisions(dryPlan)).toEqual(decisions(action.plan))

    const real = await runCli([
      `--registry=${reg.url}`,
      '--keep-count=2',
      '--dry-run=false',
      '--json',
      '--summary-file=summary.md',
      '--dotenv-file=prune.env',
    ])
    expect(real.code, real.stderr).toBe(0)
    // stdout holds exactly one JSON document, the plan file's format; the log went to stderr.
    expect(real.json).toEqual(JSON.parse(real.files['registry-prune-plan.json']!))
    expect(real.stderr).toContain('Inventory')
    expect(real.json?.dryRun).toBe(false)
    expect(decisions(real.json)).toEqual(decisions(action.plan))
    expect(real.json?.totals).toMatchObject({ imagesDeleted: 4, imagesKept: 6 })
    expect(await prunedLikeTheAction(reg, fx)).toEqual([])

    expect(parseDotenv(real.files['prune.env']!)).toEqual({
      DELETED_COUNT: '4',
      KEPT_COUNT: '6',
      RECLAIMABLE_BYTES: action.outputs['reclaimable-bytes'],
      RECLAIMED_BYTES: '0',
      GC_BLOBS_DELETED: '0',
      PLAN_FILE: 'registry-prune-plan.json',
    })
    expect(real.files['summary.md']).toContain('## registry-prune: 127.0.0.1')
    expect(real.files['summary.md']).toContain('team/tools/cli')

    const again = await runCli([`--registry=${reg.url}`, '--keep-count=2', '--json'])
    expect(again.json?.totals.imagesDeleted).toBe(0)
  })

  it('takes inputs from REGISTRY_PRUNE_* variables, and a flag wins over its variable', async () => {
    const env = { REGISTRY_PRUNE_REGISTRY: reg.url, REGISTRY_PRUNE_KEEP_COUNT: '7', REGISTRY_PRUNE_DRY_RUN: 'true' }
    const fromEnv = await runCli(['--json'], { env })
    expect(fromEnv.code, fromEnv.stderr).toBe(0)
    expect(fromEnv.json).toMatchObject({ dryRun: true, settings: { keepCount: 7 } })
    const flagWins = await runCli(['--json', '--keep-count=3'], { env })
    expect(flagWins.json).toMatchObject({ dryRun: true, settings: { keepCount: 3 } })
  })

  it('exits 1 with the JSON still on stdout when a repository is skipped', async () => {
    // Nothing is protected, so every repository would be emptied: each is skipped (DECISIONS 7) and the run fails.
    const run = await runCli([`--registry=${reg.url}`, '--keep-count=0', '--keep-tags=none', '--dry-run', '--json'])
    expect(run.code).toBe(1)
    expect(run.json?.totals.repositoriesSkipped).toBeGreaterThan(0)
    expect(run.stderr).toContain('finished with problems')
    expect(run.stderr).toContain('was skipped')
  })

  it('exits 1 and says why when the registry cannot be reached', async () => {
    const run = await runCli([`--registry=http://127.0.0.1:${await freePort()}`, '--dry-run'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/registry-prune: .*127\.0\.0\.1/)
    expect(run.stdout).toBe('')
  })
})

describe('bad input', () => {
  let server: Awaited<ReturnType<typeof countingServer>>
  beforeAll(async () => {
    server = await countingServer()
  })
  afterAll(async () => server?.close())

  it.each([
    [['--keep-count=ten'], {}, ['--keep-count', 'whole number']],
    [['--keep-count'], {}, ['--keep-count', '--keep-count=<value>']],
    [['--keep-count', '--dry-run'], {}, ['--keep-count', '--keep-count=<value>']],
    [['--dry-run=maybe'], {}, ['dry-run', 'true or false']],
    [['--older-than=3 weeks'], {}, ['older-than', '30d']],
    [['--keep-cont=3'], {}, ['--keep-cont', 'Did you mean --keep-count']],
    [['stray'], {}, ["'stray'", '--name=value']],
    [['--password=hunter2-secret'], {}, ['--password', 'REGISTRY_PRUNE_PASSWORD']],
    [['--ssh-private-key=x'], {}, ['--ssh-private-key', 'REGISTRY_PRUNE_SSH_PRIVATE_KEY']],
    [[], { REGISTRY_PRUNE_KEEP_COUNT: '-1' }, ['REGISTRY_PRUNE_KEEP_COUNT', 'negative']],
    [['--username=ci'], {}, ['password', 'REGISTRY_PRUNE_PASSWORD']],
  ])('%j %j exits 2 naming the flag and the expected form, before any request', async (args, env, expected) => {
    const run = await runCli([`--registry=${server.url}`, ...args], { env })
    expect(run.code, run.stderr).toBe(2)
    for (const text of expected) expect(run.stderr).toContain(text)
    expect(run.stderr).not.toContain('hunter2-secret')
    expect(run.stdout).toBe('')
    expect(server.connections()).toBe(0)
  })

  it('an unwritable --summary-file is bad input, found before any request', async () => {
    const run = await runCli([`--registry=${server.url}`, '--summary-file=/nonexistent/dir/summary.md'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--summary-file')
    expect(server.connections()).toBe(0)
  })
})

describe('secrets', () => {
  const password = 'Cli-S3cret-Pa55word-for-tests'
  let reg: TestRegistry

  afterAll(async () => reg?.stop())

  it('takes the password from REGISTRY_PRUNE_PASSWORD and prints it nowhere', async () => {
    const started = await startHtpasswdRegistry('ci', password)
    reg = started.reg
    const fx = await pushFixtures(started.target)
    const env = { REGISTRY_PRUNE_PASSWORD: password, REGISTRY_PRUNE_DEBUG: '1' }
    const flags = [`--registry=${reg.url}`, '--username=ci', '--keep-count=2', '--summary-file=s.md', '--dotenv-file=o.env']

    const text = await runCli(flags.concat('--dry-run'), { env })
    expect(text.code, text.stderr).toBe(0)
    const json = await runCli(flags.concat('--json'), { env })
    expect(json.code, json.stderr).toBe(0)
    expect(parseDotenv(json.files['o.env']!).DELETED_COUNT).toBe('4')
    expect(await prunedLikeTheAction(started.target, fx)).toEqual([])

    const wrong = await runCli(flags, { env: { REGISTRY_PRUNE_PASSWORD: `${password}-wrong` } })
    expect(wrong.code).toBe(1)

    const basic = Buffer.from(`ci:${password}`).toString('base64')
    for (const run of [text, json, wrong]) {
      expect(run.everything).not.toContain(password)
      expect(run.everything).not.toContain(basic)
    }
  })
})

describe('npm pack, then an install in an empty folder', () => {
  let reg: TestRegistry
  afterAll(async () => reg?.stop())

  it('gives a working registry-prune --help and a dry run against the test registry', { timeout: 300_000 }, async () => {
    const packDir = await mkdtemp(join(tmpdir(), 'registry-prune-pack-'))
    const npmEnv = { ...process.env, npm_config_loglevel: 'error' }
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT, env: npmEnv, encoding: 'utf8' }),
    ) as { filename: string; files: { path: string }[] }[]
    const tarball = join(packDir, packed[0]!.filename)
    expect(packed[0]!.files.map((f) => f.path)).toContain('dist/cli/index.js')

    const installDir = await mkdtemp(join(tmpdir(), 'registry-prune-install-'))
    execFileSync('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: installDir,
      env: npmEnv,
      stdio: 'pipe',
    })
    const bin = join(installDir, 'node_modules/.bin/registry-prune')

    const help = await runCli(['--help'], { command: [bin] })
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toContain('--keep-count')
    expect(help.stdout).toContain(await packageVersion())

    reg = await startRegistry()
    await pushFixtures(reg)
    const dry = await runCli([`--registry=${reg.url}`, '--keep-count=2', '--dry-run', '--json'], { command: [bin] })
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.json?.dryRun).toBe(true)
    expect(dry.json?.totals).toMatchObject({ imagesDeleted: 4, imagesKept: 6 })
  })
})
