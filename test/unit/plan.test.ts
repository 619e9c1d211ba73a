import { describe, expect, test } from 'vitest'
import { plan } from '../../src/plan.js'
import type { Rules } from '../../src/plan.js'
import type { Decision, Manifest, Plan, RepositoryInventory } from '../../src/types.js'
import {
  DAY,
  NOW,
  blob,
  daysAgo,
  decisionOf,
  image,
  index,
  planned,
  referrersTag,
  repository,
  rules,
  signatureTag,
} from './inventory-builder.js'

const one = (repo: RepositoryInventory, overrides: Parameters<typeof rules>[0] = {}): Plan =>
  plan({ repositories: [repo] }, rules(overrides), NOW)

const positions = (result: Plan, manifests: Manifest[]): number[] => {
  const order = result.repositories[0]?.manifests.map((entry) => entry.digest) ?? []
  return manifests.map((manifest) => order.indexOf(manifest.digest))
}

describe('images by keep-tags, keep-count and older-than', () => {
  const a = image('a', { created: daysAgo(1) })
  const b = image('b', { created: daysAgo(2) })
  const c = image('c', { created: daysAgo(3) })
  const d = image('d', { created: daysAgo(4) })
  const repo = repository('app', [['v4', a], ['v3', b], ['v2', c], ['v1', d], ['latest', d], ['stable', d]])

  test.each([
    ['keep-count only', { keepTags: [] }, ['keep', 'keep', 'delete', 'delete'],
      ['among the 2 newest', 'among the 2 newest', 'beyond keep-count 2', 'beyond keep-count 2']],
    ['keep-tags take no slot (DECISIONS 9)', {}, ['keep', 'keep', 'delete', 'keep'],
      ['among the 2 newest', 'among the 2 newest', 'beyond keep-count 2', 'tag latest matches keep-tags']],
    ['any alias matching keep-tags keeps the digest', { keepTags: ['stable'] }, ['keep', 'keep', 'delete', 'keep'],
      [null, null, null, 'tag stable matches keep-tags']],
    ['excludes in keep-tags', { keepTags: ['v*', '!v2'], keepCount: 0 }, ['keep', 'keep', 'delete', 'keep'],
      ['tag v4 matches keep-tags', 'tag v3 matches keep-tags', 'beyond keep-count 0', 'tag v1 matches keep-tags']],
    ['older-than keeps the young and takes no slot', { keepTags: [], keepCount: 1, olderThanMs: 1.5 * DAY },
      ['keep', 'keep', 'delete', 'delete'],
      ['younger than older-than', 'among the 1 newest', 'beyond keep-count 1 and older than older-than', null]],
    ['keep-count 0 with older-than', { keepTags: [], keepCount: 0, olderThanMs: 2.5 * DAY },
      ['keep', 'keep', 'delete', 'delete'], ['younger than older-than', 'younger than older-than', null, null]],
    ['keep-count larger than the repository', { keepCount: 10 }, ['keep', 'keep', 'keep', 'keep'], []],
  ] as [string, Partial<Rules>, Decision[], (string | null)[]][])('%s', (_name, overrides, decisions, reasons) => {
    const result = one(repo, overrides)
    const entries = [a, b, c, d].map((m) => planned(result, m))
    expect(entries.map((entry) => entry.decision)).toEqual(decisions)
    entries.forEach((entry, i) => {
      if (reasons[i]) expect(entry.reason).toBe(reasons[i])
      expect(entry.role).toBe('image')
    })
    expect(result.repositories[0]?.order).toBe('created')
  })

  test('a digest carries all its tags, highest first', () => {
    expect(planned(one(repo), d).tags).toEqual(['v1', 'stable', 'latest'])
  })

  test('ties in created: semver-aware tag order descending decides', () => {
    const older = image('tie-1', { created: daysAgo(5) })
    const newer = image('tie-2', { created: daysAgo(5) })
    const result = one(repository('app', [['v1.9.0', older], ['v1.10.0', newer]]), { keepCount: 1 })
    expect(decisionOf(result, newer)).toBe('keep')
    expect(decisionOf(result, older)).toBe('delete')
  })
})

