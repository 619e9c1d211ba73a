// Apply: carries out a plan's deletions, after checking each repository again right before deleting in it.
// The plan is a snapshot; tags may have moved since. Anything a tag now points at, or that a tagged index now lists,
// is spared (DECISIONS 2).
import { createHash, randomUUID } from 'node:crypto'
import type { RegistryClient } from './registry/client.js'
import { ManifestUnknownError, stopsApply } from './registry/errors.js'
import type { PhaseClock } from './phases.js'
import { forEachLimited } from './registry/limit.js'
import { parseManifest, type ParsedManifest } from './registry/manifest.js'
import type {
  ApplyResult,
  Logger,
  Plan,
  PlannedManifest,
  PlannedUntag,
  RepositoryApplyResult,
  RepositoryPlan,
  Settings,
} from './types.js'

export type ApplySettings = Pick<Settings, 'concurrency'>

const short = (digest: string): string => `${digest.slice(0, 19)}…`

/**
 * What must stay in a repository as it is now: digest -> why. Every tag is resolved again (a GET, not a HEAD: the
 * body is checked against Docker-Content-Digest, so a wrong header stops the repository instead of protecting the
 * wrong digest); a tag that points where the plan said it would, at a digest planned to go, goes with it; any other
 * tagged digest stays, and so do the children of every index that stays.
 */
export async function currentlyProtected(
  client: RegistryClient,
  repository: RepositoryPlan,
  concurrency: number,
): Promise<Map<string, string>> {
  const name = repository.name
  const goingWith = new Map<string, Set<string>>()
  for (const m of repository.manifests) if (m.decision === 'delete') goingWith.set(m.digest, new Set(m.tags))

  // Each tag's digest, and what an index lists: parsed as the inventory parses it (the body's own mediaType first, not
  // the Content-Type alone), and no body kept past its tag.
  const heads = new Map<string, { digest: string; index?: ParsedManifest }>()
  // NAME_UNKNOWN is the registry's own word that no tag is left; any other failure to read throws, deleting nothing.
  await forEachLimited((await client.tags(name)) ?? [], concurrency, async (tag) => {
    const got = await client.getManifest(name, tag)
    const parsed = parseManifest(got.digest, got.mediaType, got.body)
    heads.set(tag, { digest: got.digest, ...(parsed.manifest.kind === 'index' ? { index: parsed } : {}) })
  })
  const parsedIndexes = new Map<string, ParsedManifest>()
  for (const head of heads.values()) if (head.index) parsedIndexes.set(head.digest, head.index)

  const protectedDigests = new Map<string, string>()
  const indexes: { digest: string; reason: string }[] = []
  for (const [tag, head] of [...heads].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (goingWith.get(head.digest)?.has(tag)) continue
    if (protectedDigests.has(head.digest)) continue
    const reason = `tag ${tag} points at it now`
    protectedDigests.set(head.digest, reason)
    if (head.index) indexes.push({ digest: head.digest, reason })
  }
  // Children of staying indexes stay, down nested indexes; each index is read once.
  const readIndexes = new Set<string>()
  while (indexes.length > 0) {
    const index = indexes.pop()
    if (!index || readIndexes.has(index.digest)) continue
    readIndexes.add(index.digest)
    let parsed = parsedIndexes.get(index.digest)
    if (!parsed) {
      const got = await client.getManifest(name, index.digest)
      parsed = parseManifest(got.digest, got.mediaType, got.body)
    }
    const nested = new Set(parsed.childIndexes)
    for (const child of parsed.manifest.children) {
      const reason = `listed by index ${short(index.digest)}, which stays (${index.reason})`
      if (!protectedDigests.has(child)) protectedDigests.set(child, reason)
      if (nested.has(child)) indexes.push({ digest: child, reason })
    }
  }
  return protectedDigests
}

/**
 * The planned deletions that must not happen now, with why: those protected, and those that follow a parent
 * (a signature its subject, a child its index) that is protected or itself spared.
 */
