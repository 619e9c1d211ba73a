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
