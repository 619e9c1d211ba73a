// Where a login is found (credentials.ts): the docker config's credHelpers, credsStore and auths, then podman's
// auth.json files. Helpers are fakes here (a table of what each would answer); the real docker-credential-pass is
// run in test/integration/credentials.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import {
  authJsonPaths,
  dockerConfigPath,
  findCredentials,
  type CredentialSources,
  type HelperAnswer,
} from '../../src/credentials.js'
import { parseSettings } from '../../src/inputs.js'
import { redactor, secretsOf } from '../../src/redact.js'

const auth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64')
const NOT_FOUND: HelperAnswer = { status: 1, stdout: 'credentials not found in native keychain\n' }
const MISSING: HelperAnswer = { status: null, stdout: '', error: Object.assign(new Error('spawnSync x ENOENT'), { code: 'ENOENT' }) }
const answer = (username: string, secret: string): HelperAnswer => ({
  status: 0,
  stdout: JSON.stringify({ ServerURL: 'x', Username: username, Secret: secret }),
})

let dir: string
/** What each program answers, by `<program> <action> <stdin>`; anything else: not installed. */
let helpers: Record<string, HelperAnswer>
let calls: { program: string; action: string; input: string; env: NodeJS.ProcessEnv }[]
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credentials-'))
  helpers = {}
  calls = []
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const sources = (): CredentialSources => ({
  readFile: (path) => readFileSync(path, 'utf8'),
  homeDir: () => dir,
  runHelper: (program, action, input, env) => {
    calls.push({ program, action, input, env })
    return helpers[`${program} ${action} ${input}`] ?? MISSING
  },
})

function write(path: string, content: unknown): string {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, JSON.stringify(content))
  return path
}
const dockerConfig = (content: unknown) => write(join(dir, '.docker', 'config.json'), content)
const find = (registry: string, env: NodeJS.ProcessEnv = {}) => findCredentials(registry, env, sources())

describe('where the files are', () => {
  test('DOCKER_CONFIG wins over the home directory', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/x/conf' }, () => '/home/u')).toBe('/x/conf/config.json')
    expect(dockerConfigPath({}, () => '/home/u')).toBe('/home/u/.docker/config.json')
  })

  test('auth.json: REGISTRY_AUTH_FILE replaces the runtime one; the config-directory one is always read', () => {
    const home = () => '/home/u'
    expect(authJsonPaths({}, home)).toEqual(['/home/u/.config/containers/auth.json'])
    expect(authJsonPaths({ XDG_RUNTIME_DIR: '/run/user/7' }, home)).toEqual([
      '/run/user/7/containers/auth.json',
      '/home/u/.config/containers/auth.json',
    ])
    expect(authJsonPaths({ XDG_RUNTIME_DIR: '/run/user/7', REGISTRY_AUTH_FILE: '/a.json', XDG_CONFIG_HOME: '/c' }, home))
      .toEqual(['/a.json', '/c/containers/auth.json'])
  })
})

