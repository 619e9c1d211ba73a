// Issue 14 end to end: untagged manifests listed by the collector's own read-only run (`garbage-collect --dry-run
// --delete-untagged`), on the real registry and collector, through the bundled Action (run `npm run build` first).
// `garbage-collect: local` with the registry's config: the same shell and gc-command as GC. The storage listing is the
// reference: both sources must find the same untagged manifests and give the same plan.
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { decisions as planDecisions, runAction, type ActionRun } from '../support/action.js'
import {
  pullsCompletely,
  pushImage,
  pushIndex,
  pushReferrer,
  pushSignature,
  resolveTag,
  tagList,
  type PushedImage,
} from '../support/push.js'
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../support/registry.js'
import { linesLogger } from '../support/logger.js'
import { localShell } from '../../src/gc/shell.js'
import { parseSettings } from '../../src/inputs.js'
import { listUntagged } from '../../src/untagged.js'

let scratch: string
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'registry-prune-collector-'))
})
afterAll(async () => rm(scratch, { recursive: true, force: true }))

interface Scene {
  /** Builds of app:latest, each signed when pushed; the last one is current. */
  builds: PushedImage[]
  /** The two pushes of app:multi, each an index over two platforms; the second is current. */
  indexes: { digest: string; children: PushedImage[] }[]
  /** What must be planned as untagged: the superseded builds and the superseded index with its platforms. */
  untagged: string[]
}

const platform = (architecture: string) => ({ architecture, os: 'linux' })

/** The re-pushed-tag scenario: app:latest three times (signed each time), app:multi twice, an SBOM referrer. */
async function pushScene(reg: TestRegistry): Promise<Scene> {
  const base = 'shared base layer '.repeat(2000)
  const builds: PushedImage[] = []
  for (let build = 1; build <= 3; build++) {
    const image = await pushImage(reg, 'app', 'latest', {
      layers: [base, `build ${build} `.repeat(1500 + build)],
      created: `2024-0${build}-01T00:00:00Z`,
      label: `build ${build}`,
    })
    await pushSignature(reg, 'app', image.digest)
    builds.push(image)
  }
  const indexes: Scene['indexes'] = []
  for (const generation of [1, 2]) {
    const children: PushedImage[] = []
    for (const arch of ['amd64', 'arm64']) {
      children.push(
        await pushImage(reg, 'app', undefined, {
          layers: [base, `multi ${generation} ${arch} `.repeat(800)],
          platform: platform(arch),
          created: `2024-0${generation}-15T00:00:00Z`,
        }),
      )
    }
    indexes.push({ digest: (await pushIndex(reg, 'app', 'multi', children)).digest, children })
  }
  await pushReferrer(reg, 'app', builds[2] as PushedImage, 'sbom of the current build')
  // A second repository with a re-pushed tag, so "every repository" is more than one.
  await pushImage(reg, 'team/tool', 'stable', { layers: ['tool 1'], label: 'tool 1' })
  const tool2 = await pushImage(reg, 'team/tool', 'stable', { layers: ['tool 2'], label: 'tool 2' })
  expect(await resolveTag(reg, 'team/tool', 'stable')).toBe(tool2.digest)
  const old = indexes[0] as Scene['indexes'][number]
  return {
    builds,
    indexes,
    untagged: [...builds.slice(0, 2).map((b) => b.digest), old.digest].sort(),
  }
}

function inputs(reg: TestRegistry, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    registry: reg.url,
    repositories: 'app, team/tool',
    'keep-count': '5',
    untagged: 'delete',
    'garbage-collect': 'local',
    'gc-command': `${REGISTRY_BIN} garbage-collect ${reg.configPath}`,
    'gc-before-command': 'true',
    'gc-after-command': 'true',
    ...overrides,
  }
}

const log = (run: ActionRun): string => run.stdout + run.stderr
const listing = (run: ActionRun) => (run.plan as unknown as { untaggedListing: { source: string; candidates: number } | null }).untaggedListing
const untaggedIn = (run: ActionRun, repo: string): string[] =>
  (run.plan?.repositories.find((r) => r.name === repo)?.images ?? []).filter((i) => i.role === 'untagged').map((i) => i.digest).sort()

/** Blob files in the storage (layers, configs and manifests alike). */
async function blobCount(reg: TestRegistry): Promise<number> {
  const root = join(reg.storage, 'docker/registry/v2/blobs/sha256')
  let count = 0
  for (const prefix of await readdir(root)) count += (await readdir(join(root, prefix))).length
  return count
}

