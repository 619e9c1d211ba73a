// The GitLab component project's own pipeline (gitlab/.gitlab-ci.yml, issue 16), as far as gitlab-ci-local takes it:
// the project laid out as the CI/CD catalog wants it, the component included from this very commit, the self-test
// run for real on the shell executor against a local registry (with `registry-prune` on PATH, as the default image
// has it), and the release job's rules and version check. What it cannot show: GitLab's own services, images and
// the release itself (the `release:` keyword, carried out by GitLab as `glab release create`).
import { execFileSync, spawn } from 'node:child_process'
import { chmod, cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { recordArtifacts } from '../support/artifacts.js'
import { CLI_ENTRY, cleanEnv } from '../support/cli.js'
import { tagList } from '../support/push.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'

const ROOT = join(import.meta.dirname, '../..')
const TOOLS_BIN = join(ROOT, 'tools/node_modules/.bin')
const VERSION = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

interface Run {
  code: number
  output: string
}

/** A git project holding gitlab/ as it is mirrored to GitLab, with an origin remote (gitlab-ci-local needs one). */
async function componentProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-component-'))
  await cp(join(ROOT, 'gitlab'), dir, { recursive: true })
  const git = (...args: string[]): void => void execFileSync('git', args, { cwd: dir, stdio: 'pipe' })
  git('init', '-q', '-b', 'main')
  git('add', '-A')
  git('-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'commit', '-q', '-m', 'component')
  git('remote', 'add', 'origin', 'git@gitlab.example.com:group/registry-prune.git')
  return dir
}

/** gitlab-ci-local (Node 24 first on PATH), with `registry-prune` on PATH running the local bundle. */
async function gitlabCiLocal(dir: string, args: string[]): Promise<Run> {
  const bin = join(dir, '.test-bin')
  await mkdir(bin, { recursive: true })
  await writeFile(join(bin, 'registry-prune'), `#!/bin/sh\nexec node ${JSON.stringify(CLI_ENTRY)} "$@"\n`)
  await chmod(join(bin, 'registry-prune'), 0o755)
  const child = spawn(join(TOOLS_BIN, 'gitlab-ci-local'), args, {
    cwd: dir,
    env: { ...cleanEnv(dir), PATH: `${bin}:${TOOLS_BIN}:${process.env.PATH}`, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)))
  recordArtifacts('gitlab-project', output)
  return { code, output }
}

describe('the component project (gitlab/) and its pipeline', () => {
  let dir: string
  let reg: TestRegistry | undefined

  beforeAll(async () => {
    dir = await componentProject()
  })
  afterAll(async () => reg?.stop())

  it('has the CI/CD catalog layout: templates/, README.md, LICENSE, .gitlab-ci.yml', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').sort()
    expect(files).toEqual(['.gitlab-ci.yml', 'LICENSE', 'README.md', 'templates/registry-prune.yml'])
  })

  it('includes the component from this very commit, and releases in glab\'s image, not release-cli', async () => {
    const text = await readFile(join(dir, '.gitlab-ci.yml'), 'utf8')
    const ci = parse(text) as { include: { component: string }[]; release: { image: string; release: object } }
    expect(ci.include.map((i) => i.component)).toEqual(['$CI_SERVER_FQDN/$CI_PROJECT_PATH/registry-prune@$CI_COMMIT_SHA'])
    expect(ci.release.image).toMatch(/^registry\.gitlab\.com\/gitlab-org\/cli(:|$)/)
    expect(ci.release.release).toMatchObject({ tag_name: '$CI_COMMIT_TAG' })
    expect(text).not.toMatch(/image:.*release-cli/)

    // gitlab-ci-local resolves the include locally only when it names this project at this commit.
    const preview = await gitlabCiLocal(dir, ['--preview'])
    expect(preview.code, preview.output).toBe(0)
    const merged = parse(preview.output.slice(preview.output.indexOf('---'))) as Record<string, { image?: unknown; stage?: string }>
    expect(merged['registry-prune-self-test']).toMatchObject({
      stage: 'test',
      image: { name: `ghcr.io/registry-prune/registry-prune:${VERSION}`, entrypoint: [''] },
    })
  }, 120_000)

  it('on a branch, the self-test prunes a registry with the default cli and checks the outputs; no release', async () => {
    reg = await startRegistry()
    // The shell executor ignores images; services it would start with Docker, which this machine lacks: the job's
    // registry is this one instead, and its `registry-prune` the bundle. Only the services entry is left out.
    const ciPath = join(dir, '.gitlab-ci.yml')
    const ci = parse(await readFile(ciPath, 'utf8')) as Record<string, { services?: unknown }>
    expect(ci['registry-prune-self-test']!.services).toEqual([
      { name: 'registry:2', alias: 'registry', variables: { REGISTRY_STORAGE_DELETE_ENABLED: 'true' } },
    ])
    delete ci['registry-prune-self-test']!.services
    await writeFile(ciPath, stringify(ci))
    execFileSync('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'commit', '-qam', 'no services'], { cwd: dir })
    const run = await gitlabCiLocal(dir, [
      '--force-shell-executor', '--shell-isolation', '--variable', `SELF_TEST_REGISTRY=${reg.url}`,
    ])
    expect(run.code, run.output).toBe(0)
    expect(run.output).toMatch(/PASS\s+registry-prune-self-test\b/)
    expect(run.output).toMatch(/PASS\s+self-test-outputs\b/)
    expect(run.output).not.toMatch(/^release\s/m)
    expect(await tagList(reg, 'self-test/app')).toEqual(['1.2'])
  }, 180_000)

  it('on a version tag, the release job accepts the version the template pins and refuses another', async () => {
    const good = await gitlabCiLocal(dir, ['--force-shell-executor', '--variable', `CI_COMMIT_TAG=${VERSION}`, 'release'])
    expect(good.code, good.output).toBe(0)
    const bad = await gitlabCiLocal(dir, ['--force-shell-executor', '--variable', 'CI_COMMIT_TAG=99.0.0', 'release'])
    expect(bad.code).not.toBe(0)
    expect(bad.output).toContain('the tag and the image default must agree')
    // A tag run has no self-test (its image may not be public yet while the release is made).
    const list = await gitlabCiLocal(dir, ['--list', '--variable', `CI_COMMIT_TAG=${VERSION}`])
    expect(list.code, list.output).toBe(0)
    expect(list.output).toMatch(/^release\s/m)
    expect(list.output).not.toMatch(/^registry-prune-self-test\s/m)
  }, 120_000)
})
