// Issue 7 end to end: `app:latest` pushed five times leaves four untagged manifests; the bundled Action (run
// `npm run build` first) lists them from the storage over a real OpenSSH server, deletes them through the API of a
// real registry, and the real collector frees exactly their unique blobs. Multi-arch children and signatures stay.
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../support/action.js'
import {
  pullsCompletely,
  pushImage,
  pushIndex,
  pushReferrer,
  pushSignature,
  resolveTag,
  type Descriptor,
  type PushedImage,
} from '../support/push.js'
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../support/registry.js'
import { startProxy } from '../support/proxy.js'
import { startSshd, type TestSshd } from '../support/sshd.js'
import { formatBytes } from '../../src/report/format.js'

let sshd: TestSshd
let scratch: string
beforeAll(async () => {
  sshd = await startSshd()
  scratch = await mkdtemp(join(tmpdir(), 'registry-prune-untagged-'))
})
afterAll(async () => {
  await sshd?.stop()
  await rm(scratch, { recursive: true, force: true })
})

interface Scene {
  /** The five pushes of app:latest, oldest first; the last one is what `latest` points at. */
  pushes: PushedImage[]
  amd: PushedImage
  arm: PushedImage
  multi: Descriptor
  signature: Descriptor
  referrer: Descriptor
  /** Every blob digest (manifests included) of what must stay, with its size. */
  staying: Map<string, number>
  /** The blobs only the four superseded images use: what GC must free, and nothing else. */
  unique: Map<string, number>
}

const blobsOf = (image: PushedImage): Descriptor[] => [image, image.config, ...image.layers]

async function pushScene(reg: TestRegistry): Promise<Scene> {
  const base = 'shared base layer '.repeat(3000)
  const pushes: PushedImage[] = []
  for (let build = 1; build <= 5; build++) {
    pushes.push(
      await pushImage(reg, 'app', 'latest', {
        layers: [base, `build ${build} `.repeat(2000 + build)],
        created: `2024-0${build}-01T00:00:00Z`,
        label: `build ${build}`,
      }),
    )
  }
  const platform = (architecture: string) => ({ architecture, os: 'linux' })
  const amd = await pushImage(reg, 'app', undefined, { layers: [base, 'multi amd64 '.repeat(900)], platform: platform('amd64') })
  const arm = await pushImage(reg, 'app', undefined, { layers: [base, 'multi arm64 '.repeat(900)], platform: platform('arm64') })
  const multi = await pushIndex(reg, 'app', 'multi', [amd, arm])
  const current = pushes[4] as PushedImage
  const signature = await pushSignature(reg, 'app', current.digest)
  const referrer = await pushReferrer(reg, 'app', current, 'sbom of the current build')

  // What stays, read back from the registry (signature and referrer blobs were pushed by the helpers).
  const staying = new Map<string, number>()
  for (const image of [current, amd, arm]) for (const b of blobsOf(image)) staying.set(b.digest, b.size)
  staying.set(multi.digest, multi.size)
  for (const artifact of [signature, referrer]) {
    const res = await fetch(`${reg.url}/v2/app/manifests/${artifact.digest}`, { headers: { accept: artifact.mediaType } })
    const body = (await res.json()) as { config: Descriptor; layers: Descriptor[] }
    for (const b of [artifact, body.config, ...body.layers]) staying.set(b.digest, b.size)
  }
  const unique = new Map<string, number>()
  for (const image of pushes.slice(0, 4)) {
    for (const b of blobsOf(image)) if (!staying.has(b.digest)) unique.set(b.digest, b.size)
  }
  return { pushes, amd, arm, multi, signature, referrer, staying, unique }
}

function inputs(reg: TestRegistry, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    registry: reg.url,
    repositories: 'app',
    untagged: 'delete',
    'garbage-collect': 'ssh',
    'ssh-host': `${sshd.host}:${sshd.port}`,
    'ssh-private-key': sshd.privateKey,
    'ssh-known-hosts': sshd.knownHostsLine,
    'gc-command': `${REGISTRY_BIN} garbage-collect ${reg.configPath}`,
    'storage-path': reg.storage,
    'gc-before-command': 'true',
    'gc-after-command': 'true',
    ...overrides,
  }
}

