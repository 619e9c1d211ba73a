// A small HTTP proxy on 127.0.0.1 in front of the real registry, for what the registry itself cannot show:
// faults (resets, stalls, 5xx, wrong headers) and a token-checking gate.
import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'

export interface Faults {
  /** Answer the request here instead of the registry (return true), e.g. with a 503 or a reset. */
  answer?: (req: IncomingMessage, res: ServerResponse) => boolean
  /** Change the registry's answer headers on the way back (e.g. a wrong Docker-Content-Digest). */
  headers?: (req: IncomingMessage, headers: Record<string, string | string[] | undefined>) => void
}

export interface Proxy {
  url: string
  /** `METHOD /path?query` of every request received. */
  seen: string[]
  close(): Promise<void>
}

export async function startProxy(target: string, faults: Faults): Promise<Proxy> {
  const seen: string[] = []
  const upstream = new URL(target)
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    if (faults.answer?.(req, res)) return
    const out = forward(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        const headers = { ...answer.headers }
        faults.headers?.(req, headers)
        if (res.destroyed) return answer.resume()
        res.writeHead(answer.statusCode ?? 502, headers)
        answer.pipe(res)
      },
    )
    out.on('error', () => res.destroy())
    req.pipe(out)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * A byte-for-byte TCP relay to the registry that counts the connections made to it: the registry's own answers
 * (headers included) reach the client unchanged, which an HTTP proxy would not give (it sets its own).
 */
export async function startTcpRelay(target: string): Promise<{ url: string; connections(): number; close(): Promise<void> }> {
  const upstream = new URL(target)
  const open = new Set<Socket>()
  let connections = 0
  const server = createTcpServer((client) => {
    connections++
    const registry = connect(Number(upstream.port), upstream.hostname)
    for (const socket of [client, registry]) {
      open.add(socket)
      socket.on('close', () => open.delete(socket))
      socket.on('error', () => {
        client.destroy()
        registry.destroy()
      })
    }
    client.pipe(registry).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
