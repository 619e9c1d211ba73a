// Finds the login a user already has for the registry, so a workflow that ran `docker login` (or
// docker/login-action, `podman login`, `skopeo login`) does not have to pass the credentials again.
//
// Order, first found wins (explicit `username`/`password` inputs come before all of this, in inputs.ts):
//   1. the docker config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
//      `credHelpers[host]`, then `credsStore`, then an inline `auths[host]` entry;
//   2. podman/skopeo's auth.json: `$REGISTRY_AUTH_FILE` (else `$XDG_RUNTIME_DIR/containers/auth.json`), then
//      `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config/containers/auth.json`).
// The docker config comes first because it is what CI logins write (docker/login-action, `docker login` in GitLab
// jobs) and what docker itself would use; within it the order is docker's. Podman reads the same files the other way
// round; the two only disagree when both hold a login for the same host. Unlike docker, a helper that has no entry
// (or is not installed) does not end the search: an inline entry or an auth.json further down is still used.
//
// A credential helper is a program (`docker-credential-<name>`) named by the config file; it is run with the server
// address on stdin (`get`) as the credential-helper protocol says. Its output holds the secret: it is parsed, never
// printed, and an error about it never quotes it.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { commandEnvironment } from './redact.js'
import type { CredentialOrigin } from './types.js'

export interface Credentials {
  username: string
  password: string
}

export interface CredentialLookup {
  /** Undefined: nothing found for the registry (a run then sends no credentials). */
  credentials: Credentials | undefined
  origin: CredentialOrigin
}

export interface HelperAnswer {
  /** Exit status; null when the program did not run to the end (`error` says why). */
  status: number | null
  stdout: string
  /** `code: 'ENOENT'`: not installed; `code: 'ETIMEDOUT'`: did not answer in time. */
  error?: NodeJS.ErrnoException | undefined
}

export interface CredentialSources {
  /** Returns the file's text; throws an error with `code: 'ENOENT'` when it does not exist. */
  readFile: (path: string) => string
  homeDir: () => string
  /** Runs `program action` with `input` on stdin. Default: the real program, with a timeout. */
  runHelper?: (program: string, action: 'get' | 'list', input: string, env: NodeJS.ProcessEnv) => HelperAnswer
  /** How long a helper may take (it may be waiting for a GPG passphrase nobody types); default 30 s. */
  helperTimeoutMs?: number
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as the docker CLI looks it up. */
export function dockerConfigPath(env: NodeJS.ProcessEnv, homeDir: () => string): string {
  const dir = env.DOCKER_CONFIG ? env.DOCKER_CONFIG : join(homeDir(), '.docker')
  return join(dir, 'config.json')
}

/** The auth.json files podman and skopeo read, in their order. */
export function authJsonPaths(env: NodeJS.ProcessEnv, homeDir: () => string): string[] {
  const first = env.REGISTRY_AUTH_FILE
    ? env.REGISTRY_AUTH_FILE
    : env.XDG_RUNTIME_DIR
      ? join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json')
      : undefined
  const config = join(env.XDG_CONFIG_HOME || join(homeDir(), '.config'), 'containers', 'auth.json')
  return [...new Set([...(first ? [first] : []), config])]
}

/**
 * The credentials stored for the registry's host, and where they came from or where they were looked for. Throws an
 * `Error` naming the file when a file exists but cannot be read or an inline entry is malformed: guessing
 * "anonymous" then would hide the mistake. A helper that fails is not an error here: the search goes on, and the
 * failure is in `origin.looked` for the message a refusal gives.
 */
export function findCredentials(
  registry: string,
  env: NodeJS.ProcessEnv,
  sources: CredentialSources,
): CredentialLookup {
  const target = registryTarget(registry)
  const looked: string[] = []
  const files: { path: string; format: 'docker' | 'containers' }[] = [
    { path: dockerConfigPath(env, sources.homeDir), format: 'docker' },
    ...authJsonPaths(env, sources.homeDir).map((path) => ({ path, format: 'containers' as const })),
  ]
  for (const { path, format } of files) {
    const config = readConfig(path, sources.readFile)
    if (config === undefined) {
      looked.push(`${path} (no file)`)
      continue
    }
    const notes: string[] = []
    const found = format === 'docker'
      ? fromDockerConfig(config, path, target, env, sources, notes)
      : fromAuths(config, path, target, 'containers', notes)
    if (found) {
      return { credentials: found.credentials, origin: { kind: 'found', used: `${found.source} in ${path}`, looked } }
    }
    looked.push(`${path} (${notes.join('; ')})`)
  }
  return { credentials: undefined, origin: { kind: 'none', looked } }
}

interface Target {
  /** `host[:port]` in lower case, default port dropped, as `new URL` gives it. */
  host: string
  scheme: string
  /** What `docker login` stores the login under: `host[:port]`, or Docker Hub's legacy address. */
  serverAddress: string
}

const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])
const DOCKER_HUB_ADDRESS = 'https://index.docker.io/v1/'

