// Issue 3 end to end: the bundled Action (`node dist/index.js`, run `npm run build` first) deletes through the API of a
// real registry, then runs the real collector over a real OpenSSH server, and reports what the host freed.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../support/action.js'
import { pushFixtures, snapshot, type Fixtures } from '../support/fixtures.js'
import { ACCEPT, pullsCompletely, pushImage, resolveTag } from '../support/push.js'
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../support/registry.js'
import { startSshd, type TestSshd } from '../support/sshd.js'

let sshd: TestSshd
let scratch: string
beforeAll(async () => {
  sshd = await startSshd()
  scratch = await mkdtemp(join(tmpdir(), 'registry-prune-gc-action-'))
})
afterAll(async () => {
  await sshd?.stop()
  await rm(scratch, { recursive: true, force: true })
})

let markers = 0
/** Inputs for a run with GC over SSH; the before/after commands touch marker files (they cannot restart the registry). */
function gcInputs(reg: TestRegistry, overrides: Record<string, string> = {}) {
  const id = ++markers
  const before = join(scratch, `before-${id}`)
  const after = join(scratch, `after-${id}`)
  const inputs = {
    registry: reg.url,
    'keep-count': '2',
    'garbage-collect': 'ssh',
    'ssh-host': `${sshd.host}:${sshd.port}`,
    'ssh-user': sshd.user,
    'ssh-private-key': sshd.privateKey,
    'ssh-known-hosts': sshd.knownHostsLine,
    'gc-command': `${REGISTRY_BIN} garbage-collect ${reg.configPath}`,
    'storage-path': reg.storage,
    'gc-before-command': `touch ${before}`,
    'gc-after-command': `touch ${after}`,
    ...overrides,
  }
  return { inputs, ran: () => ({ before: existsSync(before), after: existsSync(after) }) }
}

const du = (path: string): number => Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0])

/** Every file and directory under the storage root with its size, as `du -sb` sees them. */
function tree(root: string): Map<string, { type: string; size: number }> {
  const out = execFileSync('find', [root, '-mindepth', '1', '-printf', '%y %s %P\\n'], { encoding: 'utf8' })
  return new Map(
    out.trim().split('\n').map((line) => {
      const [type = '', size = '0', ...path] = line.split(' ')
      return [path.join(' '), { type, size: Number(size) }] as const
    }),
  )
}

/** What the registry removed from its storage, split into blob data and everything else (directories, link files). */
function removed(before: ReturnType<typeof tree>, after: ReturnType<typeof tree>) {
  const gone = [...before].filter(([path]) => !after.has(path))
  const blobData = gone.filter(([path, e]) => e.type === 'f' && /^docker\/registry\/v2\/blobs\/.*\/data$/.test(path))
  const sum = (entries: typeof gone) => entries.reduce((s, [, e]) => s + e.size, 0)
  return {
    total: sum(gone),
    blobs: blobData.map(([path]) => `sha256:${path.split('/').at(-2)}`).sort(),
    blobData: sum(blobData),
    metadata: sum(gone) - sum(blobData),
    added: [...after.keys()].filter((path) => !before.has(path)),
  }
}


/** Blobs the collector would delete right now (orphaned), by its own dry run. */
function orphaned(reg: TestRegistry): number {
  const out = execFileSync(REGISTRY_BIN, ['garbage-collect', '--dry-run', reg.configPath], { encoding: 'utf8' })
  return Number(/(\d+) blobs and \d+ manifests eligible/.exec(out)?.[1])
}

/** The private key in no log line, summary, output or plan file: not whole, and not one line of it. */
function expectNoKey(run: ActionRun, key = sshd.privateKey): void {
  const body = key.split('\n').filter((line) => line && !line.startsWith('-----'))
  expect(body.length).toBeGreaterThan(2)
  for (const line of body) expect(run.everything).not.toContain(line)
}

const log = (run: ActionRun): string => run.stdout + run.stderr