describe('undated images (DECISIONS 4)', () => {
  const high = image('high')
  const middle = image('middle', { created: 0 })
  const low = image('low', { created: daysAgo(1) })
  const repo = repository('app', [['v1.10.0', high], ['v1.9.2', middle], ['v1.9.2-rc.1', low], ['old', low]])

  test('one undated image orders the whole repository by tag name, and says so', () => {
    const result = one(repo, { keepTags: [] })
    expect(result.repositories[0]?.order).toBe('tag-name')
    expect(result.repositories[0]?.notes.join('\n')).toMatch(/ordered by tag name/)
    expect([high, middle, low].map((m) => decisionOf(result, m))).toEqual(['keep', 'keep', 'delete'])
    expect(planned(result, high).reason).toBe('among the 2 highest tags (ordered by tag name)')
  })

  test('dates that decide nothing are not needed: every image fits in keep-count, no older-than', () => {
    const result = one(repo, { keepTags: [], keepCount: 3, olderThanMs: undefined })
    expect(result.repositories[0]?.order).toBe('created')
    expect(result.repositories[0]?.notes.join('\n')).not.toMatch(/ordered by tag name/)
    expect([high, middle, low].map((m) => decisionOf(result, m))).toEqual(['keep', 'keep', 'keep'])
  })

  test('an image with several tags ranks by its highest', () => {
    const aliased = repository('app', [['v1.10.0', high], ['v1.9.2', middle], ['v0.1', low], ['v2.0.0', low]])
    expect(decisionOf(one(aliased, { keepTags: [], keepCount: 1 }), low)).toBe('keep')
  })

  test.each([
    ['missing', undefined],
    ['1970-01-01 (reproducible builds)', 0],
    ['one second before 1970-01-02', DAY - 1000],
  ])('created %s counts as undated: older-than never deletes it', (_name, created) => {
    const undated = image('undated', created === undefined ? {} : { created })
    const old = image('old', { created: daysAgo(100) })
    const result = one(repository('app', [['a', undated], ['b', old]]), {
      keepTags: [],
      keepCount: 0,
      olderThanMs: DAY,
    })
    expect(planned(result, undated)).toMatchObject({
      decision: 'keep',
      reason: 'undated, so older-than cannot show it is old',
    })
    expect(decisionOf(result, old)).toBe('delete')
  })

  test('an index without a date of its own takes its newest child', () => {
    const child1 = image('c1', { created: daysAgo(10) })
    const child2 = image('c2', { created: daysAgo(1) })
    const multi = index('multi', [child1, child2])
    const single = image('single', { created: daysAgo(5) })
    const result = one(repository('app', [['x', multi], ['y', single]], { others: [child1, child2] }), {
      keepTags: [],
      keepCount: 1,
    })
    expect(result.repositories[0]?.order).toBe('created')
    expect(planned(result, multi)).toMatchObject({ created: daysAgo(1), decision: 'keep' })
    expect(decisionOf(result, single)).toBe('delete')
  })
})

