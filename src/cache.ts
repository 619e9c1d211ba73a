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
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { parseJsonBlob, type ManifestResponse, type RegistryClient } from './registry/client.js'
import { isDigest } from './registry/manifest.js'
import type { CacheStats, Logger } from './types.js'

const FORMAT = 'registry-prune-cache'
const VERSION = 1
/** A file larger than this is not read (the registry's own manifest and config caps, times a large registry). */
const MAX_FILE_BYTES = 1024 * 1024 * 1024

/** A body as stored: the text when it is valid UTF-8 (JSON, compresses well), else base64. */
type StoredBody = string | { base64: string }

interface CacheFileJson {
  format: typeof FORMAT
  version: typeof VERSION
  registry: string
  writtenAt: string
  /** [digest, Content-Type the registry served it with, body] */
  manifests: [string, string, StoredBody][]
  /** [digest, body]: config blobs. */
  blobs: [string, StoredBody][]
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
    let raw: Buffer
    try {
      raw = await readFile(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.warning(`cache-file ${path} could not be read, so this run reads everything: ${(error as Error).message}`)
      } else {
        log.info(`cache-file ${path} does not exist yet: this run reads everything and writes it.`)
      }
      return cache
    }
    try {
      cache.fill(raw)
      log.info(`cache-file ${path}: ${cache.stats.loaded} manifests and configs, each checked against its digest`)
    } catch (error) {
      cache.manifests.clear()
      cache.blobs.clear()
      cache.stats.loaded = 0
      log.warning(`cache-file ${path} is ignored, so this run reads everything: ${(error as Error).message}`)
    }
    return cache
  }

  private fill(raw: Buffer): void {
    if (raw.length > MAX_FILE_BYTES) throw new Error(`it is larger than ${MAX_FILE_BYTES} bytes`)
    let json: Partial<CacheFileJson>
    try {
      json = JSON.parse(gunzipSync(raw).toString('utf8')) as Partial<CacheFileJson>
    } catch (error) {
      throw new Error(`it is not a complete gzip-compressed JSON cache (truncated or corrupt?): ${(error as Error).message}`)
    }
    if (json?.format !== FORMAT || json.version !== VERSION) {
      throw new Error(`it is not a ${FORMAT} file of version ${VERSION}`)
    }
    if (json.registry !== this.registry) {
      throw new Error(`it was written for ${JSON.stringify(json.registry)}, not for ${this.registry}`)
    }
    if (!Array.isArray(json.manifests) || !Array.isArray(json.blobs)) throw new Error('it lacks its lists of entries')
    const check = (digest: unknown, body: Buffer): string => {
      if (!isDigest(digest)) throw new Error(`it holds an invalid digest ${JSON.stringify(digest)}`)
      const actual = hashOf(digest, body)
      if (actual !== digest) throw new Error(`the entry for ${digest} does not hash to its digest (tampered or corrupt)`)
      return digest
    }
    for (const entry of json.manifests as unknown[]) {
      const [digest, mediaType, body] = Array.isArray(entry) ? (entry as unknown[]) : []
      if (typeof mediaType !== 'string') throw new Error('a manifest entry has no media type')
      const bytes = bytesOf(body)
      this.manifests.set(check(digest, bytes), { mediaType, body: bytes })
    }
    for (const entry of json.blobs as unknown[]) {
      const [digest, body] = Array.isArray(entry) ? (entry as unknown[]) : []
      const bytes = bytesOf(body)
      this.blobs.set(check(digest, bytes), bytes)
    }
    this.stats.loaded = this.manifests.size + this.blobs.size
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

  /** Writes what this run used, atomically: a temporary file next to the target, then a rename. */
  async save(path: string, now: number): Promise<void> {
    const json: CacheFileJson = {
      format: FORMAT,
      version: VERSION,
      registry: this.registry,
      writtenAt: new Date(now).toISOString(),
      manifests: [...this.usedManifests].map((d) => {
        const entry = this.manifests.get(d)!
        return [d, entry.mediaType, stored(entry.body)]
      }),
      blobs: [...this.usedBlobs].map((d) => [d, stored(this.blobs.get(d)!)]),
    }
    const data = gzipSync(JSON.stringify(json))
    await mkdir(dirname(path), { recursive: true })
    const temporary = `${path}.${process.pid}.tmp`
    try {
      await writeFile(temporary, data)
      await rename(temporary, path)
    } catch (error) {
      await rm(temporary, { force: true })
      throw error
    }
    this.stats.written = json.manifests.length + json.blobs.length
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
