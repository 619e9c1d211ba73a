// The GitLab component run for real: gitlab-ci-local (Node 24, from tools/) runs a pipeline that includes
// gitlab/templates/registry-prune.yml with inputs, on the shell executor, against the fixture registry, with the CLI
// pointed at the local bundle (issue 4 acceptance 2 and 3).
import { execFileSync, spawn } from 'node:child_process'
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { runAction, type ActionRun, type PlanJson } from '../support/action.js'
import {
  CLI_ENTRY,
  cleanEnv,
  parseDotenv,
  prunedLikeTheAction,
  startHtpasswdRegistry,
} from '../support/cli.js'
import { pushFixtures, type Fixtures } from '../support/fixtures.js'
import type { Target } from '../support/push.js'
import { REGISTRY_BIN, type TestRegistry } from '../support/registry.js'
import { recordArtifacts, recordSecret } from '../support/artifacts.js'
import { decisions } from '../support/action.js'

const ROOT = join(import.meta.dirname, '../..')
const TOOLS_BIN = join(ROOT, 'tools/node_modules/.bin')

interface Pipeline {
  code: number
  /** gitlab-ci-local's own output (every job's log lines, prefixed with the job name). */
  output: string
  /** The job logs, by job name (.gitlab-ci-local/output/<job>.log). */
  logs: Record<string, string>
  /** Every artifact file, by its path under .gitlab-ci-local/artifacts/. */
  artifacts: Record<string, string>
}

async function filesUnder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    out[relative(dir, path)] = await readFile(path, 'utf8')
  }
  return out
}

/** A git project (with a remote named origin, as gitlab-ci-local needs) holding the component and a .gitlab-ci.yml. */
async function project(ci: object): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-gitlab-'))
  await cp(join(ROOT, 'gitlab/templates'), join(dir, 'templates'), { recursive: true })
  await writeFile(join(dir, '.gitlab-ci.yml'), stringify(ci))
  const git = (...args: string[]): void => void execFileSync('git', args, { cwd: dir, stdio: 'pipe' })
  git('init', '-q', '-b', 'main')
  git('add', '-A')
  git('-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'commit', '-q', '-m', 'pipeline')
  git('remote', 'add', 'origin', 'git@gitlab.example.com:group/project.git')
  return dir
}

async function runPipeline(dir: string, variables: Record<string, string>): Promise<Pipeline> {
  // The shell executor (the job's image is ignored), each job in its own copy of the project as on a real runner:
  // without --shell-isolation, parallel jobs share one directory and overwrite each other's files.
  const args = ['--force-shell-executor', '--shell-isolation', ...Object.entries(variables).flatMap(([k, v]) => ['--variable', `${k}=${v}`])]
  // Node 24 first on PATH: gitlab-ci-local needs Node 22+, and the job's `node` is then the users' runtime too.
  const child = spawn(join(TOOLS_BIN, 'gitlab-ci-local'), args, {
    cwd: dir,
    env: { ...cleanEnv(dir), PATH: `${TOOLS_BIN}:${process.env.PATH}`, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)))
  const logs = Object.fromEntries(
    Object.entries(await filesUnder(join(dir, '.gitlab-ci-local/output'))).map(([k, v]) => [k.replace(/\.log$/, ''), v]),
  )
  const artifacts = await filesUnder(join(dir, '.gitlab-ci-local/artifacts'))
  for (const [name, value] of Object.entries(variables)) if (/PASSWORD|KEY|PASSPHRASE/.test(name)) recordSecret(value, 'ci')
  recordArtifacts('gitlab', [output, ...Object.values(logs), ...Object.values(artifacts)])
  return { code, output, logs, artifacts }
}

const JOB = 'prune-fixtures'
const PASSWORD = 'GitLab-S3cret-Pa55word-for-tests'

