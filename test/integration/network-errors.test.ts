// Issue 12: network mistakes are explained, not retried. TLS spoken to the real registry's plain-HTTP port (and plain
// HTTP to a TLS one), a name under `.invalid` (RFC 2606: never resolves), a closed loopback port: each fails on its
// first attempt with a message saying what is wrong. Once the registry has answered, a refused connection is a
// registry restarting: retried.
// Attempts are counted by the client's request statistics and the (injected, instant) sleeps, never timed.
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliMain } from '../../src/cli/main.js'
import { RegistryClient } from '../../src/registry/client.js'
import { RegistryError } from '../../src/registry/errors.js'
import { pushImage } from '../support/push.js'
import { freePort, startRegistry, type TestRegistry } from '../support/registry.js'
import { makeCa } from '../support/tls.js'

let reg: TestRegistry
beforeAll(async () => {
  reg = await startRegistry()
})
afterAll(async () => reg?.stop())

function client(registry: string): { c: RegistryClient; sleeps: number[] } {
  const sleeps: number[] = []
  const c = new RegistryClient({
    registry,
    username: '',
    password: '',
    insecureSkipTlsVerify: false,
    requestTimeoutMs: 10_000,
    concurrency: 2,
    sleep: async (ms) => {
      sleeps.push(ms)
    },
  })
  return { c, sleeps }
}

async function pingError(registry: string): Promise<{ error: RegistryError; attempts: number; sleeps: number[] }> {
  const { c, sleeps } = client(registry)
  try {
    const error = await c.ping().then(
      () => expect.unreachable('the ping succeeded'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(RegistryError)
    return { error: error as RegistryError, attempts: c.stats.ping, sleeps }
  } finally {
    await c.close()
  }
}

describe('on the first request', () => {
  it('https:// to the plain-HTTP port: "use http://", one attempt', async () => {
    const { port } = reg
    const { error, attempts, sleeps } = await pingError(`https://127.0.0.1:${port}`)
    expect(error.message).toContain(`This port speaks plain HTTP: use http://127.0.0.1:${port} as registry`)
    expect(error.message).not.toMatch(/Gave up/)
    expect(attempts).toBe(1)
    expect(sleeps).toEqual([])
  })

  it('http:// to a TLS port: "use https://", one attempt', async () => {
    const ca = await makeCa()
    const tls = await startRegistry({ scheme: 'https', http: ca.registryHttp })
    try {
      const { error, attempts, sleeps } = await pingError(`http://127.0.0.1:${tls.port}`)
      expect(error.status).toBe(400)
      expect(error.message).toContain(`This port speaks HTTPS: use https://127.0.0.1:${tls.port} as registry`)
      expect(attempts).toBe(1)
      expect(sleeps).toEqual([])
    } finally {
      await tls.stop()
      await ca.remove()
    }
  })

  it('a name that does not resolve: says so, one attempt', async () => {
    const { error, attempts, sleeps } = await pingError('http://registry-prune-test.invalid:5000')
    expect(error.code).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/)
    expect(error.message).toContain('The name registry-prune-test.invalid does not resolve: check registry')
    expect(attempts).toBe(1)
    expect(sleeps).toEqual([])
  })

  it('a closed port: "nothing listens on host:port", one attempt', async () => {
    const port = await freePort()
    const { error, attempts, sleeps } = await pingError(`http://127.0.0.1:${port}`)
    expect(error.code).toBe('ECONNREFUSED')
    expect(error.message).toContain(`Nothing listens on 127.0.0.1:${port}: check registry (host and port)`)
    expect(attempts).toBe(1)
    expect(sleeps).toEqual([])
  })

  it('the CLI shows the hint and exits 1', async () => {
    let stderr = ''
    const code = await cliMain(['--registry', `https://127.0.0.1:${reg.port}`, '--dry-run', '--plan-file', '/dev/null'], {
      stdout: new Writable({ write: (_c, _e, done) => done() }),
      stderr: { write: (t: string) => (stderr += t) },
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent-home' },
    })
    expect(code).toBe(1)
    expect(stderr).toContain(`This port speaks plain HTTP: use http://127.0.0.1:${reg.port} as registry`)
  })
})

describe('later in a run', () => {
  it('a refused connection after the registry answered is retried (a registry restarting), then explained', async () => {
    const restarting = await startRegistry()
    await pushImage(restarting, 'team/app', 'v1', { layers: ['later'] })
    const { c, sleeps } = client(restarting.url)
    try {
      await c.ping()
      await restarting.stop()
      const error = await c.getManifest('team/app', 'v1').then(
        () => expect.unreachable('the registry is stopped'),
        (e: unknown) => e as RegistryError,
      )
      expect(error.code).toBe('ECONNREFUSED')
      expect(c.stats.manifest).toBe(4)
      expect(sleeps).toHaveLength(3)
      expect(error.message).toContain(`Gave up after 4 attempts; nothing listens on 127.0.0.1:${restarting.port}`)
    } finally {
      await c.close()
      await restarting.stop()
    }
  })
})
