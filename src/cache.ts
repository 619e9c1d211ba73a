// The cache between runs (issue 15, DECISIONS 29: `cache-file`). What a digest names never changes, so a manifest or
// a config read by one run serves the next, and a run sends one HEAD per tag on an unchanged registry.
//
// Trust: each entry in the file is the body itself, and loading hashes it again and compares with its digest. A hash
// over an entry without a key could be recomputed by whoever edits the file; the body cannot be forged for a digest.
// So a tampered, truncated or foreign file is never used: it is ignored whole, with a warning, and the run reads
// everything. Which digest a tag names comes from the registry (a HEAD's Docker-Content-Digest), never from the file;
// the HEAD is believed only when its length and media type match the verified body. Apply re-checks every tag with a
// GET before deleting, whatever the cache said.
//
// Memory: a run holds, per digest of the file, one slot in columns: a config's `created`, or where a manifest's body
// is in a temporary file (read back and hashed again on a hit). What it reads goes straight to the new file, and what
// it used of the old file is copied from that file (checked again) when the run ends.
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, readSync, rmSync, unlinkSync, writeSync, type WriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { finished } from 'node:stream/promises'
import { createGunzip, createGzip, type Gzip } from 'node:zlib'
import { createdOfConfig, type ManifestResponse, type RegistryClient } from './registry/client.js'
import { createdFromConfig, isDigest } from './registry/manifest.js'
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

/** One verified entry of a cache file, with its line as written (copied as it is into the next file). */
type FileEntry = { line: string; digest: string } & (
  | { kind: 'm'; mediaType: string; body: Buffer }
  | { kind: 'b'; body: Buffer }
)

const hashOf = (digest: string, body: Buffer): string | undefined => {
  const algorithm = digest.split(':')[0]
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return undefined
  return `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`
}

/** The lines of a gzip-compressed text file, as a stream; a read or gzip error ends it with that error. */
async function* gunzippedLines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path)
  const text = createGunzip({ chunkSize: 1 << 18 })
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

/**
 * Every entry of a cache file, each checked against its digest, as a stream. The file is gzip-compressed lines of
 * JSON: a header, one line per entry, and an end line with the count, so a cut at a line boundary shows too. Throws
 * at the first thing wrong (unreadable, truncated, another registry or format, a body that does not hash to its digest).
 */
async function* fileEntries(path: string, registry: string): AsyncGenerator<FileEntry> {
  let header: Partial<CacheHeader> | undefined
  let ended = false
  let count = 0
  try {
    for await (const line of gunzippedLines(path)) {
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
        if (header.registry !== registry) {
          throw new Error(`it was written for ${JSON.stringify(header.registry)}, not for ${registry}`)
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
        count++
        yield { kind, line, digest: checked(digest, bytes), mediaType, body: bytes }
      } else if (kind === 'b') {
        const [digest, body] = rest
        const bytes = bytesOf(body)
        count++
        yield { kind, line, digest: checked(digest, bytes), body: bytes }
      } else {
        throw new Error(`line ${count + 2} is not an entry`)
      }
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new Error(`it is not a complete gzip-compressed cache (truncated or corrupt?): ${(error as Error).message}`)
    }
    throw error
  }
  if (!header) throw new Error('it is empty')
  if (!ended) throw new Error('it has no end line (truncated?)')
}

/** The next cache file, written as the run goes: beside the target under a temporary name, renamed when complete. */
class CacheWriter {
  readonly temporary: string
  private readonly gzip: Gzip
  private readonly file: WriteStream
  private failure: Error | undefined
  private static readonly BATCH = 1 << 16
  private pending: string[] = []
  /** In UTF-16 units: a close enough measure of the batch. */
  private pendingLength = 0
  count = 0

