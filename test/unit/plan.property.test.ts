// The planner's safety invariants, over random inventories and random rules.
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { globMatcher } from '../../src/globs.js'
import { FOLLOWER_TAG, plan } from '../../src/plan.js'
import type { Rules } from '../../src/plan.js'
import { compareTagsDescending } from '../../src/tag-order.js'
import type { Inventory, Manifest, PlannedManifest, RepositoryInventory, RepositoryPlan } from '../../src/types.js'
import { DAY, NOW, blob, digestOf, image, index } from './inventory-builder.js'

const TAGS = ['latest', 'stable', 'main', 'dev', 'v1', 'v1.2.0', 'v1.10.0', 'v2.0.0-rc.1', 'build-9', 'build-10']
const BLOBS = [0, 1, 2, 3, 4, 5].map((i) => blob(`shared-${i}`, (i + 1) * 100))

// Few distinct days, so ties are common; some undated (missing, or 1970).
const created = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 10 }).map((days) => NOW - days * DAY) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, 0) },
)

const kind = fc.oneof(
  { weight: 10, arbitrary: fc.constant('image' as const) },
  { weight: 1, arbitrary: fc.constantFrom('schema1' as const, 'unknown' as const) },
)

const repositorySpec = fc.record({
  images: fc.array(fc.record({ created, layers: fc.subarray(BLOBS, { minLength: 1 }), kind }), { maxLength: 6 }),
  indexes: fc.array(fc.record({ children: fc.array(fc.nat(), { maxLength: 3 }), created: fc.option(created) }), {
    maxLength: 3,
  }),
  tags: fc.array(fc.record({ tag: fc.constantFrom(...TAGS), target: fc.nat() }), { maxLength: 8 }),
  signatures: fc.array(
    fc.record({
      subject: fc.nat(),
      orphan: fc.boolean(),
      suffix: fc.constantFrom('sig' as const, 'att' as const, 'sbom' as const),
    }),
    { maxLength: 3 },
  ),
  referrers: fc.array(fc.record({ subject: fc.nat(), orphan: fc.boolean() }), { maxLength: 3 }),
  // Indexes of referrers under a follower tag: the OCI 1.1 referrers tag schema (no suffix) or another tool's suffix;
  // what they list may or may not name the subject itself.
  referrersIndexes: fc.array(
    fc.record({
      subject: fc.nat(),
      orphan: fc.boolean(),
      suffix: fc.constantFrom(undefined, 'sig', 'notation.v1'),
      listed: fc.array(fc.boolean(), { minLength: 1, maxLength: 2 }),
    }),
    { maxLength: 2 },
  ),
  listUntagged: fc.boolean(),
  incomplete: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
})
type RepositorySpec = typeof repositorySpec extends fc.Arbitrary<infer T> ? T : never

