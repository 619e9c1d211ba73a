import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigDates, readRepositories, type InventorySettings } from '../../src/inventory.js'
import { inventory } from '../support/inventory.js'
import { RegistryClient } from '../../src/registry/client.js'
import { MEDIA_TYPES } from '../../src/registry/media-types.js'
import type { RepositoryInventory } from '../../src/types.js'
import { pushFixtures, type Fixtures } from '../support/fixtures.js'
import { pushImage, pushIndex, pushSignature, sha256 } from '../support/push.js'
import { startProxy } from '../support/proxy.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'
import { linesLogger } from '../support/logger.js'

const log = linesLogger()
const lines = log.lines

const open: RegistryClient[] = []
function client(url: string): RegistryClient {
  const c = new RegistryClient({
    registry: url, username: '', password: '', insecureSkipTlsVerify: false, requestTimeoutMs: 5000, concurrency: 4,
    catalogPageSize: 3,
  })
  open.push(c)
  return c
}

function settings(url: string, extra: Partial<InventorySettings> = {}): InventorySettings {
  return {
    registry: url, repositories: ['**'], keepCount: 10, olderThanMs: undefined, concurrency: 4, shard: undefined,
    ...extra,
  }
}

const byName = (repos: RepositoryInventory[], name: string): RepositoryInventory => {
  const repo = repos.find((r) => r.name === name)
  if (!repo) throw new Error(`no ${name} in the inventory`)
  return repo
}

let reg: TestRegistry
let fx: Fixtures
let brokenChild: string

beforeAll(async () => {
  reg = await startRegistry()
  fx = await pushFixtures(reg)
  // An index whose arm64 child was deleted by digest behind its back: the tag still answers, the child does not.
  const amd = await pushImage(reg, 'broken/app', undefined, { layers: ['b amd'] })
  const arm = await pushImage(reg, 'broken/app', undefined, {
    layers: ['b arm'], platform: { architecture: 'arm64', os: 'linux' },
  })
  await pushIndex(reg, 'broken/app', 'multi', [amd, arm])
  const gone = await fetch(`${reg.url}/v2/broken/app/manifests/${arm.digest}`, { method: 'DELETE' })
  expect(gone.status).toBe(202)
  brokenChild = arm.digest
})
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()))
  await reg?.stop()
})

