// Issue 15: the cache between runs (`cache-file`), on the real registry. A warm cache gives the plan a run without it
// gives, with one HEAD per tag; a tag moved between runs is seen; a tampered, truncated or foreign file is ignored with
// a warning and the run reads everything. Figures (speed) are the benchmark's, not these tests'.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DigestCache } from '../../src/cache.js'
import { parseSettings } from '../../src/inputs.js'
import { run, type RunResult } from '../../src/run.js'
import type { Settings } from '../../src/types.js'
import { pushFixtures, type Fixtures } from '../support/fixtures.js'
import { linesLogger } from '../support/logger.js'
import { startProxy, startTcpRelay } from '../support/proxy.js'
import { ACCEPT, pushImage, resolveTag, tagList } from '../support/push.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'

let reg: TestRegistry
let fx: Fixtures
let dir: string
let tagCount: number

beforeAll(async () => {
  reg = await startRegistry()
  fx = await pushFixtures(reg)
  dir = await mkdtemp(join(tmpdir(), 'registry-prune-cache-'))
  tagCount = 0
  for (const repo of Object.keys(fx.tags)) tagCount += (await tagList(reg, repo)).length
})
afterAll(async () => {
  await reg?.stop()
})

function settings(values: Record<string, string>): Settings {
  const all: Record<string, string> = {
    registry: reg.url, 'keep-count': '2', 'keep-tags': 'latest', 'dry-run': 'true', concurrency: '4',
    'plan-file': join(dir, 'plan.json'), ...values,
  }
  return parseSettings((name) => all[name], {}, { homeDir: () => '/nonexistent-home' })
}

async function runWith(values: Record<string, string>): Promise<{ result: RunResult; lines: string[] }> {
  const log = linesLogger()
  const result = await run(settings(values), { log, now: Date.now })
  expect(result.failures).toEqual([])
  return { result, lines: log.lines }
}

/** The cache file's lines: a header, entries (['m', digest, type, body] / ['b', digest, body]), an end line. */
const readCache = async (file: string): Promise<unknown[][]> =>
  gunzipSync(await readFile(file)).toString().trim().split('\n').map((l) => JSON.parse(l) as unknown[])
