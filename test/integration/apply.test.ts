import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { apply } from '../../src/apply.js'
import { inventory } from '../support/inventory.js'
import { plan } from '../../src/plan.js'
import { RegistryClient } from '../../src/registry/client.js'
import { DeleteDisabledError } from '../../src/registry/errors.js'
import type { Plan, Settings } from '../../src/types.js'
import { pushFixtures, type Fixtures } from '../support/fixtures.js'
import { startProxy } from '../support/proxy.js'
import { ACCEPT, pushIndex, pullsCompletely, resolveTag, tagList, type Descriptor } from '../support/push.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'
import { linesLogger } from '../support/logger.js'

const log = linesLogger()
const lines = log.lines

const settings: Settings = {
  registry: '', username: '', password: '', repositories: ['**'], keepCount: 2, keepTags: ['latest'],
  olderThanMs: undefined, dryRun: false, concurrency: 4, caCert: undefined, insecureSkipTlsVerify: false,
  requestTimeoutMs: 5000, allowDeleteAll: false, failOnSkipped: true, untagged: 'keep', keepUntagged: 0, untaggedSource: 'auto',
  shard: undefined, prune: true, planFile: '',
  gc: {
    mode: 'off', sshHost: '', sshPort: 22, sshUser: '', sshPrivateKey: '', sshPassphrase: '', sshKnownHosts: '',
    sshInsecureAcceptAnyHostKey: false, command: '', storagePath: '', beforeCommand: '', afterCommand: '',
  },
}

let reg: TestRegistry
let fx: Fixtures
let client: RegistryClient
const sig = (digest: string): string => `${digest.replace(':', '-')}.sig`

beforeEach(async () => {
  lines.length = 0
  reg = await startRegistry()
  fx = await pushFixtures(reg)
  client = new RegistryClient({ ...settings, registry: reg.url, sleep: async () => {} })
})
afterEach(async () => {
  await client?.close()
  await reg?.stop()
})

async function planned(): Promise<Plan> {
  return plan(await inventory(client, { ...settings, registry: reg.url }, log), settings, Date.UTC(2025, 0, 1))
}

const deletions = (p: Plan, name: string): string[] =>
  p.repositories
    .find((r) => r.name === name)
    ?.manifests.filter((m) => m.decision === 'delete')
    .map((m) => m.digest) ?? []

/** Points a new tag at an existing manifest (the way `docker tag` + `docker push` would). */
async function retag(repo: string, digest: string, tag: string): Promise<void> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${digest}`, { headers: { accept: ACCEPT } })
  const body = Buffer.from(await res.arrayBuffer())
  const put = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT', headers: { 'content-type': res.headers.get('content-type') ?? '' }, body,
  })
  expect(put.status).toBe(201)
}

async function descriptor(repo: string, digest: string): Promise<Descriptor> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${digest}`, { headers: { accept: ACCEPT } })
  return { digest, mediaType: res.headers.get('content-type') ?? '', size: (await res.arrayBuffer()).byteLength }
}

