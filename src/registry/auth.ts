// Registry authentication: the `WWW-Authenticate` challenge, Basic credentials, and Bearer tokens cached per scope.

export interface Challenge {
  /** Lower case: `basic`, `bearer`. */
  scheme: string
  params: Record<string, string>
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235): one or more challenges, each a scheme followed by
 * comma-separated `key=value` or `key="quoted value"` parameters.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = []
  const token = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/y
  let i = 0
  let current: Challenge | undefined
  while (i < header.length) {
    if (header[i] === ',' || header[i] === ' ') {
      i++
      continue
    }
    token.lastIndex = i
    const name = token.exec(header)
    if (!name?.[1]) break
    i = token.lastIndex
    if (header[i] === '=' && current) {
      i++
      let value = ''
      if (header[i] === '"') {
        i++
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++
          value += header[i]
          i++
        }
        i++
      } else {
        const end = header.indexOf(',', i)
        value = header.slice(i, end === -1 ? header.length : end).trim()
        i = end === -1 ? header.length : end
      }
      current.params[name[1].toLowerCase()] = value
    } else {
      current = { scheme: name[1].toLowerCase(), params: {} }
      challenges.push(current)
    }
  }
  return challenges
}

export interface TokenResponse {
  token: string
  /** Seconds; the token spec's default is 60 when absent. */
  expiresIn: number
}

/** Parses a token server's JSON answer: `token` or `access_token`, and `expires_in`. */
export function parseTokenResponse(body: string): TokenResponse {
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown }
  try {
    parsed = JSON.parse(body) as typeof parsed
  } catch {
    throw new Error('the token server answered with something that is not JSON')
  }
  const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token
  if (typeof token !== 'string' || !token) {
    throw new Error('the token server answered without a `token` or `access_token`')
  }
  const expiresIn = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60
  return { token, expiresIn }
}

export interface AuthOptions {
  username: string
  password: string
  now: () => number
  /** GETs the token URL (realm with service and scope), sending `authorization` when given. */
  fetchToken: (url: URL, authorization: string | undefined) => Promise<TokenResponse>
}

interface CachedToken {
  value: Promise<string>
  /** The header once the token has come: later requests take it without waiting. */
  header?: string
  /** When to ask for a new one (before the token expires). */
  renewAt: number
}

/** What the client needs to know to decide whether a 401 is worth another attempt. */
export type ChallengeOutcome = 'retry' | 'refused'

export class Authenticator {
  private mode: 'none' | 'basic' | 'bearer' = 'none'
  private realm: URL | undefined
  private service: string | undefined
  private readonly tokens = new Map<string, CachedToken>()
  private readonly issued = new Set<string>()

  get scheme(): 'none' | 'basic' | 'bearer' {
    return this.mode
  }

  private readonly basic: string | undefined

  constructor(private readonly options: AuthOptions) {
    const { username, password } = options
    this.basic = username || password ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : undefined
  }

  /** Secrets that must never appear in a message: the password, the Basic value, every token issued. */
  secrets(): string[] {
    const basic = this.basic
    return [this.options.password, ...(basic ? [basic.slice(6)] : []), ...this.issued]
  }

  /**
   * The Authorization header for a request needing `scope` (undefined: none needed yet). A promise only while a token
   * is being fetched: every other request of a run takes the answer at once, without a turn of the event loop.
   */
  header(scope: string | undefined): string | undefined | Promise<string> {
    if (this.mode === 'basic') return this.basic
    if (this.mode !== 'bearer') return undefined
    const key = scope ?? ''
    const cached = this.tokens.get(key)
    if (cached && this.options.now() < cached.renewAt) return cached.header ?? cached.value.then((token) => `Bearer ${token}`)
    return this.newToken(key).then((token) => `Bearer ${token}`)
  }

  private newToken(scope: string): Promise<string> {
    const realm = this.realm
    if (!realm) throw new Error('a Bearer challenge without a realm')
    const url = new URL(realm)
    if (this.service) url.searchParams.set('service', this.service)
    if (scope) url.searchParams.set('scope', scope)
    const asked = this.options.now()
    const entry: CachedToken = { value: Promise.resolve(''), renewAt: Number.POSITIVE_INFINITY }
    entry.value = this.options.fetchToken(url, this.basic).then(
      (answer) => {
        const lifetimeMs = answer.expiresIn * 1000
        // Renew ahead of expiry by a fifth of the lifetime (at most 30 s), so no request carries a stale token.
        entry.renewAt = asked + lifetimeMs - Math.min(30_000, lifetimeMs / 5)
        this.issued.add(answer.token)
        entry.header = `Bearer ${answer.token}`
        return answer.token
      },
      (error: unknown) => {
        this.tokens.delete(scope)
        throw error
      },
    )
    this.tokens.set(scope, entry)
    return entry.value
  }

  /**
   * Learns from a 401: switches to Basic or Bearer, or drops the token that was refused.
   * 'refused' means the same credentials were already tried and another attempt cannot help.
   */
  challenge(header: string | undefined, scope: string | undefined, sent: string | undefined): ChallengeOutcome {
    const challenges = parseChallenges(header ?? '')
    const bearer = challenges.find((c) => c.scheme === 'bearer')
    const basic = challenges.find((c) => c.scheme === 'basic')
    if (bearer?.params.realm) {
      if (sent?.startsWith('Bearer ')) {
        const cached = this.tokens.get(scope ?? '')
        // A token that has not been replaced since it was sent: drop it once, and try a fresh one.
        if (cached) this.tokens.delete(scope ?? '')
        else return 'refused'
        return 'retry'
      }
      this.mode = 'bearer'
      this.realm = new URL(bearer.params.realm)
      this.service = bearer.params.service
      return 'retry'
    }
    if (basic) {
      if (sent?.startsWith('Basic ') || !this.basic) return 'refused'
      this.mode = 'basic'
      return 'retry'
    }
    return 'refused'
  }
}
