// The planner: a pure function from an inventory snapshot and the rules to a plan in which every manifest carries its
// decision and the reason for it. No I/O, no clock: `now` comes in. The safety rules of the tool live here.
import { patternMatcher } from './patterns.js'
import { BlobLedger, type BlobSizes } from './reclaim.js'
import { compareTagsDescending } from './tag-order.js'
import type {
  AgeFrom,
  Decision,
  Inventory,
  Manifest,
  Plan,
  PlannedManifest,
  PlannedUntag,
  Policy,
  RepositoryInventory,
  RepositoryPlan,
  Role,
  Rule,
} from './types.js'

/** What the planner applies to one repository: the policy of the rule that covers it. */
export type Rules = Policy

/**
 * Follower tags (DECISIONS 23): the tag names the digest of the subject it follows. cosign's `.sig/.att/.sbom`, the
 * OCI 1.1 referrers tag schema (no suffix: an index listing the subject's referrers, kept by oras and notation on
 * registries without the referrers API) and other tools' suffixes. Never an image.
 */
export const FOLLOWER_TAG = /^sha256-([0-9a-f]{64})(?:\.(.+))?$/

/** DECISIONS 4: reproducible builds stamp 1970-01-01, which says nothing about age. */
const FIRST_USABLE_DATE = 86_400_000

interface Node {
  digest: string
  manifest: Manifest | undefined
  /** Highest first. */
  tags: string[]
  role: Role
  /** Subjects it signs or refers to, present in the repository or not. */
  subjects: string[]
  /** Indexes in the repository that list it. */
  listedBy: string[]
  /** What it follows and is present: kept when any of them is kept. */
  parents: string[]
  /** Dated age in epoch ms, by the rule's age-from (an index: its newest child); undefined = undated. */
  created: number | undefined
}

interface Verdict {
  decision: Decision
  reason: string
  /** The parent a follower's decision came from. */
  via?: string
}

type Order = RepositoryPlan['order']

const keep = (reason: string, via?: string): Verdict => ({ decision: 'keep', reason, ...(via ? { via } : {}) })
const remove = (reason: string, via?: string): Verdict => ({ decision: 'delete', reason, ...(via ? { via } : {}) })
const short = (digest: string): string => `${digest.slice(0, 19)}…`
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const dated = (created: number | undefined): number | undefined =>
  created !== undefined && created >= FIRST_USABLE_DATE ? created : undefined

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

/** The raw age of one manifest by the rule's age-from: its config's `created`, or its push time. */
const rawAge = (repo: RepositoryInventory, ageFrom: AgeFrom) => (manifest: Manifest): number | undefined =>
  ageFrom === 'pushed' ? repo.pushed?.get(manifest.digest) : manifest.created

/** Age of a manifest; an index without a usable date of its own takes its newest child's. */
function ageOf(
  digest: string,
  manifests: Map<string, Manifest>,
  age: (manifest: Manifest) => number | undefined,
  seen = new Set<string>(),
): number | undefined {
  const manifest = manifests.get(digest)
  if (!manifest || seen.has(digest)) return undefined
  seen.add(digest)
  const own = dated(age(manifest))
  if (own !== undefined || manifest.kind !== 'index') return own
  const ages = manifest.children.map((child) => ageOf(child, manifests, age, seen)).filter((a) => a !== undefined)
  return ages.length > 0 ? Math.max(...ages) : undefined
}

/** The OCI 1.1 referrers tag schema: `sha256-<hex>` with no suffix names an index of the subject's referrers. */
const isReferrersTag = (tag: string): boolean => {
  const match = FOLLOWER_TAG.exec(tag)
  return match !== null && match[2] === undefined
}

/** The digest a follower tag names. */
const subjectOfTag = (tag: string): string => `sha256:${FOLLOWER_TAG.exec(tag)?.[1] ?? ''}`