function buildRepository(name: string, spec: RepositorySpec): RepositoryInventory {
  const images = spec.images.map((s, i) =>
    image(`${name}/image${i}`, { created: s.created, layers: s.layers, kind: s.kind }),
  )
  const indexes = images.length === 0 ? [] : spec.indexes.map((s, i) => {
    const children = [...new Set(s.children.map((c) => images[c % images.length] as Manifest))]
    return index(`${name}/index${i}`, children, s.created ?? undefined)
  })
  const subjects: Manifest[] = [...images, ...indexes]
  const pick = (n: number, orphan: boolean, label: string): Manifest =>
    orphan || subjects.length === 0 ? image(`${name}/missing-${label}`) : (subjects[n % subjects.length] as Manifest)
  const referrers = spec.referrers.map((s, i) => {
    const referrer = image(`${name}/referrer${i}`, { subject: pick(s.subject, s.orphan, `r${i}`) })
    subjects.push(referrer)
    return referrer
  })
  const tags = new Map<string, string>()
  const targets = [...images, ...indexes]
  for (const { tag, target } of targets.length > 0 ? spec.tags : []) {
    tags.set(tag, (targets[target % targets.length] as Manifest).digest)
  }
  const signatures = spec.signatures.map((s, i) => {
    const signature = image(`${name}/signature${i}`, { layers: [blob(`${name}/sig${i}`, 7)] })
    const subject = pick(s.subject, s.orphan, `s${i}`)
    tags.set(`sha256-${subject.digest.slice(7)}.${s.suffix}`, signature.digest)
    return signature
  })
  const referrersIndexes = spec.referrersIndexes.flatMap((s, i) => {
    const subject = pick(s.subject, s.orphan, `ri${i}`)
    const listed = s.listed.map((names, j) =>
      image(`${name}/ri${i}-artifact${j}`, { layers: [blob(`${name}/ri${i}-${j}`, 5)], ...(names ? { subject } : {}) }),
    )
    const list = index(`${name}/referrers-index${i}`, listed)
    tags.set(`sha256-${subject.digest.slice(7)}${s.suffix === undefined ? '' : `.${s.suffix}`}`, list.digest)
    return [list, ...listed]
  })
  const manifests = new Map(
    [...targets, ...referrers, ...signatures, ...referrersIndexes].map((m) => [m.digest, m]),
  )
  const tagged = new Set(tags.values())
  return {
    name,
    tags,
    manifests,
    ...(spec.listUntagged ? { untagged: [...manifests.keys()].filter((digest) => !tagged.has(digest)) } : {}),
    ...(spec.incomplete ? { incomplete: 'random' } : {}),
  }
}

const inventoryArb: fc.Arbitrary<Inventory> = fc
  .array(repositorySpec, { minLength: 1, maxLength: 3 })
  .map((specs) => ({ repositories: specs.map((spec, i) => buildRepository(`team/r${i}`, spec)) }))

const rulesArb: fc.Arbitrary<Rules> = fc.record({
  keepCount: fc.integer({ min: 0, max: 4 }),
  keepTags: fc.subarray(['latest', 'v1*', 'stable', '!dev', 'sha256-*', 'build-*']),
  olderThanMs: fc.option(fc.integer({ min: 0, max: 10 * DAY }), { nil: undefined }),
  allowDeleteAll: fc.boolean(),
  untagged: fc.constantFrom('keep' as const, 'delete' as const),
  keepUntagged: fc.integer({ min: 0, max: 2 }),
})

const undated = (entry: PlannedManifest) => entry.created === undefined || entry.created < DAY