describe('a real run on the fixture registry (acceptance 1)', () => {
  let reg: TestRegistry
  afterEach(async () => reg?.stop())

  it('reclaimed-bytes is the drop of du -sb; the estimate is exactly the blob data freed, and the rest is explained', async () => {
    reg = await startRegistry()
    const fx = await pushFixtures(reg)
    expect(orphaned(reg), 'nothing is orphaned before the run').toBe(0)
    const treeBefore = tree(reg.storage)
    const before = du(reg.storage)
    const { inputs, ran } = gcInputs(reg)

    const run = await runAction(inputs)
    expect(run.code, log(run)).toBe(0)
    const after = du(reg.storage)
    const gone = removed(treeBefore, tree(reg.storage))
    expect(gone.added).toEqual([])
    expect(gone.total).toBe(before - after)

    expect(Number(run.outputs['reclaimed-bytes'])).toBe(before - after)
    expect(Number(run.outputs['gc-blobs-deleted'])).toBe(gone.blobs.length)
    expect(run.outputs['deleted-count']).toBe('4')
    expect(ran()).toEqual({ before: true, after: true })
    // The plan counts blob data, and the collector deleted exactly that much.
    const estimate = Number(run.outputs['reclaimable-bytes'])
    expect(estimate).toBe(gone.blobData)
    // The rest of the drop is the blob directories, tag directories and link files: on these small fixture blobs it
    // is most of the drop (a 4 KiB directory per blob of a few hundred bytes), so the estimate is far from 5% here.
    expect(before - after - estimate).toBe(gone.metadata)
    expect(gone.metadata).toBeGreaterThan(gone.blobs.length * 1024)
    expect(run.summary).toContain('| estimate from the plan | measured on the host | blob data deleted | blobs deleted |')
    expect(run.summary).toContain('the directories and link files the registry removed with them')
    expect(run.summary).toContain('The blob data deleted is exactly the estimate.')
    expect(run.plan?.totals).toMatchObject({ reclaimableBytes: estimate, reclaimedBytes: before - after })

    // The registry's inmemory cache answers for collected blobs until it restarts (REGISTRY-FACTS).
    await reg.restart()
    for (const [repo, tags] of Object.entries(fx.keptTags)) {
      for (const tag of tags) expect(await pullsCompletely(reg, repo, tag), `${repo}:${tag} still pulls`).toBe(true)
    }
    for (const digest of gone.blobs) {
      expect((await fetch(`${reg.url}/v2/team/app/blobs/${digest}`)).status).toBe(404)
    }
    expectNoKey(run)
  })

  it('with image-sized layers the estimate is within 5% of the drop of du -sb', async () => {
    reg = await startRegistry()
    const fx = await pushFixtures(reg)
    // Three releases with 8 MiB layers of their own: the oldest goes (keep-count 2), as in a real registry.
    for (const [tag, month] of [['r1', '01'], ['r2', '02'], ['r3', '03']] as const) {
      await pushImage(reg, 'team/big', tag, { layers: [randomBytes(8 << 20).toString('base64')], created: `2024-${month}-01T00:00:00Z` })
    }
    expect(orphaned(reg)).toBe(0)
    const before = du(reg.storage)
    const run = await runAction(gcInputs(reg).inputs)
    expect(run.code, log(run)).toBe(0)
    const drop = before - du(reg.storage)
    expect(Number(run.outputs['reclaimed-bytes'])).toBe(drop)
    const estimate = Number(run.outputs['reclaimable-bytes'])
    expect(Math.abs(drop - estimate) / drop).toBeLessThan(0.05)
    expect(await resolveTag(reg, 'team/big', 'r1')).toBeUndefined()
    await reg.restart()
    for (const tag of ['r2', 'r3']) expect(await pullsCompletely(reg, 'team/big', tag)).toBe(true)
    for (const tag of fx.keptTags['team/app'] ?? []) expect(await pullsCompletely(reg, 'team/app', tag)).toBe(true)
  })
})

