// Pushes the benchmark fixture through the v2 API, fast: one keep-alive pool, bounded concurrency, blobs pushed once
// per repository, a unique small config per image (that is what makes images distinct), shared layers.
import { createHash } from 'node:crypto'
import { Pool } from 'undici'
import { forEachLimited, Limiter } from '../../src/registry/limit.js'
import { fixtureRepo, tagsOfRepo, type FixtureImage, type FixtureSpec } from './fixture.js'

const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const

interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { architecture: string; os: string }
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

/** A base layer every repository shares, and a smaller one per repository (content is irrelevant, size is small). */
const BASE_LAYER = Buffer.from('benchmark shared base layer\n'.repeat(200))

export interface PopulateResult {
  requests: number
  seconds: number
}

/** Blob and manifest pushes over one pool, `width` in flight. */
function pusher(url: string, width: number) {
  const pool = new Pool(url, { connections: width, keepAliveTimeout: 30_000 })
  const limiter = new Limiter(width)
  let requests = 0

  const call = (method: 'POST' | 'PUT', path: string, body?: Buffer, contentType?: string) =>
    limiter.run(async () => {
      requests++
      const res = await pool.request({
        method,
        path,
        ...(body ? { body } : {}),
        headers: contentType ? { 'content-type': contentType } : {},
      })
      const text = await res.body.text()
      if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`)
      return res.headers
    })

  const pushBlob = async (repo: string, data: Buffer, mediaType: string): Promise<Descriptor> => {
    const digest = sha256(data)
    const headers = await call('POST', `/v2/${repo}/blobs/uploads/`)
    const location = new URL(String(headers.location ?? ''), url)
    location.searchParams.set('digest', digest)
    await call('PUT', location.pathname + location.search, data, 'application/octet-stream')
    return { mediaType, digest, size: data.length }
  }

  const pushManifest = async (repo: string, reference: string | undefined, manifest: object): Promise<Descriptor> => {
    const mediaType = (manifest as { mediaType: string }).mediaType
    const body = Buffer.from(JSON.stringify(manifest))
    const digest = sha256(body)
    await call('PUT', `/v2/${repo}/manifests/${reference ?? digest}`, body, mediaType)
    return { mediaType, digest, size: body.length }
  }

  /** Pushes one image (a unique config over the repository's two layers) under its tags. */
  const pushImage = async (repo: string, image: FixtureImage, label: string, arch = 'amd64'): Promise<Descriptor> => {
    const docker = image.format === 'docker'
    const layers = layersOf(repo).map((l) => ({ ...l, mediaType: docker ? MEDIA.dockerLayer : MEDIA.ociLayer }))
    const config = Buffer.from(JSON.stringify({
      created: image.created,
      architecture: arch,
      os: 'linux',
      config: { Labels: { bench: label } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }))
    const configDescriptor = await pushBlob(repo, config, docker ? MEDIA.dockerConfig : MEDIA.ociConfig)
    const manifest = {
      schemaVersion: 2,
      mediaType: docker ? MEDIA.dockerManifest : MEDIA.ociManifest,
      config: configDescriptor,
      layers,
    }
    const [first, ...aliases] = image.tags
    const pushed = await pushManifest(repo, first, manifest)
    for (const alias of aliases) await pushManifest(repo, alias, manifest)
    return { ...pushed, platform: { architecture: arch, os: 'linux' } }
  }

  return { pushBlob, pushManifest, pushImage, requests: () => requests, close: () => pool.close() }
}

const ownLayer = (repo: string): Buffer => Buffer.from(`layer of ${repo}\n`.repeat(20))
const layersOf = (repo: string): Descriptor[] =>
  [BASE_LAYER, ownLayer(repo)].map((data) => ({ mediaType: MEDIA.ociLayer, digest: sha256(data), size: data.length }))

export async function populate(
  url: string,
  spec: FixtureSpec,
  options: { concurrency?: number; progress?: (done: number) => void } = {},
): Promise<PopulateResult> {
  const width = options.concurrency ?? 16
  const { pushBlob, pushManifest, pushImage: push, requests, close } = pusher(url, width)
  const started = performance.now()

  let done = 0
  const repoIndexes = Array.from({ length: spec.repos }, (_, i) => i)
  try {
    await forEachLimited(repoIndexes, width, async (i) => {
      const fixture = fixtureRepo(spec, i)
      const repo = fixture.name
      await pushBlob(repo, BASE_LAYER, MEDIA.ociLayer)
      await pushBlob(repo, ownLayer(repo), MEDIA.ociLayer)
      const pushImage = async (image: FixtureImage, label: string, arch = 'amd64'): Promise<Descriptor> => {
        const pushed = await push(repo, image, label, arch)
        done += image.tags.length
        return pushed
      }

      await forEachLimited(fixture.images.entries(), width, async ([n, image]) => {
        await pushImage(image, `${repo} image ${n}`)
        options.progress?.(done)
      })
      await forEachLimited(fixture.indexes.entries(), width, async ([n, index]) => {
        const children = await Promise.all(
          index.children.map((child, c) => pushImage(child, `${repo} index ${n} child ${c}`, c === 0 ? 'amd64' : 'arm64')),
        )
        await pushManifest(repo, index.tag, {
          schemaVersion: 2,
          mediaType: MEDIA.ociIndex,
          manifests: children.map((c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size, platform: c.platform })),
        })
        done++
        options.progress?.(done)
      })
    })
  } finally {
    await close()
  }
  return { requests: requests(), seconds: (performance.now() - started) / 1000 }
}

/**
 * Moves `share` of the tags (the first tag of every n-th image, seeded by `round` so each round moves others) to new
 * images: a new config, pushed over the same layers, newer than everything. What a registry that changed a little since
 * the last run looks like. Returns how many tags moved.
 */
export async function moveTags(url: string, spec: FixtureSpec, share: number, round: number, width = 16): Promise<number> {
  const { pushImage, close } = pusher(url, width)
  let moved = 0
  try {
    await forEachLimited(Array.from({ length: spec.repos }, (_, i) => i), width, async (i) => {
      const fixture = fixtureRepo(spec, i)
      const every = Math.max(1, Math.round(fixture.images.length / (share * tagsOfRepo(spec, i))))
      const picked = fixture.images.filter((_, n) => (n + round) % every === 0)
      await forEachLimited(picked, 4, async (image) => {
        const tag = image.tags[0]!
        await pushImage(fixture.name, { ...image, tags: [tag], created: new Date().toISOString() }, `${fixture.name} ${tag} moved ${round}`)
        moved++
      })
    })
  } finally {
    await close()
  }
  return moved
}
