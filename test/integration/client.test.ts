import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RegistryClient, type RegistryClientOptions } from '../../src/registry/client.js'
import { DeleteDisabledError, ReadOnlyError, RegistryAuthError, RegistryError } from '../../src/registry/errors.js'
import { MEDIA_TYPES } from '../../src/registry/media-types.js'
import { pushImage, pushIndex, resolveTag, sha256, type PushedImage, type Target } from '../support/push.js'
import { startProxy as proxy, type Proxy } from '../support/proxy.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'

const sleeps: number[] = []
function client(url: string, extra: Partial<RegistryClientOptions> = {}): RegistryClient {
  return new RegistryClient({
    registry: url,
    username: '',
    password: '',
    insecureSkipTlsVerify: false,
    requestTimeoutMs: 5000,
    concurrency: 4,
    sleep: async (ms) => {
      sleeps.push(ms)
    },
    ...extra,
  })
}

let reg: TestRegistry
let oci: PushedImage
let docker: PushedImage
let ociIndex: { digest: string }
let dockerList: { digest: string }

beforeAll(async () => {
  reg = await startRegistry()
  oci = await pushImage(reg, 'team/app', 'v1', { layers: ['base', 'a'], created: '2024-05-06T07:08:09Z' })
  docker = await pushImage(reg, 'team/app', 'd1', { layers: ['base', 'b'], format: 'docker' })
  const amd64 = { architecture: 'amd64', os: 'linux' }
  const arm64 = { architecture: 'arm64', os: 'linux' }
  const amd = await pushImage(reg, 'team/app', undefined, { layers: ['base', 'x'], platform: amd64 })
  const arm = await pushImage(reg, 'team/app', undefined, { layers: ['base', 'y'], platform: arm64 })
  ociIndex = await pushIndex(reg, 'team/app', 'multi', [amd, arm])
  const damd = await pushImage(reg, 'team/app', undefined, { layers: ['x'], format: 'docker', platform: amd64 })
  const darm = await pushImage(reg, 'team/app', undefined, { layers: ['y'], format: 'docker', platform: arm64 })
  dockerList = await pushIndex(reg, 'team/app', 'dmulti', [damd, darm], 'docker')
})
afterAll(async () => {
  await reg?.stop()
})

describe('reading', () => {
  it.each([
    ['v1', () => oci.digest, MEDIA_TYPES.ociManifest],
    ['d1', () => docker.digest, MEDIA_TYPES.dockerManifest],
    ['multi', () => ociIndex.digest, MEDIA_TYPES.ociIndex],
    ['dmulti', () => dockerList.digest, MEDIA_TYPES.dockerList],
  ])('GETs %s by tag and by digest with its own digest and media type', async (tag, digest, mediaType) => {
    const c = client(reg.url)
    const byTag = await c.getManifest('team/app', tag)
    expect(byTag.digest).toBe(digest())
    expect(byTag.mediaType).toBe(mediaType)
    expect(sha256(byTag.body)).toBe(digest())
    const byDigest = await c.getManifest('team/app', digest())
    expect(byDigest.body.equals(byTag.body)).toBe(true)
    expect(c.stats.manifest).toBe(2)
    await c.close()
  })

  it('reads a config blob, verified against its digest', async () => {
    const c = client(reg.url)
    expect(await c.configCreated('team/app', oci.config.digest)).toBe(Date.parse('2024-05-06T07:08:09Z'))
    expect(c.stats.blob).toBe(1)
    await c.close()
  })

  it('lists every tag, and none for a repository that does not exist', async () => {
    const c = client(reg.url)
    expect((await c.tags('team/app'))?.sort()).toEqual(['d1', 'dmulti', 'multi', 'v1'])
    expect(await c.tags('no/such/repo')).toBeUndefined()
    await c.close()
  })

  it('follows the catalog across pages', async () => {
    for (const name of ['cat/a', 'cat/b', 'cat/c', 'cat/d']) await pushImage(reg, name, 'x', { layers: [name] })
    const c = client(reg.url, { catalogPageSize: 2 })
    const names: string[] = []
    for await (const name of c.catalog()) names.push(name)
    expect(names).toEqual(['cat/a', 'cat/b', 'cat/c', 'cat/d', 'team/app'])
    // 5 names at 2 a page: 3 pages, and Distribution sends a Link after a full last page too.
    expect(c.stats.catalog).toBeGreaterThanOrEqual(3)
    await c.close()
  })

  it('refuses a manifest whose Docker-Content-Digest does not match its body', async () => {
    const p = await proxy(reg.url, {
      headers: (_req, headers) => {
        if (headers['docker-content-digest']) headers['docker-content-digest'] = sha256('something else')
      },
    })
    const c = client(p.url)
    await expect(c.getManifest('team/app', 'v1')).rejects.toThrow(/DIGEST_MISMATCH/)
    await c.close()
    await p.close()
  })

  it('refuses a body that does not hash to the digest asked for', async () => {
    const p = await proxy(reg.url, {
      answer: (req, res) => {
        if (!req.url?.includes('/manifests/sha256:')) return false
        res.writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest })
        res.end('{"schemaVersion":2}')
        return true
      },
    })
    const c = client(p.url)
    await expect(c.getManifest('team/app', oci.digest)).rejects.toThrow(
      /the body hashes to sha256:.* but the request says/,
    )
    await c.close()
    await p.close()
  })
})

