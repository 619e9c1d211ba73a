// The inventory: what the registry holds in the repositories this run covers, read over the v2 API.
// Fail closed per repository: anything unreadable marks that repository incomplete, and nothing in it is deleted.
import { needsListing, patternMatcher } from './patterns.js'
import { FOLLOWER_TAG, ruleChooser } from './plan.js'
import type { InventoryReads } from './cache.js'
import { forEachLimited } from './registry/limit.js'
import { ManifestUnknownError } from './registry/errors.js'
import { parseManifest } from './registry/manifest.js'
import { isImageConfigMediaType } from './registry/media-types.js'
import { inShard } from './shard.js'
import type { Logger, Manifest, RepositoryInventory, Rule, Settings } from './types.js'

export type InventorySettings = Pick<
  Settings,
  'registry' | 'repositories' | 'keepCount' | 'olderThanMs' | 'concurrency' | 'shard'
> & {
  /** The run's rules: only repositories one of them covers are read, each with its rule's needs. */
  rules?: readonly Rule[]
}

/**
 * Image ages, from config blobs: each distinct config digest is fetched once for the whole run, whichever repository
 * asks first (configs are content-addressed, so any repository holding it gives the same answer).
 */
export class ConfigDates {
  /** Answers kept as plain values (a run can see 100,000 configs); promises only while a fetch is under way. */
  private readonly known = new Map<string, number | undefined>()
  private readonly pending = new Map<string, Promise<number | undefined>>()

  constructor(private readonly client: InventoryReads) {}

  async createdOf(repository: string, configDigest: string): Promise<number | undefined> {
    if (this.known.has(configDigest)) return this.known.get(configDigest)
    let fetching = this.pending.get(configDigest)
    if (!fetching) {
      fetching = this.client.configCreated(repository, configDigest)
      this.pending.set(configDigest, fetching)
    }
    try {
      const created = await fetching
      this.known.set(configDigest, created)
      return created
    } finally {
      // After a failure too: it belongs to the repository that asked, and another repository may still read the blob.
      if (this.pending.get(configDigest) === fetching) this.pending.delete(configDigest)
    }
  }
}

export interface ReadOptions {
  concurrency: number
  /** When given, image manifests read get `created` from their config. */
  dates?: ConfigDates
}

/** Image manifests whose config is an image config (artifacts have other config types, often not JSON). */
const hasImageConfig = new WeakSet<Manifest>()

/**
 * Reads manifests by digest into `repo.manifests`, with the children of any index among them (each digest once).
 * Exported for the stage that adds untagged digests listed from storage. Errors propagate: the caller decides
 * that the repository is incomplete.
 */
export async function readManifests(
  client: InventoryReads,
  repo: RepositoryInventory,
  digests: Iterable<string>,
  options: ReadOptions,
): Promise<void> {
  let wanted = [...new Set(digests)].filter((d) => !repo.manifests.has(d))
  const read: Manifest[] = []
  while (wanted.length > 0) {
    await forEachLimited(wanted, options.concurrency, async (digest) => {
      const { manifest } = await readManifest(client, repo, digest)
      if (manifest) read.push(manifest)
    })
    wanted = [...new Set(read.flatMap((m) => m.children))].filter((d) => !repo.manifests.has(d))
  }
  if (options.dates) {
    const datable = read.filter(isDatable)
    await addDates(repo.name, datable, options.dates, options.concurrency)
  }
}

/**
 * GETs one manifest by tag or digest and parses it into `repo.manifests`, unless that digest was already read
 * (an alias: one GET per tag is still needed, as the body gives the digest). `manifest` is set when it is new.
 */
async function readManifest(
  client: InventoryReads,
  repo: RepositoryInventory,
  reference: string,
): Promise<{ digest: string; manifest?: Manifest }> {
  const got = await client.getManifest(repo.name, reference)
  if (repo.manifests.has(got.digest)) return { digest: got.digest }
  try {
    const { manifest, configMediaType } = parseManifest(got.digest, got.mediaType, got.body)
    if (isImageConfigMediaType(configMediaType)) hasImageConfig.add(manifest)
    repo.manifests.set(manifest.digest, manifest)
    return { digest: got.digest, manifest }
  } catch (error) {
    throw new Error(`${repo.name}@${got.digest} (read as ${reference}): ${(error as Error).message}`)
  }
}

