// Checks an SSH server's host key against `ssh-known-hosts`: OpenSSH known_hosts lines or `SHA256:` fingerprints.
// ssh2 accepts any host key unless it is given a verifier, so every connection goes through this module.
import { createHash, createHmac } from 'node:crypto'

export interface KnownHostEntry {
  /** 1-based line number in `ssh-known-hosts`, for messages. */
  line: number
  marker: 'revoked' | 'cert-authority' | undefined
  /** The host field as written: comma-separated patterns, or one hashed `|1|salt|hash` entry. */
  hosts: string
  keyType: string
  key: Buffer
}

export interface KnownHosts {
  entries: KnownHostEntry[]
  /** `SHA256:<base64>` fingerprints; they name a key, not a host, so they match whatever host was asked for. */
  fingerprints: string[]
}

const KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/
const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/
const EXPECTED =
  'Expected OpenSSH known_hosts lines (`host ssh-ed25519 AAAA...`, `[host]:2222 ...`, hashed `|1|...` entries, as ' +
  '`ssh-keyscan` prints them) or a `SHA256:...` fingerprint (as `ssh-keygen -lf` prints it).'

/** Parses `ssh-known-hosts`. Throws on a line that is neither a known_hosts line nor a fingerprint. */
export function parseKnownHosts(text: string): KnownHosts {
  const known: KnownHosts = { entries: [], fingerprints: [] }
  const lines = text.split(/\r?\n/)
  lines.forEach((raw, i) => {
    const line = raw.trim()
    if (!line || line.startsWith('#')) return
    const fields = line.split(/\s+/)
    // `ssh-keygen -lf` prints `256 SHA256:... comment (ED25519)`: take the fingerprint field wherever it is.
    const fp = fields.find((f) => f.startsWith('SHA256:'))
    if (fp && !fields.some((f) => KEY_TYPES.test(f))) {
      const m = FINGERPRINT.exec(fp)
      if (!m) throw new Error(`ssh-known-hosts line ${i + 1}: '${fp}' is not a SHA256 fingerprint (43 base64 characters). ${EXPECTED}`)
      known.fingerprints.push(`SHA256:${m[1]}`)
      return
    }
    let marker: KnownHostEntry['marker']
    if (fields[0]?.startsWith('@')) {
      const word = fields.shift()
      if (word === '@revoked') marker = 'revoked'
      else if (word === '@cert-authority') marker = 'cert-authority'
      else throw new Error(`ssh-known-hosts line ${i + 1}: unknown marker '${word}' (only @revoked and @cert-authority exist).`)
    }
    const [hosts, keyType, keyBase64] = fields
    if (!hosts || !keyType || !keyBase64 || !KEY_TYPES.test(keyType)) {
      throw new Error(`ssh-known-hosts line ${i + 1} is not a known_hosts line: '${line.slice(0, 60)}'. ${EXPECTED}`)
    }
    const key = Buffer.from(keyBase64, 'base64')
    if (keyTypeOf(key) !== keyType) {
      throw new Error(`ssh-known-hosts line ${i + 1}: the key does not decode to a ${keyType} key. ${EXPECTED}`)
    }
    known.entries.push({ line: i + 1, marker, hosts, keyType, key })
  })
  return known
}

/** `SHA256:<base64 without padding>` of a raw public key blob, the way `ssh-keygen -lf` prints it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

/** The key type named inside a raw SSH public key blob (its first string field). */
export function keyTypeOf(key: Buffer): string | undefined {
  if (key.length < 4) return undefined
  const length = key.readUInt32BE(0)
  if (length === 0 || length > 64 || key.length < 4 + length) return undefined
  return key.subarray(4, 4 + length).toString('latin1')
}

/** How OpenSSH names a host in known_hosts: `host`, or `[host]:port` when the port is not 22. */
export function hostName(host: string, port: number): string {
  const name = host.toLowerCase()
  return port === 22 ? name : `[${name}]:${port}`
}