function roleOf(tags: string[], manifest: Manifest | undefined, listed: boolean): Role {
  if (tags.some((tag) => !FOLLOWER_TAG.test(tag))) return 'image'
  if (tags.length > 0) return 'signature'
  if (manifest?.subject) return 'referrer'
  return listed ? 'child' : 'untagged'
}

/** One node per digest a tag points at or the inventory read, sorted by digest so Map order never matters. */
function buildNodes(repo: RepositoryInventory, ageFrom: AgeFrom): Node[] {
  const age = rawAge(repo, ageFrom)
  const tagsByDigest = new Map<string, string[]>()
  for (const [tag, digest] of repo.tags) push(tagsByDigest, digest, tag)
  const listedBy = new Map<string, string[]>()
  for (const manifest of repo.manifests.values()) {
    for (const child of new Set(manifest.children)) push(listedBy, child, manifest.digest)
  }
  // What a follower tag names, by the digest it points at; the manifests such an index lists (the referrers of its
  // subject) follow that subject too.
  const followed = new Map<string, string[]>()
  for (const [digest, tags] of tagsByDigest) {
    if (tags.every((tag) => FOLLOWER_TAG.test(tag))) followed.set(digest, tags.map(subjectOfTag))
  }
  const present = new Set([...tagsByDigest.keys(), ...repo.manifests.keys()])
  return [...present].sort(byText).map((digest) => {
    const manifest = repo.manifests.get(digest)
    const tags = (tagsByDigest.get(digest) ?? []).sort(compareTagsDescending)
    const signed = tags.flatMap((tag) => (FOLLOWER_TAG.test(tag) ? [subjectOfTag(tag)] : []))
    const viaIndex = (listedBy.get(digest) ?? []).flatMap((lister) => followed.get(lister) ?? [])
    const own = manifest?.subject ? [manifest.subject] : []
    const subjects = [...new Set([...signed, ...viaIndex, ...own])].sort(byText)
    const listers = (listedBy.get(digest) ?? []).sort(byText)
    const parents = [...new Set([...subjects, ...listers])].filter((p) => p !== digest && present.has(p)).sort(byText)
    const role = roleOf(tags, manifest, listers.length > 0)
    const created = ageOf(digest, repo.manifests, age)
    return { digest, manifest, tags, role, subjects, listedBy: listers, parents, created }
  })
}

/** Ties: semver-aware tag order descending, then digest (DECISIONS 9). */
function newestFirst(order: Order) {
  return (a: Node, b: Node): number =>
    (order === 'created' ? (b.created ?? 0) - (a.created ?? 0) : 0) ||
    compareTagsDescending(a.tags[0] ?? '', b.tags[0] ?? '') ||
    byText(a.digest, b.digest)
}

/** Protection by `older-than`, which never deletes what it cannot date (DECISIONS 4). */
function ageProtection(node: Node, rules: Rules, now: number, what: string): Verdict | undefined {
  if (rules.olderThanMs === undefined) return undefined
  if (node.created === undefined) return keep(`${what}undated, so older-than cannot show it is old`)
  return now - node.created < rules.olderThanMs ? keep(`${what}younger than older-than`) : undefined
}

/** Tests of tags by the rule: keep-tags, and the delete-tags selector (empty = every tag). */
interface TagTests {
  keep: (tag: string) => boolean
  selected: (tag: string) => boolean
}

function tagTests(rules: Rules): TagTests {
  const selector = patternMatcher(rules.deleteTags)
  return {
    keep: patternMatcher(rules.keepTags),
    selected: rules.deleteTags.length === 0 ? () => true : selector,
  }
}

/** Tags that name the image itself: follower tags (`sha256-<hex>.sig`, …) follow another manifest. */
const ownTags = (node: Node): string[] => node.tags.filter((tag) => !FOLLOWER_TAG.test(tag))

/**
 * Verdicts that hold whatever the role: unsupported manifests, keep-tags, and a tag the selector does not pick,
 * which protects its image like a keep-tag (DECISIONS 33). None of them takes a keep-count slot.
 */