export function sparedDeletions(
  deletions: PlannedManifest[],
  protectedDigests: Map<string, string>,
): Map<string, string> {
  const spared = new Map<string, string>()
  for (const m of deletions) {
    const why = protectedDigests.get(m.digest)
    if (why !== undefined) spared.set(m.digest, why)
  }
  for (let changed = true; changed; ) {
    changed = false
    for (const m of deletions) {
      if (spared.has(m.digest) || !m.parent) continue
      const parentReason = spared.get(m.parent) ?? protectedDigests.get(m.parent)
      if (parentReason !== undefined) {
        spared.set(m.digest, `follows ${short(m.parent)}, which stays (${parentReason})`)
        changed = true
      }
    }
  }
  return spared
}

/** Why apply stopped starting deletions: a registry that refuses them everywhere, or a signal. */
interface Stop {
  error?: unknown
  signal?: AbortSignal
}

const stopped = (stop: Stop): boolean => stop.error !== undefined || stop.signal?.aborted === true

/** The OCI empty descriptor's content: the config of every throw-away manifest. */
const EMPTY_CONFIG = Buffer.from('{}')
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

/** A manifest no one else has: an empty image with an annotation naming this tag and a random nonce. */
function throwAwayManifest(name: string, tag: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY_CONFIG), size: EMPTY_CONFIG.length },
      layers: [],
      annotations: { 'dev.registry-prune.untag': `${name}:${tag} ${randomUUID()}` },
    }),
  )
}

/** Where a tag points now, or undefined when the registry no longer knows it. */
async function currentDigest(client: RegistryClient, name: string, tag: string): Promise<string | undefined> {
  try {
    return (await client.getManifest(name, tag)).digest
  } catch (error) {
    if (error instanceof ManifestUnknownError) return undefined
    throw error
  }
}

/**
 * Removes one tag on its own (untag: true), only if it still points at the digest it was planned with: a tag that
 * moved since is someone's new push. Tag DELETE where the registry accepts it; else the tag is moved onto a throw-away
 * manifest that is deleted by digest at once (Distribution 2.x), all through the API. Returns why it was left
 * alone, or undefined when it was removed.
 */
async function removeTag(
  client: RegistryClient,
  name: string,
  untag: PlannedUntag,
  emptyConfig: { uploaded?: boolean },
): Promise<string | undefined> {
  const now = await currentDigest(client, name, untag.tag)
  if (now === undefined) return 'the tag is gone already'
  if (now !== untag.digest) return `the tag now points at ${short(now)}, not at ${short(untag.digest)}`
  if ((await client.deleteTag(name, untag.tag)) !== 'unsupported') return undefined
  const body = throwAwayManifest(name, untag.tag)
  const throwAway = sha256(body)
  // Deletes must work before the tag is moved, or the throw-away would stay: a DELETE of its digest before it exists
  // answers 404 where deletes are enabled, and stops the apply where they are not.
  await client.deleteManifest(name, throwAway)
  if (!emptyConfig.uploaded) {
    await client.uploadBlob(name, EMPTY_CONFIG)
    emptyConfig.uploaded = true
  }
  // The re-check once more, right before the move: the window in which a push to this tag could be overwritten is
  // this one request long.
  const still = await currentDigest(client, name, untag.tag)
  if (still !== untag.digest) return `the tag moved while it was being removed (now ${still ? short(still) : 'gone'})`
  await client.putManifest(name, untag.tag, OCI_MANIFEST, body)
  await client.deleteManifest(name, throwAway)
  return undefined
}

