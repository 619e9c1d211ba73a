// The cache file itself (issue 15): what a run writes, what the next one copies, and what it leaves when it does not
// finish. The cache on a real registry (same plan, moved tags, tampering) is test/integration/cache.test.ts.
import { createHash, pbkdf2 } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gunzipSync, gzipSync } from 'node:zlib'
import { beforeEach, describe, expect, it } from 'vitest'
import { DigestCache } from '../../src/cache.js'
import { linesLogger } from '../support/logger.js'

const REGISTRY = 'http://127.0.0.1:5000'
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const digestOf = (body: Buffer): string => `sha256:${createHash('sha256').update(body).digest('hex')}`

const config = (created: string): { digest: string; body: Buffer } => {
  const body = Buffer.from(JSON.stringify({ created, architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }))
  return { digest: digestOf(body), body }
}
const manifest = (configDigest: string): { digest: string; mediaType: string; body: Buffer } => {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config: { digest: configDigest, size: 1 }, layers: [] }))
  return { digest: digestOf(body), mediaType: MANIFEST, body }
}

const lines = async (file: string): Promise<unknown[][]> =>
  gunzipSync(await readFile(file)).toString().trim().split('\n').map((l) => JSON.parse(l) as unknown[])
const digestsIn = async (file: string): Promise<string[]> =>
  (await lines(file)).filter((l) => l[0] === 'm' || l[0] === 'b').map((l) => l[1] as string).sort()

let dir: string
let file: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-prune-cache-file-'))
  file = join(dir, 'sub', 'prune.cache')
})

/** A first run's file: two configs and two manifests read from the registry. */
async function firstRun(): Promise<{ a: ReturnType<typeof config>; b: ReturnType<typeof config>; ma: ReturnType<typeof manifest>; mb: ReturnType<typeof manifest> }> {
  const a = config('2024-01-01T00:00:00Z')
  const b = config('2025-01-01T00:00:00Z')
  const ma = manifest(a.digest)
  const mb = manifest(b.digest)
  const cache = await DigestCache.load(file, REGISTRY, linesLogger())
  expect(cache.warm).toBe(false)
  for (const m of [ma, mb]) cache.rememberManifest(m)
  cache.rememberBlob(a.digest, a.body)
  cache.rememberBlob(b.digest, b.body)
  await cache.save()
  expect(cache.stats.written).toBe(4)
  return { a, b, ma, mb }
}