/** Checks one repository's plan against its inventory; the message names the invariant that broke. */
function checkRepository(repo: RepositoryInventory, result: RepositoryPlan, rules: Rules): void {
  const byDigest = new Map(result.manifests.map((entry) => [entry.digest, entry]))
  const kept = (digest: string) => byDigest.get(digest)?.decision === 'keep'
  const keepTag = globMatcher(rules.keepTags)

  expect(new Set(byDigest.keys()), 'every digest is planned once').toEqual(
    new Set([...repo.tags.values(), ...repo.manifests.keys()]),
  )
  expect(result.manifests.length).toBe(byDigest.size)
  for (const entry of result.manifests) expect(entry.reason, 'every decision has a reason').not.toBe('')

  for (const [tag, digest] of repo.tags) if (keepTag(tag)) expect(kept(digest), `keep-tags keeps ${tag}`).toBe(true)

  const images = result.manifests.filter((e) => e.role === 'image' && (e.kind === 'image' || e.kind === 'index'))
  // Dates only decide anything when older-than is set or there are more images than keep-count.
  const ageMatters = rules.olderThanMs !== undefined || images.length > rules.keepCount
  expect(result.order, 'undated images order by tag name when age matters').toBe(
    ageMatters && images.some(undated) ? 'tag-name' : 'created',
  )
  const ranked = images
    .filter((e) => !e.tags.some(keepTag))
    .filter((e) => rules.olderThanMs === undefined || (!undated(e) && NOW - (e.created ?? 0) >= rules.olderThanMs))
    .sort((a, b) =>
      (result.order === 'created' ? (b.created ?? 0) - (a.created ?? 0) : 0) ||
      compareTagsDescending(a.tags[0] ?? '', b.tags[0] ?? '') ||
      (a.digest < b.digest ? -1 : 1),
    )
  for (const entry of ranked.slice(0, rules.keepCount)) {
    expect(entry.decision, 'the keep-count newest stay').toBe('keep')
  }

  for (const manifest of repo.manifests.values()) {
    if (kept(manifest.digest)) {
      for (const child of manifest.children.filter((c) => byDigest.has(c))) {
        expect(kept(child), 'child of a kept index').toBe(true)
      }
    }
    if (manifest.subject && kept(manifest.subject)) {
      expect(kept(manifest.digest), 'referrer of a kept subject').toBe(true)
    }
  }
  for (const [tag, digest] of repo.tags) {
    const hex = FOLLOWER_TAG.exec(tag)?.[1]
    if (hex && kept(`sha256:${hex}`)) {
      expect(kept(digest), 'a follower of a kept subject').toBe(true)
      for (const listed of repo.manifests.get(digest)?.children ?? []) {
        expect(kept(listed), 'what a kept subject\'s referrers index lists').toBe(true)
      }
    }
  }
  const tagsOf = new Map<string, string[]>()
  for (const [tag, digest] of repo.tags) tagsOf.set(digest, [...(tagsOf.get(digest) ?? []), tag])
  for (const [digest, tags] of tagsOf) {
    if (tags.every((tag) => FOLLOWER_TAG.test(tag))) {
      expect(byDigest.get(digest)?.role, 'a manifest with only follower tags is never an image').not.toBe('image')
    }
  }

  const deleted = result.manifests.filter((entry) => entry.decision === 'delete')
  if (repo.incomplete) expect(deleted, 'nothing is deleted in an incomplete repository').toEqual([])
  if (!rules.allowDeleteAll && result.manifests.some((e) => e.role === 'image')) {
    expect(result.manifests.some((e) => e.role === 'image' && e.decision === 'keep'), 'never empty').toBe(true)
  }
  for (const entry of deleted.filter((e) => e.role === 'untagged')) {
    expect(rules.untagged, 'untagged deletes need untagged: delete').toBe('delete')
    expect(repo.untagged, 'untagged deletes need a storage listing').toContain(entry.digest)
    expect(entry.tags).toEqual([])
  }

  const position = new Map(result.manifests.map((entry, i) => [entry.digest, i]))
  expect(result.manifests.slice(0, deleted.length), 'deletions come first').toEqual(deleted)
  const before = (first: string, second: string, what: string) => {
    if (byDigest.get(first)?.decision === 'delete' && byDigest.get(second)?.decision === 'delete') {
      expect(position.get(first) as number, what).toBeLessThan(position.get(second) as number)
    }
  }
  for (const manifest of repo.manifests.values()) {
    for (const child of manifest.children) before(manifest.digest, child, 'an index before its children')
    if (manifest.subject) before(manifest.digest, manifest.subject, 'a referrer before its subject')
  }
  for (const [tag, digest] of repo.tags) {
    const hex = FOLLOWER_TAG.exec(tag)?.[1]
    if (!hex) continue
    before(digest, `sha256:${hex}`, 'a follower before its subject')
    if ((tagsOf.get(digest) ?? []).every((t) => FOLLOWER_TAG.test(t))) {
      for (const listed of repo.manifests.get(digest)?.children ?? []) {
        before(listed, `sha256:${hex}`, 'what a referrers index lists before its subject')
      }
    }
  }
}

/** The repository without its follower tags: what they point at is then untagged. */
function withoutFollowerTags(repo: RepositoryInventory): RepositoryInventory {
  return { ...repo, tags: new Map([...repo.tags].filter(([tag]) => !FOLLOWER_TAG.test(tag))) }
}

/** The same inventory with every Map and list built in another order. */
function reordered(inventory: Inventory): Inventory {
  const reverse = <K, V>(map: Map<K, V>) => new Map([...map].reverse())
  return {
    repositories: inventory.repositories.map((repo) => ({
      ...repo,
      tags: reverse(repo.tags),
      manifests: reverse(repo.manifests),
      ...(repo.untagged ? { untagged: [...repo.untagged].reverse() } : {}),
    })),
  }
}