describe('bounded I/O', () => {
  it('retries 503 and 429, honouring Retry-After, then succeeds', async () => {
    let faults = 2
    const p = await proxy(reg.url, {
      answer: (_req, res) => {
        if (faults-- <= 0) return false
        res.writeHead(faults === 1 ? 503 : 429, { 'retry-after': '7' })
        res.end()
        return true
      },
    })
    sleeps.length = 0
    const c = client(p.url)
    expect((await c.getManifest('team/app', 'v1')).digest).toBe(oci.digest)
    expect(sleeps).toEqual([7000, 7000])
    expect(c.stats.retries).toBe(2)
    await c.close()
    await p.close()
  })

  it('caps a long Retry-After, and gives up after four attempts with the status in the error', async () => {
    const p = await proxy(reg.url, {
      answer: (_req, res) => {
        res.writeHead(500, { 'retry-after': '3600', 'content-type': 'application/json' })
        res.end('{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}')
        return true
      },
    })
    sleeps.length = 0
    const c = client(p.url)
    const error = await c.getManifest('team/app', 'v1').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).status).toBe(500)
    expect((error as Error).message).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/v2\/team\/app\/manifests\/v1 failed: 500 UNKNOWN: disk on fire/,
    )
    expect(p.seen).toHaveLength(4)
    expect(sleeps).toEqual([30_000, 30_000, 30_000])
    await c.close()
    await p.close()
  })

  it('retries a reset connection and a stalled answer', async () => {
    let n = 0
    const p = await proxy(reg.url, {
      answer: (req) => {
        n++
        if (n === 1) req.socket.destroy()
        return n <= 2 // the second request stalls: never answered
      },
    })
    const c = client(p.url, { requestTimeoutMs: 300 })
    expect((await c.getManifest('team/app', 'v1')).digest).toBe(oci.digest)
    expect(p.seen).toHaveLength(3)
    await c.close()
    await p.close()
  })

  it('gives up on a registry that never answers, and says how long each attempt waited', async () => {
    const p = await proxy(reg.url, { answer: () => true })
    const c = client(p.url, { requestTimeoutMs: 200 })
    await expect(c.getManifest('team/app', 'v1')).rejects.toThrow(
      /GET http:\/\/127\.0\.0\.1:\d+\/v2\/team\/app\/manifests\/v1 failed: no answer within 200 ms \(request-timeout\)\. Gave up after 4 attempts/,
    )
    expect(p.seen).toHaveLength(4)
    await c.close()
    await p.close()
  })

  it('refuses an answer over the size cap', async () => {
    const p = await proxy(reg.url, {
      answer: (_req, res) => {
        res.writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest })
        res.end(Buffer.alloc(5 * 1024 * 1024, 32))
        return true
      },
    })
    const c = client(p.url)
    await expect(c.getManifest('team/app', 'v1')).rejects.toThrow(/TOO_LARGE/)
    expect(p.seen).toHaveLength(1)
    await c.close()
    await p.close()
  })

  it('stops a catalog whose Link does not advance', async () => {
    const p = await proxy(reg.url, {
      headers: (req, headers) => {
        if (req.url?.startsWith('/v2/_catalog')) headers.link = '</v2/_catalog?n=2>; rel="next"'
      },
    })
    const c = client(p.url, { catalogPageSize: 2 })
    const names: string[] = []
    await expect(async () => {
      for await (const name of c.catalog()) names.push(name)
    }).rejects.toThrow(/PAGINATION_LOOP/)
    await c.close()
    await p.close()
  })
})

describe('deleting', () => {
  it('deletes by digest (202), and a second delete finds it gone (404)', async () => {
    const img = await pushImage(reg, 'del/one', 'x', { layers: ['del one'] })
    const c = client(reg.url)
    expect(await c.deleteManifest('del/one', img.digest)).toBe('deleted')
    expect(await resolveTag(reg, 'del/one', 'x')).toBeUndefined()
    expect(await c.deleteManifest('del/one', img.digest)).toBe('gone')
    expect(c.stats.delete).toBe(2)
    await c.close()
  })

  it('retries a DELETE whose answer was lost: the registry deleted it, the retry finds it gone', async () => {
    const img = await pushImage(reg, 'del/two', 'x', { layers: ['del two'] })
    let lost = false
    const p = await proxy(reg.url, {
      headers: (req) => {
        if (req.method === 'DELETE' && !lost) {
          lost = true
          req.socket.destroy()
        }
      },
    })
    const c = client(p.url)
    expect(await c.deleteManifest('del/two', img.digest)).toBe('gone')
    expect(p.seen.filter((s) => s.startsWith('DELETE'))).toHaveLength(2)
    await c.close()
    await p.close()
  })

  it('never deletes by tag', async () => {
    const c = client(reg.url)
    await expect(c.deleteManifest('team/app', 'v1')).rejects.toThrow(/only digests are deleted/)
    expect(c.stats.delete).toBe(0)
    await c.close()
  })
})