function registryTarget(registry: string): Target {
  const url = new URL(registry)
  const host = url.host.toLowerCase()
  const hub = DOCKER_HUB_HOSTS.has(host)
  return {
    host: hub ? 'index.docker.io' : host,
    scheme: url.protocol.replace(':', ''),
    serverAddress: hub ? DOCKER_HUB_ADDRESS : host,
  }
}

function readConfig(path: string, readFile: (path: string) => string): Record<string, unknown> | undefined {
  let text: string
  try {
    text = readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`Cannot read ${path}: ${(error as Error).message}.`)
  }
  let config: unknown
  try {
    config = JSON.parse(text)
  } catch (error) {
    throw new Error(`The credentials file ${path} is not valid JSON (${(error as Error).message}).`)
  }
  if (!isRecord(config)) throw new Error(`The credentials file ${path} is not a JSON object.`)
  return config
}

interface Found {
  credentials: Credentials
  /** `credHelpers 'pass'`, `credsStore 'pass'`, `auths["host:port"]` */
  source: string
}

function fromDockerConfig(
  config: Record<string, unknown>,
  path: string,
  target: Target,
  env: NodeJS.ProcessEnv,
  sources: CredentialSources,
  notes: string[],
): Found | undefined {
  const helpers = isRecord(config.credHelpers) ? config.credHelpers : {}
  const helperKey = Object.keys(helpers).find((key) => keyHost(key, target.scheme, 'docker') === target.host)
  const helper = helperKey === undefined ? undefined : helpers[helperKey]
  if (typeof helper === 'string' && helper !== '') {
    const found = fromHelper(`credHelpers '${helper}'`, helper, target, env, sources, notes)
    if (found) return found
  }
  if (typeof config.credsStore === 'string' && config.credsStore !== '') {
    const found = fromHelper(`credsStore '${config.credsStore}'`, config.credsStore, target, env, sources, notes)
    if (found) return found
  }
  return fromAuths(config, path, target, 'docker', notes)
}

/** An inline `auths` entry: `auth` (base64 of user:password) or `username` and `password`. */
function fromAuths(
  config: Record<string, unknown>,
  path: string,
  target: Target,
  format: 'docker' | 'containers',
  notes: string[],
): Found | undefined {
  const auths = isRecord(config.auths) ? config.auths : {}
  for (const [key, entry] of Object.entries(auths)) {
    if (keyHost(key, target.scheme, format) !== target.host || !isRecord(entry)) continue
    const credentials = inlineCredentials(entry, key, path)
    if (credentials) return { credentials, source: `auths["${key}"]` }
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
      notes.push(`auths["${key}"] holds an identity token, which registry-prune cannot use`)
      return undefined
    }
  }
  notes.push(`no auths entry for ${target.host}`)
  return undefined
}

function inlineCredentials(entry: Record<string, unknown>, key: string, path: string): Credentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const malformed = new Error(`auths["${key}"].auth in ${path} is not base64 of user:password. Log in again.`)
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(entry.auth)) throw malformed
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon <= 0) throw malformed
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }
  if (typeof entry.username === 'string' && entry.username !== '' && typeof entry.password === 'string') {
    return { username: entry.username, password: entry.password }
  }
  return undefined
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
/** The credential-helper protocol's answer when it has nothing for the address (docker-credential-helpers). */
const NOT_FOUND = 'credentials not found in native keychain'

/**
 * Asks `docker-credential-<name>` for the target's login: first under the address `docker login` stores, then, if
 * the helper lists another address for the same host (`https://host:port`, a default port), under that one.
 */