describe('inventory', () => {
  it('reads the catalog: names with slashes, aliases, indexes with untagged children, signatures', async () => {
    const c = client(reg.url)
    const inv = await inventory(c, settings(reg.url), log)
    expect(inv.repositories.map((r) => r.name)).toEqual(['broken/app', 'solo', 'team/app', 'team/tools/cli'])
    expect(c.stats.catalog).toBeGreaterThanOrEqual(2) // 3 names a page
    for (const name of ['solo', 'team/app', 'team/tools/cli']) {
      const repo = byName(inv.repositories, name)
      expect(repo.incomplete).toBeUndefined()
      for (const [tag, digest] of Object.entries(fx.tags[name] ?? {})) {
        if (digest) expect(repo.tags.get(tag)).toBe(digest)
        else expect(repo.tags.has(tag)).toBe(true) // a signature tag
      }
      expect(repo.tags.size).toBe(Object.keys(fx.tags[name] ?? {}).length)
    }
    const app = byName(inv.repositories, 'team/app')
    const d = fx.digests
    expect(app.tags.get('stable')).toBe(d.v120)
    const index = app.manifests.get(d.v130)
    expect(index).toMatchObject({
      kind: 'index', mediaType: MEDIA_TYPES.ociIndex, children: [d.v130amd, d.v130arm], blobs: [],
    })
    expect(app.manifests.get(d.v130amd)).toMatchObject({ kind: 'image', mediaType: MEDIA_TYPES.ociManifest })
    expect(app.manifests.get(d.v100)?.blobs).toHaveLength(3) // config + shared base + own layer
    expect(app.manifests.get(d.v100)?.configDigest).toBe(app.manifests.get(d.v100)?.blobs[0]?.digest)
    // 5 tagged digests (`stable` aliases v1.2.0) + 3 signatures + 2 children.
    expect(app.manifests.size).toBe(10)
    const cli = byName(inv.repositories, 'team/tools/cli')
    expect(cli.manifests.get(d.cli09)).toMatchObject({ kind: 'index', mediaType: MEDIA_TYPES.dockerList })
    expect(cli.manifests.get(d.cli09amd)).toMatchObject({ kind: 'image', mediaType: MEDIA_TYPES.dockerManifest })
    // One GET per tag and per child; no config is needed with keep-count 10 and no older-than.
    expect(c.stats.manifest).toBe(9 + 2 + 4 + 2 + 1 + 1 + 2)
    expect(c.stats.blob).toBe(0)
    expect([...app.manifests.values()].every((m) => m.created === undefined)).toBe(true)
    expect(app.untagged).toBeUndefined()
  })

  it('marks a repository with an unreadable child incomplete, and reads the others', async () => {
    lines.length = 0
    const c = client(reg.url)
    const inv = await inventory(c, settings(reg.url, { keepCount: 1 }), log)
    const broken = byName(inv.repositories, 'broken/app')
    const path = `/v2/broken/app/manifests/${brokenChild}`
    expect(broken.incomplete).toMatch(new RegExp(`GET http://127\\.0\\.0\\.1:\\d+${path} failed: 404 MANIFEST_UNKNOWN`))
    expect(lines.some((l) => l.startsWith('warning: broken/app: could not be read completely'))).toBe(true)
    for (const name of ['solo', 'team/app', 'team/tools/cli']) {
      expect(byName(inv.repositories, name).incomplete).toBeUndefined()
    }
  })

  it('uses names without glob characters directly, never the catalog; globs and excludes go through it', async () => {
    const direct = client(reg.url)
    const repositories = ['team/app', 'solo', '!solo', 'team/app']
    const inv = await inventory(direct, settings(reg.url, { repositories }), log)
    expect(inv.repositories.map((r) => r.name)).toEqual(['team/app'])
    expect(direct.stats.catalog).toBe(0)

    const globbed = client(reg.url)
    const inv2 = await inventory(globbed, settings(reg.url, { repositories: ['team/**', '!team/tools/*'] }), log)
    expect(inv2.repositories.map((r) => r.name)).toEqual(['team/app'])
    expect(globbed.stats.catalog).toBeGreaterThan(0)
  })

  it('a named repository that does not exist is read as the registry says: unknown (NAME_UNKNOWN)', async () => {
    const inv = await inventory(client(reg.url), settings(reg.url, { repositories: ['no/such'] }), log)
    expect(inv.repositories).toEqual([{ name: 'no/such', tags: new Map(), manifests: new Map(), unknown: true }])
  })

  it('splits repositories over shards: disjoint, and together all of them', async () => {
    const names: string[][] = []
    for (let index = 1; index <= 3; index++) {
      const inv = await inventory(client(reg.url), settings(reg.url, { shard: { index, total: 3 } }), log)
      names.push(inv.repositories.map((r) => r.name))
    }
    expect(names.flat().sort()).toEqual(['broken/app', 'solo', 'team/app', 'team/tools/cli'])
  })

  it('hands each repository on as soon as it is read, so a run never holds them all', async () => {
    const events: string[] = []
    const gate = await startProxy(reg.url, {
      answer: (req) => {
        if (req.url?.includes('/tags/list')) events.push(`read ${req.url.split('/')[2]}`)
        return false
      },
    })
    try {
      const one = { ...settings(gate.url, { repositories: ['solo', 'team/app'] }), concurrency: 1 }
      await readRepositories(client(gate.url), one, new ConfigDates(client(gate.url)), log, (repo) => {
        events.push(`planned ${repo.name.split('/')[0]}`)
      })
      expect(events).toEqual(['read solo', 'planned solo', 'read team', 'planned team'])
    } finally {
      await gate.close()
    }
  })
})