/** Reads the manifest a tag points at; a tag the registry has no manifest for is named, with how to repair it. */
async function readTag(client: InventoryReads, repo: RepositoryInventory, tag: string) {
  try {
    return await readManifest(client, repo, tag)
  } catch (error) {
    if (!(error instanceof ManifestUnknownError)) throw error
    throw new Error(
      `the tag ${tag} is broken: the tag list names it, but the registry has no manifest for it (MANIFEST_UNKNOWN). ` +
        `Repair it by pushing an image to ${repo.name}:${tag} again, or by removing the tag's directory ` +
        `_manifests/tags/${tag} from the repository's storage; until then nothing in ${repo.name} is deleted`,
    )
  }
}

async function addDates(name: string, manifests: Manifest[], dates: ConfigDates, concurrency: number): Promise<void> {
  await forEachLimited(manifests, concurrency, async (m) => {
    if (!m.configDigest) return
    const created = await dates.createdOf(name, m.configDigest)
    if (created !== undefined) m.created = created
  })
}

/** Reads one repository: tags, one GET per tag, index children, and the dates the rules need. Never throws. */
export async function inventoryRepository(
  client: InventoryReads,
  name: string,
  settings: InventorySettings,
  dates: ConfigDates,
  log: Logger,
): Promise<RepositoryInventory> {
  const repo: RepositoryInventory = { name, tags: new Map(), manifests: new Map() }
  try {
    const tags = await client.tags(name)
    if (tags === undefined) repo.unknown = true
    // Configs are read after every tag's manifest, not each right after its manifest: the registry answers a run of
    // manifests and then a run of configs with less CPU than the two interleaved (issue 15: 85-89% of the minimal
    // client's tags/s with each config fetched at once, 92-96% after the barrier, 20,000 tags at concurrency 8).
    await forEachLimited(tags ?? [], settings.concurrency, async (tag) => {
      const { digest } = await readTag(client, repo, tag)
      repo.tags.set(tag, digest)
      log.progress?.tick('tags')
    })
    const children = [...repo.manifests.values()].flatMap((m) => m.children)
    await readManifests(client, repo, children, { concurrency: settings.concurrency })
    if (needsDates(repo, settings)) await addDates(name, datableImages(repo), dates, settings.concurrency)
    log.debug(`${name}: ${repo.tags.size} tags, ${repo.manifests.size} manifests`)
  } catch (error) {
    repo.incomplete = (error as Error).message
    log.warning(`${name}: could not be read completely, so nothing in it will be deleted: ${repo.incomplete}`)
  }
  return repo
}

/** Tags that name images, not cosign signatures/attestations. */
const imageTags = (repo: RepositoryInventory): [string, string][] =>
  [...repo.tags].filter(([tag]) => !FOLLOWER_TAG.test(tag))

/**
 * DECISIONS 12: `created` only where a rule needs it. Without `older-than`, a repository with no more images than
 * `keep-count` keeps them all whatever their age, so its configs are not fetched.
 */
function needsDates(repo: RepositoryInventory, settings: InventorySettings): boolean {
  if (settings.olderThanMs !== undefined) return true
  // Counted as the planner ranks: schema1 and unknown manifests are kept outside the ranking.
  const ranked = imageTags(repo)
    .map(([, digest]) => digest)
    .filter((digest) => ['image', 'index'].includes(repo.manifests.get(digest)?.kind ?? ''))
  return new Set(ranked).size > settings.keepCount
}

const isDatable = (m: Manifest): boolean => m.kind === 'image' && !m.subject && hasImageConfig.has(m)

/** Images whose age orders the repository: tagged images and the children of tagged indexes, not artifacts. */
function datableImages(repo: RepositoryInventory): Manifest[] {
  const out = new Map<string, Manifest>()
  const seen = new Set<string>()
  const visit = (digest: string): void => {
    const m = repo.manifests.get(digest)
    if (!m || seen.has(digest)) return
    seen.add(digest)
    for (const child of m.children) visit(child)
    if (isDatable(m)) out.set(digest, m)
  }
  for (const [, digest] of imageTags(repo)) visit(digest)
  return [...out.values()]
}