describe('indexes and their children', () => {
  const amd = image('amd64', { created: daysAgo(3) })
  const arm = image('arm64', { created: daysAgo(3) })
  const shared = image('shared', { created: daysAgo(3) })
  const oldIndex = index('old', [amd, shared])
  const newIndex = index('new', [arm, shared])
  const newer = image('newer', { created: daysAgo(1) })
  const repo = repository('app', [['v1', oldIndex], ['v2', newIndex], ['v3', newer]], { others: [amd, arm, shared] })
  const result = one(repo, { keepTags: [] })
  const short = (m: Manifest) => `${m.digest.slice(0, 19)}…`

  test.each([
    ['the older index', oldIndex, 'image', 'delete', 'beyond keep-count 2'],
    ['the newer index', newIndex, 'image', 'keep', 'among the 2 newest'],
    ['a child of the deleted index only', amd, 'child', 'delete', `child of deleted index ${short(oldIndex)}`],
    ['a child of the kept index', arm, 'child', 'keep', `child of kept index ${short(newIndex)}`],
    ['a child shared by a kept and a deleted index', shared, 'child', 'keep', `child of kept index ${short(newIndex)}`],
  ])('%s', (_name, manifest, role, decision, reason) => {
    expect(planned(result, manifest)).toMatchObject({ role, decision, reason })
  })

  test('children name their index as parent; an index is deleted before its children', () => {
    expect(planned(result, amd).parent).toBe(oldIndex.digest)
    const [indexAt, childAt] = positions(result, [oldIndex, amd])
    expect(indexAt).toBeLessThan(childAt as number)
  })

  test("an index's size includes its children's", () => {
    expect(planned(result, amd).size).toBe(100 + 10 + 1000)
    expect(planned(result, oldIndex).size).toBe(50 + 2 * (100 + 10 + 1000))
  })

  test('a tagged child of a deleted index has its own decision', () => {
    const tagged = repository('app', [['v1', oldIndex], ['v2', newIndex], ['v3', newer], ['amd', amd]], {
      others: [arm, shared],
    })
    const kept = one(tagged, { keepTags: ['amd'] })
    expect(planned(kept, amd)).toMatchObject({ role: 'image', decision: 'keep', reason: 'tag amd matches keep-tags' })
    const own = one(tagged, { keepTags: [], keepCount: 2 })
    expect(decisionOf(own, oldIndex)).toBe('delete')
    expect(planned(own, amd)).toMatchObject({ role: 'image', decision: 'delete', reason: 'beyond keep-count 2' })
  })

  test('a tagged child of a kept index stays, whatever its own rank', () => {
    const tagged = repository('app', [['v2', newIndex], ['arm', arm], ['v3', newer]], { others: [shared] })
    expect(planned(one(tagged, { keepTags: ['v2'], keepCount: 1 }), arm)).toMatchObject({
      decision: 'keep',
      reason: `child of kept index ${short(newIndex)}`,
    })
  })
})

describe('signatures and referrers', () => {
  const kept = image('kept', { created: daysAgo(1) })
  const gone = image('gone', { created: daysAgo(10) })
  const missing = image('missing')
  const sigKept = image('sig-kept', { created: daysAgo(0) })
  const sigGone = image('sig-gone', { created: daysAgo(0) })
  const attGone = image('att-gone', { created: daysAgo(0) })
  const orphan = image('orphan-sig')
  const refKept = image('ref-kept', { subject: kept })
  const refGone = image('ref-gone', { subject: gone })
  const refOfRef = image('ref-of-ref', { subject: refGone })
  const refOrphan = image('ref-orphan', { subject: missing })
  const repo = repository(
    'app',
    [
      ['v2', kept],
      ['v1', gone],
      [signatureTag(kept), sigKept],
      [signatureTag(gone), sigGone],
      [signatureTag(gone, 'att'), attGone],
      [signatureTag(missing), orphan],
    ],
    { others: [refKept, refGone, refOfRef, refOrphan] },
  )
  const result = one(repo, { keepTags: [], keepCount: 1 })
  const short = (m: Manifest) => `${m.digest.slice(0, 19)}…`

  test.each([
    ['signature of a kept image', sigKept, 'signature', 'keep', `signature of a kept image ${short(kept)}`],
    ['signature of a deleted image', sigGone, 'signature', 'delete', `signature of a deleted image ${short(gone)}`],
    ['attestation of a deleted image', attGone, 'signature', 'delete', `signature of a deleted image ${short(gone)}`],
    ['orphan signature', orphan, 'signature', 'keep', 'orphan signature: its subject is not in the repository (kept)'],
    ['referrer of a kept image', refKept, 'referrer', 'keep', `referrer of a kept image ${short(kept)}`],
    ['referrer of a deleted image', refGone, 'referrer', 'delete', `referrer of a deleted image ${short(gone)}`],
    ['referrer of a deleted referrer', refOfRef, 'referrer', 'delete',
      `referrer of a deleted manifest ${short(refGone)}`],
    ['orphan referrer', refOrphan, 'referrer', 'keep', 'orphan referrer: its subject is not in the repository (kept)'],
  ])('%s', (_name, manifest, role, decision, reason) => {
    expect(planned(result, manifest)).toMatchObject({ role, decision, reason })
  })

  test('signatures never count toward keep-count, even when newest', () => {
    expect(decisionOf(result, kept)).toBe('keep')
    expect(decisionOf(one(repo, { keepTags: [], keepCount: 2 }), gone)).toBe('keep')
  })

  test('signatures name their subject as parent, also when it is missing', () => {
    expect(planned(result, sigGone).parent).toBe(gone.digest)
    expect(planned(result, orphan).parent).toBe(missing.digest)
  })

  test('orphans are noted', () => {
    expect(result.repositories[0]?.notes.join('\n')).toMatch(/2 signature\(s\) or referrer\(s\) whose subject/)
  })

  test('signatures and referrers are deleted before their subject', () => {
    const [sig, att, ref, refRef, subject] = positions(result, [sigGone, attGone, refGone, refOfRef, gone])
    expect(Math.max(sig as number, att as number, ref as number)).toBeLessThan(subject as number)
    expect(refRef).toBeLessThan(ref as number)
  })

  test('a referrer of an index goes before the index, which goes before its children', () => {
    const child = image('child', { created: daysAgo(9) })
    const multi = index('multi', [child])
    const attestation = image('attestation', { subject: multi })
    const childSig = image('child-sig')
    const repo2 = repository('app', [['v2', kept], ['v1', multi], [signatureTag(child), childSig]], {
      others: [child, attestation],
    })
    const result2 = one(repo2, { keepTags: [], keepCount: 1 })
    expect([attestation, multi, child, childSig].map((m) => decisionOf(result2, m))).toEqual([
      'delete', 'delete', 'delete', 'delete',
    ])
    const [att, idx, ch, sig] = positions(result2, [attestation, multi, child, childSig])
    expect(att).toBeLessThan(idx as number)
    expect(idx).toBeLessThan(ch as number)
    expect(sig).toBeLessThan(ch as number)
  })
})

