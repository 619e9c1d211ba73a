// Untagged manifests (issue 7): the v2 API cannot list them, so they are listed from the storage tree on the
// registry host (over the GC shell) and then read through the API like any other manifest.
// Fail closed: when the storage cannot be listed, no repository gets an untagged list, and the plan says why.
import type { Shell } from './gc/shell.js'
import { listRevisions } from './gc/storage.js'
import { ConfigDates, readManifests } from './inventory.js'
import type { RegistryClient } from './registry/client.js'
import type { Inventory, Logger, RepositoryInventory, Settings } from './types.js'

export async function addUntagged(
  inv: Inventory,
  client: RegistryClient,
  shell: Shell | undefined,
  settings: Settings,
  log: Logger,
): Promise<Inventory> {
  const unlisted = (note: string): Inventory => ({
    repositories: inv.repositories.map((r) => ({ ...r, untagged: undefined, untaggedNote: note })),
  })
  if (!shell || !settings.gc.storagePath) {
    return unlisted('untagged manifests are listed from the storage tree: set garbage-collect (ssh or local) and storage-path')
  }
  let revisions: Map<string, string[]>
  try {
    revisions = await listRevisions(shell, settings.gc.storagePath)
  } catch (error) {
    const note = `the storage could not be listed, so no untagged manifest is deleted: ${(error as Error).message}`
    log.warning(note)
    return unlisted(note)
  }
  // Their configs (for `created`) only where a rule needs an age: keep-untagged ranks by it, older-than compares it.
  const dated = settings.keepUntagged > 0 || settings.olderThanMs !== undefined
  const dates = dated ? new ConfigDates(client) : undefined
  const repositories = await Promise.all(
    inv.repositories.map((repo) => withUntagged(repo, revisions.get(repo.name) ?? [], client, settings, dates)),
  )
  return { repositories }
}

async function withUntagged(
  repo: RepositoryInventory,
  revisions: string[],
  client: RegistryClient,
  settings: Settings,
  dates: ConfigDates | undefined,
): Promise<RepositoryInventory> {
  if (repo.incomplete) return repo
  const tagged = new Set(repo.tags.values())
  const untagged = revisions.filter((digest) => !tagged.has(digest))
  const next: RepositoryInventory = { ...repo, manifests: new Map(repo.manifests), untagged }
  try {
    await readManifests(client, next, untagged, { concurrency: settings.concurrency, dates })
    return next
  } catch (error) {
    // A manifest the storage lists but the API cannot serve: this repository is no longer known completely.
    return { ...repo, incomplete: `reading its untagged manifests failed: ${(error as Error).message}` }
  }
}
