// Reads the registry's storage tree on the host: its size, and every manifest revision each repository holds.
// Only `storage-path` (quoted) goes into a command line; names that come from the registry are parsed in Node.
import type { Shell } from './shell.js'

/** Quotes a value for `sh`: inside single quotes nothing is special except the quote itself. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n')
}

/** `du -sb` of the storage root, in bytes. */
export async function measure(shell: Shell, storagePath: string): Promise<number> {
  const result = await shell.run(`du -sb -- ${shellQuote(storagePath)}`)
  const bytes = /^(\d+)\s/.exec(result.stdout)
  if (result.code !== 0 || !bytes) {
    throw new Error(
      `Could not measure storage-path '${storagePath}' on ${shell.target} with \`du -sb\` (exit ${result.code}): ` +
        `${lastLines(result.stderr, 5) || 'no output'}. Check that storage-path is the registry's storage root ` +
        '(`storage.filesystem.rootdirectory` in its config, the directory that holds docker/registry/v2) on that ' +
        'host, and that the SSH user can read all of it.',
    )
  }
  return Number(bytes[1])
}

const REPOSITORIES = 'docker/registry/v2/repositories'
// <name>/_manifests/revisions/sha256/<hex>/link. A deleted manifest leaves its directory without the link file.
// Components starting with `_` (`_manifests`, `_layers`, `_uploads`) are reserved, so no repository name holds one.
const REVISION = /^(.+?)\/_manifests\/revisions\/sha256\/([0-9a-f]{64})\/link$/

/** Parses `find` output (one path per line) into repository name -> revision digests. */
export function parseRevisions(findOutput: string, root: string): Map<string, string[]> {
  const prefix = `${root.replace(/\/+$/, '')}/`
  const revisions = new Map<string, string[]>()
  for (const line of findOutput.split('\n')) {
    if (!line.startsWith(prefix)) continue
    const m = REVISION.exec(line.slice(prefix.length))
    if (!m) continue
    const [, name, hex] = m as unknown as [string, string, string]
    if (name.split('/').some((part) => part.startsWith('_') || part === '')) continue
    const digests = revisions.get(name) ?? []
    digests.push(`sha256:${hex}`)
    revisions.set(name, digests)
  }
  for (const digests of revisions.values()) digests.sort()
  return revisions
}

/** Every manifest revision of every repository in the storage tree, with one `find` over the quoted storage path. */
export async function listRevisions(shell: Shell, storagePath: string): Promise<Map<string, string[]>> {
  const root = `${storagePath.replace(/\/+$/, '')}/${REPOSITORIES}`
  const result = await shell.run(
    `find ${shellQuote(root)} -path '*/_manifests/revisions/sha256/*/link' -type f`,
  )
  if (result.code !== 0) {
    throw new Error(
      `Could not list the manifests in '${root}' on ${shell.target} (find exit ${result.code}): ` +
        `${lastLines(result.stderr, 5) || 'no output'}. Check that storage-path is the registry's storage root ` +
        '(the directory that holds docker/registry/v2) and that the SSH user can read all of it.',
    )
  }
  return parseRevisions(result.stdout, root)
}