describe('follower tags: the OCI referrers tag schema and any suffix (DECISIONS 23)', () => {
  // Three dated images, keep-count 2: the newest two stay. Each has a referrers index tagged `sha256-<hex>`, listing
  // an SBOM that refers to it; oldest also has a follower tag with a suffix no tool we know uses.
  const newest = image('newest', { created: daysAgo(1) })
  const middle = image('middle', { created: daysAgo(2) })
  const oldest = image('oldest', { created: daysAgo(3) })
  const sbom = (subject: Manifest, label: string) => image(`sbom-${label}`, { subject })
  const sboms = [sbom(newest, 'newest'), sbom(middle, 'middle'), sbom(oldest, 'oldest')]
  // An undated artifact index (as oras writes it): if it counted as an image it would switch the order to tag names.
  const referrers = sboms.map((s, i) => index(`referrers-${i}`, [s]))
  const custom = image('custom-follower')
  const repo = repository(
    'app',
    [
      ['latest', newest],
      ['v2', middle],
      ['v10', oldest],
      [referrersTag(newest), referrers[0] as Manifest],
      [referrersTag(middle), referrers[1] as Manifest],
      [referrersTag(oldest), referrers[2] as Manifest],
      [signatureTag(oldest, 'notation.v1'), custom],
    ],
    { others: sboms },
  )
  const result = one(repo, { keepTags: [], keepCount: 2 })

  test('takes no keep-count slot, needs no date, and never switches the repository to tag-name order', () => {
    expect(result.repositories[0]?.order).toBe('created')
    expect([newest, middle, oldest].map((m) => decisionOf(result, m))).toEqual(['keep', 'keep', 'delete'])
  })

  test('a referrers index follows its subject, and so do the manifests it lists', () => {
    expect(planned(result, referrers[0] as Manifest)).toMatchObject({
      role: 'signature', decision: 'keep', parent: newest.digest,
      reason: expect.stringMatching(/^referrers index of a kept image/),
    })
    expect(planned(result, sboms[0] as Manifest)).toMatchObject({ decision: 'keep' })
    expect(planned(result, referrers[2] as Manifest)).toMatchObject({ role: 'signature', decision: 'delete' })
    expect(planned(result, sboms[2] as Manifest)).toMatchObject({ decision: 'delete' })
    expect(planned(result, custom)).toMatchObject({ role: 'signature', decision: 'delete', parent: oldest.digest })
  })

  test('a listed manifest without a subject field still follows the subject of its referrers index', () => {
    const plain = image('plain-artifact')
    const list = index('plain-referrers', [plain])
    const r = one(repository('app', [['v1', newest], ['v0', oldest], [referrersTag(oldest), list]], { others: [plain] }),
      { keepTags: [], keepCount: 1 })
    expect([list, plain].map((m) => decisionOf(r, m))).toEqual(['delete', 'delete'])
    const [l, p, subject] = positions(r, [list, plain, oldest])
    expect(l).toBeLessThan(p as number)
    expect(p).toBeLessThan(subject as number)
  })

  test('followers are deleted before their subject: the index, then what it lists, then the subject', () => {
    const [idx, s, custom2, subject] = positions(result, [referrers[2] as Manifest, sboms[2] as Manifest, custom, oldest])
    expect(idx).toBeLessThan(s as number)
    expect(Math.max(s as number, custom2 as number)).toBeLessThan(subject as number)
  })

  test('a referrers index whose subject is absent is kept as an orphan', () => {
    const absent = image('absent')
    const list = index('orphan-referrers', [sboms[0] as Manifest])
    const r = one(repository('app', [['v1', newest], [referrersTag(absent), list]], { others: [sboms[0] as Manifest] }))
    expect(planned(r, list)).toMatchObject({ decision: 'keep', reason: expect.stringMatching(/^orphan signature/) })
  })
})

