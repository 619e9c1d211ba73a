// The cache between runs (issue 15, DECISIONS 29: `cache-file`). What a digest names never changes, so a manifest or
// a config read by one run serves the next, and a run sends one HEAD per tag on an unchanged registry.
//
// Trust: each entry is the body itself, and loading hashes it again and compares with its digest. A hash over an
// entry without a key could be recomputed by whoever edits the file; the body cannot be forged for a digest. So a
// tampered, truncated or foreign file is never used: it is ignored whole, with a warning, and the run reads everything.
// Which digest a tag names comes from the registry (a HEAD's Docker-Content-Digest), never from the file; the HEAD
// is believed only when its length and media type match the verified body. Apply re-checks every tag with a GET
// before deleting, whatever the cache said.
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { parseJsonBlob, type ManifestResponse, type RegistryClient } from './registry/client.js'
import { isDigest } from './registry/manifest.js'
import type { CacheStats, Logger } from './types.js'

const FORMAT = 'registry-prune-cache'
const VERSION = 1

/** A body as stored: the text when it is valid UTF-8 (JSON, compresses well), else base64. */
type StoredBody = string | { base64: string }

interface CacheHeader {
  format: typeof FORMAT
  version: typeof VERSION
  registry: string
  writtenAt: string
}

interface ManifestEntry {
  mediaType: string
  body: Buffer
}

const hashOf = (digest: string, body: Buffer): string | undefined => {
  const algorithm = digest.split(':')[0]
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return undefined
  return `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`
}

/** The lines of a gzip-compressed text file, as a stream; a read or gzip error ends it with that error. */
async function* gunzippedLines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path)
  const text = createGunzip()
  input.on('error', (error) => text.destroy(error))
  input.pipe(text).setEncoding('utf8')
  let rest = ''
  for await (const chunk of text as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n')
    rest = parts.pop() ?? ''
    yield* parts
  }
  if (rest !== '') yield rest
}

/** The digest, when `body` hashes to it; else the file is not to be trusted. */
function checked(digest: unknown, body: Buffer): string {
  if (!isDigest(digest)) throw new Error(`it holds an invalid digest ${JSON.stringify(digest)}`)
  if (hashOf(digest, body) !== digest) throw new Error(`the entry for ${digest} does not hash to its digest (tampered or corrupt)`)
  return digest
}

const stored = (body: Buffer): StoredBody => {
  const text = body.toString('utf8')
  return Buffer.byteLength(text) === body.length && Buffer.from(text, 'utf8').equals(body) ? text : { base64: body.toString('base64') }
}

const bytesOf = (value: unknown): Buffer => {
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  const base64 = (value as { base64?: unknown } | null)?.base64
  if (typeof base64 === 'string') return Buffer.from(base64, 'base64')
  throw new Error('an entry has no body')
}

/** Digest -> body, for manifests and config blobs; what this run used is what it writes back. */
export class DigestCache {
  readonly stats: CacheStats = { loaded: 0, manifestHits: 0, blobHits: 0, written: 0 }
  private readonly manifests = new Map<string, ManifestEntry>()
  private readonly blobs = new Map<string, Buffer>()
  /** Digests this run used or read: only these are written back, so entries of deleted images age out. */
  private readonly usedManifests = new Set<string>()
  private readonly usedBlobs = new Set<string>()

  constructor(readonly registry: string) {}

