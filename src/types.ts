// The data that flows one way through a run:
//   Settings -> Inventory -> Plan -> ApplyResult -> GcResult -> (report)
// Every module reads the previous stage's value and produces the next one; none reaches back.

/** One validated, typed settings object, made from raw inputs by `src/inputs.ts`. */
export interface Settings {
  /** Base URL of the registry, without a trailing slash, e.g. `https://registry.example.com:5000`. */
  registry: string
  username: string
  /** Also a password found in a docker config, credential helper or auth.json: a secret wherever it came from. */
  password: string
  /** Where username and password came from, or where they were looked for (for messages; never a secret). */
  credentialOrigin?: CredentialOrigin | undefined
  /** Include patterns and `!`-prefixed exclude patterns over repository names (globs, or `/regex/`). */
  repositories: string[]
  keepCount: number
  keepTags: string[]
  /** Tag selector (DECISIONS 33): only images all of whose tags match may be deleted; empty = every tag. */
  deleteTags: string[]
  /** Only delete images older than this many milliseconds; undefined = no age condition. */
  olderThanMs: number | undefined
  /** What an image's age is: its config's `created`, or when it was last pushed or tagged (DECISIONS 32). */
  ageFrom: AgeFrom
  /** Remove selected tags of kept images one by one (DECISIONS 33). */
  untag: boolean
  /**
   * The rules of this run, first match wins per repository (DECISIONS 31). Without a `rules` input: one rule made
   * of the plain inputs, named `inputs`.
   */
  rules: Rule[]
  dryRun: boolean
  concurrency: number
  /** PEM text of a CA to trust (read from the file when the input was a path). */
  caCert: string | undefined
  insecureSkipTlsVerify: boolean
  requestTimeoutMs: number
  allowDeleteAll: boolean
  failOnSkipped: boolean
  untagged: 'keep' | 'delete'
  keepUntagged: number
  /** Where untagged manifests are listed (issue 14); auto: the storage tree where storage-path is given and readable. */
  untaggedSource: 'auto' | UntaggedListingSource
  /** `i/n`, counting from 1; undefined = all repositories. */
  shard: { index: number; total: number } | undefined
  /** false: skip inventory/plan/apply, run only garbage collection (the final job after shards). */
  prune: boolean
  /** Where the JSON plan is written. */
  planFile: string
  /** The cache between runs (issue 15); '' = no cache. Optional so settings written out in tests need not name it. */
  cacheFile?: string
  gc: GcSettings
}

export type AgeFrom = 'created' | 'pushed'

/** What one rule decides for the repositories it covers: the policy inputs, spelled as in Settings. */
export type Policy = Pick<
  Settings,
  | 'keepCount'
  | 'keepTags'
  | 'deleteTags'
  | 'olderThanMs'
  | 'ageFrom'
  | 'untagged'
  | 'keepUntagged'
  | 'allowDeleteAll'
  | 'untag'
>

/** One rule: the repositories it covers, and its policy. */
export interface Rule extends Policy {
  /** `rule 1`, `rule 2`, … in the order written; `inputs` for the plain inputs. */
  name: string
  repositories: string[]
}

/**
 * Where the registry credentials came from: the `username`/`password` inputs, a login found on the machine (`used`
 * says which: `credHelpers 'pass' in /home/u/.docker/config.json`), or none. `looked` lists each place looked in
 * before, with what it held: `/home/u/.docker/config.json (credsStore 'pass': no entry for host:5000)`.
 */
export type CredentialOrigin =
  | { kind: 'given' }
  | { kind: 'found'; used: string; looked: string[] }
  | { kind: 'none'; looked: string[] }

/** storage: the revisions in the storage tree under storage-path. collector: `garbage-collect --dry-run --delete-untagged`. */
export type UntaggedListingSource = 'storage' | 'collector'

/** Which listing of untagged manifests a run used, and how many untagged manifests it gave in the repositories read. */
export interface UntaggedListingReport {
  source: UntaggedListingSource
  candidates: number
}

export interface GcSettings {
  mode: 'off' | 'ssh' | 'local'
  sshHost: string
  sshPort: number
  sshUser: string
  sshPrivateKey: string
  sshPassphrase: string
  sshKnownHosts: string
  sshInsecureAcceptAnyHostKey: boolean
  command: string
  storagePath: string
  beforeCommand: string
  afterCommand: string
}

export interface Blob {
  digest: string
  size: number
}

