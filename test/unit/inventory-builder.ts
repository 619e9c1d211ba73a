// Builds planner inventories by hand: real-looking sha256 digests, so cosign tags can name their subjects.
import { createHash } from 'node:crypto'
import type { Rules } from '../../src/plan.js'
import type { Blob, Manifest, Plan, PlannedManifest, RepositoryInventory } from '../../src/types.js'

export const DAY = 86_400_000
export const NOW = Date.UTC(2025, 0, 31)
export const daysAgo = (days: number): number => NOW - days * DAY

export const digestOf = (label: string): string => `sha256:${createHash('sha256').update(label).digest('hex')}`
export const blob = (label: string, size: number): Blob => ({ digest: digestOf(`blob:${label}`), size })

interface ImageOptions {
  created?: number
  /** Layers; a config blob of 10 bytes is added. Same label = same blob (a shared base layer). */
  layers?: Blob[]
  subject?: Manifest
  kind?: Manifest['kind']
  mediaType?: string
}

export function image(label: string, options: ImageOptions = {}): Manifest {
  const config = blob(`config:${label}`, 10)
  return {
    digest: digestOf(`manifest:${label}`),
    mediaType: options.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    kind: options.kind ?? 'image',
    size: 100,
    configDigest: config.digest,
    blobs: [config, ...(options.layers ?? [blob(`layer:${label}`, 1000)])],
    children: [],
    ...(options.subject ? { subject: options.subject.digest } : {}),
    ...(options.created === undefined ? {} : { created: options.created }),
  }
}

export function index(label: string, children: Manifest[], created?: number): Manifest {
  return {
    digest: digestOf(`index:${label}`),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    kind: 'index',
    size: 50,
    blobs: [],
    children: children.map((child) => child.digest),
    ...(created === undefined ? {} : { created }),
  }
}

/** The cosign tag for a signature (or attestation) of `subject`. */
export const signatureTag = (subject: Manifest, suffix: string = 'sig'): string =>
  `sha256-${subject.digest.slice('sha256:'.length)}.${suffix}`

/** The OCI 1.1 referrers tag schema: `sha256-<hex>` with no suffix, on an index of the subject's referrers. */
export const referrersTag = (subject: Manifest): string => `sha256-${subject.digest.slice('sha256:'.length)}`

interface RepositoryOptions {
  /** Manifests no tag points at (children, referrers, untagged). */
  others?: Manifest[]
  /** Digests listed from storage; undefined = storage not listed. */
  untagged?: Manifest[]
  untaggedNote?: string
  incomplete?: string
}

export function repository(
  name: string,
  tags: [string, Manifest][],
  options: RepositoryOptions = {},
): RepositoryInventory {
  const manifests = new Map<string, Manifest>()
  for (const manifest of [...tags.map(([, m]) => m), ...(options.others ?? []), ...(options.untagged ?? [])]) {
    manifests.set(manifest.digest, manifest)
  }
  return {
    name,
    tags: new Map(tags.map(([tag, manifest]) => [tag, manifest.digest])),
    manifests,
    ...(options.untagged ? { untagged: options.untagged.map((m) => m.digest) } : {}),
    ...(options.untaggedNote ? { untaggedNote: options.untaggedNote } : {}),
    ...(options.incomplete ? { incomplete: options.incomplete } : {}),
  }
}

export const rules = (overrides: Partial<Rules> = {}): Rules => ({
  keepCount: 2,
  keepTags: ['latest'],
  olderThanMs: undefined,
  allowDeleteAll: false,
  untagged: 'keep',
  keepUntagged: 0,
  ...overrides,
})

/** The planned entry for a manifest, found in any repository of the plan. */
export function planned(plan: Plan, manifest: Manifest, repositoryName?: string): PlannedManifest {
  for (const repo of plan.repositories) {
    if (repositoryName !== undefined && repo.name !== repositoryName) continue
    const found = repo.manifests.find((entry) => entry.digest === manifest.digest)
    if (found) return found
  }
  throw new Error(`${manifest.digest} is not in the plan`)
}

export const decisionOf = (plan: Plan, manifest: Manifest): string => planned(plan, manifest).decision
