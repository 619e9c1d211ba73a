// The registry client: the v2 API calls a prune needs, with auth, timeouts, retries and size caps.
// It knows the protocol, not the policy: what to read or delete is decided elsewhere.
import { createHash } from 'node:crypto'
import type { Dispatcher } from 'undici'
// undici's Agent alone: its index loads fetch, WebSocket, caches and mocks too, which a run never uses, and takes
// 40 ms of start-up (a quarter of it) to do so.
import Agent from 'undici/lib/dispatcher/agent.js'
import { Authenticator, parseTokenResponse, type TokenResponse } from './auth.js'
import {
  DeleteDisabledError,
  ManifestUnknownError,
  ReadOnlyError,
  RegistryAuthError,
  RegistryError,
  describeTransportError,
  parseErrorBody,
  scrubSecrets,
  scrubUrl,
} from './errors.js'
import { Limiter } from './limit.js'
import { createdFromConfig, isDigest } from './manifest.js'
import { MANIFEST_ACCEPT } from './media-types.js'
import type { CredentialOrigin } from '../types.js'

export interface RegistryClientOptions {
  /** Base URL, e.g. `https://registry.example.com:5000`. */
  registry: string
  username: string
  password: string
  /** Where username and password came from, or where they were looked for: said when the registry refuses them. */
  credentialOrigin?: CredentialOrigin | undefined
  /** PEM text of a CA to trust. */
  caCert?: string | undefined
  insecureSkipTlsVerify: boolean
  requestTimeoutMs: number
  /** Requests in flight at once, across the whole run; also the keep-alive connections per origin. */
  concurrency: number
  /** Replaces the keep-alive Agent (tests, proxies). */
  dispatcher?: Dispatcher
  /** Waits between retries; injectable so tests do not wait. */
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  now?: () => number
  /** Attempts per request for retryable failures; default 4. */
  maxAttempts?: number
  /** Longest wait honoured from `Retry-After` or backoff; default 30 s. */
  maxRetryDelayMs?: number
  /** `n` for `_catalog` pages; default 1000 (Distribution's maximum). */
  catalogPageSize?: number
}

export type RequestKind = 'ping' | 'token' | 'catalog' | 'tags' | 'manifest' | 'blob' | 'delete'
export type RequestStats = Record<RequestKind, number> & { retries: number }

export interface ManifestResponse {
  digest: string
  mediaType: string
  body: Buffer
}

/** Size caps: Distribution itself refuses manifests over 4 MiB. */
export const LIMITS = {
  manifestBytes: 4 * 1024 * 1024,
  configBytes: 4 * 1024 * 1024,
  pageBytes: 16 * 1024 * 1024,
  tokenBytes: 1024 * 1024,
  errorBodyBytes: 64 * 1024,
} as const

const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/
const RETRY_STATUS = new Set([429, 500, 502, 503, 504])
const MAX_REDIRECTS = 5
const MAX_PAGES = 100_000

interface Call {
  method: 'GET' | 'HEAD' | 'DELETE' | 'POST' | 'PUT'
  url: URL
  kind: RequestKind
  /** Token scope; undefined for the ping and the token request itself. */
  scope: string | undefined
  maxBytes: number
  accept?: string
  /** Token requests carry their own Authorization and skip the challenge logic. */
  authorization?: string
  /** PUT/POST: what is sent, and as what. */
  body?: Buffer
  contentType?: string
}

interface Answer {
  status: number
  headers: Record<string, string | undefined>
  body: Buffer
  url: URL
  /** The Authorization value sent (to tell a refused token from none). */
  sent: string | undefined
}

export class RegistryClient {
  readonly base: URL
  readonly stats: RequestStats = {
    ping: 0, token: 0, catalog: 0, tags: 0, manifest: 0, blob: 0, delete: 0, retries: 0,
  }
  private readonly dispatcher: Dispatcher
  private readonly ownsDispatcher: boolean
  private readonly limiter: Limiter
  private readonly auth: Authenticator
  private readonly sleep: (ms: number) => Promise<void>
  private readonly random: () => number
  private readonly maxAttempts: number
  private readonly maxRetryDelayMs: number
  /** Until the registry has answered once, a name that does not resolve or a closed port is a mistake, not a blip. */
  private answered = false

