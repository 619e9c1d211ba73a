// Images made and pushed by real clients, not by our own fixtures: umoci builds OCI images, skopeo pushes them,
// buildah builds a multi-arch list (a Docker manifest list over OCI manifests, as buildah writes it) and pushes it,
// podman pushes a single image. The same tags are pushed again, as CI does on every build. A real run with
// untagged: delete and the real collector must then leave every kept image pullable by skopeo (every platform, every
// blob checked against its digest) — the case where `garbage-collect --delete-untagged` breaks multi-arch images.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSettings } from '../../src/inputs.js'
import { run } from '../../src/run.js'
import type { RunResult } from '../../src/types.js'
import { linesLogger } from '../support/logger.js'
import { resolveTag, tagList } from '../support/push.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'

const exec = promisify(execFile)

let reg: TestRegistry
let work: string
let host: string
/** buildah and podman keep their images here (vfs: no overlay mounts needed), not in the machine's storage. */
let storage: string[]
/** podman refuses a runroot path of over 50 characters: a short one directly under /tmp. */
let runroot: string
const digests: Record<string, string> = {}
let result: RunResult

async function sh(command: string, args: string[]): Promise<string> {
  const { stdout } = await exec(command, args, { cwd: work, maxBuffer: 16 * 1024 * 1024 })
  return stdout.trim()
}

const buildah = (...args: string[]) => sh('buildah', [...storage, ...args])

/** An OCI image made by umoci in the layout, with its own config date and one file layer. */
async function umociImage(tag: string, created: string, content: string): Promise<void> {
  await sh('umoci', ['new', '--image', `layout:${tag}`])
  const bundle = join(work, `bundle-${tag}`)
  await sh('umoci', ['unpack', '--rootless', '--image', `layout:${tag}`, bundle])
  await writeFile(join(bundle, 'rootfs', 'content'), content)
  await sh('umoci', ['repack', '--image', `layout:${tag}`, bundle])
  await sh('umoci', ['config', '--image', `layout:${tag}`, '--created', created, '--config.label', `content=${content}`])
  await rm(bundle, { recursive: true, force: true })
}

const skopeoPush = (from: string, to: string) =>
  sh('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', from, `docker://${host}/${to}`])

/** A platform image made by buildah from scratch, with one file. */
async function buildahImage(name: string, arch: string, content: string): Promise<void> {
  const container = await buildah('from', 'scratch')
  await buildah('config', '--arch', arch, '--os', 'linux', '--label', `content=${content}`, container)
  await writeFile(join(work, name), content)
  await buildah('copy', container, join(work, name), `/${name}`)
  await buildah('commit', '--quiet', container, name)
  await buildah('rm', container)
}

async function buildahList(list: string, images: string[], to: string): Promise<void> {
  await buildah('manifest', 'create', list)
  for (const image of images) await buildah('manifest', 'add', list, `containers-storage:localhost/${image}`)
  await buildah('manifest', 'push', '--all', '--tls-verify=false', list, `docker://${host}/${to}`)
}

/** skopeo pulls the image (with --all: every platform of a list), verifying every blob against its digest. */
async function pulls(reference: string, all = false): Promise<boolean> {
  const out = await mkdtemp(join(work, 'pull-'))
  try {
    await sh('skopeo', [
      'copy', '--quiet', '--src-tls-verify=false', ...(all ? ['--all'] : []),
      `docker://${host}/${reference}`, `oci:${out}:x`,
    ])
    return true
  } catch {
    return false
  } finally {
    await rm(out, { recursive: true, force: true })
  }
}

const digestOf = async (repo: string, tag: string) => (await resolveTag(reg, repo, tag)) ?? ''
const present = async (repo: string, digest: string) => (await resolveTag(reg, repo, digest)) === digest