  constructor(
    readonly path: string,
    header: CacheHeader,
  ) {
    mkdirSync(dirname(path), { recursive: true })
    this.temporary = `${path}.${process.pid}.tmp`
    this.gzip = createGzip()
    this.file = createWriteStream(this.temporary)
    // A write error (a full disk) ends the file, not the run: it is said when the run saves.
    const failed = (error: Error): void => {
      this.failure ??= error
    }
    this.gzip.on('error', failed)
    this.file.on('error', failed)
    this.gzip.pipe(this.file)
    this.gzip.write(`${JSON.stringify(header)}\n`)
  }

  /**
   * One entry's line (its JSON, without the newline). False when the stream's buffer is full (see `drained`). Lines
   * go to gzip 64 KiB at a time: each write is a round trip to zlib's thread, and a line at a time made saving
   * 30,600 entries take 1.9 s, most of it waiting.
   */
  add(line: string): boolean {
    this.count++
    this.pending.push(line, '\n')
    this.pendingLength += line.length + 1
    return this.pendingLength < CacheWriter.BATCH || this.flush()
  }

  private flush(): boolean {
    if (this.pending.length === 0) return true
    const text = this.pending.join('')
    this.pending = []
    this.pendingLength = 0
    return this.gzip.write(text)
  }

  /** Waits until the stream takes more: a copy of a whole file must not pile up in memory ahead of gzip. */
  drained(): Promise<unknown> {
    return this.failure ? Promise.resolve() : once(this.gzip, 'drain')
  }

  async finish(): Promise<void> {
    this.flush()
    this.gzip.end(`${JSON.stringify(['end', this.count])}\n`)
    await finished(this.file).catch((error: Error) => (this.failure ??= error))
    if (this.failure) throw this.failure
    await rename(this.temporary, this.path)
  }

  /**
   * Removes the temporary file once the stream has closed it: the stream opens its file on libuv's threads, so on a
   * busy machine a removal sent at once could run before the open and leave the file behind.
   */
  async discard(): Promise<void> {
    this.gzip.destroy()
    const closed = this.file.closed ? undefined : once(this.file, 'close').catch(() => undefined)
    this.file.destroy()
    await closed
    await rm(this.temporary, { force: true })
  }
}

/**
 * The manifest bodies of a loaded file, kept on disk for the run rather than in memory (at 100,000 tags, 75,000 bodies
 * are 43 MB): written back to back when the file is loaded, read by offset on a hit. The file is unlinked as soon as it
 * is open where the system allows it, so nothing is left behind even when the process is killed; elsewhere it is
 * removed when the cache is done with it.
 */
class BodyFile {
  private static readonly CHUNK = 1 << 20
  private fd: number | undefined
  /** Set while the file still has a name to remove. */
  private named: string | undefined
  private written = 0
  private pending: Buffer[] = []
  private pendingBytes = 0

  /** Appends `body`; returns its offset, for `at`. */
  put(body: Buffer): number {
    const offset = this.written + this.pendingBytes
    this.pending.push(body)
    this.pendingBytes += body.length
    if (this.pendingBytes >= BodyFile.CHUNK) this.flush()
    return offset
  }

  /** The body put in at `offset`, read from the file (the caller hashes it again); empty when it cannot be read. */
  at(offset: number, length: number): Buffer {
    this.flush()
    const body = Buffer.allocUnsafe(length)
    try {
      if (this.fd !== undefined && readSync(this.fd, body, 0, length, offset) === length) return body
    } catch {
      // Unreadable: an empty body, which hashes to nothing the caller asked for, so the cache misses.
    }
    return Buffer.alloc(0)
  }

  private flush(): void {
    if (this.pendingBytes === 0) return
    const chunk = Buffer.concat(this.pending, this.pendingBytes)
    this.pending = []
    this.pendingBytes = 0
    const fd = this.open()
    for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done, chunk.length - done, this.written + done)
    this.written += chunk.length
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd
    const path = join(tmpdir(), `registry-prune-cache-bodies-${process.pid}-${randomBytes(6).toString('hex')}`)
    this.fd = openSync(path, 'wx+', 0o600)
    try {
      unlinkSync(path)
    } catch {
      this.named = path
    }
    return this.fd
  }

  close(): void {
    this.pending = []
    this.pendingBytes = 0
    this.written = 0
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
    if (this.named !== undefined) rmSync(this.named, { force: true })
    this.named = undefined
  }
}