describe('manifests the planner cannot judge are kept (DECISIONS 11)', () => {
  const v1 = image('schema1', {
    kind: 'schema1',
    mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  })
  const odd = image('odd', { kind: 'unknown', mediaType: 'application/x-odd' })
  const ok = image('ok', { created: daysAgo(1) })
  const repo: RepositoryInventory = repository('app', [['a', v1], ['b', odd], ['c', ok]])
  repo.tags.set('d', 'sha256:' + 'f'.repeat(64))
  const result = one(repo, { keepTags: [], keepCount: 0, allowDeleteAll: true })

  test.each([
    [v1, 'schema1 manifest: not supported, kept'],
    [odd, 'unknown media type application/x-odd: kept'],
  ])('%#', (manifest, reason) => {
    expect(planned(result, manifest)).toMatchObject({ decision: 'keep', reason })
  })

  test('a tag pointing at a manifest that was not read keeps it, as kind unknown', () => {
    const entry = result.repositories[0]?.manifests.find((m) => m.tags.includes('d'))
    expect(entry).toMatchObject({ decision: 'keep', kind: 'unknown', reason: 'the manifest could not be read (kept)' })
    expect(decisionOf(result, ok)).toBe('delete')
    expect(result.repositories[0]?.notes.join('\n')).toMatch(/3 unreadable, schema1 or unknown manifest\(s\) kept/)
    expect(result.repositories[0]?.order, 'they do not make the repository undated').toBe('created')
  })
})

describe('repositories that are skipped', () => {
  const a = image('a', { created: daysAgo(1) })
  const b = image('b', { created: daysAgo(2) })

  test('an incomplete listing deletes nothing', () => {
    const result = one(repository('app', [['v1', a], ['v2', b]], { incomplete: 'tags/list failed: 500' }), {
      keepTags: [],
      keepCount: 0,
      allowDeleteAll: true,
    })
    expect(result.repositories[0]?.skipped).toBe('the listing is incomplete: tags/list failed: 500')
    expect(planned(result, a)).toMatchObject({
      decision: 'keep',
      reason: 'beyond keep-count 0, but kept: repository skipped',
    })
    expect(result.reclaimableBytes).toBe(0)
  })

  test.each([
    [false, 'keep', 'the plan would delete every image of this repository; set allow-delete-all: true to allow that'],
    [true, 'delete', undefined],
  ] as const)('allow-delete-all %s: every image is %s', (allowDeleteAll, decision, skipped) => {
    const sig = image('sig')
    const result = one(repository('app', [['v1', a], ['v2', b], [signatureTag(a), sig]]), {
      keepTags: [],
      keepCount: 0,
      allowDeleteAll,
    })
    expect(result.repositories[0]?.skipped).toBe(skipped)
    expect([a, b, sig].map((m) => decisionOf(result, m))).toEqual([decision, decision, decision])
  })

  test('a repository with no images is not skipped for having none left', () => {
    const stale = image('stale', { created: daysAgo(9) })
    const result = one(repository('app', [], { untagged: [stale] }), { untagged: 'delete' })
    expect(result.repositories[0]?.skipped).toBeUndefined()
    expect(decisionOf(result, stale)).toBe('delete')
  })
})