describe('the GitLab component in a gitlab-ci-local pipeline', () => {
  let reg: TestRegistry
  let target: Target
  let fx: Fixtures
  let action: ActionRun

  beforeAll(async () => {
    ;({ reg, target } = await startHtpasswdRegistry('ci', PASSWORD))
    fx = await pushFixtures(target)
    // What the action plans on the same fixtures: the pipeline must do exactly this.
    action = await runAction({ registry: reg.url, username: 'ci', password: PASSWORD, 'keep-count': '2', 'dry-run': 'true' })
    expect(action.code, action.stdout).toBe(0)
  })
  afterAll(async () => reg?.stop())

  it('sharded over parallel jobs, each job plans only its own shard', { timeout: 120_000 }, async () => {
    const dir = await project({
      include: [{ local: 'templates/registry-prune.yml', inputs: { as: 'shards', registry: reg.url, username: 'ci',
        'password-variable': 'TEST_REGISTRY_PASSWORD', 'keep-count': 2, 'dry-run': true, cli: `node ${CLI_ENTRY}` } }],
      shards: { parallel: 2 },
    })
    const run = await runPipeline(dir, { TEST_REGISTRY_PASSWORD: PASSWORD })
    expect(run.code, run.output).toBe(0)
    const plans = Object.entries(run.artifacts)
      .filter(([path]) => path.endsWith('registry-prune-plan.json'))
      .map(([, text]) => JSON.parse(text) as PlanJson & { settings: { shard: { index: number; total: number } } })
    expect(plans.map((p) => p.settings.shard).sort((a, b) => a.index - b.index)).toEqual([
      { index: 1, total: 2 },
      { index: 2, total: 2 },
    ])
    const names = plans.flatMap((p) => p.repositories.map((r) => r.name)).sort()
    expect(names).toEqual(Object.keys(fx.tags).sort()) // every repository in exactly one shard
  })

  it('prunes exactly like the action, with the summary, plan and dotenv artifacts, and no secret anywhere', {
    timeout: 120_000,
  }, async () => {
    const dir = await project({
      include: [
        {
          local: 'templates/registry-prune.yml',
          inputs: {
            as: JOB,
            registry: reg.url,
            username: 'ci',
            'password-variable': 'TEST_REGISTRY_PASSWORD',
            'keep-count': 2,
            cli: `node ${CLI_ENTRY}`,
          },
        },
      ],
      // A later job reads the outputs from the dotenv report, as a real pipeline would.
      'after-prune': { stage: '.post', needs: [JOB], script: ['echo "deleted=$DELETED_COUNT kept=$KEPT_COUNT"'] },
    })
    const run = await runPipeline(dir, { TEST_REGISTRY_PASSWORD: PASSWORD })
    expect(run.code, run.output).toBe(0)

    // Acceptance 2: the registry ends as the action leaves it, with the same plan and numbers.
    expect(await prunedLikeTheAction(target, fx)).toEqual([])
    const plan = JSON.parse(run.artifacts[`${JOB}/registry-prune-plan.json`]!) as PlanJson
    expect(plan.dryRun).toBe(false)
    expect(decisions(plan)).toEqual(decisions(action.plan))
    const dotenv = parseDotenv(run.artifacts[`${JOB}/.gitlab-ci-reports/dotenv/registry-prune.env`]!)
    expect(dotenv).toEqual({
      DELETED_COUNT: action.outputs['deleted-count'],
      KEPT_COUNT: action.outputs['kept-count'],
      RECLAIMABLE_BYTES: action.outputs['reclaimable-bytes'],
      RECLAIMED_BYTES: '0',
      GC_BLOBS_DELETED: '0',
      PLAN_FILE: 'registry-prune-plan.json',
    })
    expect(dotenv.DELETED_COUNT).toBe('4')
    expect(run.logs['after-prune']).toContain(`deleted=4 kept=6`)

    const summary = run.artifacts[`${JOB}/registry-prune-summary.md`]!
    expect(summary).toContain('## registry-prune: 127.0.0.1')
    expect(summary).toContain('team/tools/cli')
    expect(summary).not.toContain('Dry run')

    // The readable report is the log's last section (gitlab-ci-local prints its markers as <name>_started), its
    // headline first, and the headline is the log's last line too (issue 12).
    const log = run.logs[JOB]!
    expect(log).toMatch(/registry_prune_summary_started\n[^\n]*registry-prune: [^\n]* · 4 images deleted, 6 kept · 3 repositories · [^\n]*\n[\s\S]*Images deleted\s+4\n[\s\S]*registry_prune_summary took/)
    const last = log.trimEnd().split('\n').filter((l) => !/Job succeeded|^\S+ \$ |finished in|^\s*$/.test(l)).at(-1)
    expect(last).toMatch(/registry-prune: .* reclaimable \(estimate; freed once the registry's garbage collector runs\) · 4 images deleted/)
    expect(log).toMatch(/Inventory done in .*: 3\/3 repositories/)
    // No GitHub-only syntax anywhere a GitLab user looks.
    for (const text of [log, summary]) expect(text).not.toMatch(/::group::|::endgroup::|```mermaid|::warning::/)
    expect(summary.split('\n').filter(Boolean)[1]).toMatch(/^\*\*.* reclaimable\*\* .* · 4 images deleted, 6 kept · 3 repositories · /)

    // Acceptance 3: no secret in the job log, gitlab-ci-local's output, or any artifact.
    const basic = Buffer.from(`ci:${PASSWORD}`).toString('base64')
    const everything = [run.output, ...Object.values(run.logs), ...Object.values(run.artifacts)].join('\n')
    expect(Object.keys(run.artifacts).length).toBeGreaterThanOrEqual(3)
    expect(everything).not.toContain(PASSWORD)
    expect(everything).not.toContain(basic)
  })

  it('the collector output is a collapsed section of the job log, without a line per blob', { timeout: 120_000 }, async () => {
    const dir = await project({
      include: [{ local: 'templates/registry-prune.yml', inputs: { as: JOB, registry: reg.url, username: 'ci',
        'password-variable': 'TEST_REGISTRY_PASSWORD', 'keep-count': 2, 'dry-run': true, 'garbage-collect': 'local',
        'gc-command': `${REGISTRY_BIN} garbage-collect ${reg.configPath}`, 'storage-path': reg.storage,
        cli: `node ${CLI_ENTRY}` } }],
    })
    const run = await runPipeline(dir, { TEST_REGISTRY_PASSWORD: PASSWORD })
    expect(run.code, run.output).toBe(0)
    const log = run.logs[JOB]!
    // gitlab-ci-local prints a section's markers as `<name>_started` ... `<name> took` (the CLI tests check the title).
    const section = /(registry_prune_\d+)_started\n([\s\S]*?)\n[^\n]*\1 took/.exec(log)
    expect(section, log).not.toBeNull()
    expect(section![2]).toMatch(/\d+ blobs marked, \d+ blobs and \d+ manifests eligible for deletion/)
    expect(section![2]).toMatch(/per-blob and per-manifest lines of the collector left out of the log/)
    expect(log).not.toMatch(/marking (blob|manifest)|blob eligible for deletion/)
    expect(log).toMatch(/Garbage collection \(dry run\): \d+ blobs? already eligible for deletion; nothing was deleted\./)
    expect(log).not.toContain('::group::')
  })

  it('a secret written where the variable name belongs fails the job without printing it', { timeout: 60_000 }, async () => {
    const dir = await project({
      include: [{ local: 'templates/registry-prune.yml', inputs: { registry: reg.url, username: 'ci',
        'password-variable': `${PASSWORD}!`, cli: `node ${CLI_ENTRY}` } }],
    })
    const run = await runPipeline(dir, {})
    expect(run.code).not.toBe(0)
    expect(run.logs['registry-prune']).toContain('password-variable must be the name of a CI/CD variable')
    expect(run.output).not.toContain(PASSWORD)
    expect(Object.values(run.logs).join('\n')).not.toContain(PASSWORD)
  })
})
