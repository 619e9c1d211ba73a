// A fault-injecting HTTP proxy on 127.0.0.1 in front of the real registry (issue 5). Driven by a seed: whether a
// request is faulted, and how, is a hash of the seed, the request (method and URL) and how often that request was
// already seen, so a run replays the same faults whatever order its concurrent requests come in.
// Also: restoring a populated storage directory between runs (DECISIONS 21).
import { createHash } from 'node:crypto'
import { cp, rm } from 'node:fs/promises'
import { createServer, request as forward, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { join } from 'node:path'
import type { TestRegistry } from './registry.js'

export type FaultKind =
  | '429' // Too Many Requests with Retry-After
  | '500'
  | '502'
  | '503' // with Retry-After
  | 'reset' // the connection is closed before the request reaches the registry
  | 'lost-answer' // the registry carries the request out, the answer is lost (a reset)
  | 'stall' // no answer until past the client's timeout, then a reset
  | 'truncate' // the answer's body stops half-way (Content-Length promised more)
  | 'bad-json' // a 200 whose body is not what it claims to be
  | 'link-loop' // the catalog's Link points back to the page just read
  | 'wrong-digest' // a manifest answer with another Docker-Content-Digest

/** How often each kind is picked among those that fit a request. Stalls cost real time: keep them rare. */
export const FAULT_WEIGHTS: Record<FaultKind, number> = {
  '429': 2,
  '500': 1,
  '502': 1,
  '503': 2,
  reset: 2,
  'lost-answer': 2,
  stall: 0.5,
  truncate: 2,
  'bad-json': 1,
  'link-loop': 4,
  'wrong-digest': 1,
}

export interface FaultProxyOptions {
  /** Share of requests faulted, 0..1. */
  rate: number
  /** How long a stall holds the request: just past the client's request timeout. */
  stallMs: number
  seed?: number
  /** Kinds to inject; default all. */
  kinds?: FaultKind[]
  /** Awaited before each request is handled: races (re-tag before the re-check), kills (after N deletes). */
  hook?: (req: IncomingMessage) => Promise<void> | void
}

export interface Injected {
  request: string
  kind: FaultKind
}

export interface FaultProxy {
  url: string
  /** `METHOD /path?query` of every request since the last reseed. */
  seen: string[]
  injected: Injected[]
  /** Starts a new run: a new seed, and the per-request counts and logs cleared. */
  reseed(seed: number, rate?: number): void
  close(): Promise<void>
}

const JSON_PATH = /^\/v2\/(?:_catalog|.+\/(?:tags\/list|manifests\/[^/]+|blobs\/[^/]+))$/

/** The kinds that can apply to a request. */
function fitting(method: string, path: string, kinds: readonly FaultKind[]): FaultKind[] {
  const fits = (kind: FaultKind): boolean => {
    switch (kind) {
      case 'truncate':
      case 'bad-json':
        return method === 'GET' && JSON_PATH.test(path)
      case 'link-loop':
        return method === 'GET' && path === '/v2/_catalog'
      case 'wrong-digest':
        return (method === 'GET' || method === 'HEAD') && /\/manifests\/[^/]+$/.test(path)
      default:
        return true
    }
  }
  return kinds.filter(fits)
}

/** Two numbers in [0, 1) from the seed and the request: whether to fault, and which kind. */
function rolls(seed: number, key: string): [number, number] {
  const hash = createHash('sha256').update(`${seed}|${key}`).digest()
  return [hash.readUInt32BE(0) / 2 ** 32, hash.readUInt32BE(4) / 2 ** 32]
}

function pick(kinds: FaultKind[], roll: number): FaultKind | undefined {
  const total = kinds.reduce((sum, k) => sum + FAULT_WEIGHTS[k], 0)
  let at = roll * total
  for (const kind of kinds) {
    at -= FAULT_WEIGHTS[kind]
    if (at < 0) return kind
  }
  return kinds.at(-1)
}

interface Upstream {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

function send(target: URL, req: IncomingMessage, body: Buffer): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const out = forward(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        // A fresh connection each time: a pooled one may belong to a registry process restarted since.
        agent: false,
      },
      (answer) => {
        const chunks: Buffer[] = []
        answer.on('data', (c: Buffer) => chunks.push(c))
        answer.on('end', () =>
          resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }),
        )
        answer.on('error', reject)
      },
    )
    out.on('error', reject)
    out.end(body)
  })
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const errorBody = (code: string): string => JSON.stringify({ errors: [{ code, message: `injected ${code}` }] })