describe('a dry run (acceptance 2)', () => {
  let reg: TestRegistry
  afterAll(async () => reg?.stop())

  it('deletes nothing on disk, runs no before/after command, and reports the blobs the collector finds orphaned', async () => {
    reg = await startRegistry()
    const fx = await pushFixtures(reg)
    // One image deleted through the API and never collected: its manifest, config and layer are orphaned.
    const orphan = await pushImage(reg, 'scratch', 'gone', { layers: ['orphaned layer'], label: 'orphan' })
    await pushImage(reg, 'scratch', 'stays', { layers: ['staying layer'], label: 'stays' })
    const res = await fetch(`${reg.url}/v2/scratch/manifests/${orphan.digest}`, { method: 'DELETE', headers: { accept: ACCEPT } })
    expect(res.status).toBe(202)
    expect(orphaned(reg)).toBe(3)
    const tags = await snapshot(reg, fx)
    const treeBefore = tree(reg.storage)
    const { inputs, ran } = gcInputs(reg, { 'dry-run': 'true' })

    const run = await runAction(inputs)
    expect(run.code, log(run)).toBe(0)
    expect(removed(treeBefore, tree(reg.storage))).toMatchObject({ total: 0, added: [] })
    expect(await snapshot(reg, fx)).toEqual(tags)
    expect(ran()).toEqual({ before: false, after: false })
    expect(run.outputs).toMatchObject({ 'deleted-count': '4', 'reclaimed-bytes': '0', 'gc-blobs-deleted': '0' })
    expect(log(run)).toContain(`garbage-collect --dry-run ${reg.configPath}`)
    expect(run.summary).toContain('### Garbage collection (ssh, dry run)')
    expect(run.summary).toContain('reports 3 blobs already eligible for deletion: orphaned before this run')
    expect(run.summary).toContain('nothing (dry run)')
    const gc = (run.plan as unknown as { gc: { blobsEligible: number; blobsEligibleDigests: string[] } }).gc
    expect(gc.blobsEligible).toBe(3)
    expect([...gc.blobsEligibleDigests].sort()).toEqual([orphan.digest, orphan.config.digest, orphan.layers[0]?.digest].sort())
    expectNoKey(run)
  })
})