  /**
   * Reads the cache file, if there is one. Anything wrong with it (unreadable, truncated, another registry or format,
   * a body that does not hash to its digest) makes the whole file ignored with a warning: a cache is never trusted.
   */
  static async load(path: string, registry: string, log: Logger): Promise<DigestCache> {
    const cache = new DigestCache(registry)
    try {
      await cache.fill(path)
      log.info(`cache-file ${path}: ${cache.stats.loaded} manifests and configs, each checked against its digest`)
    } catch (error) {
      cache.manifests.clear()
      cache.blobs.clear()
      cache.stats.loaded = 0
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        log.info(`cache-file ${path} does not exist yet: this run reads everything and writes it.`)
      } else {
        log.warning(`cache-file ${path} is ignored, so this run reads everything: ${(error as Error).message}`)
      }
    }
    return cache
  }

  /**
   * The file is gzip-compressed lines of JSON, read as a stream (a whole-file string would double a large run's
   * memory): a header, one line per entry, and an end line with the count, so a cut at a line boundary shows too.
   */
  private async fill(path: string): Promise<void> {
    const lines = gunzippedLines(path)
    let header: Partial<CacheHeader> | undefined
    let ended = false
    let count = 0
    try {
      for await (const line of lines) {
        let entry: unknown
        try {
          entry = JSON.parse(line)
        } catch {
          throw new Error(`line ${count + 2} is not JSON (truncated or corrupt?)`)
        }
        if (!header) {
          header = entry as Partial<CacheHeader>
          if (header?.format !== FORMAT || header.version !== VERSION) {
            throw new Error(`it is not a ${FORMAT} file of version ${VERSION}`)
          }
          if (header.registry !== this.registry) {
            throw new Error(`it was written for ${JSON.stringify(header.registry)}, not for ${this.registry}`)
          }
          continue
        }
        if (ended) throw new Error('it goes on after its end line')
        const [kind, ...rest] = Array.isArray(entry) ? (entry as unknown[]) : []
        if (kind === 'end') {
          if (rest[0] !== count) throw new Error(`its end line counts ${String(rest[0])} entries, it holds ${count}`)
          ended = true
        } else if (kind === 'm') {
          const [digest, mediaType, body] = rest
          if (typeof mediaType !== 'string') throw new Error('a manifest entry has no media type')
          const bytes = bytesOf(body)
          this.manifests.set(checked(digest, bytes), { mediaType, body: bytes })
          count++
        } else if (kind === 'b') {
          const [digest, body] = rest
          const bytes = bytesOf(body)
          this.blobs.set(checked(digest, bytes), bytes)
          count++
        } else {
          throw new Error(`line ${count + 2} is not an entry`)
        }
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw error
      if (typeof code === 'string' && code.startsWith('Z_')) {
        throw new Error(`it is not a complete gzip-compressed cache (truncated or corrupt?): ${(error as Error).message}`)
      }
      throw error
    }
    if (!header) throw new Error('it is empty')
    if (!ended) throw new Error('it has no end line (truncated?)')
    this.stats.loaded = count
  }

  /** True when the file gave entries: then a tag is worth a HEAD first. */
  get warm(): boolean {
    return this.stats.loaded > 0
  }

  manifest(digest: string): ManifestEntry | undefined {
    const entry = this.manifests.get(digest)
    if (entry) this.usedManifests.add(digest)
    return entry
  }

  /** A manifest this run read and verified (getManifest hashes every body). */
  rememberManifest(got: ManifestResponse): void {
    this.manifests.set(got.digest, { mediaType: got.mediaType, body: got.body })
    this.usedManifests.add(got.digest)
  }

  blob(digest: string): Buffer | undefined {
    const body = this.blobs.get(digest)
    if (body) this.usedBlobs.add(digest)
    return body
  }

  rememberBlob(digest: string, body: Buffer): void {
    this.blobs.set(digest, body)
    this.usedBlobs.add(digest)
  }

  /** Writes what this run used, atomically: a temporary file next to the target, then a rename. Streamed, as read. */
  async save(path: string, now: number): Promise<void> {
    const manifests = this.manifests
    const blobs = this.blobs
    const usedManifests = this.usedManifests
    const usedBlobs = this.usedBlobs
    const header: CacheHeader = { format: FORMAT, version: VERSION, registry: this.registry, writtenAt: new Date(now).toISOString() }
    function* lines(): Generator<string> {
      yield `${JSON.stringify(header)}\n`
      for (const d of usedManifests) {
        const entry = manifests.get(d)!
        yield `${JSON.stringify(['m', d, entry.mediaType, stored(entry.body)])}\n`
      }
      for (const d of usedBlobs) yield `${JSON.stringify(['b', d, stored(blobs.get(d)!)])}\n`
      yield `${JSON.stringify(['end', usedManifests.size + usedBlobs.size])}\n`
    }
    await mkdir(dirname(path), { recursive: true })
    const temporary = `${path}.${process.pid}.tmp`
    try {
      await pipeline(Readable.from(lines()), createGzip(), createWriteStream(temporary))
      await rename(temporary, path)
    } catch (error) {
      await rm(temporary, { force: true })
      throw error
    }
    this.stats.written = usedManifests.size + usedBlobs.size
  }
}

/** What the inventory reads from the registry: the client's read calls, or the same through the cache. */
export type InventoryReads = Pick<RegistryClient, 'ping' | 'catalog' | 'tags' | 'getManifest' | 'getJsonBlob'>

/**
 * The inventory's reads through the cache. Never for apply's re-check: that one must GET every tag and hash the body.
 * A tag: with a warm cache, a HEAD; when its digest, length and media type match a cached (verified) body, that body
 * is the answer; otherwise a GET of the tag. A digest or a config blob: from the cache, else a GET.
 */
export class CachedReads implements InventoryReads {
  constructor(
    private readonly client: RegistryClient,
    readonly cache: DigestCache,
  ) {}

  ping(): Promise<void> {
    return this.client.ping()
  }

  catalog(): AsyncGenerator<string> {
    return this.client.catalog()
  }

  tags(name: string): ReturnType<RegistryClient['tags']> {
    return this.client.tags(name)
  }

  async getManifest(name: string, reference: string): Promise<ManifestResponse> {
    const byDigest = isDigest(reference)
    if (byDigest || this.cache.warm) {
      const head = byDigest ? undefined : await this.client.headManifest(name, reference)
      const digest = byDigest ? reference : head?.digest
      const entry = digest === undefined ? undefined : this.cache.manifest(digest)
      const matches =
        entry !== undefined &&
        (head?.size === undefined || head.size === entry.body.length) &&
        (!head?.mediaType || head.mediaType === entry.mediaType)
      if (digest !== undefined && entry && matches) {
        this.cache.stats.manifestHits++
        return { digest, mediaType: entry.mediaType, body: entry.body }
      }
    }
    const got = await this.client.getManifest(name, reference)
    this.cache.rememberManifest(got)
    return got
  }

  async getJsonBlob(name: string, digest: string): Promise<unknown> {
    let body = this.cache.blob(digest)
    if (body) this.cache.stats.blobHits++
    else {
      body = await this.client.getBlob(name, digest)
      this.cache.rememberBlob(digest, body)
    }
    return parseJsonBlob(body, new URL(`v2/${name}/blobs/${digest}`, this.client.base))
  }
}
