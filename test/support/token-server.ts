// A token server for Distribution's `auth: token` (the Docker token protocol) on 127.0.0.1: checks Basic
// credentials, grants the scopes asked for as a per-user policy allows, and signs RS256 JWTs whose `x5c` header
// carries a self-signed certificate the registry trusts through `rootcertbundle`. Distribution 2.8 verifies the x5c
// chain against that bundle (a `kid` would have to be a libtrust fingerprint); it also allows 60 s of clock leeway
// on `exp`, so the claim is moved back by that much: the registry then refuses a token when `expires_in` says.
import { createSign, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { recordSecret } from './artifacts.js'
import { makeSigningCert, type SigningCert } from './tls.js'

/** Distribution's clock leeway on `exp` and `nbf` (registry/auth/token/token.go). */
const REGISTRY_LEEWAY_S = 60

export interface Scope {
  type: string
  name: string
  actions: string[]
}

export interface TokenUser {
  password: string
  /** The actions granted on a resource, given those asked for (a subset: servers may grant less without error). */
  grant: (asked: Scope) => string[]
}

export interface Issued {
  user: string | undefined
  asked: string[]
  access: Scope[]
}

export interface TokenServer {
  /** The `auth:` block for the registry's config. */
  registryAuth: string
  realm: string
  service: string
  issued: Issued[]
  /** Refused credential checks. */
  refused: number
  close(): Promise<void>
}

export interface TokenServerOptions {
  users: Record<string, TokenUser>
  /** Grants for requests without credentials; default none. */
  anonymous?: (asked: Scope) => string[]
  /** Seconds, sent as `expires_in`; default 60. */
  expiresIn?: number
}

/** Every action asked for. */
export const grantAll = (asked: Scope): string[] => asked.actions
/** Read-only: pull and the catalog, never push or delete. */
export const grantPull = (asked: Scope): string[] =>
  asked.type === 'registry' ? asked.actions : asked.actions.filter((a) => a === 'pull')

const base64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url')

export function parseScope(text: string): Scope | undefined {
  const first = text.indexOf(':')
  const last = text.lastIndexOf(':')
  if (first < 0 || last <= first) return undefined
  return { type: text.slice(0, first), name: text.slice(first + 1, last), actions: text.slice(last + 1).split(',') }
}

function sign(cert: SigningCert, claims: object): string {
  const header = { typ: 'JWT', alg: 'RS256', x5c: [cert.certDerBase64] }
  const signed = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`
  const signature = createSign('RSA-SHA256').update(signed).sign(cert.keyPem)
  return `${signed}.${base64url(signature)}`
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const cert = await makeSigningCert()
  const service = 'registry-prune-test'
  const issuer = 'registry-prune-test-issuer'
  const issued: Issued[] = []
  let refused = 0
  const expiresIn = options.expiresIn ?? 60
  for (const [name, user] of Object.entries(options.users)) recordSecret(user.password, name)

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname !== '/token' || req.method !== 'GET') return res.writeHead(404).end()
    let user: string | undefined
    let policy = options.anonymous ?? (() => [])
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
    if (basic) {
      const pair = Buffer.from(basic, 'base64').toString('utf8')
      const colon = pair.indexOf(':')
      const name = pair.slice(0, colon)
      const known = options.users[name]
      if (colon < 0 || !known || known.password !== pair.slice(colon + 1)) {
        refused++
        res.writeHead(401, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ details: 'invalid username or password' }))
      }
      user = name
      policy = known.grant
    }
    const asked = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean)
    const access: Scope[] = []
    for (const text of asked) {
      const scope = parseScope(text)
      if (!scope) continue
      const actions = policy(scope).filter((a) => scope.actions.includes(a))
      if (actions.length > 0) access.push({ ...scope, actions })
    }
    const now = Math.floor(Date.now() / 1000)
    const token = sign(cert, {
      iss: issuer,
      sub: user ?? '',
      aud: url.searchParams.get('service') ?? service,
      iat: now,
      nbf: now,
      exp: now + expiresIn - REGISTRY_LEEWAY_S,
      jti: randomUUID(),
      access,
    })
    recordSecret(token)
    issued.push({ user, asked, access })
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const realm = `http://127.0.0.1:${port}/token`
  return {
    registryAuth: [
      'auth:',
      '  token:',
      `    realm: ${realm}`,
      `    service: ${service}`,
      `    issuer: ${issuer}`,
      `    rootcertbundle: ${cert.certPath}`,
    ].join('\n'),
    realm,
    service,
    issued,
    get refused() {
      return refused
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await cert.remove()
    },
  }
}