describe('plan invariants', () => {
  test('hold for random inventories and rules', () => {
    fc.assert(
      fc.property(inventoryArb, rulesArb, (inventory, rules) => {
        const result = plan(inventory, rules, NOW)
        inventory.repositories.forEach((repo, i) => {
          checkRepository(repo, result.repositories[i] as RepositoryPlan, rules)
        })
      }),
      { numRuns: 500 },
    )
  })

  test('follower tags change no image decision and no order (DECISIONS 23)', () => {
    fc.assert(
      fc.property(inventoryArb, rulesArb, (inventory, rules) => {
        const images = (p: ReturnType<typeof plan>) =>
          p.repositories.map((r) => ({
            order: r.order,
            images: r.manifests.filter((m) => m.role === 'image').map((m) => [m.digest, m.decision]),
          }))
        const stripped = { repositories: inventory.repositories.map(withoutFollowerTags) }
        const sort = (x: ReturnType<typeof images>) =>
          x.map((r) => ({ ...r, images: [...r.images].sort((a, b) => ((a[0] ?? '') < (b[0] ?? '') ? -1 : 1)) }))
        expect(sort(images(plan(inventory, rules, NOW)))).toEqual(sort(images(plan(stripped, rules, NOW))))
      }),
      { numRuns: 300 },
    )
  })

  test('reclaimable bytes: zero without deletions, never more than the deleted manifests reference', () => {
    fc.assert(
      fc.property(inventoryArb, rulesArb, (inventory, rules) => {
        const result = plan(inventory, rules, NOW)
        const deleted = new Map<string, number>()
        inventory.repositories.forEach((repo, i) => {
          for (const entry of result.repositories[i]?.manifests ?? []) {
            const manifest = repo.manifests.get(entry.digest)
            if (entry.decision !== 'delete' || !manifest) continue
            deleted.set(manifest.digest, manifest.size)
            for (const b of manifest.blobs) deleted.set(b.digest, b.size)
          }
        })
        const ceiling = [...deleted.values()].reduce((sum, size) => sum + size, 0)
        expect(result.reclaimableBytes).toBeGreaterThanOrEqual(0)
        expect(result.reclaimableBytes).toBeLessThanOrEqual(ceiling)
      }),
      { numRuns: 300 },
    )
  })

  test('are deterministic and depend on neither Map insertion order nor the order repositories come in', () => {
    fc.assert(
      fc.property(inventoryArb, rulesArb, (inventory, rules) => {
        const result = plan(inventory, rules, NOW)
        expect(plan(inventory, rules, NOW)).toEqual(result)
        expect(plan(reordered(inventory), rules, NOW)).toEqual(result)
        // A run adds repositories as they finish reading, in any order.
        expect(plan({ repositories: [...inventory.repositories].reverse() }, rules, NOW)).toEqual(result)
      }),
      { numRuns: 300 },
    )
  })

  test('the generator makes the cases the invariants are about', () => {
    // A property that never meets an index, a signature or an untagged delete proves nothing about them.
    const seen = new Set<string>()
    fc.assert(
      fc.property(inventoryArb, rulesArb, (inventory, rules) => {
        for (const repo of plan(inventory, rules, NOW).repositories) {
          for (const entry of repo.manifests) seen.add(`${entry.role}:${entry.decision}`)
          if (repo.order === 'tag-name') seen.add('tag-name')
          if (repo.skipped) seen.add('skipped')
        }
      }),
      { numRuns: 300, seed: 42 },
    )
    for (const role of ['image', 'child', 'signature', 'referrer', 'untagged']) {
      expect(seen).toContain(`${role}:keep`)
      expect(seen).toContain(`${role}:delete`)
    }
    expect(seen).toContain('tag-name')
    expect(seen).toContain('skipped')
  })
})

test('digestOf gives real sha256 digests, so cosign tags can name them', () => {
  expect(digestOf('x')).toMatch(/^sha256:[0-9a-f]{64}$/)
})
