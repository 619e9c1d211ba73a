// What the planned deletions free, counted one repository at a time: blobs (manifest bodies, configs, layers) live
// once in the registry's blob store, so one is freed only when deleted manifests reference it and no kept manifest in
// any repository does. The ledger keeps one number (size and three marks) per blob digest, not the manifests, so a run
// can drop each repository's inventory as soon as it is planned.
import type { Blob, PlannedManifest, RepositoryInventory, RepositoryPlan } from './types.js'

const KEPT = 1
/** Referenced by a deletion that happens whether untagged images are deleted or not. */
const FREED = 2
/** Referenced by a deletion that happens because an untagged image goes. */
const FREED_WITH_UNTAGGED = 4

/** Marks live in the three low bits of a blob's entry, its size above them. */
const MARKS = 8
/** Sizes beyond this (about a petabyte: only a lying descriptor) count as this, so size * MARKS + marks stays exact. */
const LARGEST = 2 ** 50 - 1

/** Blob sizes by digest, as GC looks them up. */
export type BlobSizes = Pick<ReadonlyMap<string, number>, 'has' | 'get'>

export class BlobLedger implements BlobSizes {
  /** Every blob seen: size * MARKS + marks. One map, as a run can see 150,000 blobs. */
  private readonly blobs = new Map<string, number>()

  /** Adds one repository: what its plan deletes and keeps. */
  record(repo: RepositoryInventory, plan: RepositoryPlan): void {
    const deleted = new Map(plan.manifests.filter((m) => m.decision === 'delete').map((m) => [m.digest, m]))
    const byUntagged = untaggedDeletions(plan)
    for (const manifest of repo.manifests.values()) {
      const planned = deleted.get(manifest.digest)
      const mark = !planned ? KEPT : byUntagged.has(planned) ? FREED_WITH_UNTAGGED : FREED
      this.mark({ digest: manifest.digest, size: manifest.size }, mark)
      for (const blob of manifest.blobs) this.mark(blob, mark)
    }
  }

  /** A blob's size, for GC, which reports digests while the report gives bytes. */
  has(digest: string): boolean {
    return this.blobs.has(digest)
  }

  get(digest: string): number | undefined {
    const entry = this.blobs.get(digest)
    return entry === undefined ? undefined : Math.floor(entry / MARKS)
  }

  /** Bytes the deletions free, and the part of them freed only because untagged images go. */
  reclaimable(): { reclaimableBytes: number; untaggedReclaimableBytes: number } {
    let all = 0
    let withoutUntagged = 0
    for (const entry of this.blobs.values()) {
      const marks = entry % MARKS
      if (marks & KEPT) continue
      const size = Math.floor(entry / MARKS)
      all += size
      // Without the untagged deletions, what they reference stays.
      if (!(marks & FREED_WITH_UNTAGGED)) withoutUntagged += size
    }
    return { reclaimableBytes: all, untaggedReclaimableBytes: all - withoutUntagged }
  }

  /** The last size seen for a digest counts, as before; the marks add up. */
  private mark(blob: Blob, mark: number): void {
    const marks = (this.blobs.get(blob.digest) ?? 0) % MARKS
    this.blobs.set(blob.digest, Math.min(blob.size, LARGEST) * MARKS + (marks | mark))
  }
}

/** Deletions that happen because an untagged image goes: the image itself, its children, signatures and referrers. */
function untaggedDeletions(plan: RepositoryPlan): Set<PlannedManifest> {
  const out = new Set<PlannedManifest>()
  const byDigest = new Map(plan.manifests.map((m) => [m.digest, m]))
  const rooted = (m: PlannedManifest | undefined, depth: number): boolean =>
    m !== undefined &&
    depth < 100 &&
    (m.role === 'untagged' || (m.role !== 'image' && m.parent !== undefined && rooted(byDigest.get(m.parent), depth + 1)))
  for (const m of plan.manifests) if (m.decision === 'delete' && rooted(m, 0)) out.add(m)
  return out
}