const du = (path: string): number => Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0])

/** Every file and directory under the storage root with its size, as `du -sb` sees them. */
function tree(root: string): Map<string, number> {
  const out = execFileSync('find', [root, '-mindepth', '1', '-printf', '%s %P\\n'], { encoding: 'utf8' })
  return new Map(out.trim().split('\n').map((line) => [line.slice(line.indexOf(' ') + 1), Number(line.split(' ')[0])]))
}

const blobDir = (digest: string) => `docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`
const revisionLink = (digest: string) => `docker/registry/v2/repositories/app/_manifests/revisions/sha256/${digest.slice(7)}/link`
const log = (run: ActionRun): string => run.stdout + run.stderr
const sum = (sizes: Iterable<number>): number => [...sizes].reduce((s, n) => s + n, 0)

function decisions(run: ActionRun): Record<string, string> {
  const images = run.plan?.repositories.find((r) => r.name === 'app')?.images ?? []
  return Object.fromEntries(images.map((i) => [i.digest, `${i.role} ${i.decision} (${i.outcome}): ${i.reason}`]))
}

/** The four superseded builds exist, by digest, and so does everything that stays. */
async function expectAllThere(reg: TestRegistry, scene: Scene): Promise<void> {
  for (const image of scene.pushes) expect(await resolveTag(reg, 'app', image.digest)).toBe(image.digest)
  expect(await resolveTag(reg, 'app', 'latest')).toBe(scene.pushes[4]?.digest)
}