function fixedVerdict(node: Node, tests: TagTests): Verdict | undefined {
  if (!node.manifest) return keep('the manifest could not be read (kept)')
  if (node.manifest.kind === 'schema1') return keep('schema1 manifest: not supported, kept')
  if (node.manifest.kind === 'unknown') return keep(`unknown media type ${node.manifest.mediaType}: kept`)
  const tag = node.tags.find(tests.keep)
  if (tag !== undefined) return keep(`tag ${tag} matches keep-tags`)
  const unselected = ownTags(node).find((t) => !tests.selected(t))
  return unselected === undefined ? undefined : keep(`tag ${unselected} is not selected by delete-tags`)
}

function judgeImages(images: Node[], rules: Rules, now: number, order: Order, verdicts: Map<string, Verdict>): void {
  const ranked = images.filter((image) => {
    const protectedByAge = ageProtection(image, rules, now, '')
    if (protectedByAge) verdicts.set(image.digest, protectedByAge)
    return !protectedByAge
  })
  const n = rules.keepCount
  const kept = order === 'created' ? `among the ${n} newest` : `among the ${n} highest tags (ordered by tag name)`
  const beyond = `beyond keep-count ${n}${rules.olderThanMs === undefined ? '' : ' and older than older-than'}`
  ranked.sort(newestFirst(order)).forEach((image, i) => verdicts.set(image.digest, i < n ? keep(kept) : remove(beyond)))
}

const UNREFERENCED = 'untagged, and nothing that stays refers to it'

function judgeUntagged(
  nodes: Node[],
  repo: RepositoryInventory,
  rules: Rules,
  now: number,
  verdicts: Map<string, Verdict>,
): void {
  const listed = new Set(repo.untagged ?? [])
  const ranked: Node[] = []
  for (const node of nodes) {
    const verdict = !listed.has(node.digest)
      ? keep('untagged, but not listed from storage (kept)')
      : rules.untagged === 'keep'
        ? keep('untagged: keep')
        : (ageProtection(node, rules, now, 'untagged and ') ??
          (rules.keepUntagged > 0 && node.created === undefined
            ? keep('untagged and undated, so keep-untagged cannot rank it (kept)')
            : undefined))
    if (verdict) verdicts.set(node.digest, verdict)
    else ranked.push(node)
  }
  const n = rules.keepUntagged
  ranked.sort(newestFirst('created')).forEach((node, i) => {
    verdicts.set(node.digest, i < n ? keep(`among the ${n} newest untagged`) : remove(UNREFERENCED))
  })
}

/** What each node's own rules say; followers (children, signatures, referrers) mostly have none. */
function ownVerdicts(nodes: Node[], repo: RepositoryInventory, rules: Rules, now: number, order: Order) {
  const verdicts = new Map<string, Verdict>()
  const tests = tagTests(rules)
  const open = nodes.filter((node) => {
    const verdict = fixedVerdict(node, tests)
    if (verdict) verdicts.set(node.digest, verdict)
    return !verdict
  })
  judgeImages(open.filter((node) => node.role === 'image'), rules, now, order, verdicts)
  judgeUntagged(open.filter((node) => node.role === 'untagged'), repo, rules, now, verdicts)
  return verdicts
}

function followReason(node: Node, parent: Node, decision: Decision): string {
  const state = decision === 'keep' ? 'kept' : 'deleted'
  if (node.listedBy.includes(parent.digest)) return `child of ${state} index ${short(parent.digest)}`
  const noun = parent.manifest?.kind === 'index' ? 'index' : parent.role === 'image' ? 'image' : 'manifest'
  const what = node.role !== 'signature' ? 'referrer' : node.tags.some(isReferrersTag) ? 'referrers index' : 'signature'
  return `${what} of a ${state} ${noun} ${short(parent.digest)}`
}

