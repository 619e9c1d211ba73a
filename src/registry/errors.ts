// Errors the registry client raises: each names the request, what the registry said, and what to do.

export interface RegistryErrorDetails {
  method: string
  /** The request URL, without credentials. */
  url: string
  /** HTTP status; undefined when no answer came (transport error). */
  status?: number
  /** The registry's error code (`MANIFEST_UNKNOWN`) or a transport code (`ECONNRESET`). */
  code?: string
  /** The registry's error message or the transport error's message, scrubbed of secrets. */
  detail?: string
  /** What the user can do about it. */
  hint?: string
}

export class RegistryError extends Error {
  readonly method: string
  readonly url: string
  readonly status: number | undefined
  readonly code: string | undefined
  readonly detail: string | undefined

  constructor(details: RegistryErrorDetails) {
    super(describe(details))
    this.name = 'RegistryError'
    this.method = details.method
    this.url = details.url
    this.status = details.status
    this.code = details.code
    this.detail = details.detail
  }
}

function describe(d: RegistryErrorDetails): string {
  const answer = d.status === undefined ? 'no answer' : String(d.status)
  const said = [d.code, d.detail].filter(Boolean).join(': ')
  return `${d.method} ${d.url} failed: ${answer}${said ? ` ${said}` : ''}${d.hint ? `. ${d.hint}` : ''}`
}

/** The registry refuses deletes (405 UNSUPPORTED): nothing can be deleted anywhere, so a run stops. */
export class DeleteDisabledError extends RegistryError {
  constructor(details: RegistryErrorDetails) {
    super({
      ...details,
      hint:
        'The registry has deletes disabled. Enable them with `storage.delete.enabled: true` in its config.yml ' +
        '(or the environment variable REGISTRY_STORAGE_DELETE_ENABLED=true) and restart it',
    })
    this.name = 'DeleteDisabledError'
  }
}

/** The registry is in read-only maintenance mode (405 with `Allow: GET, HEAD`): a run stops. */
export class ReadOnlyError extends RegistryError {
  constructor(details: RegistryErrorDetails) {
    super({
      ...details,
      hint:
        'The registry is in read-only mode (`storage.maintenance.readonly.enabled: true`); ' +
        'run the prune while it accepts writes, and switch it to read-only only for garbage collection',
    })
    this.name = 'ReadOnlyError'
  }
}

/**
 * The registry says it has no manifest for this reference (404 MANIFEST_UNKNOWN). By tag, during a read, that is a
 * broken tag: its link points at a revision the registry no longer has.
 */
export class ManifestUnknownError extends RegistryError {
  constructor(
    details: RegistryErrorDetails,
    readonly repository: string,
    readonly reference: string,
  ) {
    super(details)
    this.name = 'ManifestUnknownError'
  }
}

/** Credentials were refused, or the token server granted less than a request needs. */
export class RegistryAuthError extends RegistryError {
  constructor(details: RegistryErrorDetails) {
    super(details)
    this.name = 'RegistryAuthError'
  }
}

/** Stops a run everywhere: no further delete can succeed. */
export const stopsApply = (error: unknown): boolean =>
  error instanceof DeleteDisabledError || error instanceof ReadOnlyError

/** The URL as it may be logged: no user:password. */
export function scrubUrl(url: string | URL): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return String(url).replace(/\/\/[^/@]*@/, '//')
  }
}

/** Replaces every secret (passwords, Authorization values, tokens) in text by `***`. */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***')
  return out.replace(/\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 ***')
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/** Whether another attempt can help. */
export type TransportRetry =
  /** A registry restarting or a connection reset: try again. */
  | 'retry'
  /** Nothing to wait for: an untrusted certificate, TLS spoken to a plain-HTTP port. */
  | 'never'
  /** A name that does not resolve, a port nothing listens on: a mistake in `registry` if the registry has never
   * answered yet; later in a run, a registry restarting. */
  | 'once-answered'

export interface TransportFailure {
  code: string | undefined
  message: string
  retry: TransportRetry
  hint?: string
}

const PLAIN_HTTP_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG'])
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA'])

/**
 * Unwraps undici's `error.cause` chain to the error that says what happened (`ECONNREFUSED`, a TLS code, ...), and
 * says what it means for `url`, the request that failed.
 */
export function describeTransportError(error: unknown, url: URL): TransportFailure {
  let current: unknown = error
  let deepest = error as { code?: string; message?: string }
  for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const e = current as { code?: unknown; message?: unknown; cause?: unknown }
    if (typeof e.code === 'string' || typeof e.message === 'string') deepest = e as typeof deepest
    if (typeof e.code === 'string' && (TLS_CODES.has(e.code) || PLAIN_HTTP_CODES.has(e.code))) break
    current = e.cause
  }
  const code = typeof deepest.code === 'string' ? deepest.code : undefined
  const message = typeof deepest.message === 'string' ? deepest.message : String(error)
  const hostPort = `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`
  if (code !== undefined && TLS_CODES.has(code)) {
    return {
      code,
      message,
      retry: 'never',
      hint:
        'The registry certificate is not trusted. Give its CA with the `ca-cert` input (PEM content or path), ' +
        'or, only for testing, set `insecure-skip-tls-verify: true`',
    }
  }
  // OpenSSL reading an HTTP answer as a TLS record: the port speaks plain HTTP.
  const plainHttp = code !== undefined && PLAIN_HTTP_CODES.has(code)
  if (plainHttp || /wrong version number|packet length too long/i.test(message)) {
    return {
      code,
      message: 'the TLS handshake got an answer that is not TLS (OpenSSL: wrong version number)',
      retry: 'never',
      hint: `This port speaks plain HTTP: use http://${hostPort} as registry (or enable TLS on the registry)`,
    }
  }
  if (code !== undefined && DNS_CODES.has(code)) {
    return {
      code,
      message,
      retry: 'once-answered',
      hint: `The name ${url.hostname} does not resolve: check registry (a typo, or a name only another network knows)`,
    }
  }
  if (code === 'ECONNREFUSED') {
    return {
      code,
      message,
      retry: 'once-answered',
      hint: `Nothing listens on ${hostPort}: check registry (host and port), and that the registry is running`,
    }
  }
  return { code, message, retry: 'retry' }
}

/**
 * The registry's `{"errors":[{code,message}]}` body, or a one-line excerpt of any other body (then no code: only
 * the registry's own JSON says what went wrong). `jsonOnly` gives nothing for a body that is not such JSON.
 */
export function parseErrorBody(body: string, options: { jsonOnly?: boolean } = {}): { code?: string; message?: string } {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: unknown; message?: unknown }[] }
    const first = parsed.errors?.[0]
    if (first) {
      return {
        ...(typeof first.code === 'string' ? { code: first.code } : {}),
        ...(typeof first.message === 'string' ? { message: first.message } : {}),
      }
    }
  } catch {
    // not JSON: fall through to the excerpt
  }
  if (options.jsonOnly) return {}
  const excerpt = body.replace(/\s+/g, ' ').trim().slice(0, 200)
  return excerpt ? { message: excerpt } : {}
}
