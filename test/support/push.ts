// Pushes fixture images into a real registry through the v2 API, the way `docker push` does (blobs, then manifests).
import { createHash } from 'node:crypto'

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const

export const ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(', ')

export interface Target {
  url: string
  /** Extra headers, e.g. Authorization for a registry with htpasswd. */
  headers?: Record<string, string>
}

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { architecture: string; os: string }
}

export interface PushedImage extends Descriptor {
  config: Descriptor
  layers: Descriptor[]
}

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`)
  return res
}

export async function pushBlob(t: Target, repo: string, data: Buffer | string, mediaType: string = MEDIA.ociLayer): Promise<Descriptor> {
  const body = Buffer.from(data)
  const digest = sha256(body)
  const start = await ok(
    await fetch(`${t.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: t.headers }),
    `start upload to ${repo}`,
  )
  const location = new URL(start.headers.get('location') ?? '', t.url)
  location.searchParams.set('digest', digest)
  await ok(
    await fetch(location, {
      method: 'PUT',
      headers: { ...t.headers, 'content-type': 'application/octet-stream' },
      body,
    }),
    `upload blob to ${repo}`,
  )
  return { mediaType, digest, size: body.length }
}

export async function pushManifest(t: Target, repo: string, reference: string, manifest: object): Promise<Descriptor> {
  const body = Buffer.from(JSON.stringify(manifest))
  const mediaType = (manifest as { mediaType: string }).mediaType
  await ok(
    await fetch(`${t.url}/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      headers: { ...t.headers, 'content-type': mediaType },
      body,
    }),
    `put manifest ${repo}:${reference}`,
  )
  return { mediaType, digest: sha256(body), size: body.length }
}

export interface ImageSpec {
  /** Layer contents; each distinct string is one blob (equal strings share a blob, like a shared base layer). */
  layers: string[]
  /** The config's `created`; omit the key for an image without it (null leaves it out). */
  created?: string | null
  format?: 'oci' | 'docker'
  platform?: { architecture: string; os: string }
  /** Anything that makes the config unique (e.g. a build number). */
  label?: string
}

/** Pushes an image; tags it when `tag` is given, else leaves it reachable by digest only. */
export async function pushImage(t: Target, repo: string, tag: string | undefined, spec: ImageSpec): Promise<PushedImage> {
  const docker = spec.format === 'docker'
  const layers = []
  for (const layer of spec.layers) layers.push(await pushBlob(t, repo, layer, docker ? MEDIA.dockerLayer : MEDIA.ociLayer))
  const platform = spec.platform ?? { architecture: 'amd64', os: 'linux' }
  const configBody = {
    ...(spec.created === null ? {} : { created: spec.created ?? '2024-01-01T00:00:00Z' }),
    ...platform,
    config: { Labels: { fixture: spec.label ?? '' } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  }
  const config = await pushBlob(t, repo, JSON.stringify(configBody), docker ? MEDIA.dockerConfig : MEDIA.ociConfig)
  const manifest = {
    schemaVersion: 2,
    mediaType: docker ? MEDIA.dockerManifest : MEDIA.ociManifest,
    config,
    layers,
  }
  const pushed = await pushManifest(t, repo, tag ?? sha256(JSON.stringify(manifest)), manifest)
  return { ...pushed, platform, config, layers }
}

/** Pushes an index (OCI or Docker manifest list) over already pushed children. */
export async function pushIndex(
  t: Target,
  repo: string,
  tag: string,
  children: Descriptor[],
  format: 'oci' | 'docker' = 'oci',
): Promise<Descriptor> {
  const manifest = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? MEDIA.ociIndex : MEDIA.dockerList,
    manifests: children.map((c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size, platform: c.platform })),
  }
  return pushManifest(t, repo, tag, manifest)
}

/** A cosign-style signature: an OCI manifest tagged `sha256-<hex>.sig` next to its subject. */
export async function pushSignature(t: Target, repo: string, subject: string, kind: 'sig' | 'att' | 'sbom' = 'sig'): Promise<Descriptor> {
  const payload = await pushBlob(t, repo, JSON.stringify({ critical: { image: { 'docker-manifest-digest': subject } }, kind }), 'application/vnd.dev.cosign.simplesigning.v1+json')
  const config = await pushBlob(t, repo, JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [] }, kind }), MEDIA.ociConfig)
  const manifest = { schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers: [payload] }
  return pushManifest(t, repo, `${subject.replace(':', '-')}.${kind}`, manifest)
}

/** An OCI 1.1 referrer (e.g. an SBOM) with a `subject`, pushed by digest. */
export async function pushReferrer(t: Target, repo: string, subject: Descriptor, content = 'sbom'): Promise<Descriptor> {
  const layer = await pushBlob(t, repo, content, 'application/spdx+json')
  const config = await pushBlob(t, repo, '{}', 'application/vnd.oci.empty.v1+json')
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    artifactType: 'application/spdx+json',
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  }
  return pushManifest(t, repo, sha256(JSON.stringify(manifest)), manifest)
}

/** The digest a tag points at now (with all four Accept types), or undefined when it does not resolve. */
export async function resolveTag(t: Target, repo: string, reference: string): Promise<string | undefined> {
  const res = await fetch(`${t.url}/v2/${repo}/manifests/${reference}`, { headers: { ...t.headers, accept: ACCEPT } })
  if (res.status === 404) return undefined
  await ok(res, `get manifest ${repo}:${reference}`)
  return sha256(Buffer.from(await res.arrayBuffer()))
}

export async function tagList(t: Target, repo: string): Promise<string[]> {
  const res = await fetch(`${t.url}/v2/${repo}/tags/list`, { headers: t.headers })
  if (res.status === 404) return []
  const body = (await (await ok(res, `list tags of ${repo}`)).json()) as { tags: string[] | null }
  return (body.tags ?? []).sort()
}

/** "Still pulls" (DECISIONS 19): GET of the manifest, every child, and every blob returns 200 with the full body. */
export async function pullsCompletely(t: Target, repo: string, reference: string): Promise<boolean> {
  const res = await fetch(`${t.url}/v2/${repo}/manifests/${reference}`, { headers: { ...t.headers, accept: ACCEPT } })
  if (res.status !== 200) return false
  const manifest = (await res.json()) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }
  for (const child of manifest.manifests ?? []) if (!(await pullsCompletely(t, repo, child.digest))) return false
  for (const blob of [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])]) {
    const b = await fetch(`${t.url}/v2/${repo}/blobs/${blob.digest}`, { headers: t.headers })
    if (b.status !== 200) return false
    if (sha256(Buffer.from(await b.arrayBuffer())) !== blob.digest) return false
  }
  return true
}

/** Points a tag at a manifest already in the repository, the way `docker tag` + `docker push` (or crane tag) do. */
export async function retag(t: Target, repo: string, digest: string, tag: string): Promise<void> {
  const res = await ok(
    await fetch(`${t.url}/v2/${repo}/manifests/${digest}`, { headers: { ...t.headers, accept: ACCEPT } }),
    `get manifest ${repo}@${digest}`,
  )
  const body = Buffer.from(await res.arrayBuffer())
  await ok(
    await fetch(`${t.url}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      headers: { ...t.headers, 'content-type': res.headers.get('content-type') ?? '' },
      body,
    }),
    `tag ${repo}@${digest} as ${tag}`,
  )
}