function fromHelper(
  label: string,
  name: string,
  target: Target,
  env: NodeJS.ProcessEnv,
  sources: CredentialSources,
  notes: string[],
): Found | undefined {
  if (!HELPER_NAME.test(name)) {
    notes.push(`${label}: not a helper name (expected letters, digits, '.', '_', '-')`)
    return undefined
  }
  const program = `docker-credential-${name}`
  const run = sources.runHelper ?? runHelper(sources.helperTimeoutMs ?? 30_000)
  // A helper needs its own environment (PATH, HOME, GNUPGHOME, ...), never the tool's secrets: as hooks (DECISIONS 27).
  const helperEnv = commandEnvironment(env, []).env
  const ask = (address: string): Credentials | string => {
    const answer = run(program, 'get', address, helperEnv)
    const failed = helperFailure(program, answer, sources.helperTimeoutMs ?? 30_000)
    if (failed) return failed
    if (answer.status !== 0) {
      return answer.stdout.trim() === NOT_FOUND
        ? 'not found'
        : `${program} get failed with exit status ${answer.status} (its output is not shown: it may hold a secret)`
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(answer.stdout)
    } catch {
      return `${program} get answered with something that is not JSON`
    }
    const { Username: username, Secret: secret } = isRecord(parsed) ? parsed : {}
    if (typeof username !== 'string' || typeof secret !== 'string') {
      return `${program} get answered without Username and Secret`
    }
    // Old docker-credential-pass answers a missing entry with empty fields and exit status 0.
    if (username === '' && secret === '') return 'not found'
    if (username === '<token>') return 'holds an identity token, which registry-prune cannot use'
    return { username, password: secret }
  }

  let answer = ask(target.serverAddress)
  if (answer === 'not found') {
    const other = listedAddress(run(program, 'list', '', helperEnv), target)
    if (other !== undefined && other !== target.serverAddress) answer = ask(other)
  }
  if (typeof answer === 'object') return { credentials: answer, source: label }
  notes.push(`${label}: ${answer === 'not found' ? `no entry for ${target.serverAddress}` : answer}`)
  return undefined
}

function helperFailure(program: string, answer: HelperAnswer, timeoutMs: number): string | undefined {
  if (!answer.error) return undefined
  if (answer.error.code === 'ENOENT') return `${program} is not installed (not found on PATH)`
  if (answer.error.code === 'ETIMEDOUT') {
    return `${program} did not answer within ${timeoutMs / 1000} s (is it waiting for a passphrase?)`
  }
  return `${program} could not be run (${answer.error.code ?? answer.error.message})`
}

/** The address a helper's `list` (a JSON map of address -> user name) holds for the target's host, if any. */
function listedAddress(answer: HelperAnswer, target: Target): string | undefined {
  if (answer.error || answer.status !== 0) return undefined
  try {
    const listed: unknown = JSON.parse(answer.stdout)
    if (!isRecord(listed)) return undefined
    return Object.keys(listed).find((key) => keyHost(key, target.scheme, 'docker') === target.host)
  } catch {
    return undefined
  }
}

function runHelper(timeoutMs: number): NonNullable<CredentialSources['runHelper']> {
  return (program, action, input, env) => {
    const result = spawnSync(program, [action], {
      input,
      env,
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 1024 * 1024,
      stdio: ['pipe', 'pipe', 'ignore'],
    })
    const error = result.error as NodeJS.ErrnoException | undefined
    return { status: result.status, stdout: result.stdout ?? '', error }
  }
}


/**
 * The `host[:port]` a config key names, as docker compares them: scheme and path dropped, lower case, a scheme's
 * default port dropped; Docker Hub's aliases are one host. In an auth.json a key with a path but no scheme names one
 * repository or namespace (`host/team`), not the whole registry: it is not used.
 */
function keyHost(key: string, registryScheme: string, format: 'docker' | 'containers'): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(key)?.[1]?.toLowerCase()
  const rest = scheme ? key.slice(scheme.length + 3) : key
  if (format === 'containers' && !scheme && rest.includes('/')) return undefined
  let hostPort = rest.split('/')[0]!.toLowerCase()
  const defaultPorts: Record<string, string> = { http: ':80', https: ':443' }
  const port = defaultPorts[scheme ?? registryScheme]
  if (port && hostPort.endsWith(port)) hostPort = hostPort.slice(0, -port.length)
  return DOCKER_HUB_HOSTS.has(hostPort) ? 'index.docker.io' : hostPort
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
