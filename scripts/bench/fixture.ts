// The benchmark's registry content, as a pure, seeded description: which repositories, images, aliases and indexes
// to push. Kept apart from the pushing so its shape (tag counts, alias share) can be unit-tested without a registry.

export type FixtureMode = 'mixed' | 'distinct' | 'aliases'

export interface FixtureSpec {
  /** Tags in the whole registry, spread evenly over the repositories. */
  tags: number
  repos: number
  /**
   * mixed: about a quarter of the tags alias another image and 1% are two-platform indexes (the default);
   * distinct: every tag its own image, no index (the worst case for requests per tag, DECISIONS 20);
   * aliases: every image carries five tags, so 80% of the tags alias an existing image.
   */
  mode: FixtureMode
  seed?: number
}

export interface FixtureImage {
  /** The first tag is pushed with the manifest; the others alias it. Empty for an index's child. */
  tags: string[]
  /** The config's `created`. */
  created: string
  format: 'oci' | 'docker'
}

export interface FixtureIndex {
  tag: string
  children: FixtureImage[]
}

export interface FixtureRepo {
  name: string
  images: FixtureImage[]
  indexes: FixtureIndex[]
}

export const ALIAS_TAGS_PER_IMAGE = 5
const MIXED_ALIAS_SHARE = 0.25
const MIXED_INDEX_SHARE = 0.01
const START = Date.UTC(2022, 0, 1)
const SPREAD_MS = 2 * 365 * 24 * 3600 * 1000

/** A small seeded generator (mulberry32): the same spec always gives the same registry. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const repoName = (i: number, repos: number): string =>
  `bench/team-${i % 10}/app-${String(i).padStart(String(repos - 1).length, '0')}`

/** Tags of repository `i`: the total spread evenly, the remainder on the first ones. */
export function tagsOfRepo(spec: FixtureSpec, i: number): number {
  return Math.floor(spec.tags / spec.repos) + (i < spec.tags % spec.repos ? 1 : 0)
}

/** Repository `i` of the fixture; generated one at a time so a 100,000-tag fixture is never held whole. */
export function fixtureRepo(spec: FixtureSpec, i: number): FixtureRepo {
  const random = seeded((spec.seed ?? 1) * 1_000_003 + i)
  const total = tagsOfRepo(spec, i)
  let indexCount = 0
  let imageCount = total
  if (spec.mode === 'mixed') {
    indexCount = Math.round(total * MIXED_INDEX_SHARE)
    imageCount = total - indexCount - Math.round(total * MIXED_ALIAS_SHARE)
  } else if (spec.mode === 'aliases') {
    imageCount = Math.ceil(total / ALIAS_TAGS_PER_IMAGE)
  }
  if (imageCount < 1 && total - indexCount > 0) imageCount = 1
  const created = (): string => new Date(START + Math.floor(random() * SPREAD_MS)).toISOString()
  const format = (): 'oci' | 'docker' => (random() < 0.5 ? 'oci' : 'docker')

  const images: FixtureImage[] = []
  for (let n = 0; n < imageCount; n++) images.push({ tags: [`v1.${n}.0`], created: created(), format: format() })
  const aliases = total - indexCount - imageCount
  for (let n = 0; n < aliases; n++) {
    // aliases mode: round-robin, so each image gets its share; mixed: at random, like real branch and build tags.
    const target = spec.mode === 'aliases' ? n % imageCount : Math.floor(random() * imageCount)
    images[target]!.tags.push(n % 2 === 0 ? `build-${n}` : `branch-${n}`)
  }
  const indexes: FixtureIndex[] = []
  for (let n = 0; n < indexCount; n++) {
    const when = created()
    indexes.push({
      tag: `multi-${n}`,
      children: [0, 1].map(() => ({ tags: [], created: when, format: 'oci' as const })),
    })
  }
  return { name: repoName(i, spec.repos), images, indexes }
}

/** What the fixture holds in total: the figures the benchmark divides by. */
export function fixtureCounts(spec: FixtureSpec): { tags: number; images: number; indexes: number; manifests: number } {
  let tags = 0
  let images = 0
  let indexes = 0
  let manifests = 0
  for (let i = 0; i < spec.repos; i++) {
    const repo = fixtureRepo(spec, i)
    images += repo.images.length
    indexes += repo.indexes.length
    tags += repo.images.reduce((sum, image) => sum + image.tags.length, 0) + repo.indexes.length
    manifests += repo.images.length + repo.indexes.reduce((sum, index) => sum + 1 + index.children.length, 0)
  }
  return { tags, images, indexes, manifests }
}