function globMatch(pattern: string, text: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${re}$`).test(text)
}

/** Does the host field of a known_hosts line name this host? Negated patterns (`!pattern`) veto the whole line. */
export function hostMatches(hosts: string, host: string, port: number): boolean {
  const name = hostName(host, port)
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|')
    if (!salt || !hash) return false
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64')
    return mac === hash
  }
  let matched = false
  for (const pattern of hosts.toLowerCase().split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), name)) return false
    } else if (globMatch(pattern, name)) {
      matched = true
    }
  }
  return matched
}

export type HostKeyCheck = { ok: true } | { ok: false; reason: string }

/** Decides whether `key` (the raw blob the server presented) is the right key for `host:port`. */
export function checkHostKey(known: KnownHosts, host: string, port: number, key: Buffer): HostKeyCheck {
  const presented = fingerprint(key)
  const type = keyTypeOf(key) ?? 'unknown type'
  const where = `${host}:${port}`
  const scan = `\`ssh-keyscan -p ${port} ${host}\``
  const howToFix =
    `Get the right line with ${scan} from a machine you trust (or read /etc/ssh/ssh_host_*_key.pub on the host) and ` +
    'check its fingerprint with `ssh-keygen -lf`, then put it in ssh-known-hosts. ' +
    '`ssh-insecure-accept-any-host-key: true` skips this check, but it is unsafe: whoever answers on that address ' +
    'gets the connection and the commands this run sends.'

  const revoked = known.entries.find((e) => e.marker === 'revoked' && e.key.equals(key))
  if (revoked) {
    return {
      ok: false,
      reason: `The SSH host key of ${where} (${type} ${presented}) is marked @revoked in ssh-known-hosts line ` +
        `${revoked.line}. The host must get a new host key; then put its line in ssh-known-hosts.`,
    }
  }
  if (known.fingerprints.includes(presented)) return { ok: true }
  const forHost = known.entries.filter((e) => e.marker === undefined && hostMatches(e.hosts, host, port))
  if (forHost.some((e) => e.key.equals(key))) return { ok: true }

  if (forHost.length > 0 || known.fingerprints.length > 0) {
    const expected = [
      ...forHost.map((e) => `${e.keyType} ${fingerprint(e.key)} (line ${e.line})`),
      ...known.fingerprints,
    ].join(', ')
    return {
      ok: false,
      reason: `The SSH host key of ${where} does not match ssh-known-hosts: the server presented ${type} ${presented}, ` +
        `ssh-known-hosts expects ${expected}. Either the host key changed (then update ssh-known-hosts) or something ` +
        `else is answering on that address: do not proceed until you know which. ${howToFix}`,
    }
  }
  const certAuthorities = known.entries.filter((e) => e.marker === 'cert-authority' && hostMatches(e.hosts, host, port))
  const caNote = certAuthorities.length
    ? ` ssh-known-hosts has only @cert-authority lines for it (line ${certAuthorities.map((e) => e.line).join(', ')}); ` +
      'host certificates are not supported here: give the host\'s own key line instead.'
    : ''
  const otherHosts = known.entries.length
    ? ` (ssh-known-hosts has lines for other hosts only; for a port other than 22 the line must start with ` +
      `\`${hostName(host, port)}\`).`
    : '.'
  return {
    ok: false,
    reason: `The SSH host ${where} is not in ssh-known-hosts${otherHosts}${caNote} The server presented ${type} ` +
      `${presented}. ${howToFix}`,
  }
}

/** Host key algorithms to offer, so that a server with several host keys presents one that ssh-known-hosts lists. */
export function hostKeyAlgorithms(known: KnownHosts, host: string, port: number): string[] | undefined {
  if (known.fingerprints.length > 0) return undefined
  const types = new Set(
    known.entries.filter((e) => e.marker === undefined && hostMatches(e.hosts, host, port)).map((e) => e.keyType),
  )
  const algorithms: string[] = []
  for (const type of types) {
    if (type === 'ssh-rsa') algorithms.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa')
    else if (type === 'ssh-ed25519' || type.startsWith('ecdsa-sha2-')) algorithms.push(type)
  }
  return algorithms.length ? algorithms : undefined
}

export interface HostVerifier {
  /** For ssh2's `hostVerifier`: true accepts the key. */
  verify(key: Buffer): boolean
  /** Why the last key was refused; ssh2 itself only says "Host denied (verification failed)". */
  rejection(): string | undefined
  /** The fingerprint the server presented, once it did. */
  presented(): string | undefined
}

export function hostVerifier(known: KnownHosts, host: string, port: number): HostVerifier {
  let rejection: string | undefined
  let presented: string | undefined
  return {
    verify(key) {
      presented = fingerprint(key)
      const check = checkHostKey(known, host, port, key)
      rejection = check.ok ? undefined : check.reason
      return check.ok
    },
    rejection: () => rejection,
    presented: () => presented,
  }
}