describe('untagged manifests (issue 7)', () => {
  const current = image('current', { created: daysAgo(0) })
  const prev1 = image('prev1', { created: daysAgo(1) })
  const prev2 = image('prev2', { created: daysAgo(2) })
  const prev3 = image('prev3', { created: daysAgo(3) })
  const undated = image('undated')
  const amd = image('amd', { created: daysAgo(5) })
  const arm = image('arm', { created: daysAgo(5) })
  const multi = index('multi', [amd, arm])
  const oldAmd = image('old-amd', { created: daysAgo(20) })
  const oldMulti = index('old-multi', [oldAmd, arm])
  const sigOfCurrent = image('sig')
  const referrerOfCurrent = image('ref', { subject: current })
  const referrerOfPrev = image('ref-prev', { subject: prev1 })
  const repo = repository('app', [['latest', current], ['multi', multi], [signatureTag(current), sigOfCurrent]], {
    untagged: [prev1, prev2, prev3, undated, amd, arm, oldMulti, oldAmd, referrerOfCurrent, referrerOfPrev],
  })
  const short = (m: Manifest) => `${m.digest.slice(0, 19)}…`
  const unreferenced = 'untagged, and nothing that stays refers to it'

  test.each([
    ['keep', 0, undefined, prev1, 'untagged', 'keep', 'untagged: keep'],
    ['delete', 0, undefined, prev1, 'untagged', 'delete', unreferenced],
    ['delete', 0, undefined, undated, 'untagged', 'delete', unreferenced],
    ['delete', 2, undefined, prev1, 'untagged', 'keep', 'among the 2 newest untagged'],
    ['delete', 2, undefined, prev2, 'untagged', 'keep', 'among the 2 newest untagged'],
    ['delete', 2, undefined, prev3, 'untagged', 'delete', unreferenced],
    ['delete', 2, undefined, undated, 'untagged', 'keep',
      'untagged and undated, so keep-untagged cannot rank it (kept)'],
    ['delete', 0, 1.5 * DAY, prev1, 'untagged', 'keep', 'untagged and younger than older-than'],
    ['delete', 0, 1.5 * DAY, prev2, 'untagged', 'delete', unreferenced],
    ['delete', 0, 1.5 * DAY, undated, 'untagged', 'keep', 'untagged and undated, so older-than cannot show it is old'],
    ['delete', 0, undefined, amd, 'child', 'keep', `child of kept index ${short(multi)}`],
    ['delete', 0, undefined, arm, 'child', 'keep', `child of kept index ${short(multi)}`],
    ['delete', 0, undefined, oldMulti, 'untagged', 'delete', unreferenced],
    ['delete', 0, undefined, oldAmd, 'child', 'delete', `child of deleted index ${short(oldMulti)}`],
    ['keep', 0, undefined, oldAmd, 'child', 'keep', `child of kept index ${short(oldMulti)}`],
    ['delete', 0, undefined, referrerOfCurrent, 'referrer', 'keep', `referrer of a kept image ${short(current)}`],
    ['delete', 0, undefined, referrerOfPrev, 'referrer', 'delete', `referrer of a deleted manifest ${short(prev1)}`],
    ['delete', 0, undefined, sigOfCurrent, 'signature', 'keep', `signature of a kept image ${short(current)}`],
    ['delete', 0, undefined, current, 'image', 'keep', 'tag latest matches keep-tags'],
  ] as const)('untagged %s, keep-untagged %i, older-than %s: %#', (...row) => {
    const [mode, keepUntagged, olderThanMs, m, role, decision, reason] = row
    const result = one(repo, { untagged: mode, keepUntagged, olderThanMs })
    expect(planned(result, m)).toMatchObject({ role, decision, reason })
  })

  test('untagged indexes go before their children, referrers before their subjects', () => {
    const result = one(repo, { untagged: 'delete' })
    const [index1, child, referrer, subject] = positions(result, [oldMulti, oldAmd, referrerOfPrev, prev1])
    expect(index1).toBeLessThan(child as number)
    expect(referrer).toBeLessThan(subject as number)
  })

  test('storage not listed: nothing untagged is deleted, and the note says why', () => {
    const unlisted = repository('app', [['latest', current], ['multi', multi]], { others: [amd, arm, prev1],
      untaggedNote: 'no storage-path' })
    const result = one(unlisted, { untagged: 'delete' })
    expect(planned(result, prev1)).toMatchObject({
      decision: 'keep',
      reason: 'untagged, but not listed from storage (kept)',
    })
    const notes = result.repositories[0]?.notes
    expect(notes).toContain('untagged manifests were not listed, so none is deleted: no storage-path')
  })

  test('digests listed from storage that could not be read are noted', () => {
    const result = one({ ...repository('app', [['latest', current]]), untagged: ['sha256:' + 'e'.repeat(64)] })
    const notes = result.repositories[0]?.notes
    expect(notes).toContain('1 untagged manifest(s) listed from storage could not be read; kept')
  })
})