  constructor(private readonly options: RegistryClientOptions) {
    this.base = new URL(options.registry.replace(/\/+$/, '') + '/')
    this.limiter = new Limiter(options.concurrency)
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
    this.random = options.random ?? Math.random
    this.maxAttempts = options.maxAttempts ?? 4
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000
    this.ownsDispatcher = !options.dispatcher
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connections: options.concurrency,
        keepAliveTimeout: 30_000,
        headersTimeout: options.requestTimeoutMs,
        bodyTimeout: options.requestTimeoutMs,
        connect: {
          timeout: options.requestTimeoutMs,
          ...(options.caCert ? { ca: options.caCert } : {}),
          rejectUnauthorized: !options.insecureSkipTlsVerify,
        },
      })
    this.auth = new Authenticator({
      username: options.username,
      password: options.password,
      now: options.now ?? Date.now,
      fetchToken: (url, authorization) => this.fetchToken(url, authorization),
    })
  }

  /** Closes the keep-alive connections (only those this client opened). */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close()
  }

  /** GET /v2/: checks the registry answers the v2 API and that the credentials are accepted. */
  async ping(): Promise<void> {
    const url = this.url('v2/')
    const answer = await this.send({
      method: 'GET', url, kind: 'ping', scope: undefined, maxBytes: LIMITS.errorBodyBytes,
    })
    if (answer.status === 200) return
    // Go's HTTP server answers plain HTTP on a TLS port with this 400.
    const tlsPort = answer.status === 400 && /HTTP request to an HTTPS server/i.test(answer.body.toString('utf8'))
    const hint = answer.status === 404
      ? 'Is `registry` the base URL of a v2 registry?'
      : tlsPort
        ? `This port speaks HTTPS: use https://${this.base.host} as registry`
        : undefined
    throw this.error(answer, 'GET', hint)
  }

  /** Every repository name in `_catalog`, following `Link` pages (1000 names a page). */
  async *catalog(): AsyncGenerator<string> {
    const first = this.url(`v2/_catalog?n=${this.options.catalogPageSize ?? 1000}`)
    for await (const page of this.pages(first, 'catalog', 'registry:catalog:*')) {
      for (const name of list(page, 'repositories', '`_catalog`')) if (typeof name === 'string') yield name
    }
  }

  /**
   * All tags of a repository, following `Link` pages; undefined when the registry itself says it does not know the
   * repository (DECISIONS 24: a 404 whose JSON body says NAME_UNKNOWN). Distribution 2.8 answers so for a repository
   * holding only untagged manifests too, so "unknown" means "no tags", not "no manifests".
   */
  async tags(name: string): Promise<string[] | undefined> {
    const tags: string[] = []
    for await (const page of this.pages(this.url(`v2/${repo(name)}/tags/list`), 'tags', pull(name))) {
      if (page === UNKNOWN_NAME) return undefined
      for (const tag of list(page, 'tags', `the tag list of ${name}`)) {
        if (typeof tag !== 'string' || !TAG.test(tag)) {
          throw new Error(`the tag list of ${name} holds an invalid tag ${JSON.stringify(tag)}`)
        }
        tags.push(tag)
      }
    }
    return tags
  }

  /** GETs a manifest with the four Accept types and checks its sha256 against the reference and the header. */
  async getManifest(name: string, reference: string): Promise<ManifestResponse> {
    const url = this.url(`v2/${repo(name)}/manifests/${ref(reference)}`)
    const answer = await this.send({
      method: 'GET', url, kind: 'manifest', scope: pull(name), maxBytes: LIMITS.manifestBytes, accept: MANIFEST_ACCEPT,
    })
    if (answer.status === 404 && this.says(answer, 'MANIFEST_UNKNOWN')) {
      throw new ManifestUnknownError(this.details(answer, 'GET'), name, reference)
    }
    if (answer.status !== 200) throw this.error(answer, 'GET', answer.status === 404 ? NOT_THE_REGISTRY : undefined)
    const digest = this.verifiedDigest(answer, reference, answer.body)
    return { digest, mediaType: mediaTypeOf(answer), body: answer.body }
  }

  /**
   * HEAD of a manifest with the four Accept types: what the registry says a tag points at, without the body. Not
   * verified (there is no body to hash): undefined unless the answer is 200 with a Docker-Content-Digest, so the
   * caller falls back to a GET. Only for the cache, which checks the digest against a body it verified itself.
   */
  async headManifest(name: string, reference: string): Promise<{ digest: string; mediaType: string; size: number | undefined } | undefined> {
    const url = this.url(`v2/${repo(name)}/manifests/${ref(reference)}`)
    const answer = await this.send({
      method: 'HEAD', url, kind: 'manifest', scope: pull(name), maxBytes: LIMITS.errorBodyBytes, accept: MANIFEST_ACCEPT,
    })
    const digest = answer.headers['docker-content-digest']
    if (answer.status !== 200 || !isDigest(digest)) return undefined
    const length = Number(answer.headers['content-length'])
    return { digest, mediaType: mediaTypeOf(answer), size: Number.isSafeInteger(length) ? length : undefined }
  }

  /** GETs a small blob (an image config), verified against its digest. */
  async getBlob(name: string, digest: string): Promise<Buffer> {
    if (!isDigest(digest)) throw new Error(`invalid blob digest ${JSON.stringify(digest)}`)
    const url = this.url(`v2/${repo(name)}/blobs/${digest}`)
    const answer = await this.send({
      method: 'GET', url, kind: 'blob', scope: pull(name), maxBytes: LIMITS.configBytes,
    })
    if (answer.status !== 200) throw this.error(answer, 'GET')
    this.verifiedDigest(answer, digest, answer.body)
    return answer.body
  }

  /** An image config's `created` as epoch ms (undefined when it has none): all the inventory reads of a config. */
  async configCreated(name: string, digest: string): Promise<number | undefined> {
    return createdOfConfig(await this.getBlob(name, digest), this.url(`v2/${repo(name)}/blobs/${digest}`))
  }

  /** DELETE by digest: 'deleted' (202), or 'gone' when the registry no longer has it (404). */
  async deleteManifest(name: string, digest: string): Promise<'deleted' | 'gone'> {
    if (!isDigest(digest)) {
      throw new Error(`refusing to delete ${JSON.stringify(digest)}: only digests are deleted, never tags`)
    }
    const url = this.url(`v2/${repo(name)}/manifests/${digest}`)
    const scope = `repository:${name}:pull,delete`
    const answer = await this.send({ method: 'DELETE', url, kind: 'delete', scope, maxBytes: LIMITS.errorBodyBytes })
    if (answer.status >= 200 && answer.status < 300) return 'deleted'
    if (answer.status === 404) return 'gone'
    const details = this.details(answer, 'DELETE')
    if (answer.status === 405) {
      if (details.code === 'UNSUPPORTED') throw new DeleteDisabledError(details)
      const allow = answer.headers.allow ?? ''
      if (!/\bDELETE\b/i.test(allow) && (allow || !details.code)) throw new ReadOnlyError(details)
    }
    if (answer.status === 401 || answer.status === 403) {
      const hint =
        this.auth.scheme === 'bearer'
          ? `The token server did not grant the scope repository:${name}:delete; ` +
            `give ${this.who()} delete access to ${name}`
          : this.options.username
            ? `${this.who()} may not delete in ${name}; give that user delete rights`
            : `${this.refused()} may not delete in ${name}; ${this.fixCredentials()}`
      throw new RegistryAuthError({ ...details, hint })
    }
    throw new RegistryError(details)
  }

  // Writes, for `untag` only (DECISIONS 33): a tag is removed on its own by deleting it, or by moving it onto a
  // throw-away manifest that is then deleted by digest. Nothing else in a prune writes to the registry.

  /**
   * DELETE of a tag: 'deleted' (2xx), 'gone' (404), or 'unsupported' where the registry refuses deletes by tag
   * (Distribution 2.x and Harbor answer 400 DIGEST_INVALID or UNSUPPORTED, GHCR and Docker Hub 405).
   */
  async deleteTag(name: string, tag: string): Promise<'deleted' | 'gone' | 'unsupported'> {
    if (!TAG.test(tag)) throw new Error(`refusing to delete ${JSON.stringify(tag)}: not a tag`)
    const url = this.url(`v2/${repo(name)}/manifests/${tag}`)
    const scope = `repository:${name}:pull,delete`
    const answer = await this.send({ method: 'DELETE', url, kind: 'delete', scope, maxBytes: LIMITS.errorBodyBytes })
    if (answer.status >= 200 && answer.status < 300) return 'deleted'
    if (answer.status === 404) return 'gone'
    if (answer.status === 400 || answer.status === 405) return 'unsupported'
    throw this.error(answer, 'DELETE')
  }

  /** Uploads a small blob in one piece (POST, then PUT with its digest) and returns its digest. */
  async uploadBlob(name: string, data: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
    const scope = `repository:${name}:pull,push`
    const start = this.url(`v2/${repo(name)}/blobs/uploads/`)
    const started = await this.send({ method: 'POST', url: start, kind: 'blob', scope, maxBytes: LIMITS.errorBodyBytes })
    const location = started.headers.location
    if (started.status !== 202 || !location) throw this.error(started, 'POST')
    const target = new URL(location, started.url)
    // The upload URL carries the session; credentials only go back to the registry itself.
    if (target.origin !== this.base.origin) throw invalid(started.url, 'INVALID_LOCATION', 'the upload is on another host')
    target.searchParams.set('digest', digest)
    const put = await this.send({
      method: 'PUT', url: target, kind: 'blob', scope, maxBytes: LIMITS.errorBodyBytes,
      body: data, contentType: 'application/octet-stream',
    })
    if (put.status !== 201 && put.status !== 204) throw this.error(put, 'PUT')
    return digest
  }

  /** PUTs a manifest onto a tag (or digest) and returns its digest. */
  async putManifest(name: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
    const url = this.url(`v2/${repo(name)}/manifests/${ref(reference)}`)
    const scope = `repository:${name}:pull,push`
    const answer = await this.send({
      method: 'PUT', url, kind: 'manifest', scope, maxBytes: LIMITS.errorBodyBytes, body, contentType: mediaType,
    })
    if (answer.status !== 201 && answer.status !== 200 && answer.status !== 204) throw this.error(answer, 'PUT')
    return `sha256:${createHash('sha256').update(body).digest('hex')}`
  }

  /** True when the answer carries the registry's own JSON error with this code (not a proxy's page). */
  private says(answer: Answer, code: string): boolean {
    return parseErrorBody(answer.body.toString('utf8'), { jsonOnly: true }).code === code
  }

  private who(): string {
    return this.options.username ? `the user ${JSON.stringify(this.options.username)}` : 'anonymous access'
  }

  /** Whose access was refused; for credentials the user did not type, where they came from or were looked for. */
  private refused(): string {
    const origin = this.options.credentialOrigin
    if (this.options.username) {
      return origin?.kind === 'found' ? `${this.who()} (credentials from ${origin.used})` : this.who()
    }
    if (origin?.kind !== 'none') return this.who()
    const looked = origin.looked.length > 0 ? `looked in ${origin.looked.join(', ')}` : 'looked nowhere'
    return `anonymous access (no username/password given; ${looked}: sent no credentials)`
  }

  /** What to do about refused credentials. */
  private fixCredentials(): string {
    const login = `docker login ${this.base.host}`
    if (!this.options.username) return `give username and password, or log in first (${login})`
    if (this.options.credentialOrigin?.kind === 'found') return `log in again (${login}) or give username and password`
    return 'check username and password'
  }

  private url(path: string): URL {
    return new URL(path, this.base)
  }

  /** Follows `Link: <...>; rel="next"` pages of JSON; a link back to a page already read is an error. */
  private async *pages(first: URL, kind: 'catalog' | 'tags', scope: string): AsyncGenerator<unknown> {
    const seen = new Set<string>()
    let next: URL | undefined = first
    while (next) {
      if (seen.has(next.href) || seen.size >= MAX_PAGES) {
        throw new RegistryError({
          method: 'GET', url: scrubUrl(next), code: 'PAGINATION_LOOP',
          detail: 'the Link header points back to a page already read',
        })
      }
      seen.add(next.href)
      const answer: Answer = await this.send({ method: 'GET', url: next, kind, scope, maxBytes: LIMITS.pageBytes })
      if (answer.status === 404 && kind === 'tags' && seen.size === 1 && this.says(answer, 'NAME_UNKNOWN')) {
        yield UNKNOWN_NAME
        return
      }
      if (answer.status !== 200) {
        const hint = kind === 'catalog' && (answer.status === 401 || answer.status === 403)
          ? `${this.who()} may not read the catalog (scope registry:catalog:*); ` +
            'name the repositories without glob characters instead'
          : answer.status === 404
            ? NOT_THE_REGISTRY
            : undefined
        throw this.error(answer, 'GET', hint)
      }
      try {
        yield JSON.parse(answer.body.toString('utf8')) as unknown
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error
        throw invalid(next, 'INVALID_JSON', 'the page is not JSON')
      }
      next = nextLink(answer.headers.link, answer.url)
      if (next && next.origin !== this.base.origin) {
        throw invalid(answer.url, 'INVALID_LINK', 'the next page is on another host')
      }
    }
  }

  private async fetchToken(url: URL, authorization: string | undefined): Promise<TokenResponse> {
    const answer = await this.send({
      method: 'GET', url, kind: 'token', scope: undefined, maxBytes: LIMITS.tokenBytes,
      authorization: authorization ?? '',
    })
    if (answer.status !== 200) {
      const refused = answer.status === 401 || answer.status === 403
      const details = this.details(answer, 'GET')
      const whose = this.options.username ? `the credentials of ${this.refused()}` : this.refused()
      const hint = `The token server refused ${whose}; ${this.fixCredentials()}`
      if (refused) throw new RegistryAuthError({ ...details, hint })
      throw new RegistryError(details)
    }
    try {
      return parseTokenResponse(answer.body.toString('utf8'))
    } catch (error) {
      throw invalid(url, 'INVALID_TOKEN', (error as Error).message)
    }
  }

  private verifiedDigest(answer: Answer, reference: string, body: Buffer): string {
    const header = answer.headers['docker-content-digest']
    const expected = isDigest(reference) ? reference : header && isDigest(header) ? header : undefined
    const algorithm = expected?.split(':')[0] ?? 'sha256'
    if (algorithm !== 'sha256' && algorithm !== 'sha512') {
      throw invalid(answer.url, 'DIGEST_UNSUPPORTED', `cannot verify ${algorithm} digests`)
    }
    const digest = `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`
    for (const claimed of [isDigest(reference) ? reference : undefined, header]) {
      if (claimed !== undefined && claimed !== digest) {
        const who = claimed === reference ? 'the request' : 'Docker-Content-Digest'
        throw invalid(answer.url, 'DIGEST_MISMATCH', `the body hashes to ${digest}, but ${who} says ${claimed}`)
      }
    }
    return digest
  }

  private details(answer: Answer, method: string, hint?: string): ConstructorParameters<typeof RegistryError>[0] {
    const said = parseErrorBody(answer.body.toString('utf8'))
    return {
      method,
      url: scrubUrl(answer.url),
      status: answer.status,
      ...(said.code ? { code: said.code } : {}),
      ...(said.message ? { detail: scrubSecrets(said.message, this.auth.secrets()) } : {}),
      ...(hint ? { hint } : {}),
    }
  }

  private error(answer: Answer, method: string, hint?: string): RegistryError {
    if (answer.status === 401 || answer.status === 403) {
      const why = hint ?? `The registry refused ${this.refused()}; ${this.fixCredentials()}`
      return new RegistryAuthError(this.details(answer, method, why))
    }
    return new RegistryError(this.details(answer, method, hint))
  }

  /** One logical request: auth challenges, retries with backoff, through the shared limiter. */
  private async send(call: Call): Promise<Answer> {
    let attempt = 0
    let challenges = 0
    for (;;) {
      attempt++
      const header = call.authorization ?? this.auth.header(call.scope)
      const authorization = typeof header === 'object' ? await header : header
      let answer: Answer
      try {
        const slot = this.limiter.acquire()
        if (slot) await slot
        try {
          answer = await this.exchange(call, authorization)
        } finally {
          this.limiter.release()
        }
      } catch (error) {
        if (error instanceof RegistryError) throw error
        const failure = describeTransportError(error, call.url)
        const hopeless = failure.retry === 'never' || (failure.retry === 'once-answered' && !this.answered)
        if (!hopeless && attempt < this.maxAttempts) {
          await this.pause(attempt, undefined)
          continue
        }
        const gaveUp = `Gave up after ${attempt} attempt${attempt > 1 ? 's' : ''}`
        throw new RegistryError({
          method: call.method,
          url: scrubUrl(call.url),
          ...(failure.code ? { code: failure.code } : {}),
          detail: scrubSecrets(failure.message, this.auth.secrets()),
          hint: hopeless ? failure.hint : `${gaveUp}; ${lowerFirst(failure.hint ?? 'is the registry reachable?')}`,
        })
      }
      this.answered = true
      if (answer.status === 401 && call.authorization === undefined && challenges < 2) {
        challenges++
        if (this.auth.challenge(answer.headers['www-authenticate'], call.scope, authorization) === 'retry') {
          attempt--
          continue
        }
      }
      if (RETRY_STATUS.has(answer.status) && attempt < this.maxAttempts) {
        await this.pause(attempt, answer.headers['retry-after'])
        continue
      }
      return answer
    }
  }

  private async pause(attempt: number, retryAfter: string | undefined): Promise<void> {
    this.stats.retries++
    const asked = parseRetryAfter(retryAfter, Date.now())
    const backoff = 250 * 2 ** (attempt - 1) * (0.5 + this.random() / 2)
    await this.sleep(Math.min(this.maxRetryDelayMs, asked ?? backoff))
  }

  /**
   * One HTTP exchange (plus same-request redirects, for blobs served from elsewhere), body read under a cap.
   * The deadline covers the whole exchange, each hop included.
   */
  private async exchange(call: Call, authorization: string | undefined): Promise<Answer> {
    const deadline = performance.now() + this.options.requestTimeoutMs
    let url = call.url
    for (let hop = 0; ; hop++) {
      this.stats[call.kind]++
      const headers: Record<string, string> = { 'user-agent': 'registry-prune' }
      // Credentials go only to the origin they were meant for.
      if (authorization && (hop === 0 || url.origin === call.url.origin)) headers.authorization = authorization
      if (call.accept) headers.accept = call.accept
      if (call.contentType) headers['content-type'] = call.contentType
      const answer = await this.hop(call, url, headers, deadline - performance.now(), authorization)
      const location = answer.headers.location
      if (call.method === 'GET' && REDIRECT_STATUS.has(answer.status) && location && hop < MAX_REDIRECTS) {
        url = new URL(location, url)
        continue
      }
      return answer
    }
  }

  /**
   * One request and its answer, through undici's dispatch handler: the body's chunks are gathered as they come, under
   * `call.maxBytes` (an error answer is cut at `LIMITS.errorBodyBytes` instead). No stream, no abort signal: the
   * deadline timer aborts through the handler's controller, and is cleared the moment the answer is complete.
   */
  private hop(
    call: Call,
    url: URL,
    headers: Record<string, string>,
    timeoutMs: number,
    sent: string | undefined,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      let controller: { abort(reason: Error): void } | undefined
      let status = 0
      let flat: Record<string, string | undefined> = {}
      let limit: number = call.maxBytes
      let total = 0
      const chunks: Buffer[] = []
      let settled = false
      const settle = (error: Error | undefined): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (error) reject(error)
        // A copy, always: a chunk is a view into the socket's read buffer, which a kept body (the cache) would hold.
        else resolve({ status, headers: flat, body: Buffer.concat(chunks, Math.min(total, limit)), url, sent })
      }
      const stop = (error: Error | undefined): void => {
        settle(error)
        controller?.abort(error ?? new Error('answer complete'))
      }
      const timer = setTimeout(
        () => stop(new DOMException(`within ${this.options.requestTimeoutMs} ms (request-timeout)`, 'TimeoutError')),
        // Whole milliseconds: Node keeps one timer list per duration, and the first hop's is always the same.
        Math.max(1, Math.ceil(timeoutMs)),
      )
      try {
        this.dispatcher.dispatch(
          {
            origin: url.origin,
            path: url.pathname + url.search,
            method: call.method,
            // undici closes the connection after every HEAD unless told not to (for servers that send a body with
            // one). A registry answers HEAD by the book, and a warm cache sends one HEAD per tag: closing made it
            // open a connection per tag (20,030 for 20,000 tags; the run took 40% longer). Leftover bytes after a
            // HEAD would fail the next answer's parse, an error, never a wrong answer.
            ...(call.method === 'HEAD' ? { reset: false } : {}),
            headers,
            ...(call.body ? { body: call.body } : {}),
            headersTimeout: this.options.requestTimeoutMs,
            bodyTimeout: this.options.requestTimeoutMs,
          },
          {
            onRequestStart(started) {
              controller = started
              if (settled) started.abort(new Error('request abandoned'))
            },
            onResponseStart(_, statusCode, responseHeaders) {
              status = statusCode
              flat = flatten(responseHeaders)
              if (statusCode < 200 || statusCode >= 300) limit = LIMITS.errorBodyBytes
            },
            onResponseData(_, chunk) {
              if (settled) return
              total += chunk.length
              if (total <= limit) {
                chunks.push(chunk)
                return
              }
              if (status >= 200 && status < 300) {
                stop(new RegistryError({
                  method: call.method, url: scrubUrl(url), status, code: 'TOO_LARGE',
                  detail: `the answer is larger than the ${call.maxBytes} bytes allowed`,
                }))
                return
              }
              // An error page: its start says enough.
              chunks.push(chunk.subarray(0, chunk.length - (total - limit)))
              stop(undefined)
            },
            onResponseEnd() {
              settle(undefined)
            },
            onResponseError(_, error) {
              settle(error)
            },
          },
          )
      } catch (error) {
        settle(error as Error)
      }
    })
  }
}

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308])

