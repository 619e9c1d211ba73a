// Looks at a test registry's storage tree directly: what the API cannot show (revisions no tag names, link times).
import { readdir, stat, utimes } from 'node:fs/promises'
import { join } from 'node:path'

export const REPOSITORIES = 'docker/registry/v2/repositories'

/**
 * Digests with a revision link in a repository. An API delete removes the link file and leaves its directory, so
 * revisions are counted by link files, never by directories.
 */
export async function revisionLinks(storage: string, repo: string): Promise<string[]> {
  const dir = join(storage, REPOSITORIES, repo, '_manifests/revisions/sha256')
  const out: string[] = []
  for (const hex of await readdir(dir).catch(() => [] as string[])) {
    if (await stat(join(dir, hex, 'link')).then(() => true, () => false)) out.push(`sha256:${hex}`)
  }
  return out.sort()
}

/** The link files of a repository's manifests (revisions and tags), relative to its `_manifests`. */
async function linkFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...(await linkFiles(dir, path)))
    else if (entry.name === 'link') out.push(path)
  }
  return out
}

/** Sets the modification time of every manifest link of a repository, as if it had all happened at `when`. */
export async function ageLinks(storage: string, repo: string, when: Date): Promise<void> {
  const dir = join(storage, REPOSITORIES, repo, '_manifests')
  for (const path of await linkFiles(dir)) await utimes(join(dir, path), when, when)
}

/** Modification time (ms) of one link under a repository's `_manifests`, e.g. `tags/v1/current/link`. */
export async function linkTime(storage: string, repo: string, path: string): Promise<number> {
  return (await stat(join(storage, REPOSITORIES, repo, '_manifests', path))).mtimeMs
}
