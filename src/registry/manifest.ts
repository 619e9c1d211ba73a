// Turns a manifest body into what the inventory keeps: kind, blobs, children, subject. The body is not kept.
import type { Blob, Manifest } from '../types.js'
import { manifestKind } from './media-types.js'

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/
const SHA256 = /^sha256:[a-f0-9]{64}$/

export const isDigest = (value: unknown): value is string =>
  typeof value === 'string' && DIGEST.test(value) && (!value.startsWith('sha256:') || SHA256.test(value))

/** An image config's `created` as epoch ms; undefined when missing or unreadable. */
export function createdFromConfig(config: unknown): number | undefined {
  const created = (config as { created?: unknown } | null)?.created
  if (typeof created !== 'string') return undefined
  const ms = Date.parse(created)
  return Number.isNaN(ms) ? undefined : ms
}

export interface ParsedManifest {
  manifest: Manifest
  /** image: the config descriptor's media type, to tell image configs from artifact configs. */
  configMediaType?: string
  /** index: the children whose descriptors say they are indexes themselves. */
  childIndexes?: string[]
}

interface DescriptorJson {
  mediaType?: unknown
  digest?: unknown
  size?: unknown
}

function descriptor(value: unknown, where: string): Blob & { mediaType?: string } {
  const d = value as DescriptorJson | null
  if (!d || typeof d !== 'object' || !isDigest(d.digest)) throw new Error(`${where} has no valid digest`)
  const size = typeof d.size === 'number' && Number.isSafeInteger(d.size) && d.size >= 0 ? d.size : undefined
  if (size === undefined) throw new Error(`${where} (${d.digest}) has no valid size`)
  return { digest: d.digest, size, ...(typeof d.mediaType === 'string' ? { mediaType: d.mediaType } : {}) }
}

/** One string per media type: 100,000 manifests would otherwise carry 100,000 copies of a handful of texts. */
const sharedText = new Map<string, string>()

function sharedString(text: string): string {
  const known = sharedText.get(text)
  if (known !== undefined) return known
  if (sharedText.size < 1000) sharedText.set(text, text)
  return text
}

function uniqueBlobs(blobs: Blob[]): Blob[] {
  const seen = new Map<string, Blob>()
  for (const b of blobs) if (!seen.has(b.digest)) seen.set(b.digest, { digest: b.digest, size: b.size })
  return [...seen.values()]
}

/** The media type without parameters (`; charset=utf-8`). */
const bare = (contentType: string | undefined): string | undefined => contentType?.split(';')[0]?.trim() || undefined

/**
 * Parses a manifest the registry served with `contentType`. Docker v2 / OCI manifests and indexes must be well formed;
 * schema1 and unknown media types are classified and kept (their body must still be JSON).
 */
export function parseManifest(digest: string, contentType: string | undefined, body: Buffer): ParsedManifest {
  let json: Record<string, unknown>
  try {
    json = JSON.parse(body.toString('utf8')) as Record<string, unknown>
  } catch {
    throw new Error(`manifest ${digest} is not valid JSON`)
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`manifest ${digest} is not a JSON object`)
  }
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined
  const mediaType = sharedString(declared ?? bare(contentType) ?? inferMediaType(json))
  const kind = manifestKind(mediaType)
  const base: Manifest = { digest, mediaType, kind, size: body.length, blobs: [], children: [] }
  const subject = json.subject === undefined ? undefined : descriptor(json.subject, `the subject of manifest ${digest}`)
  if (subject) base.subject = subject.digest
  if (typeof json.artifactType === 'string') base.artifactType = json.artifactType

  if (kind === 'image') {
    const config = descriptor(json.config, `the config of manifest ${digest}`)
    if (json.layers !== undefined && !Array.isArray(json.layers)) {
      throw new Error(`manifest ${digest}: layers is not a list`)
    }
    const layers = ((json.layers ?? []) as unknown[]).map((l, i) => descriptor(l, `layer ${i} of manifest ${digest}`))
    base.configDigest = config.digest
    base.blobs = uniqueBlobs([config, ...layers])
    return { manifest: base, ...(config.mediaType ? { configMediaType: config.mediaType } : {}) }
  }
  if (kind === 'index') {
    if (!Array.isArray(json.manifests)) throw new Error(`index ${digest} has no list of manifests`)
    const children = (json.manifests as unknown[]).map((m, i) => descriptor(m, `entry ${i} of index ${digest}`))
    base.children = [...new Set(children.map((c) => c.digest))]
    const childIndexes = children
      .filter((c) => c.mediaType && manifestKind(c.mediaType) === 'index')
      .map((c) => c.digest)
    return { manifest: base, childIndexes: [...new Set(childIndexes)] }
  }
  if (kind === 'schema1') {
    // Sizes are not in schema1 manifests; the digests still tell which blobs a kept image holds on to.
    const layers = Array.isArray(json.fsLayers) ? (json.fsLayers as { blobSum?: unknown }[]) : []
    const sums = layers.map((l) => l?.blobSum).filter(isDigest)
    base.blobs = uniqueBlobs(sums.map((digest) => ({ digest, size: 0 })))
    return { manifest: base }
  }
  // Unknown media type: kept by the planner; record what blobs it visibly references.
  const refs = [json.config, ...(Array.isArray(json.layers) ? json.layers : [])].filter(
    (d): d is DescriptorJson => !!d && typeof d === 'object' && isDigest((d as DescriptorJson).digest),
  )
  base.blobs = uniqueBlobs(
    refs.map((d) => ({ digest: d.digest as string, size: typeof d.size === 'number' ? d.size : 0 })),
  )
  return { manifest: base }
}

function inferMediaType(json: Record<string, unknown>): string {
  if (json.schemaVersion === 1) return 'application/vnd.docker.distribution.manifest.v1+json'
  if (Array.isArray(json.manifests)) return 'application/vnd.oci.image.index.v1+json'
  if (json.config && typeof json.config === 'object') return 'application/vnd.oci.image.manifest.v1+json'
  return 'application/octet-stream'
}