export type ManifestKind = 'image' | 'index' | 'schema1' | 'unknown'

/** What the inventory learned about one manifest. */
export interface Manifest {
  digest: string
  mediaType: string
  kind: ManifestKind
  /** Bytes of the manifest body itself (it is stored as a blob too). */
  size: number
  /** image: the config blob digest. */
  configDigest?: string
  /** image: config and layers. index: empty. */
  blobs: Blob[]
  /** index: digests of the manifests it lists. */
  children: string[]
  /** OCI 1.1 referrer: the digest of the manifest it refers to. */
  subject?: string
  artifactType?: string
  /** Epoch ms from the image config's `created`; only fetched where a rule needs it. Undefined = unknown. */
  created?: number
}

export interface RepositoryInventory {
  name: string
  /** tag -> manifest digest */
  tags: Map<string, string>
  /** Every manifest read: tagged ones, children of indexes, untagged ones listed from storage. */
  manifests: Map<string, Manifest>
  /** Digests listed from the storage tree that no tag points at; undefined = storage was not listed. */
  untagged?: string[]
  /** Why untagged manifests were not listed (shown in the summary). */
  untaggedNote?: string
  /** Set when the listing is incomplete: then nothing in this repository is deleted. */
  incomplete?: string
  /**
   * When each manifest was last pushed or tagged here (epoch ms), from the storage links; only with
   * `age-from: pushed`. A digest missing from the map has no known push time (undated).
   */
  pushed?: Map<string, number>
  /** The registry answered NAME_UNKNOWN to its tag list: it has no tags (it may still hold untagged manifests). */
  unknown?: boolean
}

export interface Inventory {
  repositories: RepositoryInventory[]
}

export type Decision = 'keep' | 'delete'

/**
 * image: a tagged image (manifest or index) - the unit `keep-count` counts.
 * child: a manifest listed by an index. signature: a cosign-style `sha256-<hex>.sig|.att|.sbom` tag.
 * referrer: an OCI 1.1 manifest with a `subject`. untagged: listed from storage, no tag, no parent.
 */
export type Role = 'image' | 'child' | 'signature' | 'referrer' | 'untagged'

export interface PlannedManifest {
  digest: string
  tags: string[]
  role: Role
  kind: ManifestKind
  mediaType: string
  /** Bytes this manifest references: its body and blobs, and for an index its children's. */
  size: number
  created?: number
  /** When it was last pushed or tagged (epoch ms); only with `age-from: pushed`. */
  pushed?: number
  decision: Decision
  reason: string
  /** child: the index that lists it; signature/referrer: its subject. */
  parent?: string
}

export interface PlannedUntag {
  tag: string
  /** The digest the tag pointed at when planned: the tag is left alone if it points elsewhere at the re-check. */
  digest: string
  reason: string
}

export interface RepositoryPlan {
  name: string
  /** How images were ordered for `keep-count`: by age (see `ageFrom`), or by tag name when some are undated. */
  order: 'created' | 'tag-name'
  /** Which age `older-than` and the order used. Absent in plans made before age-from existed: created. */
  ageFrom?: AgeFrom
  /** The rule that decided this repository (`inputs` without a `rules` input). */
  rule?: string
  /** Tags removed on their own (`untag: true`) while the image they name stays under its other tags. */
  untags?: PlannedUntag[]
  /** Set when nothing in this repository is deleted because of a safety rule, and why. */
  skipped?: string
  /**
   * Every manifest with its decision. Those to delete come in a safe deletion order: referrers and signatures first,
   * then images and indexes, then the children of deleted indexes (an index is never left pointing at a deleted child).
   */
  manifests: PlannedManifest[]
  notes: string[]
  /** The registry does not know it: no tags (NAME_UNKNOWN) and no manifest listed from storage. */
  unknown?: boolean
}

export interface Plan {
  repositories: RepositoryPlan[]
  /** Blobs (layers, configs, manifests) that only deleted manifests reference, summed. */
  reclaimableBytes: number
  /** What deleting untagged images (issue 7) adds to `reclaimableBytes`. */
  untaggedReclaimableBytes: number
}

