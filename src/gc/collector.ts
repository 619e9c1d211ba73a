// The collector (`registry garbage-collect`): what we read from its output.

// The command line is read and checked in command.ts; re-exported here for the callers that know it from this module.
import { collectorCommand } from './command.js'

export { collectorCommand, type CollectorFlags } from './command.js'

/**
 * The collector's read-only listing of untagged manifests (issue 14): `gc-command` with `--dry-run --delete-untagged`
 * right after the garbage-collect word. This is the tool's only use of --delete-untagged (DECISIONS 28), and the two
 * flags go in as one piece, so --delete-untagged never reaches the collector without --dry-run. Refuses what
 * `collectorCommand` refuses for a dry run.
 */
export function listingCommand(command: string): string {
  return collectorCommand(command, { dryRun: true, deleteUntagged: true })
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

const SUMMARY = /^(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion\s*$/
const ELIGIBLE_BLOB = /^blob eligible for deletion: (sha256:[0-9a-f]{64})\s*$/
const ELIGIBLE_MANIFEST = /^manifest eligible for deletion: (sha256:[0-9a-f]{64})\s*$/
// logrus text (`msg="Deleting blob: ..."`) and JSON (`"msg":"Deleting blob: ..."`) formats alike.
const DELETING_BLOB = /Deleting blob: \S*?\/blobs\/(sha256)\/[0-9a-f]{2}\/([0-9a-f]{64})/g

/**
 * Reads the collector's output a line at a time, as it comes, keeping only what `CollectorOutput` holds: at 100,000
 * tags the collector prints hundreds of thousands of lines (tens of MB), which are never held whole.
 */
export class CollectorReader {
  private summary: RegExpExecArray | undefined
  private readonly eligibleBlobs = new Set<string>()
  private readonly eligibleManifests = new Set<string>()
  private readonly deletingBlobs = new Set<string>()

  line(stream: 'stdout' | 'stderr', line: string): void {
    for (const m of line.matchAll(DELETING_BLOB)) this.deletingBlobs.add(`${m[1]}:${m[2]}`)
    if (stream !== 'stdout') return
    let m: RegExpExecArray | null
    if ((m = ELIGIBLE_BLOB.exec(line))) this.eligibleBlobs.add(m[1] as string)
    else if ((m = ELIGIBLE_MANIFEST.exec(line))) this.eligibleManifests.add(m[1] as string)
    else if (!this.summary && (m = SUMMARY.exec(line))) this.summary = m
  }

  result(): CollectorOutput {
    const summary = this.summary
    return {
      blobsMarked: summary ? Number(summary[1]) : undefined,
      blobsEligible: summary ? Number(summary[2]) : undefined,
      manifestsEligible: summary ? Number(summary[3]) : undefined,
      eligibleBlobs: [...this.eligibleBlobs],
      eligibleManifests: [...this.eligibleManifests],
      deletingBlobs: [...this.deletingBlobs],
    }
  }
}

/** The same, for an output already held whole. */
export function parseCollectorOutput(stdout: string, stderr: string): CollectorOutput {
  const reader = new CollectorReader()
  for (const line of stderr.split('\n')) reader.line('stderr', line)
  for (const line of stdout.split('\n')) reader.line('stdout', line)
  return reader.result()
}

/**
 * Blobs a real (not dry) run deleted. The collector logs `Deleting blob:` only at log level info; it stops with a
 * non-zero exit at the first blob it cannot delete, so after exit 0 every eligible blob is gone.
 */
export function deletedBlobs(output: CollectorOutput): string[] {
  return [...new Set([...output.deletingBlobs, ...output.eligibleBlobs])]
}