describe('a registry that refuses deletes', () => {
  let locked: TestRegistry
  let img: PushedImage
  beforeAll(async () => {
    locked = await startRegistry()
    img = await pushImage(locked, 'team/app', 'v1', { layers: ['locked'] })
  })
  afterAll(async () => {
    await locked?.stop()
  })

  it('with deletes disabled: DeleteDisabledError naming the setting', async () => {
    await locked.restart({ deleteEnabled: false })
    const c = client(locked.url)
    const error = await c.deleteManifest('team/app', img.digest).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeleteDisabledError)
    expect((error as Error).message).toContain('storage.delete.enabled: true')
    expect((error as Error).message).toContain('REGISTRY_STORAGE_DELETE_ENABLED=true')
    expect(await resolveTag(locked, 'team/app', 'v1')).toBe(img.digest)
    await c.close()
  })

  it('in read-only mode: ReadOnlyError naming that mode', async () => {
    await locked.restart({ deleteEnabled: true, readOnly: true })
    const c = client(locked.url)
    const error = await c.deleteManifest('team/app', img.digest).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ReadOnlyError)
    expect((error as Error).message).toContain('storage.maintenance.readonly.enabled')
    expect(await resolveTag(locked, 'team/app', 'v1')).toBe(img.digest)
    await c.close()
  })
})