/** Keeps spread from kept parents to their followers; a follower all of whose parents go, goes with them. */
function settle(nodes: Node[], own: Map<string, Verdict>): Map<string, Verdict> {
  const byDigest = new Map(nodes.map((node) => [node.digest, node]))
  const followers = new Map<string, Node[]>()
  for (const node of nodes) for (const parent of node.parents) push(followers, parent, node)
  const final = new Map<string, Verdict>()
  const queue: Node[] = []
  for (const node of nodes) {
    const verdict = own.get(node.digest)
    if (verdict?.decision === 'keep') final.set(node.digest, verdict)
    else if (!verdict && node.parents.length === 0) {
      final.set(node.digest, keep(`orphan ${node.role}: its subject is not in the repository (kept)`))
    } else continue
    queue.push(node)
  }
  for (let i = 0; i < queue.length; i++) {
    const parent = queue[i] as Node
    for (const follower of followers.get(parent.digest) ?? []) {
      if (final.has(follower.digest)) continue
      final.set(follower.digest, keep(followReason(follower, parent, 'keep'), parent.digest))
      queue.push(follower)
    }
  }
  for (const node of nodes) {
    if (final.has(node.digest)) continue
    const parent = byDigest.get(node.parents[0] ?? '') as Node
    final.set(node.digest, own.get(node.digest) ?? remove(followReason(node, parent, 'delete'), parent.digest))
  }
  return final
}

function skipReason(repo: RepositoryInventory, nodes: Node[], final: Map<string, Verdict>, rules: Rules) {
  if (repo.incomplete) return `the listing is incomplete: ${repo.incomplete}`
  const images = nodes.filter((node) => node.role === 'image')
  if (rules.allowDeleteAll || images.length === 0) return undefined
  if (images.some((image) => final.get(image.digest)?.decision === 'keep')) return undefined
  return 'the plan would delete every image of this repository; set allow-delete-all: true to allow that'
}

const ROLE_RANK: Record<Role, number> = { signature: 0, referrer: 1, image: 2, untagged: 3, child: 4 }

/** Deletions first, in a safe order (referrers before subjects, an index before its children), then what stays. */
function inDeletionOrder(nodes: Node[], final: Map<string, Verdict>, order: Order): Node[] {
  const newest = newestFirst(order)
  const base = [...nodes].sort((a, b) => ROLE_RANK[a.role] - ROLE_RANK[b.role] || newest(a, b))
  const byDigest = new Map(nodes.map((node) => [node.digest, node]))
  const referrers = new Map<string, Node[]>()
  for (const node of nodes) for (const subject of node.subjects) push(referrers, subject, node)
  const deleted = (node: Node | undefined) => node !== undefined && final.get(node.digest)?.decision === 'delete'
  const out: Node[] = []
  const visited = new Set<string>()
  const visit = (node: Node): void => {
    if (visited.has(node.digest)) return
    visited.add(node.digest)
    const before = [...(referrers.get(node.digest) ?? []), ...node.listedBy.map((digest) => byDigest.get(digest))]
    for (const other of before) if (other && deleted(other)) visit(other)
    out.push(node)
  }
  base.filter(deleted).forEach(visit)
  return [...out, ...base.filter((node) => !deleted(node))]
}

function sizeOf(digest: string, manifests: Map<string, Manifest>, seen = new Set<string>()): number {
  const manifest = manifests.get(digest)
  if (!manifest || seen.has(digest)) return 0
  seen.add(digest)
  const own = manifest.size + manifest.blobs.reduce((sum, blob) => sum + blob.size, 0)
  return own + manifest.children.reduce((sum, child) => sum + sizeOf(child, manifests, new Set(seen)), 0)
}