describe('apply', () => {
  it('deletes exactly what the plan says, children after their index; kept images still pull', async () => {
    const p = await planned()
    const result = await apply(client, p, settings, log)
    const d = fx.digests
    const app = result.repositories.find((r) => r.name === 'team/app')
    const cli = result.repositories.find((r) => r.name === 'team/tools/cli')
    expect(new Set(app?.deleted)).toEqual(new Set(deletions(p, 'team/app')))
    expect(app?.deleted).toEqual(expect.arrayContaining([d.v100, d.v110]))
    expect(cli?.deleted).toEqual(expect.arrayContaining([d.cli09, d.cli09amd, d.cli09arm, d.cli10]))
    const order = cli?.deleted ?? []
    expect(order.indexOf(d.cli09)).toBeLessThan(order.indexOf(d.cli09amd))
    expect(result.repositories.every((r) => r.spared.length === 0 && r.error === undefined)).toBe(true)
    expect(result.repositories.map((r) => r.name)).not.toContain('solo') // nothing to delete there

    for (const [repo, tags] of Object.entries(fx.keptTags)) {
      for (const tag of tags) {
        const want = fx.tags[repo]?.[tag]
        if (want) expect(await resolveTag(reg, repo, tag)).toBe(want)
        expect(await pullsCompletely(reg, repo, tag)).toBe(true)
      }
    }
    for (const [repo, tags] of Object.entries(fx.deletedTags)) {
      for (const tag of tags) expect(await resolveTag(reg, repo, tag)).toBeUndefined()
    }
    for (const [repo, digests] of Object.entries(fx.keptChildren)) {
      for (const c of digests) expect(await resolveTag(reg, repo, c)).toBe(c)
    }
    for (const [repo, digests] of Object.entries(fx.deletedChildren)) {
      for (const c of digests) expect(await resolveTag(reg, repo, c)).toBeUndefined()
    }
  })

  it('spares a digest re-tagged between plan and apply, and the signature that follows it', async () => {
    const p = await planned()
    const d = fx.digests
    expect(deletions(p, 'team/app')).toEqual(expect.arrayContaining([d.v110]))
    await retag('team/app', d.v110, 'hotfix')

    const result = await apply(client, p, settings, log)
    const app = result.repositories.find((r) => r.name === 'team/app')
    expect(app?.spared).toEqual(
      expect.arrayContaining([
        { digest: d.v110, reason: 'tag hotfix points at it now' },
        expect.objectContaining({ reason: expect.stringMatching(/^follows sha256:.*tag hotfix points at it now/) }),
      ]),
    )
    expect(app?.deleted).not.toContain(d.v110)
    expect(app?.deleted).toContain(d.v100)
    expect(await resolveTag(reg, 'team/app', 'hotfix')).toBe(d.v110)
    // v1.1.0 was planned to go with it, but it stays on a digest that stays: the tag is not deleted either.
    expect(await resolveTag(reg, 'team/app', 'v1.1.0')).toBe(d.v110)
    expect(await resolveTag(reg, 'team/app', sig(d.v110))).toBeDefined()
    expect(await pullsCompletely(reg, 'team/app', 'hotfix')).toBe(true)
    const warning = `warning: team/app@${d.v110} was planned for deletion but is kept`
    expect(lines.some((l) => l.startsWith(warning))).toBe(true)
  })

  it('spares a planned digest that a newly tagged index lists', async () => {
    const p = await planned()
    const d = fx.digests
    await pushIndex(reg, 'team/app', 'bundle', [await descriptor('team/app', d.v100)])

    const result = await apply(client, p, settings, log)
    const app = result.repositories.find((r) => r.name === 'team/app')
    expect(app?.spared).toContainEqual({
      digest: d.v100, reason: expect.stringMatching(/^listed by index sha256:.*tag bundle points at it now/),
    })
    expect(app?.deleted).toContain(d.v110)
    expect(await pullsCompletely(reg, 'team/app', 'bundle')).toBe(true)
  })

  it('knows a newly tagged index by its body, as the inventory does, when it is served as plain JSON', async () => {
    // Some proxies in front of registries answer every manifest as application/json: the re-check must still see
    // the index and spare what it lists (DECISIONS 2).
    const p = await planned()
    const d = fx.digests
    await pushIndex(reg, 'team/app', 'bundle', [await descriptor('team/app', d.v100)])
    const proxy = await startProxy(reg.url, {
      headers: (req, headers) => {
        if (req.url?.startsWith('/v2/team/app/manifests/')) headers['content-type'] = 'application/json'
      },
    })
    const viaProxy = new RegistryClient({ ...settings, registry: proxy.url, sleep: async () => {} })
    try {
      const result = await apply(viaProxy, p, settings, log)
      const app = result.repositories.find((r) => r.name === 'team/app')
      expect(app?.spared).toContainEqual({
        digest: d.v100, reason: expect.stringMatching(/^listed by index sha256:.*tag bundle points at it now/),
      })
      expect(await pullsCompletely(reg, 'team/app', 'bundle')).toBe(true)
    } finally {
      await viaProxy.close()
      await proxy.close()
    }
  })

  it('deletes nothing and stops when the registry has deletes disabled', async () => {
    const p = await planned()
    const before = { app: await tagList(reg, 'team/app'), cli: await tagList(reg, 'team/tools/cli') }
    await reg.restart({ deleteEnabled: false })
    const error = await apply(client, p, settings, log).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeleteDisabledError)
    expect((error as Error).message).toContain('storage.delete.enabled: true')
    expect(await tagList(reg, 'team/app')).toEqual(before.app)
    expect(await tagList(reg, 'team/tools/cli')).toEqual(before.cli)
  })

  it('leaves skipped repositories alone, records a failing repository, and goes on with the others', async () => {
    const p = await planned()
    const skippedApp = {
      ...p, repositories: p.repositories.map((r) => (r.name === 'team/app' ? { ...r, skipped: 'a test' } : r)),
    }
    const proxy = await startProxy(reg.url, {
      answer: (req, res) => {
        if (!req.url?.startsWith('/v2/team/tools/cli/tags/list')) return false
        res.writeHead(500).end()
        return true
      },
    })
    const viaProxy = new RegistryClient({ ...settings, registry: proxy.url, sleep: async () => {} })
    try {
      const before = await tagList(reg, 'team/app')
      const result = await apply(viaProxy, skippedApp, settings, log)
      expect(result.repositories.map((r) => r.name)).toEqual(['team/tools/cli'])
      expect(result.repositories[0]?.error).toMatch(/tags\/list failed: 500/)
      expect(result.repositories[0]?.deleted).toEqual([])
      expect(await tagList(reg, 'team/app')).toEqual(before)
      expect(proxy.seen.filter((s) => s.startsWith('DELETE'))).toEqual([])
    } finally {
      await viaProxy.close()
      await proxy.close()
    }
  })

  it('a second apply of the same plan finds everything gone and deletes nothing new', async () => {
    const p = await planned()
    await apply(client, p, settings, log)
    const tags = await tagList(reg, 'team/app')
    const again = await apply(client, p, settings, log)
    expect(again.repositories.every((r) => r.error === undefined)).toBe(true)
    expect(await tagList(reg, 'team/app')).toEqual(tags)
    expect(lines.some((l) => l.startsWith('info: already gone: team/app@'))).toBe(true)
  })
})
