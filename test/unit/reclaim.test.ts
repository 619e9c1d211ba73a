// The blob ledger keeps one number per blob (its size and three marks): what GC looks sizes up in, and what the
// estimate counts. The planner's estimates themselves are in plan.test.ts and plan-untagged-bytes.test.ts.
import { describe, expect, it } from 'vitest'
import { BlobLedger } from '../../src/reclaim.js'
import type { PlannedManifest, RepositoryInventory, RepositoryPlan } from '../../src/types.js'
import { blob, image, repository } from './inventory-builder.js'

const planOf = (repo: RepositoryInventory, deleted: string[]): RepositoryPlan => ({
  name: repo.name,
  order: 'created',
  notes: [],
  manifests: [...repo.manifests.values()].map(
    (m): PlannedManifest => ({
      digest: m.digest, tags: [], role: 'image', kind: m.kind, mediaType: m.mediaType, size: m.size,
      decision: deleted.includes(m.digest) ? 'delete' : 'keep', reason: 'test',
    }),
  ),
})

describe('the blob ledger', () => {
  it('gives GC every size it saw, and counts a blob kept in another repository as not freed', () => {
    const shared = blob('shared', 5_000)
    const gone = image('gone', { layers: [shared, blob('own', 700)] })
    const kept = image('kept', { layers: [shared] })
    const ledger = new BlobLedger()
    const a = repository('a', [['v1', gone]])
    const b = repository('b', [['v1', kept]])
    ledger.record(a, planOf(a, [gone.digest]))
    ledger.record(b, planOf(b, []))
    expect(ledger.get(shared.digest)).toBe(5_000)
    expect(ledger.has(gone.digest)).toBe(true)
    expect(ledger.get('sha256:' + '0'.repeat(64))).toBeUndefined()
    const freed = gone.blobs.filter((x) => x.digest !== shared.digest).reduce((sum, x) => sum + x.size, gone.size)
    expect(ledger.reclaimable()).toEqual({ reclaimableBytes: freed, untaggedReclaimableBytes: 0 })
  })

  it('keeps the marks exact for a size no blob has (a lying descriptor), counting it as a petabyte', () => {
    const huge = { ...blob('huge', 1), size: Number.MAX_SAFE_INTEGER }
    const kept = image('kept', { layers: [huge] })
    const ledger = new BlobLedger()
    const repo = repository('a', [['v1', kept]])
    ledger.record(repo, planOf(repo, []))
    expect(ledger.get(huge.digest)).toBe(2 ** 50 - 1)
    expect(ledger.reclaimable().reclaimableBytes).toBe(0)
  })
})