describe('runs that must stop (acceptance 3)', () => {
  let reg: TestRegistry
  let fx: Fixtures
  beforeAll(async () => {
    reg = await startRegistry()
    fx = await pushFixtures(reg)
  })
  afterAll(async () => reg?.stop())

  /** Runs, and proves that nothing was deleted, no GC command ran, and the key leaked nowhere. */
  async function stopsBeforeAnyDelete(overrides: Record<string, string>, key?: string): Promise<ActionRun> {
    const tags = await snapshot(reg, fx)
    const bytes = du(reg.storage)
    const { inputs, ran } = gcInputs(reg, overrides)
    const run = await runAction(inputs)
    expect(run.code, log(run)).not.toBe(0)
    expect(await snapshot(reg, fx)).toEqual(tags)
    expect(du(reg.storage)).toBe(bytes)
    expect(ran()).toEqual({ before: false, after: false })
    expect(run.outputs['deleted-count']).toBeUndefined()
    expectNoKey(run)
    if (key) expectNoKey(run, key)
    return run
  }

  it('a wrong host key stops the run before the inventory (so before any delete), saying how to get the right line', async () => {
    const other = await sshd.newKey()
    const wrong = `[127.0.0.1]:${sshd.port} ${other.publicKey.split(' ').slice(0, 2).join(' ')}`
    const run = await stopsBeforeAnyDelete({ 'ssh-known-hosts': wrong })
    expect(run.stdout).toContain('does not match ssh-known-hosts')
    expect(run.stdout).toContain(sshd.fingerprint)
    expect(run.stdout).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1`)
    expect(run.plan, 'no plan: it stopped before the inventory').toBeUndefined()
  })

  it('an unknown host stops the run; no ssh-known-hosts at all is refused as an input', async () => {
    const keyOnly = sshd.knownHostsLine.split(' ').slice(1).join(' ')
    const run = await stopsBeforeAnyDelete({ 'ssh-known-hosts': `registry.example.com ${keyOnly}` })
    expect(run.stdout).toContain(`The SSH host 127.0.0.1:${sshd.port} is not in ssh-known-hosts`)
    expect(run.stdout).toContain(sshd.fingerprint)

    const none = await stopsBeforeAnyDelete({ 'ssh-known-hosts': '' })
    expect(none.stdout).toContain('Missing ssh-known-hosts')
    expect(none.stdout).toContain('ssh-insecure-accept-any-host-key')
  })

  it('a rejected user key stops the run, saying where the public key must go', async () => {
    const stranger = await sshd.newKey()
    const run = await stopsBeforeAnyDelete({ 'ssh-private-key': stranger.privateKey }, stranger.privateKey)
    expect(run.stdout).toContain('rejected the key for user root')
    expect(run.stdout).toContain('~root/.ssh/authorized_keys')
  })

  it('a failing collector fails the run with its stderr, after deleting, and still writes the summary and plan', async () => {
    const { inputs, ran } = gcInputs(reg, { 'gc-command': `${REGISTRY_BIN} garbage-collect ${scratch}/no-such-config.yml` })
    const run = await runAction(inputs)
    expect(run.code).not.toBe(0)
    expect(run.stdout).toContain('The garbage collector failed on root@127.0.0.1')
    expect(run.stdout).toContain(`configuration error: open ${scratch}/no-such-config.yml`)
    expect(run.stdout).toContain('config path in gc-command')
    // The deletes happened (GC comes last): the record of them is kept, and the after command still ran.
    expect(run.outputs['deleted-count']).toBe('4')
    expect(run.plan?.totals).toMatchObject({ imagesDeleted: 4 })
    expect(run.summary).toContain('### Garbage collection (ssh): failed')
    expect(run.summary).toContain('configuration error')
    expect(ran()).toEqual({ before: true, after: true })
    expectNoKey(run)
  })
})

describe('the host key opt-out (acceptance 4)', () => {
  let reg: TestRegistry
  afterAll(async () => reg?.stop())

  it('connects, and warns in the log and in the summary', async () => {
    reg = await startRegistry()
    await pushFixtures(reg)
    const run = await runAction(
      gcInputs(reg, { 'ssh-known-hosts': '', 'ssh-insecure-accept-any-host-key': 'true', 'dry-run': 'true' }).inputs,
    )
    expect(run.code, log(run)).toBe(0)
    expect(run.stdout).toMatch(/^::warning::ssh-insecure-accept-any-host-key is true/m)
    expect(run.stdout).toContain(`Accepting the unverified SSH host key ${sshd.fingerprint}`)
    expect(run.summary).toMatch(/> \[!WARNING\]\n> ssh-insecure-accept-any-host-key is true/)
    expectNoKey(run)
  })
})

describe('--delete-untagged in gc-command (acceptance 5)', () => {
  let reg: TestRegistry
  let fx: Fixtures
  beforeAll(async () => {
    reg = await startRegistry()
    fx = await pushFixtures(reg)
  })
  afterAll(async () => reg?.stop())

  it.each([
    ['--delete-untagged', (config: string) => `${REGISTRY_BIN} garbage-collect --delete-untagged ${config}`],
    ['-m', (config: string) => `${REGISTRY_BIN} garbage-collect -m ${config}`],
    ['-dm', (config: string) => `${REGISTRY_BIN} garbage-collect -dm ${config}`],
    ['-m inside sh -c', (config: string) => `sh -c '${REGISTRY_BIN} garbage-collect -m ${config}'`],
  ])('%s is refused before anything is deleted; every platform still pulls', async (_name, command) => {
    const tags = await snapshot(reg, fx)
    const bytes = du(reg.storage)
    const { inputs, ran } = gcInputs(reg, { 'gc-command': command(reg.configPath) })
    const run = await runAction(inputs)
    expect(run.code).not.toBe(0)
    expect(run.stdout).toContain('gc-command')
    expect(run.stdout).toMatch(/multi-arch|multi-platform/)
    expect(run.outputs['deleted-count']).toBeUndefined()
    expect(du(reg.storage)).toBe(bytes)
    expect(await snapshot(reg, fx)).toEqual(tags)
    expect(ran()).toEqual({ before: false, after: false })
    await reg.restart()
    // The OCI index and the Docker manifest list: GET of every child manifest and every blob.
    expect(await pullsCompletely(reg, 'team/app', 'v1.3.0')).toBe(true)
    expect(await pullsCompletely(reg, 'team/tools/cli', '0.9')).toBe(true)
    expectNoKey(run)
  })
})