describe('auth', () => {
  it('Basic auth against htpasswd; wrong credentials fail without echoing them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'htpasswd-'))
    const file = join(dir, 'htpasswd')
    await writeFile(file, execFileSync('htpasswd', ['-Bbn', 'alice', 's3cret-pass']))
    const secured = await startRegistry({ auth: `auth:\n  htpasswd:\n    realm: test\n    path: ${file}` })
    try {
      const basic = `Basic ${Buffer.from('alice:s3cret-pass').toString('base64')}`
      const target: Target = { url: secured.url, headers: { authorization: basic } }
      const img = await pushImage(target, 'team/app', 'v1', { layers: ['basic'] })
      const good = client(secured.url, { username: 'alice', password: 's3cret-pass' })
      await good.ping()
      expect((await good.getManifest('team/app', 'v1')).digest).toBe(img.digest)
      expect(await good.deleteManifest('team/app', img.digest)).toBe('deleted')
      await good.close()

      const bad = client(secured.url, { username: 'alice', password: 'wrong-password' })
      const error = await bad.ping().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RegistryAuthError)
      expect((error as Error).message).toMatch(/401.*check username and password/)
      expect((error as Error).message).not.toContain('wrong-password')
      expect((error as Error).message).not.toContain(Buffer.from('alice:wrong-password').toString('base64'))
      await bad.close()

      const anonymous = client(secured.url)
      await expect(anonymous.ping()).rejects.toThrow(/401/)
      await anonymous.close()
    } finally {
      await secured.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })

  describe('Bearer tokens (a token server and a checking proxy in front of the real registry)', () => {
    interface Issued {
      scope: string
      user: string | undefined
      revoked?: boolean
    }
    const issued = new Map<string, Issued>()
    let granted = (scope: string): string => scope
    let gate: Proxy

    const needed = (req: IncomingMessage): string | undefined => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      if (path === '/v2/') return ''
      if (path === '/v2/_catalog') return 'registry:catalog:*'
      const name = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(path)?.[1]
      return name ? `repository:${name}:${req.method === 'DELETE' ? 'delete' : 'pull'}` : undefined
    }
    const covers = (grant: string, need: string): boolean => {
      if (need === '') return true
      const [type, name, action] = need.split(':')
      const [gType, gName, gActions] = grant.split(':')
      return type === gType && name === gName && (gActions ?? '').split(',').some((a) => a === action || a === '*')
    }

    beforeAll(async () => {
      gate = await proxy(reg.url, {
        answer: (req, res) => {
          const url = new URL(req.url ?? '/', 'http://x')
          if (url.pathname === '/token') {
            const basic = req.headers.authorization?.replace(/^Basic /, '')
            const user = basic ? Buffer.from(basic, 'base64').toString().split(':')[0] : undefined
            if (basic && Buffer.from(basic, 'base64').toString() !== 'bob:hunter22') {
              res.writeHead(401).end()
              return true
            }
            const scope = granted(url.searchParams.get('scope') ?? '')
            const token = `tok-${issued.size + 1}-${Math.random().toString(36).slice(2)}`
            issued.set(token, { scope, user })
            res.writeHead(200, { 'content-type': 'application/json' })
            res.end(JSON.stringify({ access_token: token, expires_in: 60 }))
            return true
          }
          const need = needed(req)
          const token = issued.get(req.headers.authorization?.replace(/^Bearer /, '') ?? '')
          if (need !== undefined && (!token || token.revoked || !covers(token.scope, need))) {
            const realm = `http://${req.headers.host}/token`
            res.writeHead(401, {
              'www-authenticate': `Bearer realm="${realm}",service="test-registry"${need ? `,scope="${need}"` : ''}`,
              'content-type': 'application/json',
            })
            res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
            return true
          }
          return false
        },
      })
    })
    afterAll(async () => {
      await gate?.close()
    })

    it('gets a token per scope from the realm with Basic credentials, and reuses it', async () => {
      issued.clear()
      granted = (scope) => scope
      const c = client(gate.url, { username: 'bob', password: 'hunter22' })
      await c.ping()
      expect((await c.getManifest('team/app', 'v1')).digest).toBe(oci.digest)
      expect((await c.getManifest('team/app', 'd1')).digest).toBe(docker.digest)
      const names: string[] = []
      for await (const name of c.catalog()) names.push(name)
      expect(names).toContain('team/app')
      expect([...issued.values()].map((t) => t.scope)).toEqual(['', 'repository:team/app:pull', 'registry:catalog:*'])
      expect([...issued.values()].every((t) => t.user === 'bob')).toBe(true)
      expect(c.stats.token).toBe(3)
      await c.close()
    })

    it('asks anonymously without credentials, and renews a token before it expires and after a 401', async () => {
      issued.clear()
      granted = (scope) => scope
      let now = 1_000_000
      const c = client(gate.url, { now: () => now })
      await c.getManifest('team/app', 'v1')
      await c.getManifest('team/app', 'v1')
      expect(issued.size).toBe(1)
      expect([...issued.values()][0]?.user).toBeUndefined()
      now += 55_000 // within the last fifth of the 60 s lifetime
      await c.getManifest('team/app', 'v1')
      expect(issued.size).toBe(2)
      for (const t of issued.values()) t.revoked = true // the server forgets its tokens (expired early)
      await c.getManifest('team/app', 'v1')
      expect(issued.size).toBe(3)
      await c.close()
    })

    it('names the missing delete scope when the token server grants only pull', async () => {
      issued.clear()
      granted = (scope) => scope.replace(/pull,delete$/, 'pull')
      const img = await pushImage(reg, 'team/scoped', 'v1', { layers: ['scoped'] })
      const c = client(gate.url, { username: 'bob', password: 'hunter22' })
      const error = await c.deleteManifest('team/scoped', img.digest).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RegistryAuthError)
      expect((error as Error).message).toContain('repository:team/scoped:delete')
      expect(await resolveTag(reg, 'team/scoped', 'v1')).toBe(img.digest)
      for (const token of issued.keys()) expect((error as Error).message).not.toContain(token)
      await c.close()
    })

    it('says the token server refused the credentials', async () => {
      const c = client(gate.url, { username: 'bob', password: 'nope-nope' })
      await expect(c.getManifest('team/app', 'v1')).rejects.toThrow(
        /token server refused the credentials of the user "bob"/,
      )
      await c.close()
    })
  })
})

describe('TLS', () => {
  let dir: string
  let secure: TestRegistry
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tls-'))
    const run = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
    }
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=test-ca',
      '-days', '2')
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1')
    await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
    run('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt',
      '-days', '2', '-extfile', 'san.ext')
    secure = await startRegistry({
      scheme: 'https',
      http: `  tls:\n    certificate: ${join(dir, 'srv.crt')}\n    key: ${join(dir, 'srv.key')}`,
    })
  })
  afterAll(async () => {
    await secure?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('names ca-cert and insecure-skip-tls-verify for an untrusted certificate, without retrying', async () => {
    const c = client(secure.url)
    const error = await c.ping().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as Error).message).toContain('`ca-cert`')
    expect((error as Error).message).toContain('insecure-skip-tls-verify')
    expect(c.stats.ping).toBe(1)
    await c.close()
  })

  it('trusts the registry with its CA, or with verification off', async () => {
    const trusted = client(secure.url, { caCert: await readFile(join(dir, 'ca.crt'), 'utf8') })
    await trusted.ping()
    await trusted.close()
    const insecure = client(secure.url, { insecureSkipTlsVerify: true })
    await insecure.ping()
    await insecure.close()
  })
})