const lowerFirst = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1)

const pull = (name: string): string => `repository:${name}:pull`

/** The page `pages` yields when the registry says NAME_UNKNOWN. */
const UNKNOWN_NAME = Symbol('NAME_UNKNOWN')

const NOT_THE_REGISTRY =
  'A 404 without the registry\'s own JSON error code is not an answer about the repository (a proxy or ingress ' +
  'may have answered): it is taken as a failure to read, and nothing in this repository is deleted. Check that ' +
  '`registry` is the registry\'s base URL and that every path under /v2/ reaches it'

/** A 200 answer whose content is wrong: not retried, an error for whatever needed it. */
const invalid = (url: URL, code: string, detail: string): RegistryError =>
  new RegistryError({ method: 'GET', url: scrubUrl(url), status: 200, code, detail })

/** An image config's `created` as epoch ms, from its verified body; `url` names the blob when it is not JSON. */
export function createdOfConfig(body: Buffer, url: URL): number | undefined {
  let config: unknown
  try {
    config = JSON.parse(body.toString('utf8'))
  } catch {
    throw invalid(url, 'INVALID_JSON', 'the blob is not JSON')
  }
  return createdFromConfig(config)
}

/** The list under `key` of a JSON page (null or absent = empty). */
function list(page: unknown, key: string, what: string): unknown[] {
  const value = (page as Record<string, unknown> | null)?.[key]
  if (value === null || value === undefined) return []
  if (!Array.isArray(value)) throw new Error(`${what} answered without a list of ${key}`)
  return value as unknown[]
}

function repo(name: string): string {
  if (!NAME.test(name) || name.length > 255) throw new Error(`invalid repository name ${JSON.stringify(name)}`)
  return name
}

function ref(reference: string): string {
  if (!TAG.test(reference) && !isDigest(reference)) {
    throw new Error(`invalid tag or digest ${JSON.stringify(reference)}`)
  }
  return reference
}

function mediaTypeOf(answer: Answer): string {
  return answer.headers['content-type']?.split(';')[0]?.trim() ?? ''
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  // for-in, not Object.entries: no array of pairs per answer (every request of a run passes here).
  for (const key in headers) {
    const value = headers[key]
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

/** The `rel="next"` target of a Link header, resolved against the page it came with. */
export function nextLink(header: string | undefined, from: URL): URL | undefined {
  if (!header) return undefined
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part)
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(match?.[2] ?? '')
    const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/)
    if (match?.[1] !== undefined && rels.includes('next')) return new URL(match[1], from)
  }
  return undefined
}

/** Milliseconds a `Retry-After` header (seconds or an HTTP date) asks for; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
