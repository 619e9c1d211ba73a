// The container image (issue 16): the Containerfile built from a clean checkout with buildah, run with podman against
// the real test registry. This machine reaches no image registry, so the build gets a local base in place of
// node:24-slim through the Containerfile's BASE argument (test/support/image-base.sh: Debian minbase + Node 24), made
// once per machine and kept (test/support/image.ts).
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PlanJson } from '../support/action.js'
import { recordArtifacts } from '../support/artifacts.js'
import { pushFixtures, snapshot } from '../support/fixtures.js'
import { buildah, cleanContext, ensureBaseImage, missingTools, podman, ulimitArgs } from '../support/image.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version
const IMAGE = `localhost/registry-prune-test:${process.pid}`
// Root only: debootstrap and buildah with the vfs driver need it (as on CI, and on these machines).
const asRoot = process.getuid?.() === 0

describe.skipIf(!asRoot)('the container image', () => {
  let reg: TestRegistry | undefined
  let context: string | undefined

  beforeAll(async () => {
    expect(missingTools(), 'install them with bash scripts/setup.sh').toEqual([])
    const started = Date.now()
    const base = await ensureBaseImage()
    const baseSeconds = (Date.now() - started) / 1000
    context = cleanContext()
    const build = await buildah([
      'bud', '--isolation', 'chroot', '--pull=never', '--build-arg', `BASE=${base.name}`,
      '-f', 'Containerfile', '-t', IMAGE, context,
    ])
    recordArtifacts('image-build', [build.stdout, build.stderr])
    expect(build.code, build.stderr).toBe(0)
    // Measured, never asserted: how long the base (cold, or found in the cache) and the build took.
    console.log(`image test: base ${base.name} ${base.made ? 'made' : 'cached'} in ${baseSeconds.toFixed(1)} s, `
      + `base and build ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }, 900_000)

  afterAll(async () => {
    await reg?.stop()
    await buildah(['rmi', '--force', IMAGE])
    if (context) rmSync(context, { recursive: true, force: true })
  })

  const runImage = (args: string[]): ReturnType<typeof podman> =>
    podman(['run', '--rm', '--network', 'host', ...ulimitArgs(), ...args])

  it('runs as a user other than root, with the CLI as its entrypoint and `registry-prune` on PATH', async () => {
    const inspect = await podman(['image', 'inspect', '--format', '{{json .Config}}', IMAGE])
    expect(inspect.code, inspect.stderr).toBe(0)
    const config = JSON.parse(inspect.stdout) as { User: string; Entrypoint: string[]; Cmd: string[] }
    expect(config.Entrypoint).toEqual(['registry-prune'])
    expect(config.User).not.toMatch(/^(0|root)(:|$)/)
    // The GitLab component sets the entrypoint to "" and runs its script in /bin/sh, where the default cli is the
    // command `registry-prune`.
    const sh = await runImage(['--entrypoint', '/bin/sh', IMAGE, '-c', 'id -u && registry-prune --version'])
    expect(sh.code, sh.stderr).toBe(0)
    const [uid, version] = sh.stdout.trim().split('\n')
    expect(uid).not.toBe('0')
    expect(version).toBe(PACKAGE_VERSION)
  })

  it('answers --help, and its default command is --help', async () => {
    const help = await runImage([IMAGE, '--help'])
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toContain('--keep-count')
    const bare = await runImage([IMAGE])
    expect(bare.code, bare.stderr).toBe(0)
    expect(bare.stdout).toBe(help.stdout)
  })

  it('plans a dry run against the real registry, deleting nothing', async () => {
    reg = await startRegistry()
    const fx = await pushFixtures(reg)
    const before = await snapshot(reg, fx)
    const dry = await runImage([IMAGE, `--registry=${reg.url}`, '--keep-count=2', '--dry-run', '--json'])
    recordArtifacts('image-dry-run', [dry.stdout, dry.stderr])
    expect(dry.code, dry.stderr).toBe(0)
    const plan = JSON.parse(dry.stdout) as PlanJson
    expect(plan.dryRun).toBe(true)
    expect(plan.totals).toMatchObject({ imagesDeleted: 4, imagesKept: 6 })
    expect(await snapshot(reg, fx)).toEqual(before)
  })
})
