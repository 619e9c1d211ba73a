// Every input of registry-prune, once: action.yml, the CLI's flags and the GitLab component's `spec: inputs:` are
// checked against (or generated from) this table, with the same kebab-case names and defaults.

/**
 * string: one line. text: may span lines (PEM, keys, known_hosts, shell commands). list: newline- or comma-separated
 * globs. The kind decides which characters and lengths are accepted, and how front doors type the input.
 */
export type InputKind = 'string' | 'text' | 'list' | 'boolean' | 'integer' | 'duration' | 'choice'

export interface InputSpec {
  name: string
  /** As a string, exactly as action.yml and the GitLab spec write it. */
  default: string
  description: string
  required?: boolean
  /** Masked, never echoed in messages; in GitLab a `<name>-variable` input, in the CLI an environment variable. */
  secret?: boolean
  /** Default `string`. */
  kind?: InputKind
  /** For `choice`: the accepted values. */
  options?: readonly string[]
  /**
   * An explicitly empty value is a value of its own, not "unset" (keep-tags: '' protects no tag). Front doors must
   * then pass `undefined` for an input the user did not give, or the table default.
   */
  explicitEmpty?: boolean
}

const DEFAULT_GC_COMMAND = 'docker exec registry bin/registry garbage-collect /etc/docker/registry/config.yml'