async function applyRepository(
  client: RegistryClient,
  repository: RepositoryPlan,
  settings: ApplySettings,
  log: Logger,
  stop: Stop,
  result: RepositoryApplyResult,
  clock: PhaseClock | undefined,
): Promise<void> {
  const timed = <T>(phase: 'recheck' | 'deletions', body: () => Promise<T>): Promise<T> =>
    clock ? clock.time(phase, body) : body()
  const name = repository.name
  const deletions = repository.manifests.filter((m) => m.decision === 'delete')
  let current: PlannedManifest | undefined
  try {
    const protectedNow = await timed('recheck', () => currentlyProtected(client, repository, settings.concurrency))
    const spared = sparedDeletions(deletions, protectedNow)
    for (const [digest, reason] of spared) {
      result.spared.push({ digest, reason })
      log.warning(`${name}@${digest} was planned for deletion but is kept: ${reason}`)
    }
    // Sequential, in the plan's order: referrers and signatures, then images and indexes, then their children.
    await timed('deletions', async () => {
      for (const m of deletions) {
        if (stopped(stop)) break
        if (spared.has(m.digest)) continue
        current = m
        result.inFlight = m.digest
        const outcome = await client.deleteManifest(name, m.digest)
        result.inFlight = undefined
        result.deleted.push(m.digest)
        log.progress?.tick('deletions')
        const tags = m.tags.length > 0 ? ` (${m.tags.join(', ')})` : ''
        // A line per deletion is for debugging (the log gets the phase's figures, the report every manifest); one that
        // someone else deleted first is worth a line.
        if (outcome === 'gone') log.info(`already gone: ${name}@${m.digest}${tags}`)
        else log.debug(`deleted: ${name}@${m.digest}${tags}`)
      }
    })
    // Tags removed on their own come after the deletions, each checked again right before. One that has started
    // is finished whatever happens meanwhile: stopping between the move and the delete would leave the throw-away.
    current = undefined
    const emptyConfig = {}
    for (const untag of repository.untags ?? []) {
      if (stopped(stop)) break
      const sparedBecause = await removeTag(client, name, untag, emptyConfig)
      if (sparedBecause === undefined) {
        ;(result.untagged ??= []).push(untag.tag)
        log.info(`untagged: ${name}:${untag.tag} (the image ${short(untag.digest)} stays)`)
      } else {
        ;(result.untagSpared ??= []).push({ tag: untag.tag, reason: sparedBecause })
        log.warning(`${name}:${untag.tag} was planned to be untagged but is left alone: ${sparedBecause}`)
      }
    }
  } catch (error) {
    result.inFlight = undefined
    result.error = (error as Error).message
    if (current) result.failed = current.digest
    if (stopsApply(error)) {
      stop.error ??= error
      return
    }
    log.error(`${name}: stopped deleting after ${result.deleted.length} of ${deletions.length}: ${result.error}`)
  }
}

export interface ApplyOptions {
  /** Filled as deletions happen, so that a run cut short (a signal, a crash) still knows what was done. */
  into?: ApplyResult
  /** Once aborted, no further deletion starts; those in flight finish. */
  signal?: AbortSignal
  /** Times the re-checks and the deletions (issue 15). */
  clock?: PhaseClock
}

/**
 * Deletes what the plan says, repository by repository (side by side, bounded by the client's limiter). Repositories
 * the plan skipped are left alone. A registry that refuses deletes altogether stops the whole apply: the error is
 * rethrown and nothing more is deleted; `into` then holds what was done before.
 */
export async function apply(
  client: RegistryClient,
  plan: Plan,
  settings: ApplySettings,
  log: Logger,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const results = options.into ?? { repositories: [] }
  const todo = plan.repositories.filter(
    (r) => !r.skipped && (r.manifests.some((m) => m.decision === 'delete') || (r.untags?.length ?? 0) > 0),
  )
  const stop: Stop = options.signal ? { signal: options.signal } : {}
  log.progress?.tick('deletions-total', todo.reduce((n, r) => n + r.manifests.filter((m) => m.decision === 'delete').length, 0))
  await forEachLimited(todo, settings.concurrency, async (repository) => {
    if (stopped(stop)) return
    const result: RepositoryApplyResult = { name: repository.name, deleted: [], spared: [] }
    results.repositories.push(result)
    await applyRepository(client, repository, settings, log, stop, result, options.clock)
  })
  if (stop.error) throw stop.error
  return results
}
