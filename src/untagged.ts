// Untagged manifests (issues 7 and 14): the v2 API cannot list them, so they are listed on the registry host (over the
// GC shell), from the storage tree or by the collector's own read-only run, and then read through the API like any
// other manifest. Fail closed: when they cannot be listed, no repository gets an untagged list, and the plan says why.
import type { Shell } from './gc/shell.js'
import { listRevisions } from './gc/storage.js'
import { listUntaggedByCollector } from './gc/untagged-listing.js'
import { type ConfigDates, readManifests } from './inventory.js'
import type { InventoryReads } from './cache.js'
import type { Logger, RepositoryInventory, Settings, UntaggedListingSource } from './types.js'

/**
 * Per repository, the manifests that may be untagged: every revision in the storage tree, or those the collector found
 * untagged. Either way the tags read afterwards decide. Or why there is no such listing.
 */
export type RevisionListing =
  | { digests: Map<string, string[]>; source: UntaggedListingSource; /** for the summary */ warning?: string }
  | { note: string }

const NOT_LISTED = 'so no untagged manifest is deleted'
const FALLBACK = "Listing untagged manifests with the collector's dry run instead (untagged-source: auto)."

/**
 * Lists once, before any tag is read: a manifest pushed after this listing is never taken for an untagged one,
 * whatever its tags turn out to be. `untagged-source: auto` lists the storage tree where storage-path is given and can
 * be listed, and asks the collector otherwise.
 */
export async function listUntagged(shell: Shell | undefined, settings: Settings, log: Logger): Promise<RevisionListing> {
  const { gc, untaggedSource } = settings
  if (!shell) return { note: 'untagged manifests are listed on the registry host: set garbage-collect (ssh or local)' }
  let storageProblem: string | undefined
  if (untaggedSource === 'storage' || (untaggedSource === 'auto' && gc.storagePath)) {
    if (!gc.storagePath) return { note: 'untagged-source storage lists the storage tree: set storage-path' }
    try {
      return { digests: await listRevisions(shell, gc.storagePath), source: 'storage' }
    } catch (error) {
      storageProblem = (error as Error).message
      if (untaggedSource === 'storage') {
        const note = `the storage could not be listed, ${NOT_LISTED}: ${storageProblem}`
        log.warning(note)
        return { note }
      }
      log.warning(`${storageProblem} ${FALLBACK}`)
    }
  }
  try {
    const digests = await listUntaggedByCollector(shell, gc, log)
    return { digests, source: 'collector', ...(storageProblem ? { warning: `${storageProblem} ${FALLBACK}` } : {}) }
  } catch (error) {
    const also = storageProblem ? ` (the storage tree could not be listed either: ${storageProblem})` : ''
    const note = `the collector could not list the untagged manifests, ${NOT_LISTED}: ${(error as Error).message}${also}`
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
  const untagged = (listing.digests.get(repo.name) ?? []).filter((digest) => !tagged.has(digest))
  const next: RepositoryInventory = { ...repo, manifests: new Map(repo.manifests), untagged }
  const dated = settings.keepUntagged > 0 || settings.olderThanMs !== undefined
  try {
    await readManifests(client, next, untagged, { concurrency: settings.concurrency, ...(dated ? { dates } : {}) })
    return next
  } catch (error) {
    // A manifest the listing names but the API cannot serve: this repository is no longer known completely.
    return { ...repo, incomplete: `reading its untagged manifests failed: ${(error as Error).message}` }
  }
}
