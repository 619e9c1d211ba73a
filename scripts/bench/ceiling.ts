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

export interface MinimalApplyResult {
  /** Wall time with a re-check under way, with a deletion under way, and the whole apply. */
  recheckSeconds: number
  deletionSeconds: number
  seconds: number
  /** Tag lists and manifest GETs of the re-check; DELETEs. */
  recheckRequests: number
  deleteRequests: number
}

/**
 * The least a client must do to delete safely what a plan says (issue 15): per repository, right before deleting in
 * it, the tag list again and every tag's manifest (GET with the four Accept types), then each planned digest deleted,
 * in the plan's order (an index before its children). Repositories side by side, `concurrency` requests in flight.
 * No decisions: the plan is given, and the registry does not change during the benchmark, so the re-read finds what the
 * plan saw; it is done for its cost.
 */
export async function measureMinimalApply(
  url: string,
  concurrency: number,
  plan: { repository: string; digests: string[] }[],
): Promise<MinimalApplyResult> {
  const pool = new Pool(url, { connections: concurrency, keepAliveTimeout: 30_000 })
  const result: MinimalApplyResult = { recheckSeconds: 0, deletionSeconds: 0, seconds: 0, recheckRequests: 0, deleteRequests: 0 }
  const slots = { free: concurrency, waiting: [] as (() => void)[] }
  const slot = async <T>(work: () => Promise<T>): Promise<T> => {
    if (slots.free > 0) slots.free--
    else await new Promise<void>((resolve) => slots.waiting.push(resolve))
    try {
      return await work()
    } finally {
      const next = slots.waiting.shift()
      if (next) next()
      else slots.free++
    }
  }
  const spans = { recheck: { running: 0, since: 0, total: 0 }, deletions: { running: 0, since: 0, total: 0 } }
  const timed = async (span: { running: number; since: number; total: number }, work: () => Promise<void>): Promise<void> => {
    if (span.running++ === 0) span.since = performance.now()
    try {
      await work()
    } finally {
      if (--span.running === 0) span.total += performance.now() - span.since
    }
  }
  const request = (method: 'GET' | 'DELETE', path: string, accept?: string) =>
    slot(async () => {
      const res = await pool.request({ method, path, headers: accept ? { accept } : {} })
      const body = await res.body.arrayBuffer()
      return { status: res.statusCode, body: Buffer.from(body) }
    })

  const applyRepository = async ({ repository, digests }: { repository: string; digests: string[] }): Promise<void> => {
    await timed(spans.recheck, async () => {
      result.recheckRequests++
      const list = await request('GET', `/v2/${repository}/tags/list`)
      const tags = (JSON.parse(list.body.toString()) as { tags: string[] | null }).tags ?? []
      await Promise.all(
        tags.map(async (tag) => {
          result.recheckRequests++
          const got = await request('GET', `/v2/${repository}/manifests/${tag}`, ACCEPT)
          if (got.status !== 200) throw new Error(`GET ${repository}:${tag}: ${got.status}`)
        }),
      )
    })
    await timed(spans.deletions, async () => {
      for (const digest of digests) {
        result.deleteRequests++
        const res = await request('DELETE', `/v2/${repository}/manifests/${digest}`)
        if (res.status !== 202 && res.status !== 404) throw new Error(`DELETE ${repository}@${digest}: ${res.status}`)
      }
    })
  }

  const started = performance.now()
  try {
    let next = 0
    // As many repositories at once as requests in flight, like ours: a repository waits for its own re-check only.
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < plan.length) await applyRepository(plan[next++]!)
      }),
    )
  } finally {
    await pool.close()
  }
  result.seconds = (performance.now() - started) / 1000
  result.recheckSeconds = spans.recheck.total / 1000
  result.deletionSeconds = spans.deletions.total / 1000
  return result
}
