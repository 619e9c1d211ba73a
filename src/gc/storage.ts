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

/** Modification times (epoch ms) of one repository's manifest links: what a push or a tag rewrites. */
export interface LinkTimes {
  /** digest -> `_manifests/revisions/sha256/<hex>/link` */
  revisions: Map<string, number>
  /** tag -> `_manifests/tags/<tag>/current/link`, and `…/index/sha256/<hex>/link` by digest */
  tags: Map<string, { current?: number; index: Map<string, number> }>
}

const TAG_CURRENT = /^(.+?)\/_manifests\/tags\/([^/]+)\/current\/link$/
const TAG_INDEX = /^(.+?)\/_manifests\/tags\/([^/]+)\/index\/sha256\/([0-9a-f]{64})\/link$/

/** Parses `find -printf '%T@ %p\n'` output into repository name -> link times. */
export function parseLinkTimes(findOutput: string, root: string): Map<string, LinkTimes> {
  const prefix = `${root.replace(/\/+$/, '')}/`
  const out = new Map<string, LinkTimes>()
  const of = (name: string): LinkTimes | undefined => {
    if (name.split('/').some((part) => part.startsWith('_') || part === '')) return undefined
    let times = out.get(name)
    if (!times) out.set(name, (times = { revisions: new Map(), tags: new Map() }))
    return times
  }
  const tagOf = (times: LinkTimes, tag: string) => {
    let entry = times.tags.get(tag)
    if (!entry) times.tags.set(tag, (entry = { index: new Map() }))
    return entry
  }
  for (const line of findOutput.split('\n')) {
    const space = line.indexOf(' ')
    const seconds = Number(line.slice(0, space))
    const path = line.slice(space + 1)
    if (space < 0 || !Number.isFinite(seconds) || !path.startsWith(prefix)) continue
    const ms = Math.round(seconds * 1000)
    const rest = path.slice(prefix.length)
    const revision = REVISION.exec(rest)
    const current = TAG_CURRENT.exec(rest)
    const index = TAG_INDEX.exec(rest)
    if (revision) of(revision[1] as string)?.revisions.set(`sha256:${revision[2]}`, ms)
    else if (current) {
      const times = of(current[1] as string)
      if (times) tagOf(times, current[2] as string).current = ms
    } else if (index) {
      const times = of(index[1] as string)
      if (times) tagOf(times, index[2] as string).index.set(`sha256:${index[3]}`, ms)
    }
  }
  return out
}

/**
 * The modification times of every revision link and tag link in the storage tree (`age-from: pushed`), with one
 * `find` over the quoted storage path. Run before any tag is read.
 */
export async function listLinkTimes(shell: Shell, storagePath: string): Promise<Map<string, LinkTimes>> {
  const root = `${storagePath.replace(/\/+$/, '')}/${REPOSITORIES}`
  const result = await shell.run(
    `find ${shellQuote(root)} \\( -path '*/_manifests/revisions/sha256/*/link' -o -path '*/_manifests/tags/*/current/link'` +
      ` -o -path '*/_manifests/tags/*/index/sha256/*/link' \\) -type f -printf '%T@ %p\\n'`,
  )
  if (result.code !== 0) {
    throw new Error(
      `Could not read the push times in '${root}' on ${shell.target} (find exit ${result.code}): ` +
        `${lastLines(result.stderr, 5) || 'no output'}. Check that storage-path is the registry's storage root ` +
        '(the directory that holds docker/registry/v2), that the SSH user can read all of it, and that its find ' +
        'is GNU find (-printf; BusyBox and BSD find lack it).',
    )
  }
  return parseLinkTimes(result.stdout, root)
}