describe('the cache file', () => {
  it('holds what a run read; the next run gets a config\'s created and a manifest\'s body, each checked', async () => {
    const { a, ma } = await firstRun()
    expect(await digestsIn(file)).toHaveLength(4)
    const next = await DigestCache.load(file, REGISTRY, linesLogger())
    expect(next.stats.loaded).toBe(4)
    expect(next.created(a.digest)).toBe(Date.parse('2024-01-01T00:00:00Z'))
    expect(next.manifest(ma.digest)).toEqual({ mediaType: MANIFEST, body: ma.body })
    expect(next.created(digestOf(Buffer.from('unknown')))).toBeUndefined()
  })

  it('keeps what the next run used, copied from the old file, and lets the rest age out', async () => {
    const { a, b, ma, mb } = await firstRun()
    const next = await DigestCache.load(file, REGISTRY, linesLogger())
    next.created(a.digest)
    next.manifest(ma.digest)
    const c = config('2026-01-01T00:00:00Z')
    next.rememberBlob(c.digest, c.body)
    await next.save()
    expect(next.stats.written).toBe(3)
    expect(await digestsIn(file)).toEqual([a.digest, ma.digest, c.digest].sort())
    expect(await digestsIn(file)).not.toContain(b.digest)
    expect(await digestsIn(file)).not.toContain(mb.digest)
    // And the copy is as good as the original: a third run loads it whole.
    const third = await DigestCache.load(file, REGISTRY, linesLogger())
    expect(third.stats.loaded).toBe(3)
    expect(third.created(c.digest)).toBe(Date.parse('2026-01-01T00:00:00Z'))
  })

  it('gives back every body byte for byte, small and larger than a 1 MiB write, and a config without created', async () => {
    const cache = await DigestCache.load(file, REGISTRY, linesLogger())
    const small = Array.from({ length: 3000 }, (_, i) => manifest(digestOf(Buffer.from(`config ${i}`))))
    const big = (fill: string, bytes: number) => {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, annotations: { pad: fill.repeat(bytes) } }))
      return { digest: digestOf(body), mediaType: MANIFEST, body }
    }
    const all = [...small.slice(0, 1500), big('a', 3 << 20), ...small.slice(1500), big('b', 1 << 19)]
    for (const m of all) cache.rememberManifest(m)
    const undated = { ...config('x'), body: Buffer.from('{"architecture":"amd64"}') }
    cache.rememberBlob(digestOf(undated.body), undated.body)
    await cache.save()
    const openFiles = async () => (await readdir('/proc/self/fd')).length
    const before = await openFiles()
    const next = await DigestCache.load(file, REGISTRY, linesLogger())
    expect(next.stats.loaded).toBe(all.length + 1)
    for (const m of all) {
      const got = next.manifest(m.digest)
      expect(got?.mediaType).toBe(m.mediaType)
      expect(got?.body.equals(m.body)).toBe(true)
    }
    expect(next.created(digestOf(undated.body))).toBeNull()
    // A digest is a manifest or a config in the file, never answered as the other.
    expect(next.created(all[0]!.digest)).toBeUndefined()
    expect(next.manifest(digestOf(undated.body))).toBeUndefined()
    // The bodies wait in a temporary file, unlinked at once, and closed when the cache is saved.
    expect(await readdir(tmpdir())).not.toContainEqual(expect.stringMatching(/^registry-prune-cache-bodies-/))
    await next.save()
    expect(await openFiles()).toBe(before)
  })

  it('does not copy an entry changed since it was loaded: the save fails and the old file stays as it is', async () => {
    const { a } = await firstRun()
    const next = await DigestCache.load(file, REGISTRY, linesLogger())
    next.created(a.digest)
    const tampered = (await lines(file)).map((l) =>
      l[1] === a.digest ? ['b', a.digest, JSON.stringify({ created: '2099-01-01T00:00:00Z' })] : l,
    )
    const text = gzipSync(tampered.map((l) => JSON.stringify(l)).join('\n') + '\n')
    await writeFile(file, text)
    await expect(next.save()).rejects.toThrow(/does not hash to its digest/)
    expect((await readFile(file)).equals(text)).toBe(true)
    expect(await readdir(join(dir, 'sub'))).toEqual(['prune.cache'])
  })

  it('a run that does not finish leaves the old file as it was, and no temporary file', async () => {
    await firstRun()
    const before = await readFile(file)
    const next = await DigestCache.load(file, REGISTRY, linesLogger())
    const c = config('2026-01-01T00:00:00Z')
    next.rememberBlob(c.digest, c.body)
    await next.discard()
    expect((await readFile(file)).equals(before)).toBe(true)
    expect(await readdir(join(dir, 'sub'))).toEqual(['prune.cache'])
  })

  it('leaves no temporary file when it is cut short at once, while libuv\'s threads are busy (as under a full suite)', async () => {
    // The stream opens the temporary file on libuv's threads; a removal that does not wait for it can run first.
    // Before the fix about a third of these tries left the file behind.
    const left: string[] = []
    for (let i = 0; i < 100; i++) {
      const path = join(dir, `try-${i}`, 'prune.cache')
      const cache = await DigestCache.load(path, REGISTRY, linesLogger())
      const c = config(`2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`)
      cache.rememberBlob(c.digest, c.body)
      const busy = Array.from({ length: 6 }, () => promisify(pbkdf2)('x', 'y', 2000, 32, 'sha256'))
      await cache.discard()
      await Promise.all(busy)
      left.push(...(await readdir(join(dir, `try-${i}`))))
    }
    expect(left).toEqual([])
  })

  it('ignores, with a warning, a file whose config is not JSON although it hashes to its digest', async () => {
    const body = Buffer.from('not json')
    const header = { format: 'registry-prune-cache', version: 1, registry: REGISTRY, writtenAt: '2026-01-01T00:00:00Z' }
    const all = [header, ['b', digestOf(body), 'not json'], ['end', 1]]
    await mkdir(join(dir, 'sub'), { recursive: true })
    await writeFile(file, gzipSync(all.map((l) => JSON.stringify(l)).join('\n') + '\n'))
    const log = linesLogger()
    const cache = await DigestCache.load(file, REGISTRY, log)
    expect(cache.warm).toBe(false)
    expect(log.lines).toContainEqual(expect.stringMatching(/^warning: cache-file .* is ignored.*not JSON/))
  })
})
