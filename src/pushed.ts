// Push time (`age-from: pushed`, DECISIONS 32): when a manifest was last pushed or tagged in its repository, from the
// modification times of its storage links. Measured on Distribution 2.8.2: every manifest PUT - a push, a re-push, a
// re-tag of an existing digest, a PUT by digest - rewrites the revision link of that digest, and a PUT by tag also
// rewrites the tag's current link and its index entry for the digest. Nothing else touches them.
import type { LinkTimes } from './gc/storage.js'
import type { RepositoryInventory } from './types.js'

/**
 * digest -> push time for a repository read through the API after the links were listed. A digest is left out
 * (undated: `older-than` never deletes it) when its revision link was not listed, or when a tag points at it that the
 * listing never saw point there (the tag moved after the listing: it was just tagged). Each tag's links count too,
 * so an age errs young, never old.
 */
export function pushTimes(repo: RepositoryInventory, times: LinkTimes | undefined): Map<string, number> {
  const pushed = new Map<string, number>()
  if (!times) return pushed
  for (const digest of repo.manifests.keys()) {
    const revision = times.revisions.get(digest)
    if (revision !== undefined) pushed.set(digest, revision)
  }
  const moved = new Set<string>()
  for (const [tag, digest] of repo.tags) {
    const links = times.tags.get(tag)
    const index = links?.index.get(digest)
    if (index === undefined) {
      moved.add(digest)
      continue
    }
    const known = pushed.get(digest)
    if (known !== undefined) pushed.set(digest, Math.max(known, index, links?.current ?? 0))
  }
  for (const digest of moved) pushed.delete(digest)
  return pushed
}