beforeAll(async () => {
  reg = await startRegistry()
  host = `127.0.0.1:${reg.port}`
  work = await mkdtemp(join(tmpdir(), 'registry-prune-clients-'))
  runroot = await mkdtemp('/tmp/rp-run-')
  storage = ['--root', join(work, 'containers'), '--runroot', runroot, '--storage-driver', 'vfs']
  await sh('umoci', ['init', '--layout', 'layout'])

  // app: three releases built by umoci, pushed by skopeo; `latest` is pushed twice (the first becomes untagged).
  await umociImage('v1', '2024-01-01T00:00:00Z', 'one')
  await umociImage('v2', '2024-02-01T00:00:00Z', 'two')
  await umociImage('v3a', '2024-03-01T00:00:00Z', 'three a')
  await umociImage('v3b', '2024-03-02T00:00:00Z', 'three b')
  await skopeoPush('oci:layout:v1', 'app:v1')
  await skopeoPush('oci:layout:v2', 'app:v2')
  await skopeoPush('oci:layout:v3a', 'app:latest')
  digests.appOldLatest = await digestOf('app', 'latest')
  await skopeoPush('oci:layout:v3b', 'app:latest')
  for (const tag of ['v1', 'v2', 'latest']) digests[`app:${tag}`] = await digestOf('app', tag)

  // multi: a two-platform list by buildah, pushed twice; the rebuild changes amd64 only, so arm64 is shared.
  await buildahImage('arm64-a', 'arm64', 'arm64 build')
  await buildahImage('amd64-a', 'amd64', 'amd64 build 1')
  await buildahImage('amd64-b', 'amd64', 'amd64 build 2')
  await buildahList('list-a', ['arm64-a', 'amd64-a'], 'multi:latest')
  digests.multiOld = await digestOf('multi', 'latest')
  await buildahList('list-b', ['arm64-a', 'amd64-b'], 'multi:latest')
  digests.multiNew = await digestOf('multi', 'latest')

  // solo: one image pushed by podman.
  await sh('podman', [...storage, 'push', '--quiet', '--tls-verify=false', 'localhost/arm64-a', `docker://${host}/solo:v1`])

  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-clients-plan-'))
  const values: Record<string, string> = {
    registry: reg.url,
    repositories: 'app, multi, solo',
    'keep-count': '2',
    'keep-tags': '',
    untagged: 'delete',
    'garbage-collect': 'local',
    'gc-command': `docker-registry garbage-collect ${reg.configPath}`,
    'storage-path': reg.storage,
    'plan-file': join(dir, 'plan.json'),
  }
  const settings = parseSettings((name) => values[name], {}, { homeDir: () => '/nonexistent-home' })
  result = await run(settings, { log: linesLogger([]), now: Date.now })
  await reg.restart() // the collector ran while the registry served: forget its blob cache before pulling
}, 600_000)

afterAll(async () => {
  await reg?.stop()
  if (work) await rm(work, { recursive: true, force: true })
  if (runroot) await rm(runroot, { recursive: true, force: true })
})

describe('images made by umoci, skopeo, buildah and podman', () => {
  it('the run finishes cleanly and the collector deletes blobs', () => {
    expect(result.failures).toEqual([])
    expect(result.gc?.blobsDeleted.length).toBeGreaterThan(0)
  })

  it('keeps the two newest releases and pulls them completely; deletes the oldest and the re-pushed latest', async () => {
    expect((await tagList(reg, 'app')).sort()).toEqual(['latest', 'v2'])
    expect(await pulls('app:latest')).toBe(true)
    expect(await pulls('app:v2')).toBe(true)
    expect(await present('app', digests['app:v1'] as string)).toBe(false)
    expect(await present('app', digests.appOldLatest as string)).toBe(false)
  })

  it('a re-pushed multi-arch list: the old list goes, every platform of the new one still pulls', async () => {
    expect(await digestOf('multi', 'latest')).toBe(digests.multiNew)
    expect(await present('multi', digests.multiOld as string)).toBe(false)
    expect(await pulls('multi:latest', true)).toBe(true)
    const list = JSON.parse(await sh('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/multi:latest`]))
    for (const child of (list as { manifests: { digest: string }[] }).manifests) {
      expect(await present('multi', child.digest)).toBe(true)
    }
  })

  it('a lone image pushed by podman is kept and pulls', async () => {
    expect(await tagList(reg, 'solo')).toEqual(['v1'])
    expect(await pulls('solo:v1')).toBe(true)
  })

  it('the plan records the real clients\' shapes: a Docker list over OCI manifests is an index', async () => {
    const plan = JSON.parse(await readFile(result.settings.planFile, 'utf8')) as {
      repositories: { name: string; images: { digest: string; kind: string; outcome: string }[] }[]
    }
    const multi = plan.repositories.find((r) => r.name === 'multi')?.images ?? []
    expect(multi.find((i) => i.digest === digests.multiNew)).toMatchObject({ kind: 'index', outcome: 'kept' })
    expect(multi.find((i) => i.digest === digests.multiOld)).toMatchObject({ kind: 'index', outcome: 'deleted' })
  })
})
