// The planner's estimate of what deleting untagged images adds (the summary's "… of which untagged").
import { describe, expect, test } from 'vitest'
import { plan } from '../../src/plan.js'
import { NOW, blob, daysAgo, image, index, repository, rules, signatureTag } from './inventory-builder.js'
import type { Manifest } from '../../src/types.js'

describe('untaggedReclaimableBytes', () => {
  const base = blob('base', 50_000)
  const current = image('current', { created: daysAgo(0), layers: [base, blob('current', 700)] })
  const prev = image('prev', { created: daysAgo(1), layers: [base, blob('prev', 800)] })
  const shared = blob('shared-with-tagged', 300)
  const prevShared = image('prev-shared', { created: daysAgo(2), layers: [base, shared] })
  const oldTagged = image('old-tagged', { created: daysAgo(30), layers: [shared, blob('old-tagged', 900)] })
  const amd = image('old-amd', { created: daysAgo(3), layers: [base, blob('old-amd', 400)] })
  const oldIndex = index('old-index', [amd])
  const prevSig = image('prev-sig', { layers: [blob('prev-sig', 5)] })
  // Each image: its 100-byte body, a 10-byte config and its own layer; the base layer stays with `current`.
  const own = (m: Manifest, layer: number) => m.size + 10 + layer

  test.each([
    ['untagged: keep deletes none', 'keep', [prev], [], 0],
    ['a shared base layer that stays is not counted', 'delete', [prev], [], own(prev, 800)],
    ['its signature goes with it', 'delete', [prev], [[signatureTag(prev), prevSig]], own(prev, 800) + own(prevSig, 5)],
    ['an untagged index brings its children', 'delete', [oldIndex, amd], [], oldIndex.size + own(amd, 400)],
    // old-tagged goes anyway (beyond keep-count), but the layer it shares is freed only because prev-shared goes too.
    ['what deleting untagged images adds: a layer shared with a deleted tagged image', 'delete', [prevShared], [],
      prevShared.size + 10 + shared.size],
  ] as const)('%s', (_name, mode, untagged, extraTags, expected) => {
    const repo = repository(
      'app',
      [['latest', current], ['v0', oldTagged], ...(extraTags as unknown as [string, Manifest][])],
      { untagged: [...untagged] },
    )
    const result = plan({ repositories: [repo] }, rules({ untagged: mode, keepCount: 0 }), NOW)
    expect(result.untaggedReclaimableBytes).toBe(expected)
    // Part of the whole estimate, which also counts the tagged deletion (old-tagged, and the layer it shares).
    const sharedOnce = untagged.includes(prevShared) ? 0 : shared.size
    expect(result.reclaimableBytes).toBe(expected + own(oldTagged, 900) + sharedOnce)
  })
})
