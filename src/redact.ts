import { INPUTS } from './input-table.js'
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
    // realm; scrub them whatever they are (only where an @ is: most text has none).
    if (!out.includes('@')) return out
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

/**
 * The names under which the front doors receive the secret inputs: the CLI's `REGISTRY_PRUNE_PASSWORD`, the
 * Action's `INPUT_PASSWORD` and `INPUT_SSH-PRIVATE-KEY` (the runner keeps the hyphens; the underscore spelling too),
 * and, in GitLab, the CI/CD variables that the `*-variable` inputs name (the component hands those names over as
 * `RP_PASSWORD_VARIABLE`, … : see gitlab/templates/registry-prune.yml).
 */
export function secretVariableNames(env: NodeJS.ProcessEnv): string[] {
  const names: string[] = []
  for (const input of INPUTS.filter((i) => i.secret)) {
    const snake = input.name.toUpperCase().replace(/-/g, '_')
    names.push(`REGISTRY_PRUNE_${snake}`, `INPUT_${input.name.toUpperCase()}`, `INPUT_${snake}`)
    const named = env[`RP_${snake}_VARIABLE`]
    if (named && /^[A-Za-z_][A-Za-z0-9_]*$/.test(named)) names.push(named)
  }
  return [...new Set(names)]
}

/**
 * The environment hooks and collector commands run with (DECISIONS 27): this process's, without the secret variables
 * above and without any variable whose value is one of the secrets (e.g. a GitLab variable that holds the password
 * under another name). `withheld` names what was left out, for the debug log.
 */
export function commandEnvironment(
  env: NodeJS.ProcessEnv,
  secrets: string[],
): { env: NodeJS.ProcessEnv; withheld: string[] } {
  const names = new Set(secretVariableNames(env))
  // Short secrets are matched whole only, so that a password like `test` does not cost the hook its PATH.
  const isSecret = (value: string): boolean =>
    secrets.some((secret) => value.trim() === secret.trim() || (secret.length >= 12 && value.includes(secret)))
  const out: NodeJS.ProcessEnv = {}
  const withheld: string[] = []
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue
    if (names.has(name) || isSecret(value)) withheld.push(name)
    else out[name] = value
  }
  return { env: out, withheld: withheld.sort() }
}