/** Per entry of the file: used by this run (copy it into the next file), already in the next file. */
const USED = 1
const WRITTEN = 2

/** Digest -> what it names, for manifests and config blobs; what this run used is what it writes back. */
export class DigestCache {
  readonly stats: CacheStats = { loaded: 0, manifestHits: 0, blobHits: 0, written: 0 }
  /**
   * What the file gave, one slot per digest, in columns (a warm run at 100,000 tags loads 150,000 entries): where a
   * manifest's body is in `bodies` and its media type, a config's `created` (NaN: none), and the slot's flags.
   * Digests a run meets are compared with these keys, never kept again.
   */
  private readonly slots = new Map<string, number>()
  private readonly flags: number[] = []
  /** Manifests: the index of the media type in `mediaTypes`; configs: -1. */
  private readonly mediaType: number[] = []
  private readonly mediaTypes: string[] = []
  private readonly mediaTypeIndex = new Map<string, number>()
  /** Manifests: the body's offset and length in `bodies`; configs: `created` in `offset`. */
  private readonly offset: number[] = []
  private readonly length: number[] = []
  private readonly bodies = new BodyFile()
  /** Digests this run read that the file does not have, already in the next file. */
  private readonly written = new Set<string>()
  private writer: CacheWriter | undefined
  private ended = false

  constructor(
    readonly path: string,
    readonly registry: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reads the cache file, if there is one. Anything wrong with it makes the whole file ignored with a warning: a
   * cache is never trusted.
   */
  static async load(path: string, registry: string, log: Logger, now: () => number = Date.now): Promise<DigestCache> {
    const cache = new DigestCache(path, registry, now)
    try {
      await cache.fill()
      log.info(`cache-file ${path}: ${cache.stats.loaded} manifests and configs, each checked against its digest`)
    } catch (error) {
      cache.release()
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        log.info(`cache-file ${path} does not exist yet: this run reads everything and writes it.`)
      } else {
        log.warning(`cache-file ${path} is ignored, so this run reads everything: ${(error as Error).message}`)
      }
    }
    return cache
  }

  private async fill(): Promise<void> {
    let count = 0
    for await (const entry of fileEntries(this.path, this.registry)) {
      count++
      if (this.slots.has(entry.digest)) continue
      this.slots.set(entry.digest, this.flags.length)
      this.flags.push(0)
      if (entry.kind === 'm') {
        const offset = this.bodies.put(entry.body)
        let type = this.mediaTypeIndex.get(entry.mediaType)
        if (type === undefined) this.mediaTypeIndex.set(entry.mediaType, (type = this.mediaTypes.push(entry.mediaType) - 1))
        this.mediaType.push(type)
        this.offset.push(offset)
        this.length.push(entry.body.length)
      } else {
        this.mediaType.push(-1)
        this.offset.push(configDate(entry.body, entry.digest) ?? NaN)
        this.length.push(-1)
      }
    }
    this.stats.loaded = count
  }

  /** Forgets every entry (the stats stay: they describe the run). */
  private release(): void {
    this.slots.clear()
    for (const column of [this.flags, this.mediaType, this.offset, this.length]) column.length = 0
    this.mediaTypes.length = 0
    this.mediaTypeIndex.clear()
    this.bodies.close()
    this.written.clear()
  }

  /** True when the file gave entries: then a tag is worth a HEAD first. */
  get warm(): boolean {
    return this.stats.loaded > 0
  }

  manifest(digest: string): { mediaType: string; body: Buffer } | undefined {
    const slot = this.slots.get(digest)
    const type = slot === undefined ? -1 : this.mediaType[slot]!
    if (slot === undefined || type < 0) return undefined
    // Hashed again: what the inventory gets is what was verified at load, whatever became of the file since.
    const body = this.bodies.at(this.offset[slot]!, this.length[slot]!)
    if (hashOf(digest, body) !== digest) return undefined
    this.flags[slot]! |= USED
    return { mediaType: this.mediaTypes[type]!, body }
  }