function toPlanned(node: Node, verdict: Verdict, repo: RepositoryInventory, ageFrom: AgeFrom): PlannedManifest {
  const created = ageFrom === 'created' ? (node.created ?? node.manifest?.created) : node.manifest?.created
  const pushed = ageFrom === 'pushed' ? (node.created ?? repo.pushed?.get(node.digest)) : undefined
  const follower = node.role === 'child' || node.role === 'signature' || node.role === 'referrer'
  const parent = verdict.via ?? node.subjects[0] ?? node.listedBy[0]
  return {
    digest: node.digest,
    // A copy the size of its content: the array grown tag by tag has room for 17, and the plan holds one per manifest.
    tags: node.tags.slice(),
    role: node.role,
    kind: node.manifest?.kind ?? 'unknown',
    mediaType: node.manifest?.mediaType ?? '',
    size: sizeOf(node.digest, repo.manifests),
    ...(created === undefined ? {} : { created }),
    ...(pushed === undefined ? {} : { pushed }),
    decision: verdict.decision,
    reason: verdict.reason,
    ...(follower && parent ? { parent } : {}),
  }
}

function notesFor(repo: RepositoryInventory, nodes: Node[], order: Order, rules: Rules): string[] {
  const notes: string[] = []
  if (order === 'tag-name') {
    notes.push('some images have no usable created date (missing, or before 1970-01-02): ordered by tag name instead')
  }
  if (rules.untagged === 'delete' && repo.untagged === undefined) {
    notes.push(`untagged manifests were not listed, so none is deleted: ${repo.untaggedNote ?? 'storage not listed'}`)
  }
  const unread = (repo.untagged ?? []).filter((digest) => !repo.manifests.has(digest)).length
  if (unread > 0) notes.push(`${unread} untagged manifest(s) listed from storage could not be read; kept`)
  const unsupported = nodes.filter((node) => !node.manifest || ['schema1', 'unknown'].includes(node.manifest.kind))
  if (unsupported.length > 0) notes.push(`${unsupported.length} unreadable, schema1 or unknown manifest(s) kept`)
  const orphans = nodes.filter((node) => ['signature', 'referrer'].includes(node.role) && node.parents.length === 0)
  if (orphans.length > 0) notes.push(`${orphans.length} signature(s) or referrer(s) whose subject is not here kept`)
  return notes
}

/**
 * untag: true (DECISIONS 33): every selected tag of a kept image is removed on its own, whatever kept the image (a tag
 * the selector does not pick, keep-tags, keep-count, age). A keep-tag and a follower tag are never removed. An image
 * all of whose tags are selected stays by digest, untagged (a later `untagged: delete` run counts it as such).
 */
function untagsFor(nodes: Node[], final: Map<string, Verdict>, rules: Rules): PlannedUntag[] {
  if (!rules.untag) return []
  const tests = tagTests(rules)
  const untags: PlannedUntag[] = []
  for (const node of nodes) {
    const verdict = final.get(node.digest)
    if (node.role !== 'image' || verdict?.decision !== 'keep') continue
    if (!['image', 'index'].includes(node.manifest?.kind ?? '')) continue
    const own = ownTags(node)
    const removable = own.filter((tag) => tests.selected(tag) && !tests.keep(tag))
    const staying = own.filter((tag) => !removable.includes(tag))
    if (removable.length === 0) continue
    const stays = staying.length > 0 ? `under ${staying.join(', ')}` : `by digest only (kept: ${verdict.reason})`
    const reason = `selected by delete-tags; the image stays ${stays}`
    for (const tag of removable) untags.push({ tag, digest: node.digest, reason })
  }
  return untags.sort((a, b) => byText(a.tag, b.tag))
}