describe('image ages (created), only where a rule needs them', () => {
  let dates: TestRegistry
  beforeAll(async () => {
    dates = await startRegistry()
    // The same three images in two repositories: the same three configs.
    for (const repo of ['dup/a', 'dup/b']) {
      for (const [i, day] of [[1, '01'], [2, '02'], [3, '03']] as const) {
        const spec = { layers: [`dup ${i}`], created: `2024-02-${day}T00:00:00Z` }
        const img = await pushImage(dates, repo, `v${i}`, spec)
        if (i === 3) await pushImage(dates, repo, `also-v${i}`, spec)
        if (i === 1) await pushSignature(dates, repo, img.digest)
      }
    }
    // Few images (2 <= keep-count 2): no dates needed without older-than.
    await pushImage(dates, 'small', 'a', { layers: ['small a'], created: '2024-03-01T00:00:00Z' })
    await pushImage(dates, 'small', 'b', { layers: ['small b'], created: null })
  })
  afterAll(async () => {
    await dates?.stop()
  })

  it('fetches each config once for the whole run, none for signatures or repositories within keep-count', async () => {
    const c = client(dates.url)
    const inv = await inventory(c, settings(dates.url, { keepCount: 2 }), log)
    expect(c.stats.blob).toBe(3)
    for (const name of ['dup/a', 'dup/b']) {
      const repo = byName(inv.repositories, name)
      const created = (tag: string) => repo.manifests.get(repo.tags.get(tag) ?? '')?.created
      expect(created('v1')).toBe(Date.UTC(2024, 1, 1))
      expect(created('v3')).toBe(Date.UTC(2024, 1, 3))
      const sig = [...repo.tags.keys()].find((t) => t.endsWith('.sig')) ?? ''
      expect(created(sig)).toBeUndefined()
    }
    const small = byName(inv.repositories, 'small')
    expect([...small.manifests.values()].map((m) => m.created)).toEqual([undefined, undefined])
  })

  it('fetches configs with older-than whatever the count; a config without created leaves it undefined', async () => {
    const c = client(dates.url)
    const only = settings(dates.url, { repositories: ['small'], keepCount: 10, olderThanMs: 1000 })
    const inv = await inventory(c, only, log)
    const small = byName(inv.repositories, 'small')
    const created = (tag: string) => small.manifests.get(small.tags.get(tag) ?? '')?.created
    expect(created('a')).toBe(Date.UTC(2024, 2, 1))
    expect(created('b')).toBeUndefined()
    expect(c.stats.blob).toBe(2)
  })
})

describe('manifests the registry cannot be made to serve (a stub registry)', () => {
  it('keeps schema1 and unknown media types, and fails a repository whose unknown manifest is not JSON', async () => {
    const schema1 = JSON.stringify({
      schemaVersion: 1, name: 'odd/app', tag: 's1',
      fsLayers: [{ blobSum: sha256('layer 1') }, { blobSum: sha256('layer 1') }],
    })
    const thing = 'application/vnd.example.thing+json'
    const weird = JSON.stringify({ schemaVersion: 2, mediaType: thing, config: { digest: sha256('cfg'), size: 3 } })
    const bodies: Record<string, [string, string]> = {
      '/v2/odd/app/manifests/s1': ['application/vnd.docker.distribution.manifest.v1+prettyjws', schema1],
      '/v2/odd/app/manifests/weird': [thing, weird],
      '/v2/odd/broken/manifests/x': [thing, 'not json at all'],
    }
    const server = createServer((req, res) => {
      const url = req.url ?? ''
      if (url === '/v2/') return res.writeHead(200).end('{}')
      const tags = /^\/v2\/(odd\/\w+)\/tags\/list$/.exec(url)
      if (tags) {
        const list = { name: tags[1], tags: url.includes('broken') ? ['x'] : ['s1', 'weird'] }
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list))
      }
      const body = bodies[url]
      if (body) return res.writeHead(200, { 'content-type': body[0] }).end(body[1])
      res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const odd = settings(url, { repositories: ['odd/app', 'odd/broken'], keepCount: 0 })
      const inv = await inventory(client(url), odd, log)
      const app = byName(inv.repositories, 'odd/app')
      expect(app.incomplete).toBeUndefined()
      expect(app.manifests.get(sha256(schema1))).toMatchObject({
        kind: 'schema1', blobs: [{ digest: sha256('layer 1'), size: 0 }],
      })
      expect(app.manifests.get(sha256(weird))).toMatchObject({ kind: 'unknown', mediaType: thing })
      expect(byName(inv.repositories, 'odd/broken').incomplete).toMatch(
        /odd\/broken@sha256:[0-9a-f]{64} \(read as x\): manifest .* is not valid JSON/,
      )
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
