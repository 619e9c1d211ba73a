// The Action end to end: `node dist/index.js` with INPUT_* variables against a real registry (issue 2 acceptance).
import { execFileSync } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { countingServer, decisions, NODE24, runAction } from '../support/action.js'
import { pushFixtures, snapshot, type Fixtures } from '../support/fixtures.js'
import { resolveTag } from '../support/push.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'

describe('the action on the fixture registry', () => {
  let reg: TestRegistry
  let fx: Fixtures
  beforeAll(async () => {
    reg = await startRegistry()
    fx = await pushFixtures(reg)
  })
  afterAll(async () => reg?.stop())

  it('a dry run changes nothing and plans exactly what the real run then does', async () => {
    const before = await snapshot(reg, fx)
    const dry = await runAction({ registry: reg.url, 'keep-count': '2', 'dry-run': 'true' })
    expect(dry.code, dry.stdout + dry.stderr).toBe(0)
    expect(await snapshot(reg, fx)).toEqual(before)
    expect(dry.summary).toContain('Dry run')
    expect(dry.plan?.dryRun).toBe(true)

    // The real run on Node 24, the runtime action.yml declares; the dry run above ran on this machine's Node 20.
    const real = await runAction({ registry: reg.url, 'keep-count': '2' }, {}, NODE24)
    expect(real.code, real.stdout + real.stderr).toBe(0)
    expect(decisions(real.plan)).toEqual(decisions(dry.plan))
    expect(real.outputs['deleted-count']).toBe(dry.outputs['deleted-count'])
    expect(real.outputs['reclaimable-bytes']).toBe(dry.outputs['reclaimable-bytes'])

    // Acceptance 2: exactly the expected digests remain.
    for (const [repo, tags] of Object.entries(fx.keptTags)) {
      for (const tag of tags) {
        const original = fx.tags[repo]?.[tag] || undefined
        const now = await resolveTag(reg, repo, tag)
        expect(now, `${repo}:${tag} must still resolve`).toBeDefined()
        if (original) expect(now, `${repo}:${tag} must keep its digest`).toBe(original)
      }
    }
    for (const [repo, tags] of Object.entries(fx.deletedTags)) {
      for (const tag of tags) expect(await resolveTag(reg, repo, tag), `${repo}:${tag} must be gone`).toBeUndefined()
    }
    for (const [repo, digests] of Object.entries(fx.keptChildren)) {
      for (const digest of digests) expect(await resolveTag(reg, repo, digest)).toBe(digest)
    }
    for (const [repo, digests] of Object.entries(fx.deletedChildren)) {
      for (const digest of digests) expect(await resolveTag(reg, repo, digest)).toBeUndefined()
    }
    // team/app loses v1.0.0 and v1.1.0; team/tools/cli loses 0.9 (an index) and 1.0.
    expect(real.outputs['deleted-count']).toBe('4')
    expect(real.outputs['kept-count']).toBe('6')
    expect(Number(real.outputs['reclaimable-bytes'])).toBeGreaterThan(0)
    expect(real.summary).toContain('team/app')

    // Running again finds nothing more to delete.
    const again = await runAction({ registry: reg.url, 'keep-count': '2' })
    expect(again.outputs['deleted-count']).toBe('0')
  })
})

describe('a registry with deletes disabled', () => {
  let reg: TestRegistry
  afterEach(async () => reg?.stop())

  it('exits non-zero, names the setting, and deletes nothing', async () => {
    reg = await startRegistry({ deleteEnabled: false })
    const fx = await pushFixtures(reg)
    const before = await snapshot(reg, fx)
    const run = await runAction({ registry: reg.url, 'keep-count': '2' })
    expect(run.code).not.toBe(0)
    expect(run.stdout).toContain('storage.delete.enabled')
    expect(run.stdout).toContain('REGISTRY_STORAGE_DELETE_ENABLED')
    expect(await snapshot(reg, fx)).toEqual(before)
  })
})

describe('bad inputs', () => {
  let server: Awaited<ReturnType<typeof countingServer>>
  beforeAll(async () => {
    server = await countingServer()
  })
  afterAll(async () => server?.close())

  it.each([
    [{ registry: '127.0.0.1:5000' }, 'registry', 'https://'],
    [{ 'keep-count': '-1' }, 'keep-count', 'whole number'],
    [{ 'keep-count': 'ten' }, 'keep-count', 'whole number'],
    [{ repositories: ' , ' }, 'repositories', 'glob'],
    [{ 'older-than': '3 weeks' }, 'older-than', '30d'],
  ])('%j fails naming the input, before any request', async (inputs, input, expected) => {
    const run = await runAction({ registry: server.url, ...inputs })
    expect(run.code).not.toBe(0)
    expect(run.stdout).toContain(input)
    expect(run.stdout).toContain(expected)
    expect(server.connections()).toBe(0)
  })
})

describe('secrets', () => {
  let reg: TestRegistry
  afterAll(async () => reg?.stop())

  it('the password appears in no log line, summary, output or plan file', async () => {
    const password = 'S3cret-Pa55word-for-tests'
    const dir = await mkdtemp(join(tmpdir(), 'registry-prune-htpasswd-'))
    const htpasswd = join(dir, 'htpasswd')
    await writeFile(htpasswd, execFileSync('htpasswd', ['-nbB', 'ci', password]))
    reg = await startRegistry({ auth: `auth:\n  htpasswd:\n    realm: test\n    path: ${htpasswd}` })
    const headers = { authorization: `Basic ${Buffer.from(`ci:${password}`).toString('base64')}` }
    await pushFixtures({ url: reg.url, headers })

    const run = await runAction({ registry: reg.url, username: 'ci', password, 'keep-count': '2' }, { RUNNER_DEBUG: '1' })
    expect(run.code, run.stdout).toBe(0)
    expect(run.outputs['deleted-count']).toBe('4')
    expect(run.stdout, 'the runner is told to mask the password').toContain(`::add-mask::${password}`)
    expect(run.everything).not.toContain(password)
    expect(run.everything).not.toContain(Buffer.from(`ci:${password}`).toString('base64'))

    const wrong = await runAction({ registry: reg.url, username: 'ci', password: `${password}-wrong` })
    expect(wrong.code).not.toBe(0)
    expect(wrong.everything).not.toContain(password)
  })
})
