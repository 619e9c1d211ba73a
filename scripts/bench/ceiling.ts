// The registry's own ceiling: the least a client must do to learn what ordering by age needs, as fast as a plain
// keep-alive loop can do it. Every tag's manifest with the four Accept types, each index child, each distinct config
// blob once; the catalog and the tag lists too, counted apart. No digest checks, no plan: the registry is the limit.
import { Pool } from 'undici'

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ')

export interface CeilingResult {
  seconds: number
  tags: number
  /** Manifest and config-blob GETs: the requests per tag are these over `tags`. */
  manifestRequests: number
  blobRequests: number
  /** Catalog pages and tag lists. */
  listRequests: number
}

interface ManifestBody {
  config?: { digest?: string; mediaType?: string }
  manifests?: { digest: string }[]
}

/**
 * One shared queue worked by `concurrency` workers over one keep-alive pool: a finished request may add more work
 * (a tag list adds its tags, an index adds its children, a manifest its config), so the pipe never drains early.
 */
export async function measureCeiling(url: string, concurrency: number): Promise<CeilingResult> {
  const pool = new Pool(url, { connections: concurrency, keepAliveTimeout: 30_000 })
  const result: CeilingResult = { seconds: 0, tags: 0, manifestRequests: 0, blobRequests: 0, listRequests: 0 }
  const configs = new Set<string>()
  const queue: (() => Promise<void>)[] = []

  const get = async (path: string, accept?: string): Promise<{ body: string; link: string | undefined }> => {
    const res = await pool.request({ method: 'GET', path, headers: accept ? { accept } : {} })
    const body = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 200)}`)
    const link = res.headers.link
    return { body, link: Array.isArray(link) ? link[0] : link }
  }

  const readManifest = (repo: string, reference: string) => async (): Promise<void> => {
    result.manifestRequests++
    const manifest = JSON.parse((await get(`/v2/${repo}/manifests/${reference}`, ACCEPT)).body) as ManifestBody
    for (const child of manifest.manifests ?? []) queue.push(readManifest(repo, child.digest))
    const config = manifest.config?.digest
    if (config && !configs.has(config)) {
      configs.add(config)
      queue.push(async () => {
        result.blobRequests++
        await get(`/v2/${repo}/blobs/${config}`)
      })
    }
  }

  const readTags = (repo: string) => async (): Promise<void> => {
    result.listRequests++
    const { tags } = JSON.parse((await get(`/v2/${repo}/tags/list`)).body) as { tags: string[] | null }
    result.tags += tags?.length ?? 0
    for (const tag of tags ?? []) queue.push(readManifest(repo, tag))
  }

  const readCatalog = (path: string) => async (): Promise<void> => {
    result.listRequests++
    const page = await get(path)
    for (const repo of (JSON.parse(page.body) as { repositories: string[] }).repositories) queue.push(readTags(repo))
    const next = /<([^>]+)>;\s*rel="next"/.exec(page.link ?? '')?.[1]
    if (next) queue.push(readCatalog(new URL(next, url).pathname + new URL(next, url).search))
  }

  const started = performance.now()
  queue.push(readCatalog('/v2/_catalog?n=1000'))
  let head = 0
  let busy = 0
  let waiting: (() => void)[] = []
  const wakeAll = (): void => {
    const sleepers = waiting
    waiting = []
    for (const wake of sleepers) wake()
  }
  const worker = async (): Promise<void> => {
    for (;;) {
      if (head < queue.length) {
        const task = queue[head]!
        queue[head++] = undefined as never // let finished work be collected
        busy++
        try {
          await task()
        } finally {
          busy--
          wakeAll()
        }
      } else if (busy === 0) {
        wakeAll()
        return
      } else {
        await new Promise<void>((resolve) => waiting.push(resolve))
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } finally {
    await pool.close()
  }
  result.seconds = (performance.now() - started) / 1000
  return result
}
