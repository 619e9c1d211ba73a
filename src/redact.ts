import type { Logger, Settings } from './types.js'

const MASK = '***'

/** Every secret value of the settings, and the encodings in which it could leak (Basic auth header). */
export function secretsOf(settings: Pick<Settings, 'username' | 'password' | 'gc'>): string[] {
  const { username, password, gc } = settings
  const secrets = [password, gc.sshPrivateKey, gc.sshPassphrase]
  if (password) secrets.push(Buffer.from(`${username}:${password}`).toString('base64'))
  // A multi-line key can leak one line at a time (e.g. in an error quoting part of it).
  for (const line of gc.sshPrivateKey.split('\n')) if (!line.startsWith('-----')) secrets.push(line.trim())
  return secrets.filter((s) => s.length >= 4)
}

/** Returns a function that replaces every secret (longest first) in a text with `***`. */
export function redactor(secrets: string[]): (text: string) => string {
  const sorted = [...new Set(secrets)].sort((a, b) => b.length - a.length)
  return (text) => {
    let out = text
    for (const secret of sorted) if (out.includes(secret)) out = out.split(secret).join(MASK)
    // Credentials inside URLs (`https://user:pass@host`) never come from settings but can come from a registry's Link or
    // realm; scrub them whatever they are.
    return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${MASK}@`)
  }
}

/** Wraps a logger so nothing it prints carries a secret. */
export function redactingLogger(log: Logger, redact: (text: string) => string): Logger {
  return {
    info: (m) => log.info(redact(m)),
    warning: (m) => log.warning(redact(m)),
    error: (m) => log.error(redact(m)),
    debug: (m) => log.debug(redact(m)),
    group: (name, body) => log.group(redact(name), body),
  }
}