describe('untagged-source: collector on the real registry and collector', () => {
  let reg: TestRegistry
  let scene: Scene
  afterEach(async () => reg?.stop())
  const start = async () => {
    reg = await startRegistry()
    scene = await pushScene(reg)
  }

  it('finds the same untagged manifests as the storage listing and gives the same plan', async () => {
    await start()
    const storage = await runAction(inputs(reg, { 'dry-run': 'true', 'untagged-source': 'storage', 'storage-path': reg.storage }))
    const collector = await runAction(inputs(reg, { 'dry-run': 'true', 'untagged-source': 'collector' }))
    // auto: storage-path is given but cannot be listed, so the collector lists.
    const auto = await runAction(inputs(reg, { 'dry-run': 'true', 'storage-path': join(scratch, 'not-the-storage') }))
    for (const run of [storage, collector, auto]) expect(run.code, log(run)).toBe(0)

    expect(untaggedIn(storage, 'app')).toEqual(scene.untagged)
    expect(untaggedIn(collector, 'app')).toEqual(scene.untagged)
    expect(untaggedIn(collector, 'team/tool')).toHaveLength(1)
    expect(untaggedIn(collector, 'team/tool')).toEqual(untaggedIn(storage, 'team/tool'))
    const plan = planDecisions(storage.plan)
    expect(planDecisions(collector.plan)).toEqual(plan)
    expect(planDecisions(auto.plan)).toEqual(plan)
    // The superseded index goes with its platforms; the current one keeps its own.
    const [old, current] = scene.indexes
    for (const child of old?.children ?? []) expect(plan[`app@${child.digest}`]).toMatch(/^delete: /)
    for (const child of current?.children ?? []) expect(plan[`app@${child.digest}`]).toMatch(/^keep: child of kept index/)
    expect(storage.outputs).toEqual({ ...collector.outputs, 'plan-file': storage.outputs['plan-file'] })

    // Candidates are every manifest no tag points at: the untagged images, and the platforms and the referrer, which
    // the plan then keeps or deletes with what they belong to.
    expect(listing(storage)).toEqual({ source: 'storage', candidates: 9 })
    expect(listing(collector)).toEqual({ source: 'collector', candidates: 9 })
    expect(listing(auto)).toEqual({ source: 'collector', candidates: 9 })
    expect(collector.summary).toContain('| Untagged manifests found | 9, listed by the collector (garbage-collect --dry-run --delete-untagged) |')
    expect(storage.summary).toContain('| Untagged manifests found | 9, listed from the storage tree (storage-path) |')
    expect(log(collector)).toContain(`${REGISTRY_BIN} garbage-collect --dry-run --delete-untagged ${reg.configPath}`)
    for (const text of [log(auto), auto.summary]) {
      expect(text).toContain('Listing untagged manifests with the collector\'s dry run instead (untagged-source: auto)')
    }
    // The listing changed nothing.
    for (const image of scene.builds) expect(await resolveTag(reg, 'app', image.digest)).toBe(image.digest)
  })

  it('without storage-path frees the untagged generations; every kept tag and platform still pulls', async () => {
    await start()
    const blobsBefore = await blobCount(reg)
    const tagsBefore = await tagList(reg, 'app')
    const run = await runAction(inputs(reg, { 'untagged-source': 'collector' }))
    expect(run.code, log(run)).toBe(0)
    expect(listing(run)).toEqual({ source: 'collector', candidates: 9 })
    expect(untaggedIn(run, 'app')).toEqual(scene.untagged)
    expect(Number(run.outputs['gc-blobs-deleted'])).toBeGreaterThan(0)
    expect(await blobCount(reg)).toBe(blobsBefore - Number(run.outputs['gc-blobs-deleted']))

    // After a restart (the inmemory cache can lie about collected blobs): GET of every manifest and blob.
    await reg.restart()
    for (const digest of scene.untagged) expect(await resolveTag(reg, 'app', digest)).toBeUndefined()
    for (const child of scene.indexes[0]?.children ?? []) expect(await resolveTag(reg, 'app', child.digest)).toBeUndefined()
    const tagsAfter = await tagList(reg, 'app')
    // Signatures of the superseded builds follow them (DECISIONS 23); every other tag stays.
    const followers = scene.builds.slice(0, 2).map((b) => `${b.digest.replace(':', '-')}.sig`)
    expect(tagsAfter).toEqual(tagsBefore.filter((tag) => !followers.includes(tag)))
    for (const tag of tagsAfter) expect(await pullsCompletely(reg, 'app', tag), tag).toBe(true)
    expect(await resolveTag(reg, 'app', 'multi')).toBe(scene.indexes[1]?.digest)
    for (const child of scene.indexes[1]?.children ?? []) {
      expect(await resolveTag(reg, 'app', child.digest)).toBe(child.digest)
      expect(await pullsCompletely(reg, 'app', child.digest)).toBe(true)
    }
    expect(await pullsCompletely(reg, 'team/tool', 'stable')).toBe(true)
  })

  it('fails closed on a line of the collector\'s output it does not know: no untagged manifest is deleted anywhere', async () => {
    await start()
    // The real collector, with one line added to its listing's stdout (its real runs pass through untouched).
    const wrapper = join(scratch, 'odd-collector.sh')
    await writeFile(
      wrapper,
      [
        '#!/bin/sh',
        'case " $* " in',
        `  *" --delete-untagged "*) exec ${REGISTRY_BIN} "$@" | awk 'NR == 3 { print "WARN: tag lookup retried" } { print }' ;;`,
        `  *) exec ${REGISTRY_BIN} "$@" ;;`,
        'esac',
        '',
      ].join('\n'),
    )
    await chmod(wrapper, 0o755)
    await pushImage(reg, 'team/tool', 'old', { layers: ['tool old'], label: 'tool old', created: '2023-01-01T00:00:00Z' })
    const run = await runAction(
      inputs(reg, { 'untagged-source': 'collector', 'keep-count': '1', 'keep-tags': 'latest, multi', 'gc-command': `${wrapper} garbage-collect ${reg.configPath}` }),
    )
    expect(run.code, log(run)).toBe(0)
    const why = 'line 3 of the collector\'s output "WARN: tag lookup retried" is none of the lines the parser knows'
    expect(run.summary).toContain('the collector could not list the untagged manifests, so no untagged manifest is deleted')
    expect(log(run)).toContain(why)
    expect(run.summary).toContain(why.replace(/"/g, '&quot;')) // escaped as every value in the summary
    expect(listing(run)).toBeNull()
    for (const repo of ['app', 'team/tool']) expect(untaggedIn(run, repo)).toEqual([])
    const notes = (run.plan?.repositories ?? []).map((r) => (r as unknown as { notes: string[] }).notes.join('\n'))
    for (const note of notes) expect(note).toContain('untagged manifests were not listed, so none is deleted')
    // Tag rules still work: team/tool:old is the one image beyond keep-count 1; every untagged manifest stays.
    expect(run.outputs['deleted-count']).toBe('1')
    await reg.restart()
    expect(await resolveTag(reg, 'team/tool', 'old')).toBeUndefined()
    for (const digest of scene.untagged) expect(await pullsCompletely(reg, 'app', digest)).toBe(true)
  })
})

describe('listUntagged with the real collector: what fails closed, and what an empty registry gives', () => {
  const settingsFor = (values: Record<string, string>) =>
    parseSettings((name) => ({ registry: 'http://127.0.0.1:1', untagged: 'delete', 'garbage-collect': 'local', ...values })[name], {}, {
      homeDir: () => scratch,
    })
  const config = async (name: string, storage: string): Promise<string> => {
    const path = join(scratch, `${name}.yml`)
    await writeFile(path, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\nhttp:\n  addr: 127.0.0.1:0\n`)
    return path
  }

  it('a collector that fails gives a note with its exit code and stderr, and no listing', async () => {
    const log = linesLogger()
    const settings = settingsFor({ 'gc-command': `${REGISTRY_BIN} garbage-collect ${join(scratch, 'no-such-config.yml')}` })
    const listing = await listUntagged(localShell(), settings, log)
    expect('note' in listing && listing.note).toMatch(/^the collector could not list the untagged manifests, so no untagged manifest is deleted: .*exit 1 .*configuration error/s)
    expect(log.lines.join('\n')).toContain(`$ ${REGISTRY_BIN} garbage-collect --dry-run --delete-untagged ${join(scratch, 'no-such-config.yml')}`)
  })

  it('a storage that was never written to fails closed and says the config may be the wrong one', async () => {
    const listing = await listUntagged(localShell(), settingsFor({ 'gc-command': `${REGISTRY_BIN} garbage-collect ${await config('fresh', join(scratch, 'fresh'))}` }), linesLogger())
    expect('note' in listing && listing.note).toMatch(/holds no repositories: nothing was pushed yet, or the config is not the one the registry serves/)
  })

  it('an empty registry (its directories there, no repository) lists nothing, from either source', async () => {
    const storage = join(scratch, 'empty')
    for (const dir of ['repositories', 'blobs']) await mkdir(join(storage, 'docker/registry/v2', dir), { recursive: true })
    const command = `${REGISTRY_BIN} garbage-collect ${await config('empty', storage)}`
    const byCollector = await listUntagged(localShell(), settingsFor({ 'gc-command': command, 'untagged-source': 'collector' }), linesLogger())
    const byStorage = await listUntagged(localShell(), settingsFor({ 'gc-command': command, 'storage-path': storage }), linesLogger())
    expect(byCollector).toEqual({ digests: new Map(), source: 'collector' })
    expect(byStorage).toEqual({ digests: new Map(), source: 'storage' })
  })

  it('untagged-source: storage with a storage-path that cannot be listed does not fall back to the collector', async () => {
    const log = linesLogger()
    const settings = settingsFor({
      'gc-command': `${REGISTRY_BIN} garbage-collect ${join(scratch, 'unused.yml')}`,
      'untagged-source': 'storage',
      'storage-path': join(scratch, 'nowhere'),
    })
    const listing = await listUntagged(localShell(), settings, log)
    expect('note' in listing && listing.note).toMatch(/^the storage could not be listed, so no untagged manifest is deleted: Could not list the manifests/)
    expect(log.lines.join('\n')).not.toContain('garbage-collect --dry-run')
  })
})