describe('reclaimable bytes', () => {
  const base = blob('debian-base', 50_000)
  const appOld = image('app-old', { created: daysAgo(9), layers: [base, blob('app-old', 700)] })
  const appNew = image('app-new', { created: daysAgo(1), layers: [base, blob('app-new', 800)] })
  const webOld = image('web-old', { created: daysAgo(9), layers: [base, blob('web-old', 300)] })
  const webNew = image('web-new', { created: daysAgo(1), layers: [blob('web-new', 900)] })
  const webSig = image('web-sig', { layers: [blob('sig', 5)] })
  const bytes = (m: Manifest, unique: number) => m.size + 10 + unique

  test.each([
    ['base layer kept by the new app image in the same repository', [],
      bytes(appOld, 700) + bytes(webOld, 300) + bytes(webSig, 5)],
    ['base layer kept by a repository that is skipped', ['web'], bytes(appOld, 700)],
  ])('%s', (_name, incomplete, expected) => {
    const repos = [
      repository('team/app', [['v1', appOld], ['v2', appNew]]),
      repository('team/web', [['v1', webOld], ['v2', webNew], [signatureTag(webOld), webSig]], {
        ...(incomplete.includes('web') ? { incomplete: 'test' } : {}),
      }),
    ]
    const result = plan({ repositories: repos }, rules({ keepTags: [], keepCount: 1 }), NOW)
    expect(result.reclaimableBytes).toBe(expected)
  })

  test('a base layer only deleted images use is reclaimable, once', () => {
    const repos = [repository('team/app', [['v1', appOld], ['v2', appNew]]), repository('team/web', [['v1', webOld]])]
    const result = plan({ repositories: repos }, rules({ keepTags: [], keepCount: 0, allowDeleteAll: true }), NOW)
    expect(result.reclaimableBytes).toBe(50_000 + bytes(appOld, 700) + bytes(appNew, 800) + bytes(webOld, 300))
  })

  test('a manifest body kept in another repository is not reclaimable', () => {
    const repos = [repository('a', [['v1', appOld], ['v2', appNew]]), repository('b', [['v1', appOld]])]
    const result = plan({ repositories: repos }, rules({ keepTags: [], keepCount: 1 }), NOW)
    expect(decisionOf(result, appOld)).toBe('delete')
    expect(result.reclaimableBytes).toBe(0)
  })
})