const INPUT_LIST = [
  {
    name: 'registry',
    default: '',
    required: true,
    description: 'Base URL of the registry, e.g. https://registry.example.com:5000 (http:// only when written out).',
  },
  {
    name: 'username',
    default: '',
    description:
      'User name for Basic or token auth. When username and password are both empty, the login already made on ' +
      "the machine is used: docker's credHelpers, credsStore or auths in $DOCKER_CONFIG/config.json (or " +
      "~/.docker/config.json), then podman's auth.json ($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, " +
      '~/.config/containers/auth.json); else none.',
  },
  { name: 'password', default: '', secret: true, description: 'Password or token for username. Masked.' },
  {
    name: 'repositories',
    default: '**',
    kind: 'list',
    description:
      'Repositories to prune: globs over repository names (team/**) or /regular expressions/ (RE2, matched ' +
      'against the whole name), separated by newlines or commas; !pattern excludes. Names without glob ' +
      'characters are used directly, without reading the catalog. With rules: bounds the repositories the rules see.',
  },
  {
    name: 'keep-count',
    default: '10',
    kind: 'integer',
    description:
      'How many images (distinct tagged manifests) to keep per repository, newest first. Images kept by keep-tags ' +
      'or older-than take no slot.',
  },
  {
    name: 'keep-tags',
    default: 'latest',
    kind: 'list',
    explicitEmpty: true,
    description:
      'Globs or /regular expressions/ of tags whose images are never deleted, separated by newlines or commas. ' +
      'An explicitly empty value protects no tag.',
  },
  {
    name: 'delete-tags',
    default: '',
    kind: 'list',
    description:
      'Tag selector (globs or /regular expressions/): only images all of whose tags match may be deleted; a tag ' +
      'it does not pick protects its image like keep-tags, and keep-count and older-than apply among the ' +
      'selected images. Empty: every tag.',
  },
  {
    name: 'untag',
    default: 'false',
    kind: 'boolean',
    description:
      'true: remove every selected tag (delete-tags, which must be set) of an image that is kept, on its own; the ' +
      'image and its other tags stay (an image kept by keep-count or older-than with only selected tags stays by ' +
      'digest). Keep-tags are never removed.',
  },
  {
    name: 'older-than',
    default: '',
    kind: 'duration',
    description:
      'Only delete images older than this, e.g. 30d, 12h, 2w or 1d12h. Empty: no age condition. Images whose ' +
      'age is unknown are never deleted for their age.',
  },
  {
    name: 'age-from',
    default: 'created',
    kind: 'choice',
    options: ['created', 'pushed'],
    description:
      "What an image's age is, for ordering and older-than: created (the image config's created time), or " +
      'pushed (when it was last pushed or tagged in its repository, read from the storage; needs ' +
      'garbage-collect ssh or local, and storage-path).',
  },
  {
    name: 'rules',
    default: '',
    kind: 'text',
    description:
      'Several policies in one run: a YAML list of rules, each with repositories and any of keep-count, keep-tags, ' +
      'delete-tags, older-than, age-from, untagged, keep-untagged, allow-delete-all, untag. The first rule that ' +
      'matches a repository applies; repositories no rule matches are not touched. Keys a rule leaves out take ' +
      'the plain input. Schema: schema/rules.schema.json.',
  },
  { name: 'dry-run', default: 'false', kind: 'boolean', description: 'Plan and report, delete nothing.' },
  { name: 'concurrency', default: '8', kind: 'integer', description: 'Parallel requests to the registry (1-64).' },
  {
    name: 'ca-cert',
    default: '',
    kind: 'text',
    description: 'PEM text, or the path of a PEM file, of a CA to trust for the registry.',
  },
  {
    name: 'insecure-skip-tls-verify',
    default: 'false',
    kind: 'boolean',
    description: "Do not verify the registry's TLS certificate (warns; prefer ca-cert).",
  },
  {
    name: 'request-timeout',
    default: '30s',
    kind: 'duration',
    description: 'Time limit for each request to the registry, e.g. 30s or 2m.',
  },
  {
    name: 'allow-delete-all',
    default: 'false',
    kind: 'boolean',
    description:
      'Allow a plan that deletes every image of a repository (otherwise that repository is skipped), and ' +
      'keep-count 0 with an empty keep-tags and no older-than.',
  },
  {
    name: 'fail-on-skipped',
    default: 'true',
    kind: 'boolean',
    description:
      'Exit non-zero at the end when a repository was skipped (nothing deleted in it, e.g. because it could not ' +
      'be read completely). The other repositories are pruned either way.',
  },
  {
    name: 'untagged',
    default: 'keep',
    kind: 'choice',
    options: ['keep', 'delete'],
    description:
      'keep, or delete: also delete untagged manifests (left behind when a tag is pushed again), listed on the ' +
      'registry host as untagged-source says. delete needs garbage-collect ssh or local.',
  },
  {
    name: 'keep-untagged',
    default: '0',
    kind: 'integer',
    description: 'With untagged: delete, how many of the newest untagged images to keep per repository.',
  },
  {
    name: 'untagged-source',
    default: 'auto',
    kind: 'choice',
    options: ['auto', 'storage', 'collector'],
    description:
      'Where untagged: delete lists untagged manifests, before any tag is read. storage: the storage tree under ' +
      'storage-path (a filesystem the SSH user can read). collector: the collector\'s read-only run, gc-command with ' +
      '--dry-run --delete-untagged, for any storage driver (s3, gcs, azure). auto: storage where storage-path is ' +
      'given and readable, else collector.',
  },
  {
    name: 'shard',
    default: '',
    description:
      'i/n (counting from 1): prune only the repositories whose name hashes to shard i of n, to split a huge ' +
      'registry over parallel jobs. Empty: all repositories.',
  },
  {
    name: 'prune',
    default: 'true',
    kind: 'boolean',
    description:
      'false: delete nothing through the API, only run garbage collection (the final job after sharded runs). ' +
      'Needs garbage-collect.',
  },
  {
    name: 'plan-file',
    default: 'registry-prune-plan.json',
    description: 'Where to write the JSON plan: every image with its digest, tags, size, decision and reason.',
  },
  {
    name: 'cache-file',
    default: '',
    description:
      'Path of a file that keeps, between runs, the manifests and image configs already read (they never change ' +
      'for a digest), so a run on a registry that changed little sends about one HEAD per tag. Empty: no cache. ' +
      'Every entry is checked against its digest when read; a damaged or foreign file is ignored with a warning.',
  },
  {
    name: 'garbage-collect',
    default: 'off',
    kind: 'choice',
    options: ['off', 'ssh', 'local'],
    description:
      "Run the registry's garbage collector once after deleting, to free the disk space: off, ssh (on " +
      'ssh-host), or local (on this machine, e.g. a self-hosted runner on the registry host).',
  },
  {
    name: 'ssh-host',
    default: '',
    description: 'host or host:port ([IPv6]:port) of the registry host. Required with garbage-collect: ssh.',
  },
  { name: 'ssh-user', default: 'root', description: 'SSH login on ssh-host.' },
  {
    name: 'ssh-private-key',
    default: '',
    kind: 'text',
    secret: true,
    description: 'SSH private key (OpenSSH or PEM text). Masked. Required with garbage-collect: ssh.',
  },
  {
    name: 'ssh-passphrase',
    default: '',
    secret: true,
    description: 'Passphrase of ssh-private-key, if it has one. Masked.',
  },
  {
    name: 'ssh-known-hosts',
    default: '',
    kind: 'text',
    description:
      'known_hosts line(s), or a SHA256: fingerprint, that the host key must match. Required with ' +
      'garbage-collect: ssh unless ssh-insecure-accept-any-host-key is true.',
  },
  {
    name: 'ssh-insecure-accept-any-host-key',
    default: 'false',
    kind: 'boolean',
    description: 'Skip the host key check (not recommended; warns in the log and the summary).',
  },
  {
    name: 'gc-command',
    default: DEFAULT_GC_COMMAND,
    description:
      'The garbage collector to run on the host, read with shell quoting rules. --delete-untagged (-m) is refused ' +
      'in any spelling: on Distribution 2.x it deletes the platforms of every multi-arch image; use untagged: ' +
      'delete instead. --dry-run (-d) is refused too: the tool adds it. A dry run adds --dry-run right after the ' +
      'word garbage-collect, so it needs one command (nothing chained) with one garbage-collect and no $ or ' +
      'backticks; the collector listing of untagged manifests adds --dry-run --delete-untagged there.',
  },
  {
    name: 'storage-path',
    default: '',
    description:
      "Absolute path of the registry's storage root on the host: measured (du -sb) before the first deletion " +
      'and after GC, and listed to find untagged manifests (untagged-source storage or auto).',
  },
  {
    name: 'gc-before-command',
    default: '',
    kind: 'text',
    description: 'Command run on the host before GC, e.g. to switch the registry to read-only mode.',
  },
  {
    name: 'gc-after-command',
    default: '',
    kind: 'text',
    description: 'Command run on the host after GC, e.g. to restart the registry in read-write mode.',
  },
] as const satisfies readonly InputSpec[]

export type InputName = (typeof INPUT_LIST)[number]['name']

/** Every input, in the order action.yml, the GitLab spec and the CLI help list them. */
export const INPUTS: readonly InputSpec[] = INPUT_LIST

export interface OutputSpec {
  name: string
  description: string
}

export const OUTPUTS: readonly OutputSpec[] = [
  { name: 'deleted-count', description: 'How many images were deleted (in a dry run: would be).' },
  { name: 'kept-count', description: 'How many images were kept.' },
  {
    name: 'reclaimable-bytes',
    description: "The plan's estimate: bytes of the blobs that only deleted images reference.",
  },
  {
    name: 'reclaimed-bytes',
    description: 'Bytes freed on the registry host, measured after garbage collection (0 without it).',
  },
  {
    name: 'gc-blobs-deleted',
    description: 'How many blobs the garbage collector deleted (0 in a dry run; the summary lists blobs already eligible).',
  },
  { name: 'plan-file', description: 'Path of the JSON plan file.' },
]

/** A raw input that cannot be used; `input` is the name of the input to fix. */
