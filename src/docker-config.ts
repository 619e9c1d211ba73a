// Reads the credentials that `docker login` (or docker/login-action) left for a registry, so a workflow that just
// logged in to push does not have to pass them again. Only inline credentials are read: running a credential helper
// (`credsStore`, `credHelpers`) would mean executing a program named by a file, which this tool does not do.
import { join } from 'node:path'

export interface DockerCredentials {
  username: string
  password: string
  /** The config file they came from (for messages; never the values). */
  configPath: string
}

export interface DockerConfigFiles {
  /** Returns the file's text; throws an error with `code: 'ENOENT'` when it does not exist. */
  readFile: (path: string) => string
  homeDir: () => string
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as the docker CLI looks it up. */
export function dockerConfigPath(env: NodeJS.ProcessEnv, homeDir: () => string): string {
  const dir = env.DOCKER_CONFIG ? env.DOCKER_CONFIG : join(homeDir(), '.docker')
  return join(dir, 'config.json')
}

/**
 * The credentials stored for the registry's host (with or without scheme, port as written in `registry`), or
 * undefined when there is no config file or no inline entry for that host. Throws an `Error` naming the file when
 * the file exists but cannot be read or an entry is malformed: guessing "anonymous" then would hide the mistake.
 */
export function findDockerCredentials(
  registry: string,
  env: NodeJS.ProcessEnv,
  files: DockerConfigFiles,
): DockerCredentials | undefined {
  const configPath = dockerConfigPath(env, files.homeDir)
  let text: string
  try {
    text = files.readFile(configPath)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`Cannot read the docker config ${configPath}: ${(error as Error).message}.`)
  }
  let config: unknown
  try {
    config = JSON.parse(text)
  } catch (error) {
    throw new Error(`The docker config ${configPath} is not valid JSON (${(error as Error).message}).`)
  }
  const auths = isRecord(config) && isRecord(config.auths) ? config.auths : {}
  const wanted = registryHost(registry)
  for (const [key, entry] of Object.entries(auths)) {
    if (hostOfAuthKey(key, wanted.scheme) !== wanted.host || !isRecord(entry)) continue
    const found = credentialsOf(entry, key, configPath)
    if (found) return { ...found, configPath }
  }
  return undefined
}

function credentialsOf(
  entry: Record<string, unknown>,
  key: string,
  configPath: string,
): { username: string; password: string } | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const malformed = new Error(
      `auths["${key}"].auth in the docker config ${configPath} is not base64 of user:password. Run docker login again.`,
    )
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

/** `host[:port]` in lower case, with the scheme's default port dropped, as `new URL` does for the registry. */
function registryHost(registry: string): { host: string; scheme: string } {
  const url = new URL(registry)
  return { host: url.host.toLowerCase(), scheme: url.protocol.replace(':', '') }
}

/** Keys appear as `host:port`, `https://host:port`, or `https://host/v1/`: compare only the host and port. */
function hostOfAuthKey(key: string, registryScheme: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(key)?.[1]?.toLowerCase() ?? registryScheme
  const hostPort = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0]!.toLowerCase()
  const defaultPort = scheme === 'http' ? ':80' : scheme === 'https' ? ':443' : undefined
  return defaultPort && hostPort.endsWith(defaultPort) ? hostPort.slice(0, -defaultPort.length) : hostPort
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