/** Which repositories a run covers, and what the patterns say beyond the names. */
export interface RepositorySelection {
  names: string[]
  /** Names given literally (no glob characters): one the registry does not know fails the run (DECISIONS 25). */
  literal: Set<string>
  /** Patterns with glob characters that matched no repository of the catalog: a warning (DECISIONS 25). */
  unmatched: string[]
}

/**
 * Which repositories this run covers: those `repositories` matches and (with rules) some rule covers. Named directly
 * when no pattern needs the catalog (DECISIONS 10), else from one catalog read for all the rules. The names come from
 * the rules' patterns, unless `repositories` itself names them literally (then it only bounds them, by default
 * `**`). A literal name is read even when the catalog does not list it, so that its absence is the registry's answer.
 */
export async function repositoryNames(client: InventoryReads, settings: InventorySettings): Promise<RepositorySelection> {
  const rules = settings.rules && settings.rules.length > 0 ? settings.rules : undefined
  const inRun = patternMatcher(settings.repositories)
  const chooser = rules ? ruleChooser(rules) : undefined
  const covered = (name: string): boolean => inRun(name) && (!chooser || chooser(name) !== undefined)
  const runIncludes = settings.repositories.filter((p) => !p.startsWith('!'))
  const runIsLiteral = runIncludes.length > 0 && !runIncludes.some(needsListing)
  const sources = rules && !runIsLiteral ? rules.map((rule) => rule.repositories) : [settings.repositories]
  const includes = sources.flatMap((list) => list.filter((p) => !p.startsWith('!')))
  const literal = new Set(includes.filter((p) => !needsListing(p)).filter(covered))
  const patterns = [...new Set(includes.filter(needsListing))].map((pattern) => ({
    pattern,
    test: patternMatcher([pattern]),
    hits: 0,
  }))
  const names = [...literal]
  if (patterns.length > 0 || sources.some((list) => list.every((p) => p.startsWith('!')))) {
    try {
      for await (const name of client.catalog()) {
        for (const p of patterns) if (p.test(name)) p.hits++
        if (covered(name)) names.push(name)
      }
    } catch (error) {
      throw new Error(`Could not list the repositories of ${settings.registry} (_catalog): ${(error as Error).message}`)
    }
  }
  return {
    names: [...new Set(names)].filter((name) => inShard(name, settings.shard)).sort(),
    literal,
    unmatched: patterns.filter((p) => p.hits === 0).map((p) => p.pattern),
  }
}

/**
 * Reads each repository this run covers and hands it to `each` as soon as it is read, so only the repositories in
 * flight are held in memory, not the registry. `each` runs for every repository, in no set order.
 */
export async function readRepositories(
  client: InventoryReads,
  settings: InventorySettings,
  dates: ConfigDates,
  log: Logger,
  each: (repo: RepositoryInventory) => Promise<void> | void,
): Promise<RepositorySelection> {
  try {
    await client.ping()
  } catch (error) {
    throw new Error(`The registry ${settings.registry} did not answer the v2 API: ${(error as Error).message}`)
  }
  const selection = await repositoryNames(client, settings)
  for (const pattern of selection.unmatched) {
    log.warning(`The repositories pattern ${pattern} matches no repository in the catalog of ${settings.registry}.`)
  }
  const shard = settings.shard ? ` (shard ${settings.shard.index}/${settings.shard.total})` : ''
  const count = selection.names.length
  log.info(`${count} ${count === 1 ? 'repository' : 'repositories'} to read${shard}`)
  log.progress?.tick('repositories-total', count)
  // Repositories run side by side; every request still waits for the client's one limiter, so the total stays bounded.
  const chooser = settings.rules && settings.rules.length > 0 ? ruleChooser(settings.rules) : undefined
  await forEachLimited(selection.names, settings.concurrency, async (name) => {
    // What a repository needs read (dates for keep-count and older-than) is its rule's business.
    const rule = chooser?.(name)
    // Under age-from: pushed no config is read for a date (DECISIONS 12): the storage gave the ages.
    const own = !rule
      ? settings
      : rule.ageFrom === 'pushed'
        ? { ...settings, keepCount: Number.MAX_SAFE_INTEGER, olderThanMs: undefined }
        : { ...settings, keepCount: rule.keepCount, olderThanMs: rule.olderThanMs }
    await each(await inventoryRepository(client, name, own, dates, log))
    log.progress?.tick('repositories')
  })
  return selection
}
