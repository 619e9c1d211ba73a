// Untagged manifests (issue 7): the v2 API cannot list them, so they are listed from the storage tree on the
// registry host (over the GC shell) and then read through the API like any other manifest.
// Fail closed: when the storage cannot be listed, no repository gets an untagged list, and the plan says why.
import type { Shell } from './gc/shell.js'
import { listRevisions } from './gc/storage.js'
import { type ConfigDates, readManifests } from './inventory.js'
import type { InventoryReads } from './cache.js'
import type { Logger, RepositoryInventory, Settings } from './types.js'

/** Every manifest revision in storage by repository, or why there is no such listing. */
export type RevisionListing = { revisions: Map<string, string[]> } | { note: string }

/**
 * Lists the revisions once, before any tag is read: a manifest pushed after this listing is never taken for an
 * untagged one, whatever its tags turn out to be.
 */
export async function listUntagged(shell: Shell | undefined, settings: Settings, log: Logger): Promise<RevisionListing> {
  if (!shell || !settings.gc.storagePath) {
    return { note: 'untagged manifests are listed from the storage tree: set garbage-collect (ssh or local) and storage-path' }
  }
  try {
    return { revisions: await listRevisions(shell, settings.gc.storagePath) }
  } catch (error) {
    const note = `the storage could not be listed, so no untagged manifest is deleted: ${(error as Error).message}`
    log.warning(note)
    return { note }
  }
}

/**
 * The repository with its untagged manifests read (their configs too where a rule needs an age: keep-untagged ranks
 * by it, older-than compares it).
 */
export async function addUntagged(
  repo: RepositoryInventory,
  listing: RevisionListing,
  client: InventoryReads,
  settings: Settings,
  dates: ConfigDates,
): Promise<RepositoryInventory> {
  if ('note' in listing) return { ...repo, untagged: undefined, untaggedNote: listing.note }
  if (repo.incomplete) return repo
  const tagged = new Set(repo.tags.values())
  const untagged = (listing.revisions.get(repo.name) ?? []).filter((digest) => !tagged.has(digest))
  const next: RepositoryInventory = { ...repo, manifests: new Map(repo.manifests), untagged }
  const dated = settings.keepUntagged > 0 || settings.olderThanMs !== undefined
  try {
    await readManifests(client, next, untagged, { concurrency: settings.concurrency, ...(dated ? { dates } : {}) })
    return next
  } catch (error) {
    // A manifest the storage lists but the API cannot serve: this repository is no longer known completely.
    return { ...repo, incomplete: `reading its untagged manifests failed: ${(error as Error).message}` }
  }
}