  /** A config's `created` from the file: undefined when the file does not have it, null when the config has none. */
  created(digest: string): number | null | undefined {
    const slot = this.slots.get(digest)
    if (slot === undefined || this.mediaType[slot]! >= 0) return undefined
    this.flags[slot]! |= USED
    const created = this.offset[slot]!
    return Number.isNaN(created) ? null : created
  }

  /** A manifest this run read and verified (getManifest hashes every body): into the next file, not kept. */
  rememberManifest(got: ManifestResponse): void {
    this.add(got.digest, () => JSON.stringify(['m', got.digest, got.mediaType, stored(got.body)]))
  }

  /** A config this run read and verified: into the next file, not kept. */
  rememberBlob(digest: string, body: Buffer): void {
    this.add(digest, () => JSON.stringify(['b', digest, stored(body)]))
  }

  /** Marks a digest as in the next file; false when it was already. */
  private markWritten(digest: string): boolean {
    const slot = this.slots.get(digest)
    if (slot === undefined) {
      if (this.written.has(digest)) return false
      this.written.add(digest)
      return true
    }
    if (this.flags[slot]! & WRITTEN) return false
    this.flags[slot]! |= WRITTEN
    return true
  }

  private add(digest: string, line: () => string): void {
    if (this.ended || !this.markWritten(digest)) return
    this.open().add(line())
  }

  private open(): CacheWriter {
    const header: CacheHeader = {
      format: FORMAT, version: VERSION, registry: this.registry, writtenAt: new Date(this.now()).toISOString(),
    }
    return (this.writer ??= new CacheWriter(this.path, header))
  }

  /**
   * Completes the next file: what this run read is in it already; what it used of the old file is copied from there,
   * each entry checked against its digest again (the file may have changed since it was loaded). Then the temporary
   * file is renamed over the old one.
   */
  async save(): Promise<void> {
    const writer = this.open()
    this.ended = true
    // The bodies served the inventory; the copy reads the file again.
    this.bodies.close()
    try {
      if (this.flags.some((flags) => (flags & (USED | WRITTEN)) === USED)) {
        for await (const entry of fileEntries(this.path, this.registry)) {
          const slot = this.slots.get(entry.digest)
          if (slot === undefined || (this.flags[slot]! & (USED | WRITTEN)) !== USED) continue
          this.flags[slot]! |= WRITTEN
          if (!writer.add(entry.line)) await writer.drained()
        }
      }
      await writer.finish()
    } catch (error) {
      await writer.discard()
      throw error
    } finally {
      // Nothing is read from this cache after it is saved: the report that follows does not carry it.
      this.release()
    }
    this.stats.written = writer.count
  }

  /** Leaves the old file as it is and removes the unfinished next one (a run cut short). */
  async discard(): Promise<void> {
    this.ended = true
    this.bodies.close()
    await this.writer?.discard()
  }
}

/** A config's `created` from its verified body (null: none); a config that is not JSON makes the file untrusted. */
function configDate(body: Buffer, digest: string): number | null {
  let config: unknown
  try {
    config = JSON.parse(body.toString('utf8'))
  } catch {
    throw new Error(`the config ${digest} in it is not JSON`)
  }
  return createdFromConfig(config) ?? null
}

/** What the inventory reads from the registry: the client's read calls, or the same through the cache. */
export type InventoryReads = Pick<RegistryClient, 'ping' | 'catalog' | 'tags' | 'getManifest' | 'configCreated'>

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

  async configCreated(name: string, digest: string): Promise<number | undefined> {
    const known = this.cache.created(digest)
    if (known !== undefined) {
      this.cache.stats.blobHits++
      return known ?? undefined
    }
    const body = await this.client.getBlob(name, digest)
    const created = createdOfConfig(body, new URL(`v2/${name}/blobs/${digest}`, this.client.base))
    this.cache.rememberBlob(digest, body)
    return created
  }
}