export async function startFaultProxy(target: string, options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(target)
  const kinds = options.kinds ?? (Object.keys(FAULT_WEIGHTS) as FaultKind[])
  let seed = options.seed ?? 1
  let rate = options.rate
  let occurrences = new Map<string, number>()
  const seen: string[] = []
  const injected: Injected[] = []
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()

  const server = createServer((req, res) => {
    void (async () => {
      const method = req.method ?? 'GET'
      const request = `${method} ${req.url}`
      seen.push(request)
      const body = await readBody(req)
      await options.hook?.(req)
      const path = new URL(req.url ?? '/', 'http://x').pathname
      const n = occurrences.get(request) ?? 0
      occurrences.set(request, n + 1)
      const [fault, which] = rolls(seed, `${request}|${n}`)
      const kind = fault < rate ? pick(fitting(method, path, kinds), which) : undefined
      if (kind) injected.push({ request, kind })

      switch (kind) {
        case '429':
        case '503':
          res.writeHead(Number(kind), { 'retry-after': '2', 'content-type': 'application/json' })
          return res.end(errorBody(kind === '429' ? 'TOOMANYREQUESTS' : 'UNAVAILABLE'))
        case '500':
        case '502':
          res.writeHead(Number(kind), { 'content-type': 'text/plain' })
          return res.end(`injected ${kind}`)
        case 'reset':
          return req.socket.destroy()
        case 'stall': {
          const timer = setTimeout(() => {
            timers.delete(timer)
            req.socket.destroy()
          }, options.stallMs)
          timers.add(timer)
          return
        }
        default:
          break
      }

      let answer: Upstream
      try {
        answer = await send(upstream, req, body)
      } catch {
        return req.socket.destroy()
      }
      if (kind === 'lost-answer') return req.socket.destroy()
      const headers = { ...answer.headers }
      let out = answer.body
      const ok = answer.status === 200
      if (kind === 'wrong-digest' && ok) {
        headers['docker-content-digest'] = `sha256:${createHash('sha256').update(`wrong ${n}`).digest('hex')}`
      }
      if (kind === 'link-loop' && ok) headers.link = `<${req.url}>; rel="next"`
      if (kind === 'bad-json' && ok && method === 'GET') {
        out = Buffer.from('{"this is": not json')
        headers['content-length'] = String(out.length)
      }
      if (kind === 'truncate' && ok && method === 'GET' && out.length > 1) {
        res.writeHead(answer.status, headers)
        res.write(out.subarray(0, Math.floor(out.length / 2)))
        // Let the half body leave before the connection drops.
        return setTimeout(() => req.socket.destroy(), 5)
      }
      res.writeHead(answer.status, headers)
      res.end(method === 'HEAD' ? undefined : out)
    })().catch(() => req.socket.destroy())
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    injected,
    reseed(next, nextRate) {
      seed = next
      if (nextRate !== undefined) rate = nextRate
      occurrences = new Map()
      seen.length = 0
      injected.length = 0
    },
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/**
 * Replaces a registry's storage (or one part of it, e.g. `docker/registry/v2/repositories`, where API deletes and tag
 * pushes write; blobs change only through uploads and GC) with a copy from `pristine`, and restarts the registry on the
 * same port, which drops its in-memory blob descriptor cache.
 */
export async function restoreStorage(reg: TestRegistry, pristine: string, part = ''): Promise<void> {
  // The registry is idle between runs (no request in flight), so the swap happens under a quiet process.
  await rm(join(reg.storage, part), { recursive: true, force: true })
  await cp(join(pristine, part), join(reg.storage, part), { recursive: true })
  await reg.restart()
}
