// The collector (`registry garbage-collect`): the command line we run, and what we read from its output.

/**
 * Does a word of the command ask the collector to delete untagged manifests (`--delete-untagged`, `-m`, `-dm`)?
 * The collector's flag parser reads `-m=true` as `-m`, so only the part before `=` counts.
 */
function isDeleteUntagged(word: string): boolean {
  const flag = word.split('=')[0] as string
  return flag === '--delete-untagged' || (/^-[A-Za-z]+$/.test(flag) && flag.includes('m'))
}

/** The words of a command line, split on spaces and quotes alike (`sh -c '... -m ...'` must be seen too). */
const wordsOf = (command: string): string[] => command.split(/[\s'"();&|]+/).filter(Boolean)

/** The word of `command` that asks for --delete-untagged (DECISIONS 1), or undefined. The inputs check it too. */
export function deleteUntaggedWord(command: string): string | undefined {
  return wordsOf(command).find(isDeleteUntagged)
}

/** The collector's subcommand as a word of the command line, also inside quotes (`sh -c '… garbage-collect …'`). */
const SUBCOMMAND = /(?<=^|[\s'"])garbage-collect(?=$|[\s'"])/

/**
 * Why `command` cannot be made a dry run, or undefined. `--dry-run` goes right after the subcommand word, so it reaches
 * the collector through any wrapper (`sh -c '…'`, `docker exec …`); a command without that word, or one that sets
 * the flag's value itself, gives no such guarantee.
 */
export function dryRunProblem(command: string): string | undefined {
  if (!SUBCOMMAND.test(command)) {
    return 'a dry run adds --dry-run right after the word garbage-collect, and this command has no such word'
  }
  const set = wordsOf(command).find((word) => /^(--dry-run|-d)=/.test(word))
  return set ? `it sets '${set}' itself, which could turn the dry run's --dry-run off` : undefined
}

/**
 * The command to run: `gc-command`, with `--dry-run` right after `garbage-collect` on a dry run (DECISIONS 17).
 * Refuses `--delete-untagged` (DECISIONS 1) and a command that cannot be made a dry run: the inputs refuse both
 * too, but this is where they would do harm.
 */
export function collectorCommand(command: string, dryRun: boolean): string {
  const culprit = deleteUntaggedWord(command)
  if (culprit) {
    throw new Error(
      `gc-command '${command}' contains '${culprit}' (--delete-untagged): refused. On Distribution 2.x it deletes the ` +
        'untagged children of every multi-platform image and untagged OCI referrers in the whole registry: the index ' +
        'tag still resolves, but no platform can be pulled. Remove it; use `untagged: delete` to remove untagged ' +
        'images safely through the API.',
    )
  }
  if (!command.trim()) throw new Error('gc-command is empty: give the collector command, e.g. `registry garbage-collect /etc/docker/registry/config.yml`.')
  if (!dryRun) return command
  const problem = dryRunProblem(command)
  if (problem) throw new Error(`gc-command '${command}' cannot run as a dry run: ${problem}.`)
  const at = SUBCOMMAND.exec(command) as RegExpExecArray
  const end = at.index + at[0].length
  const after = wordsOf(command.slice(end))
  if (after.includes('--dry-run') || after.includes('-d')) return command
  return `${command.slice(0, end)} --dry-run${command.slice(end)}`
}

/**
 * The collector's read-only listing of untagged manifests (issue 14): `gc-command` with `--dry-run --delete-untagged`
 * right after the garbage-collect word. This is the tool's only use of --delete-untagged (DECISIONS 28), and the two
 * flags go in as one piece, so --delete-untagged never reaches the collector without --dry-run. Refuses what
 * `collectorCommand` refuses for a dry run.
 */
export function listingCommand(command: string): string {
  collectorCommand(command, true)
  const at = SUBCOMMAND.exec(command) as RegExpExecArray
  const end = at.index + at[0].length
  return `${command.slice(0, end)} --dry-run --delete-untagged${command.slice(end)}`
}

export interface CollectorOutput {
  blobsMarked: number | undefined
  blobsEligible: number | undefined
  manifestsEligible: number | undefined
  /** `blob eligible for deletion: <digest>` lines (stdout), in order. */
  eligibleBlobs: string[]
  /** `manifest eligible for deletion: <digest>` lines (stdout; only with --delete-untagged). */
  eligibleManifests: string[]
  /** `Deleting blob: /docker/registry/v2/blobs/sha256/xx/<hex>` log lines (stderr; at log level info or lower). */
  deletingBlobs: string[]
}

const SUMMARY = /^(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion\s*$/m
const ELIGIBLE_BLOB = /^blob eligible for deletion: (sha256:[0-9a-f]{64})\s*$/gm
const ELIGIBLE_MANIFEST = /^manifest eligible for deletion: (sha256:[0-9a-f]{64})\s*$/gm
// logrus text (`msg="Deleting blob: ..."`) and JSON (`"msg":"Deleting blob: ..."`) formats alike.
const DELETING_BLOB = /Deleting blob: \S*?\/blobs\/(sha256)\/[0-9a-f]{2}\/([0-9a-f]{64})/g

export function parseCollectorOutput(stdout: string, stderr: string): CollectorOutput {
  const summary = SUMMARY.exec(stdout)
  const unique = (xs: string[]): string[] => [...new Set(xs)]
  return {
    blobsMarked: summary ? Number(summary[1]) : undefined,
    blobsEligible: summary ? Number(summary[2]) : undefined,
    manifestsEligible: summary ? Number(summary[3]) : undefined,
    eligibleBlobs: unique([...stdout.matchAll(ELIGIBLE_BLOB)].map((m) => m[1] as string)),
    eligibleManifests: unique([...stdout.matchAll(ELIGIBLE_MANIFEST)].map((m) => m[1] as string)),
    deletingBlobs: unique([...`${stderr}\n${stdout}`.matchAll(DELETING_BLOB)].map((m) => `${m[1]}:${m[2]}`)),
  }
}

/**
 * Blobs a real (not dry) run deleted. The collector logs `Deleting blob:` only at log level info; it stops with a
 * non-zero exit at the first blob it cannot delete, so after exit 0 every eligible blob is gone.
 */
export function deletedBlobs(output: CollectorOutput): string[] {
  return [...new Set([...output.deletingBlobs, ...output.eligibleBlobs])]
}
