// Starts a real CNCF Distribution registry (Debian's `docker-registry` package) on 127.0.0.1 for tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const REGISTRY_BIN = process.env.REGISTRY_BIN ?? 'docker-registry'

export interface RegistryOptions {
  /** storage.delete.enabled; default true. */
  deleteEnabled?: boolean
  /** storage.maintenance.readonly.enabled */
  readOnly?: boolean
  /** An existing storage root to serve (e.g. one restored from a copy). */
  storage?: string
  /** Extra top-level YAML appended to the config (auth:, or http.tls via `http`). */
  auth?: string
  /** Extra lines under `http:` (indented by the caller with two spaces), e.g. a tls block. */
  http?: string
  scheme?: 'http' | 'https'
}

export interface TestRegistry {
  url: string
  port: number
  storage: string
  configPath: string
  /** Stop, then start again on the same port and storage (clears the in-memory blob cache). */
  restart(options?: Partial<RegistryOptions>): Promise<void>
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

function config(port: number, storage: string, o: RegistryOptions): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  cache:',
    '    blobdescriptor: inmemory',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    `    enabled: ${o.deleteEnabled ?? true}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    '    readonly:',
    `      enabled: ${o.readOnly ?? false}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(o.http ? [o.http] : []),
    ...(o.auth ? [o.auth] : []),
    '',
  ].join('\n')
}

async function waitUntilUp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}:\n${output()}`)
    try {
      // Any HTTP answer (200, 401) means it is listening. TLS registries are probed over TCP only.
      const res = await fetch(`${url}/v2/`).catch((e: unknown) => {
        if (url.startsWith('https:')) return { status: 0, tcp: !String((e as Error).cause).includes('ECONNREFUSED') }
        throw e
      })
      if (!('tcp' in res) || res.tcp) return
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`docker-registry did not answer on ${url} within 15 s:\n${output()}`)
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-test-'))
  const storage = options.storage ?? join(dir, 'storage')
  const configPath = join(dir, 'config.yml')
  const port = await freePort()
  const url = `${options.scheme ?? 'http'}://127.0.0.1:${port}`
  let current = { ...options }
  let child: ChildProcess | undefined

  const start = async (): Promise<void> => {
    await writeFile(configPath, config(port, storage, current))
    let output = ''
    child = spawn(REGISTRY_BIN, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    await waitUntilUp(url, child, () => output)
  }
  const halt = async (): Promise<void> => {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null) return
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.kill('SIGTERM')
      setTimeout(() => c.kill('SIGKILL'), 3000).unref()
    })
  }

  await start()
  return {
    url,
    port,
    storage,
    configPath,
    async restart(next = {}) {
      await halt()
      current = { ...current, ...next }
      await start()
    },
    async stop() {
      await halt()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