const writeCache = (file: string, lines: unknown[]): Promise<void> =>
  writeFile(file, gzipSync(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'))

describe('cache-file', () => {
  it('a cache written by one run gives the next run the same plan, with one manifest request per tag', async () => {
    const file = join(dir, 'same.cache')
    const without = await runWith({})
    const cold = await runWith({ 'cache-file': file })
    expect(cold.result.cache).toMatchObject({ loaded: 0, manifestHits: 0, blobHits: 0 })
    expect(cold.result.cache!.written).toBeGreaterThan(0)
    // A cold cache costs nothing: the same requests as a run without it.
    expect(cold.result.requests).toEqual(without.result.requests)

    const warm = await runWith({ 'cache-file': file })
    expect(warm.result.plan).toEqual(without.result.plan)
    expect(warm.result.cache!.loaded).toBe(cold.result.cache!.written)
    // One HEAD per tag and nothing else: every manifest (children too) and every config came from the cache.
    expect(warm.result.requests.manifest).toBe(tagCount)
    expect(warm.result.requests.blob).toBe(0)
    expect(warm.result.phases!.inventory.requests).toBeGreaterThan(0)
    expect(warm.lines.filter((l) => l.startsWith('warning:'))).toEqual([])
  })

  it('a warm run keeps its connections open across its HEADs', async () => {
    // undici closes a connection after each HEAD unless told otherwise: one TCP connection per tag. Counted on a
    // byte-for-byte relay, so the client sees the registry's own answers (Go sends no Connection: keep-alive).
    const relay = await startTcpRelay(reg.url)
    try {
      const file = join(dir, 'connections.cache')
      // The cache file belongs to the registry URL the run is given: the relay's, both times.
      const values = { registry: relay.url, 'cache-file': file }
      await runWith(values)
      const before = relay.connections()
      const warm = await runWith(values)
      // One manifest request per tag, each a HEAD answered from the cache (hits count index children too).
      expect(warm.result.requests.manifest).toBe(tagCount)
      expect(warm.result.cache!.manifestHits).toBeGreaterThanOrEqual(tagCount)
      expect(warm.result.requests.blob).toBe(0)
      expect(tagCount).toBeGreaterThan(4)
      // concurrency is 4: at most 4 connections, whatever the number of tags.
      expect(relay.connections() - before).toBeLessThanOrEqual(4)
    } finally {
      await relay.close()
    }
  })

  it('a tag moved between runs is seen, and its new image is read', async () => {
    const file = join(dir, 'moved.cache')
    await runWith({ 'cache-file': file })
    // v1.0.0 now names a new image, newer than every other: keep-count must keep it.
    const moved = await pushImage(reg, 'team/app', 'v1.0.0', {
      layers: ['shared base layer '.repeat(2000), 'app 1.0.0 rebuilt'], created: '2025-06-01T00:00:00Z',
    })
    const without = await runWith({})
    const warm = await runWith({ 'cache-file': file })
    expect(warm.result.plan).toEqual(without.result.plan)
    const app = warm.result.plan.repositories.find((r) => r.name === 'team/app')!
    const image = app.manifests.find((m) => m.digest === moved.digest)
    expect(image).toMatchObject({ tags: ['v1.0.0'], decision: 'keep' })
    expect(image!.created).toBe(Date.parse('2025-06-01T00:00:00Z'))
    // The moved tag: its HEAD, a GET of the tag, a GET of its config; every other tag one HEAD.
    expect(warm.result.requests.manifest).toBe(tagCount + 1)
    expect(warm.result.requests.blob).toBe(1)
  })

  it('a tampered cache (wrong content for a digest) is detected and ignored with a warning', async () => {
    const file = join(dir, 'tampered.cache')
    await runWith({ 'cache-file': file })
    const lines = await readCache(file)
    // Claim that one index lists no children: a planner trusting it would see its children as untagged.
    const entry = lines.find((l) => l[0] === 'm' && typeof l[3] === 'string' && l[3].includes('"manifests"'))!
    const index = JSON.parse(entry[3] as string) as { manifests: unknown[] }
    entry[3] = JSON.stringify({ ...index, manifests: [] })
    await writeCache(file, lines)

    const without = await runWith({})
    const again = await runWith({ 'cache-file': file })
    expect(again.lines).toContainEqual(expect.stringMatching(/^warning: cache-file .* is ignored.*does not hash to its digest/))
    expect(again.result.cache!.loaded).toBe(0)
    expect(again.result.plan).toEqual(without.result.plan)
    expect(again.result.requests).toEqual(without.result.requests)
  })

  it('a truncated cache and a cache of another registry are ignored with a warning', async () => {
    const file = join(dir, 'truncated.cache')
    await runWith({ 'cache-file': file })
    const whole = await readFile(file)
    await writeFile(file, whole.subarray(0, Math.floor(whole.length / 2)))
    const truncated = await runWith({ 'cache-file': file })
    expect(truncated.lines).toContainEqual(expect.stringMatching(/^warning: cache-file .* is ignored.*truncated or corrupt/))
    expect(truncated.result.cache!.loaded).toBe(0)

    // The run rewrote it whole. Cut at a line boundary (a valid gzip stream, the end line missing):
    const lines = await readCache(file)
    await writeCache(file, lines.slice(0, -1))
    const cut = await runWith({ 'cache-file': file })
    expect(cut.lines).toContainEqual(expect.stringMatching(/^warning: cache-file .* is ignored.*no end line/))

    // Now say it belongs to another registry.
    const [header, ...rest] = await readCache(file)
    await writeCache(file, [{ ...(header as object), registry: 'https://other.example.com' }, ...rest])
    const foreign = await runWith({ 'cache-file': file })
    expect(foreign.lines).toContainEqual(expect.stringMatching(/is ignored.*written for "https:\/\/other\.example\.com"/))
    expect(foreign.result.cache!.loaded).toBe(0)

    await writeCache(file, [{ format: 'registry-prune-cache', version: 99 }])
    const log = linesLogger()
    expect((await DigestCache.load(file, reg.url, log)).warm).toBe(false)
    expect(log.lines).toContainEqual(expect.stringMatching(/is ignored.*not a registry-prune-cache file of version 1/))
  })

  it('a real run with a warm cache deletes what the fixture says, and nothing it keeps', async () => {
    const own = await startRegistry()
    try {
      const ownFx = await pushFixtures(own)
      const file = join(dir, 'real.cache')
      const values = { registry: own.url, 'cache-file': file }
      await runWith(values)
      const real = await runWith({ ...values, 'dry-run': 'false' })
      expect(real.result.cache!.manifestHits).toBeGreaterThan(0)
      expect(real.result.phases!.recheck.requests).toBeGreaterThan(0)
      expect(real.result.phases!.deletions.requests).toBeGreaterThan(0)
      for (const [repo, tags] of Object.entries(ownFx.keptTags)) {
        for (const tag of tags) {
          // Signature tags are recorded without their digest; they only have to resolve.
          const want = ownFx.tags[repo]![tag]
          if (want) expect(await resolveTag(own, repo, tag), `${repo}:${tag}`).toBe(want)
          else expect(await resolveTag(own, repo, tag), `${repo}:${tag}`).toBeDefined()
        }
      }
      for (const [repo, tags] of Object.entries(ownFx.deletedTags)) {
        for (const tag of tags) expect(await resolveTag(own, repo, tag), `${repo}:${tag}`).toBeUndefined()
      }
    } finally {
      await own.stop()
    }
  })

  it('a HEAD that names a cached digest is believed only when length and media type match too', async () => {
    // The proxy's HEAD for team/app:latest names v1.0.0's digest (which the cache holds), first with the real
    // length of latest's manifest, then with v1.0.0's length as well.
    const own = await startRegistry()
    const ownFx = await pushFixtures(own)
    let lie: 'digest' | 'digest and length' | undefined
    let lengthOfV100 = ''
    const proxy = await startProxy(own.url, {
      headers: (req, headers) => {
        if (!lie || req.method !== 'HEAD' || req.url !== '/v2/team/app/manifests/latest') return
        headers['docker-content-digest'] = ownFx.digests.v100
        if (lie === 'digest and length') headers['content-length'] = lengthOfV100
      },
    })
    try {
      const v100 = await fetch(`${own.url}/v2/team/app/manifests/v1.0.0`, { method: 'HEAD', headers: { accept: ACCEPT } })
      lengthOfV100 = v100.headers.get('content-length')!
      const file = join(dir, 'lying.cache')
      const values = { registry: proxy.url, 'cache-file': file }
      const without = await runWith({ registry: proxy.url })
      await runWith(values)

      lie = 'digest'
      const checked = await runWith(values)
      expect(checked.result.plan).toEqual(without.result.plan)
      expect(checked.result.requests.manifest).toBe(tagCount + 1) // every HEAD, and the GET of latest

      // A registry that lies consistently is believed: the plan sees latest on v1.0.0 (kept as latest). The real
      // image of latest is then not in the inventory at all, so nothing deletes it, and the re-check GETs every tag.
      lie = 'digest and length'
      const real = await runWith({ ...values, 'dry-run': 'false' })
      const app = real.result.plan.repositories.find((r) => r.name === 'team/app')!
      expect(app.manifests.find((m) => m.digest === ownFx.digests.v100)).toMatchObject({ decision: 'keep' })
      expect(app.manifests.some((m) => m.digest === ownFx.digests.old)).toBe(false)
      for (const [repo, tags] of Object.entries(ownFx.keptTags)) {
        for (const tag of tags) expect(await resolveTag(own, repo, tag), `${repo}:${tag}`).toBeDefined()
      }
    } finally {
      await proxy.close()
      await own.stop()
    }
  })
})