/** One repository's plan: it depends on nothing outside the repository. */
function planRepository(repo: RepositoryInventory, rules: Rules, now: number, ruleName?: string): RepositoryPlan {
  const nodes = buildNodes(repo, rules.ageFrom)
  // Unreadable, schema1 and unknown manifests are kept outside the ranking: they do not decide its order.
  const ranked = nodes.filter((node) => node.role === 'image' && ['image', 'index'].includes(node.manifest?.kind ?? ''))
  // Age decides nothing when every image fits in keep-count and older-than is unset: then the inventory reads no
  // config (DECISIONS 12), and missing dates are no reason to fall back to tag names.
  const ageMatters = rules.olderThanMs !== undefined || ranked.length > rules.keepCount
  const undated = ageMatters && ranked.some((node) => node.created === undefined)
  const order: Order = undated ? 'tag-name' : 'created'
  const final = settle(nodes, ownVerdicts(nodes, repo, rules, now, order))
  const skipped = skipReason(repo, nodes, final, rules)
  if (skipped) {
    for (const [digest, verdict] of final) {
      if (verdict.decision === 'delete') final.set(digest, keep(`${verdict.reason}, but kept: repository skipped`))
    }
  }
  const manifests = inDeletionOrder(nodes, final, order).map((node) =>
    toPlanned(node, final.get(node.digest) as Verdict, repo, rules.ageFrom),
  )
  const notes = notesFor(repo, nodes, order, rules)
  const unknown = repo.unknown === true && nodes.length === 0 && !repo.incomplete
  if (unknown) notes.push('the registry does not know this repository (NAME_UNKNOWN)')
  const untags = skipped ? [] : untagsFor(nodes, final, rules)
  return {
    name: repo.name,
    order,
    ageFrom: rules.ageFrom,
    ...(ruleName ? { rule: ruleName } : {}),
    ...(skipped ? { skipped } : {}),
    manifests,
    ...(untags.length > 0 ? { untags } : {}),
    notes,
    ...(unknown ? { unknown } : {}),
  }
}

/** A repository name -> the first rule covering it (DECISIONS 31), or undefined: then it is not touched. */
export function ruleChooser(rules: readonly Rule[]): (name: string) => Rule | undefined {
  const matchers = rules.map((rule) => ({ rule, covers: patternMatcher(rule.repositories) }))
  return (name) => matchers.find((m) => m.covers(name))?.rule
}

/**
 * Plans repositories one at a time, in any order, keeping only their plans and the blob ledger: a run adds each
 * repository as soon as it is read and lets its inventory go.
 */
export class Planner {
  private readonly repositories: RepositoryPlan[] = []
  private readonly ledger = new BlobLedger()
  private readonly choose: (name: string) => { rules: Rules; name?: string } | undefined

  /**
   * One policy for every repository added, or a list of rules: each repository gets the first rule that covers it,
   * and a repository no rule covers is left out of the plan (untouched, not skipped).
   */
  constructor(
    rules: Rules | readonly Rule[],
    private readonly now: number,
  ) {
    if (isRuleList(rules)) {
      const chooser = ruleChooser(rules)
      this.choose = (name) => {
        const rule = chooser(name)
        return rule && { rules: rule, name: rule.name }
      }
    } else {
      this.choose = () => ({ rules })
    }
  }

  add(repo: RepositoryInventory): void {
    const chosen = this.choose(repo.name)
    if (!chosen) return
    const planned = planRepository(repo, chosen.rules, this.now, chosen.name)
    this.ledger.record(repo, planned)
    this.repositories.push(planned)
  }

  /** Sizes of every blob the planned manifests reference: GC reports digests, the report gives bytes. */
  get blobSizes(): BlobSizes {
    return this.ledger
  }

  /** The plan, repositories in name order whatever order they were added in. */
  finish(): Plan {
    const repositories = [...this.repositories].sort((a, b) => byText(a.name, b.name))
    return { repositories, ...this.ledger.reclaimable() }
  }
}

const isRuleList = (rules: Rules | readonly Rule[]): rules is readonly Rule[] => Array.isArray(rules)

/** Plans a whole inventory snapshot. */
export function plan(inventory: Inventory, rules: Rules | readonly Rule[], now: number): Plan {
  const planner = new Planner(rules, now)
  for (const repo of inventory.repositories) planner.add(repo)
  return planner.finish()
}