describe('inline auths entries (docker config and auth.json)', () => {
  test.each([
    ['host:port key', 'registry.example.com:5000', 'https://registry.example.com:5000'],
    ['https key', 'https://registry.example.com:5000', 'https://registry.example.com:5000'],
    ['key with a /v1/ path', 'https://registry.example.com:5000/v1/', 'https://registry.example.com:5000'],
    ['upper-case key', 'REGISTRY.example.com:5000', 'https://registry.example.com:5000/prefix'],
    ['default https port in the key', 'registry.example.com:443', 'https://registry.example.com'],
    ['http key for an http registry', 'http://127.0.0.1:5000', 'http://127.0.0.1:5000'],
    ["Docker Hub's legacy address", 'https://index.docker.io/v1/', 'https://registry-1.docker.io'],
  ])('reads an auth entry under a %s', (_, key, registry) => {
    const path = dockerConfig({ auths: { [key]: { auth: auth('ci', 'p:ss:word') } } })
    expect(find(registry)).toEqual({
      credentials: { username: 'ci', password: 'p:ss:word' },
      origin: { kind: 'found', used: `auths["${key}"] in ${path}`, looked: [] },
    })
  })

  test('reads username and password fields, from $DOCKER_CONFIG', () => {
    const at = join(dir, 'elsewhere')
    write(join(at, 'config.json'), { auths: { 'registry.example.com': { username: 'u', password: 'p' } } })
    expect(find('https://registry.example.com', { DOCKER_CONFIG: at }).credentials).toEqual({ username: 'u', password: 'p' })
  })

  test('another host or port gives nothing, and says where it looked', () => {
    const path = dockerConfig({
      auths: { 'other.example.com': { auth: auth('a', 'b') }, 'registry.example.com:5001': { auth: auth('a', 'b') } },
    })
    expect(find('https://registry.example.com:5000')).toEqual({
      credentials: undefined,
      origin: {
        kind: 'none',
        looked: [
          `${path} (no auths entry for registry.example.com:5000)`,
          `${join(dir, '.config/containers/auth.json')} (no file)`,
        ],
      },
    })
  })

  test('an auth.json via REGISTRY_AUTH_FILE; a per-repository key there is not a login for the registry', () => {
    const file = write(join(dir, 'podman', 'auth.json'), {
      auths: {
        'registry.example.com:5000/team': { auth: auth('team-only', 'x') },
        'registry.example.com:5000': { auth: auth('podman-user', 'podman-pass') },
      },
    })
    const found = find('https://registry.example.com:5000', { REGISTRY_AUTH_FILE: file })
    expect(found.credentials).toEqual({ username: 'podman-user', password: 'podman-pass' })
    expect(found.origin).toEqual({
      kind: 'found',
      used: `auths["registry.example.com:5000"] in ${file}`,
      looked: [`${join(dir, '.docker', 'config.json')} (no file)`],
    })
    write(file, { auths: { 'registry.example.com:5000/team': { auth: auth('team-only', 'x') } } })
    expect(find('https://registry.example.com:5000', { REGISTRY_AUTH_FILE: file }).credentials).toBeUndefined()
  })

  test('$XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json', () => {
    const runtime = join(dir, 'run')
    write(join(dir, '.config', 'containers', 'auth.json'), { auths: { 'r.example.com': { auth: auth('cfg', 'c') } } })
    expect(find('https://r.example.com', { XDG_RUNTIME_DIR: runtime }).credentials?.username).toBe('cfg')
    write(join(runtime, 'containers', 'auth.json'), { auths: { 'r.example.com': { auth: auth('runtime', 'r') } } })
    expect(find('https://r.example.com', { XDG_RUNTIME_DIR: runtime }).credentials?.username).toBe('runtime')
  })

  test('the docker config comes before auth.json', () => {
    dockerConfig({ auths: { 'r.example.com': { auth: auth('docker', 'd') } } })
    const file = write(join(dir, 'auth.json'), { auths: { 'r.example.com': { auth: auth('podman', 'p') } } })
    expect(find('https://r.example.com', { REGISTRY_AUTH_FILE: file }).credentials?.username).toBe('docker')
  })

  test('a malformed file or entry is an error naming the file, without the secret', () => {
    mkdirSync(join(dir, '.docker'))
    writeFileSync(join(dir, '.docker', 'config.json'), '{ not json')
    expect(() => find('https://r.example.com')).toThrow(/config\.json is not valid JSON/)
    dockerConfig({ auths: { 'r.example.com': { auth: Buffer.from('nocolon').toString('base64') } } })
    expect(() => find('https://r.example.com')).toThrow(
      /auths\["r.example.com"\].auth in .*config\.json is not base64 of user:password/,
    )
    dockerConfig({ auths: { 'r.example.com': { auth: 'not base64!' } } })
    expect(() => find('https://r.example.com')).toThrow(/not base64/)
  })

  test('an unreadable file is an error, not anonymous access', () => {
    const unreadable: CredentialSources = {
      readFile: () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })
      },
      homeDir: () => dir,
    }
    expect(() => findCredentials('https://r.example.com', {}, unreadable)).toThrow(/Cannot read .*config\.json/)
  })
})