export interface RepositoryApplyResult {
  name: string
  deleted: string[]
  /** Planned for deletion but kept at the re-check, with why. */
  spared: { digest: string; reason: string }[]
  /** Tags removed on their own (`untag: true`). */
  untagged?: string[]
  /** Tags planned for removal but left alone at the re-check, with why. */
  untagSpared?: { tag: string; reason: string }[]
  /** Set when applying stopped in this repository. */
  error?: string
  /** The deletion the error came from: the registry's answer was not a success. */
  failed?: string
  /** A DELETE sent and not yet answered (a run cut short records it as failed: its fate is unknown). */
  inFlight?: string
}

export interface ApplyResult {
  repositories: RepositoryApplyResult[]
}

export interface GcResult {
  mode: 'ssh' | 'local'
  dryRun: boolean
  blobsMarked: number | undefined
  blobsEligible: number | undefined
  manifestsEligible: number | undefined
  blobsDeleted: string[]
  /** `du -sb` of the storage root before the first deletion and after GC; undefined without `storage-path`. */
  storageBytesBefore: number | undefined
  storageBytesAfter: number | undefined
  /** Measured bytes freed: the du drop, else the sum of the sizes of the blobs GC reported deleting. */
  reclaimedBytes: number
  measuredBy: 'du' | 'blob-sizes'
  /** Sum of the sizes (known from the manifests read) of the blobs GC deleted: the blob data in `reclaimedBytes`. */
  blobBytesDeleted: number
  /** Blobs GC deleted that no manifest this run read references (orphaned before, or in other repositories). */
  blobsOfUnknownSize: number
  warnings: string[]
}

export interface RunResult {
  settings: Settings
  startedAt: number
  plan: Plan
  /** Undefined on a dry run, and when `prune` is false. */
  applied: ApplyResult | undefined
  gc: GcResult | undefined
  /** HTTP requests by kind, for the report and the benchmark. */
  requests: Record<string, number>
  /** Why the run must end non-zero although it finished (skipped repositories, failed deletions, failed GC). */
  failures: string[]
  /** What the run could not do as asked but worked around (untagged not listed, storage not measured). */
  warnings: string[]
  /** Set when a signal cut the run short (DECISIONS 26): the front door exits 130 (SIGINT) or 143 (SIGTERM). */
  interrupted?: 'SIGINT' | 'SIGTERM'
  /** With untagged: delete, where the untagged manifests were listed and how many; undefined when they were not. */
  untaggedListing?: UntaggedListingReport
  /** How long each phase took and the requests it sent (issue 15). */
  phases?: Phases
  /** What the cache between runs gave; undefined without `cache-file`. */
  cache?: CacheStats & { file: string }
}

export type PhaseName = 'inventory' | 'recheck' | 'deletions' | 'gc'

export interface PhaseFigures {
  /** Wall time with work of this phase under way; 0 when the phase did not run. */
  seconds: number
  /** HTTP requests it sent (the collector's commands are not HTTP: 0 for gc). */
  requests: number
}

export type Phases = Record<PhaseName, PhaseFigures>

export interface CacheStats {
  /** Entries read from the file (0 when there was none or it was ignored). */
  loaded: number
  manifestHits: number
  blobHits: number
  /** Entries in the file this run wrote: what it read, and what it used of the old file. */
  written: number
}

/** What a stage has done so far: `-total` counters say how much there is to do, the others count what is done. */
export type ProgressCounter = 'repositories-total' | 'repositories' | 'tags' | 'deletions-total' | 'deletions'

/** Where stages report progress (src/progress.ts shows it); stages only count, they never format. */
export interface Progress {
  tick(counter: ProgressCounter, n?: number): void
}

/** What a front door gives `run`: where to log, and the clock. */
export interface Logger {
  info(message: string): void
  warning(message: string): void
  error(message: string): void
  debug(message: string): void
  /** A collapsed group of detail lines (GitHub `::group::`, a GitLab section); the outermost ones are the phases. */
  group<T>(name: string, body: () => Promise<T>): Promise<T>
  /** Set by the front doors that show progress; stages call `log.progress?.tick(...)`. */
  progress?: Progress
}

export interface Io {
  log: Logger
  now(): number
  /** Waits between retries; tests inject one that does not wait. */
  sleep?: (ms: number) => Promise<void>
  /**
   * Asked once a real run has its plan, before the first DELETE (the CLI on a terminal asks the user). Throws to stop
   * the run there, with nothing deleted and nothing written; resolves to go on.
   */
  confirm?: (plan: Plan) => Promise<void>
  /** Aborted by SIGINT/SIGTERM, with the signal's name as reason: the run stops deleting and writes its record. */
  signal?: AbortSignal
}
