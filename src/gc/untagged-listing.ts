// Untagged manifests as the collector sees them (issue 14): `garbage-collect --dry-run --delete-untagged` reads the
// storage through the registry's own configuration, so it works on every storage driver (s3, gcs, azure, a volume in
// a pod), and it changes nothing. Its output is the registry's, not ours: it is parsed strictly, and any line that is
// not one of the forms below makes the whole listing unusable (no untagged manifest is deleted anywhere).
//
// Distribution 2.8.2 prints, on stdout (checked on the real `docker-registry garbage-collect` here):
//
//   app                                                   <- a repository, by name
//   manifest eligible for deletion: sha256:…              <- untagged: belongs to the last name line
//   app: marking manifest sha256:…                        <- tagged (note the trailing space)
//   app: marking blob sha256:…                            <- what a tagged manifest references
//   team/clean                                            <- a repository with no untagged manifest
//   team/clean: marking manifest sha256:…
//                                                         <- one blank line
//   16 blobs marked, 16 blobs and 6 manifests eligible for deletion
//   blob eligible for deletion: sha256:…                  <- M of them
//
// Marked and eligible lines of one repository come in digest order, mixed. An empty storage prints only the blank line
// and `0 blobs marked, 0 blobs and 0 manifests eligible for deletion`.
import { REPOSITORY_NAME } from '../inputs.js'
import type { GcSettings, Logger } from '../types.js'
import { listingCommand } from './collector.js'
import type { Shell } from './shell.js'

export type ParsedListing =
  | { untagged: Map<string, string[]> }
  /** Why the output cannot be trusted, naming the line. */
  | { problem: string }

const DIGEST = 'sha256:[0-9a-f]{64}'
const ELIGIBLE_MANIFEST = new RegExp(`^manifest eligible for deletion: (${DIGEST})$`)
const MARKING = new RegExp(`^(.+): marking (manifest (${DIGEST}) ?|blob ${DIGEST})$`)
const SUMMARY = /^(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion$/
const ELIGIBLE_BLOB = new RegExp(`^blob eligible for deletion: ${DIGEST}$`)

/** A line for a message: JSON-quoted (control characters show as escapes), long ones cut. */
function excerpt(line: string): string {
  return JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}…` : line)
}

/**
 * Parses the collector's stdout into repository name -> untagged manifest digests (sorted). Strict: an unknown line,
 * a marking line under another repository's name, a count that does not add up, or an output that stops before the
 * summary line each give a `problem` instead.
 */
export function parseUntaggedListing(stdout: string): ParsedListing {
  const lines = stdout.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const untagged = new Map<string, string[]>()
  let repository: string | undefined
  let eligibleManifests = 0
  let summary: { blobs: number; manifests: number } | undefined
  let eligibleBlobs = 0
  let blank = false
  for (const [index, line] of lines.entries()) {
    const bad = (why: string): ParsedListing => ({
      problem: `line ${index + 1} of the collector's output ${excerpt(line)} ${why}`,
    })
    if (summary) {
      if (!ELIGIBLE_BLOB.test(line)) return bad('is not a `blob eligible for deletion: sha256:…` line')
      eligibleBlobs++
      continue
    }
    if (blank) {
      const counts = SUMMARY.exec(line)
      if (!counts) return bad('is not the `N blobs marked, M blobs and K manifests eligible for deletion` line')
      summary = { blobs: Number(counts[2]), manifests: Number(counts[3]) }
      continue
    }
    if (line === '') {
      blank = true
      continue
    }
    const eligible = ELIGIBLE_MANIFEST.exec(line)
    if (eligible) {
      if (repository === undefined) return bad('comes before any repository name line')
      untagged.get(repository)?.push(eligible[1] as string)
      eligibleManifests++
      continue
    }
    const marking = MARKING.exec(line)
    if (marking) {
      if (marking[1] !== repository) return bad(`names another repository than the last name line (${excerpt(repository ?? '')})`)
      continue
    }
    if (REPOSITORY_NAME.test(line) && line.length <= 255) {
      if (untagged.has(line)) return bad('names a repository a second time')
      repository = line
      untagged.set(line, [])
      continue
    }
    return bad('is none of the lines the parser knows (a repository name, `<repository>: marking …`, `manifest eligible for deletion: sha256:…`)')
  }
  if (!summary) {
    return {
      problem: `the collector's output ends after ${lines.length} lines without the \`N blobs marked, M blobs and K ` +
        'manifests eligible for deletion` line: it was cut off, or it is not the output of garbage-collect',
    }
  }
  if (summary.manifests !== eligibleManifests) {
    return {
      problem: `the collector's summary counts ${summary.manifests} manifests eligible for deletion, but its output ` +
        `lists ${eligibleManifests}`,
    }
  }
  if (summary.blobs !== eligibleBlobs) {
    return {
      problem: `the collector's summary counts ${summary.blobs} blobs eligible for deletion, but its output lists ${eligibleBlobs}`,
    }
  }
  for (const digests of untagged.values()) digests.sort()
  return { untagged }
}

function tail(text: string, lines = 10): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

/**
 * Runs the collector's read-only listing through `shell` and parses it. Throws with a message that says what to fix
 * when the command cannot be built, fails, or prints something the parser does not know; the caller fails closed.
 */
export async function listUntaggedByCollector(shell: Shell, gc: GcSettings, log: Logger): Promise<Map<string, string[]>> {
  const command = listingCommand(gc.command)
  log.info(`$ ${command}`)
  const result = await shell.run(command)
  if (result.code !== 0) {
    const hints = [
      'check that gc-command runs the registry\'s collector with the registry\'s own config on that host, as a user that ' +
        'can read the whole storage',
    ]
    if (/Path not found: \/docker\/registry\/v2\/(repositories|blobs)/.test(result.stderr)) {
      hints.unshift('the storage in that config holds no repositories: nothing was pushed yet, or the config is not the one the registry serves')
    }
    throw new Error(
      `The collector's listing of untagged manifests failed on ${shell.target} with exit ${result.code} ` +
        `(\`${command}\`):\n${tail(result.stderr) || '(no output on stderr)'}\nWhat to check: ${hints.join('; ')}.`,
    )
  }
  const parsed = parseUntaggedListing(result.stdout)
  if ('problem' in parsed) {
    throw new Error(
      `The output of \`${command}\` on ${shell.target} cannot be read: ${parsed.problem}. It is the registry's format, ` +
        'checked against Distribution 2.8.2; a wrapper in gc-command that prints more on stdout must send that to stderr.',
    )
  }
  const count = [...parsed.untagged.values()].reduce((sum, digests) => sum + digests.length, 0)
  log.info(`The collector lists ${count} untagged manifests in ${parsed.untagged.size} repositories.`)
  return parsed.untagged
}