describe('credential helpers', () => {
  const registry = 'http://127.0.0.1:5000'

  test('credHelpers for the host comes first, then credsStore, then an inline entry', () => {
    const path = dockerConfig({
      credHelpers: { '127.0.0.1:5000': 'pass', 'other:1': 'nothere' },
      credsStore: 'secretservice',
      auths: { '127.0.0.1:5000': { auth: auth('inline', 'i') } },
    })
    helpers['docker-credential-pass get 127.0.0.1:5000'] = answer('from-pass', 'secret-1')
    helpers['docker-credential-secretservice get 127.0.0.1:5000'] = answer('from-store', 'secret-2')
    expect(find(registry)).toEqual({
      credentials: { username: 'from-pass', password: 'secret-1' },
      origin: { kind: 'found', used: `credHelpers 'pass' in ${path}`, looked: [] },
    })

    helpers['docker-credential-pass get 127.0.0.1:5000'] = NOT_FOUND
    expect(find(registry).credentials?.username).toBe('from-store')
    expect(find(registry).origin).toMatchObject({ used: `credsStore 'secretservice' in ${path}` })

    helpers['docker-credential-secretservice get 127.0.0.1:5000'] = { status: 0, stdout: '{"Username":"","Secret":""}' }
    expect(find(registry).credentials?.username).toBe('inline')
  })

  test('the helper gets the server address on stdin, and an environment without our inputs and secrets', () => {
    dockerConfig({ credsStore: 'pass' })
    helpers['docker-credential-pass get 127.0.0.1:5000'] = answer('u', 'p')
    find(registry, { PATH: '/bin', GNUPGHOME: '/g', INPUT_PASSWORD: 'x', REGISTRY_PRUNE_PASSWORD: 'y' })
    expect(calls).toEqual([
      { program: 'docker-credential-pass', action: 'get', input: '127.0.0.1:5000', env: { PATH: '/bin', GNUPGHOME: '/g' } },
    ])
  })

  test('a login stored under another spelling of the host is found through the helper list', () => {
    dockerConfig({ credsStore: 'pass' })
    helpers['docker-credential-pass get 127.0.0.1:5000'] = NOT_FOUND
    helpers['docker-credential-pass list '] = { status: 0, stdout: '{"other:1":"x","http://127.0.0.1:5000":"u"}' }
    helpers['docker-credential-pass get http://127.0.0.1:5000'] = answer('u', 'p')
    expect(find(registry).credentials).toEqual({ username: 'u', password: 'p' })
  })

  test('nothing found: each helper says why, in order, and nothing of their output is quoted', () => {
    const path = dockerConfig({ credHelpers: { '127.0.0.1:5000': 'desktop' }, credsStore: 'pass' })
    helpers['docker-credential-pass get 127.0.0.1:5000'] = NOT_FOUND
    const { credentials, origin } = find(registry)
    expect(credentials).toBeUndefined()
    expect(origin).toEqual({
      kind: 'none',
      looked: [
        `${path} (credHelpers 'desktop': docker-credential-desktop is not installed (not found on PATH); ` +
          "credsStore 'pass': no entry for 127.0.0.1:5000; no auths entry for 127.0.0.1:5000)",
        `${join(dir, '.config/containers/auth.json')} (no file)`,
      ],
    })
  })

  test.each([
    ['fails', { status: 1, stdout: 'gpg: decryption failed: TOPSECRET-ish\n' }, /get failed with exit status 1 \(its output is not shown/],
    ['answers garbage', { status: 0, stdout: 'TOPSECRET-ish' }, /answered with something that is not JSON/],
    ['answers an identity token', answer('<token>', 'TOPSECRET-ish'), /identity token, which registry-prune cannot use/],
    ['times out', { status: null, stdout: '', error: Object.assign(new Error('t'), { code: 'ETIMEDOUT' }) }, /did not answer within 30 s/],
  ])('a helper that %s is noted, the search goes on, and its output stays out', (_, given, note) => {
    dockerConfig({ credsStore: 'pass', auths: { '127.0.0.1:5000': { auth: auth('inline', 'i') } } })
    helpers['docker-credential-pass get 127.0.0.1:5000'] = given
    expect(find(registry).credentials?.username).toBe('inline')
    dockerConfig({ credsStore: 'pass' })
    const { origin } = find(registry)
    expect(origin.kind === 'none' && origin.looked[0]).toMatch(note)
    expect(JSON.stringify(origin)).not.toContain('TOPSECRET')
  })

  test('a helper name that is a path is not run', () => {
    dockerConfig({ credsStore: '../../tmp/evil' })
    const { origin } = find(registry)
    expect(calls).toEqual([])
    expect(origin.kind === 'none' && origin.looked[0]).toContain('not a helper name')
  })

  test("Docker Hub is asked for under docker's legacy address", () => {
    dockerConfig({ credsStore: 'pass' })
    helpers['docker-credential-pass get https://index.docker.io/v1/'] = answer('hub', 'h')
    expect(find('https://index.docker.io').credentials?.username).toBe('hub')
  })
})

describe('through parseSettings', () => {
  const read = (values: Record<string, string>) => (name: string) => values[name]

  test('a password from a helper is a secret of the settings, masked like a typed one', () => {
    dockerConfig({ credsStore: 'pass' })
    helpers['docker-credential-pass get registry.example.com:5000'] = answer('ci', 'helper-secret-value')
    const settings = parseSettings(read({ registry: 'https://registry.example.com:5000' }), {}, sources())
    expect(settings).toMatchObject({ username: 'ci', password: 'helper-secret-value' })
    expect(settings.credentialOrigin).toMatchObject({ kind: 'found', used: expect.stringMatching(/^credsStore 'pass' in /) })
    const secrets = secretsOf(settings)
    expect(secrets).toContain('helper-secret-value')
    expect(secrets).toContain(Buffer.from('ci:helper-secret-value').toString('base64'))
    expect(redactor(secrets)('sent helper-secret-value')).toBe('sent ***')
  })

  test('given username and password: no file is read and no helper is run', () => {
    dockerConfig({ credsStore: 'pass' })
    const settings = parseSettings(
      read({ registry: 'https://registry.example.com:5000', username: 'u', password: 'typed-password' }),
      {},
      sources(),
    )
    expect(calls).toEqual([])
    expect(settings.credentialOrigin).toEqual({ kind: 'given' })
  })
})