describe('untagged: delete on the real registry, sshd and collector', () => {
  let reg: TestRegistry
  let scene: Scene
  afterEach(async () => reg?.stop())
  const start = async () => {
    reg = await startRegistry()
    scene = await pushScene(reg)
  }

  it('deletes the four superseded builds and frees exactly their unique blobs; everything else still pulls', async () => {
    await start()
    const treeBefore = tree(reg.storage)
    const before = du(reg.storage)
    const run = await runAction(inputs(reg))
    expect(run.code, log(run)).toBe(0)
    const after = du(reg.storage)
    const treeAfter = tree(reg.storage)

    const old = scene.pushes.slice(0, 4)
    const plan = decisions(run)
    for (const image of old) {
      expect(plan[image.digest]).toBe('untagged delete (deleted): untagged, and nothing that stays refers to it')
    }
    expect(plan[scene.amd.digest]).toMatch(/^child keep \(kept\): child of kept index/)
    expect(plan[scene.referrer.digest]).toMatch(/^referrer keep \(kept\): referrer of a kept image/)
    expect(plan[scene.signature.digest]).toMatch(/^signature keep \(kept\): signature of a kept image/)
    expect(run.outputs).toMatchObject({ 'deleted-count': '4', 'kept-count': '2' })

    // What the registry removed is exactly: the unique blobs (data and directory) and the four revision links.
    const gone = [...treeBefore.keys()].filter((path) => !treeAfter.has(path)).sort()
    const expected = [
      ...[...scene.unique.keys()].flatMap((d) => [blobDir(d), `${blobDir(d)}/data`]),
      ...old.map((image) => revisionLink(image.digest)),
    ].sort()
    expect(gone).toEqual(expected)
    expect([...treeAfter.keys()].filter((path) => !treeBefore.has(path))).toEqual([])

    // Bytes: the drop of du -sb is reclaimed-bytes; of it, the blob data is the unique blobs' bytes computed from what
    // was pushed, and the rest is their directories and the four link files.
    const uniqueBytes = sum(scene.unique.values())
    const directories = sum([...scene.unique.keys()].map((d) => treeBefore.get(blobDir(d)) ?? NaN))
    const links = sum(old.map((image) => treeBefore.get(revisionLink(image.digest)) ?? NaN))
    expect(links).toBe(4 * 'sha256:'.length + 4 * 64)
    expect(Number(run.outputs['reclaimed-bytes'])).toBe(before - after)
    expect(before - after).toBe(uniqueBytes + directories + links)
    expect(Number(run.outputs['reclaimable-bytes'])).toBe(uniqueBytes)
    expect(Number(run.outputs['gc-blobs-deleted'])).toBe(scene.unique.size)
    const gc = (run.plan as unknown as { gc: { blobsDeleted: string[]; blobBytesDeleted: number } }).gc
    expect([...gc.blobsDeleted].sort()).toEqual([...scene.unique.keys()].sort())
    expect(gc.blobBytesDeleted).toBe(uniqueBytes)
    expect(run.summary).toContain(`| … of which untagged | 4 (${formatBytes(uniqueBytes)}) |`)

    // After a restart (the inmemory cache lies about collected blobs): GET of every manifest and blob that stays.
    await reg.restart()
    for (const image of old) expect(await resolveTag(reg, 'app', image.digest)).toBeUndefined()
    expect(await resolveTag(reg, 'app', 'latest')).toBe(scene.pushes[4]?.digest)
    expect(await pullsCompletely(reg, 'app', 'latest')).toBe(true)
    expect(await pullsCompletely(reg, 'app', 'multi')).toBe(true)
    expect(await resolveTag(reg, 'app', 'multi')).toBe(scene.multi.digest)
    for (const child of [scene.amd, scene.arm]) expect(await pullsCompletely(reg, 'app', child.digest)).toBe(true)
    const sigTag = `${scene.pushes[4]?.digest.replace(':', '-')}.sig`
    expect(await resolveTag(reg, 'app', sigTag)).toBe(scene.signature.digest)
    expect(await pullsCompletely(reg, 'app', sigTag)).toBe(true)
    expect(await pullsCompletely(reg, 'app', scene.referrer.digest)).toBe(true)
  })

  it('a dry run plans and reports the untagged images and their bytes separately, and deletes nothing', async () => {
    await start()
    const bytes = du(reg.storage)
    const run = await runAction(inputs(reg, { 'dry-run': 'true' }))
    expect(run.code, log(run)).toBe(0)
    expect(du(reg.storage)).toBe(bytes)
    await expectAllThere(reg, scene)
    const plan = decisions(run)
    for (const image of scene.pushes.slice(0, 4)) {
      expect(plan[image.digest]).toBe('untagged delete (would delete): untagged, and nothing that stays refers to it')
    }
    const uniqueBytes = sum(scene.unique.values())
    expect(run.outputs).toMatchObject({ 'deleted-count': '4', 'reclaimed-bytes': '0', 'gc-blobs-deleted': '0' })
    expect(Number(run.outputs['reclaimable-bytes'])).toBe(uniqueBytes)
    expect(run.summary).toContain('| Images that would be deleted | 4 |')
    expect(run.summary).toContain(`| … of which untagged | 4 (${formatBytes(uniqueBytes)}) |`)
    expect(run.plan?.totals).toMatchObject({ untaggedDeleted: 4, untaggedBytes: uniqueBytes })

    // older-than needs the untagged images' dates: they are all older than 30 days, so they go as well.
    const aged = await runAction(inputs(reg, { 'dry-run': 'true', 'older-than': '30d' }))
    expect(aged.code, log(aged)).toBe(0)
    for (const image of scene.pushes.slice(0, 4)) expect(decisions(aged)[image.digest]).toMatch(/^untagged delete/)
  })

  // Both listings (issue 14): the collector's runs over the same SSH connection, without storage-path.
  it.each([
    ['the storage tree', {}],
    ['the collector', { 'untagged-source': 'collector', 'storage-path': '' }],
  ])('a manifest pushed while the run reads tags is not taken for an untagged one (listed by %s)', async (_source, source) => {
    await start()
    // Untagged manifests are listed before any tag is read. A push that lands after `app`'s tag list was answered has a tag
    // the run never saw; had the storage been listed after reading, it would look untagged and be planned for deletion.
    // A multi-arch push uploads its platforms untagged before the index: listed in between, even the collector (which
    // checks tags itself, but counts every child as untagged) would offer them as untagged.
    let late: PushedImage | undefined
    let lateMulti: string[] = []
    const gate = await startProxy(reg.url, {
      answer: (req, res) => {
        if (late || !req.url?.startsWith('/v2/app/tags/list')) return false
        void (async () => {
          const listed = await (await fetch(`${reg.url}${req.url}`)).text()
          late = await pushImage(reg, 'app', 'late', { layers: ['pushed during the run'] })
          const children = [
            await pushImage(reg, 'app', undefined, { layers: ['late amd64'], platform: { architecture: 'amd64', os: 'linux' } }),
            await pushImage(reg, 'app', undefined, { layers: ['late arm64'], platform: { architecture: 'arm64', os: 'linux' } }),
          ]
          lateMulti = [(await pushIndex(reg, 'app', 'late-multi', children)).digest, ...children.map((c) => c.digest)]
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(listed)
        })()
        return true
      },
    })
    try {
      const run = await runAction(inputs(reg, { registry: gate.url, 'dry-run': 'true', ...source }))
      expect(run.code, log(run)).toBe(0)
      expect(late).toBeDefined()
      expect(decisions(run)[late?.digest ?? '']).toBeUndefined()
      expect(lateMulti).toHaveLength(3)
      for (const digest of lateMulti) expect(decisions(run)[digest]).toBeUndefined()
      expect(run.summary).toContain(`| Untagged manifests found | 7, listed ${'untagged-source' in source ? 'by the collector' : 'from the storage tree'}`)
      expect(run.outputs['deleted-count']).toBe('4')
    } finally {
      await gate.close()
    }
  })

  it('keep-untagged: 2 keeps the two newest untagged builds', async () => {
    await start()
    const run = await runAction(inputs(reg, { 'keep-untagged': '2' }))
    expect(run.code, log(run)).toBe(0)
    const [b1, b2, b3, b4] = scene.pushes
    const plan = decisions(run)
    for (const image of [b3, b4]) expect(plan[image?.digest ?? '']).toBe('untagged keep (kept): among the 2 newest untagged')
    for (const image of [b1, b2]) expect(plan[image?.digest ?? '']).toMatch(/^untagged delete \(deleted\)/)
    await reg.restart()
    for (const image of [b1, b2]) expect(await resolveTag(reg, 'app', image?.digest ?? '')).toBeUndefined()
    for (const image of [b3, b4]) expect(await pullsCompletely(reg, 'app', image?.digest ?? '')).toBe(true)
    expect(await pullsCompletely(reg, 'app', 'multi')).toBe(true)
  })

  it.each([
    ['a storage-path that is not the storage root', (r: TestRegistry) => dirname(r.storage)],
    ['a storage-path that does not exist', () => join(scratch, 'no-such-storage')],
  ])('with %s, no untagged manifest is deleted, and the summary and plan say why', async (_name, path) => {
    await start()
    const storagePath = path(reg)
    // untagged-source: auto would ask the collector instead.
    const run = await runAction(inputs(reg, { 'storage-path': storagePath, 'untagged-source': 'storage' }))
    expect(run.code, log(run)).toBe(0)
    await expectAllThere(reg, scene)
    expect(run.outputs['deleted-count']).toBe('0')
    const why = `Could not list the manifests in '${storagePath}/docker/registry/v2/repositories'`
    expect(run.summary).toContain('the storage could not be listed, so no untagged manifest is deleted')
    expect(run.summary).toContain(why)
    expect(run.stdout).toContain(why)
    const notes = (run.plan?.repositories[0] as unknown as { notes: string[] }).notes
    expect(notes.join('\n')).toContain('untagged manifests were not listed, so none is deleted')
    // Unlisted, they are not even read: the plan holds only what tags lead to.
    for (const image of scene.pushes.slice(0, 4)) expect(decisions(run)[image.digest]).toBeUndefined()
    expect(decisions(run)[scene.amd.digest]).toMatch(/^child keep/)
  })
})
