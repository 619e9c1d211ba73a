import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { dockerConfigPath, findDockerCredentials } from '../../src/docker-config.js'

const auth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64')
const files = (home: string) => ({ readFile: (path: string) => readFileSync(path, 'utf8'), homeDir: () => home })

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'docker-config-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function writeConfig(at: string, config: unknown): void {
  mkdirSync(at, { recursive: true })
  writeFileSync(join(at, 'config.json'), JSON.stringify(config))
}

describe('dockerConfigPath', () => {
  test('DOCKER_CONFIG wins over the home directory', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/x/conf' }, () => '/home/u')).toBe('/x/conf/config.json')
    expect(dockerConfigPath({}, () => '/home/u')).toBe('/home/u/.docker/config.json')
  })
})

describe('findDockerCredentials', () => {
  test.each([
    ['host:port key', 'registry.example.com:5000', 'https://registry.example.com:5000'],
    ['https key', 'https://registry.example.com:5000', 'https://registry.example.com:5000'],
    ['key with a /v1/ path', 'https://registry.example.com:5000/v1/', 'https://registry.example.com:5000'],
    ['upper-case key', 'REGISTRY.example.com:5000', 'https://registry.example.com:5000/prefix'],
    ['default https port in the key', 'registry.example.com:443', 'https://registry.example.com'],
    ['http key for an http registry', 'http://127.0.0.1:5000', 'http://127.0.0.1:5000'],
  ])('reads an auth entry under a %s', (_, key, registry) => {
    writeConfig(join(dir, '.docker'), { auths: { [key]: { auth: auth('ci', 'p:ss:word') } } })
    expect(findDockerCredentials(registry, {}, files(dir))).toEqual({
      username: 'ci',
      password: 'p:ss:word',
      configPath: join(dir, '.docker', 'config.json'),
    })
  })

  test('reads username and password fields, from $DOCKER_CONFIG', () => {
    const at = join(dir, 'elsewhere')
    writeConfig(at, { auths: { 'registry.example.com': { username: 'u', password: 'p' } } })
    const found = findDockerCredentials('https://registry.example.com', { DOCKER_CONFIG: at }, files(dir))
    expect(found).toMatchObject({ username: 'u', password: 'p' })
  })

  test('another host, another port, a missing file, or a helper-only entry give nothing', () => {
    expect(findDockerCredentials('https://registry.example.com', {}, files(dir))).toBeUndefined()
    writeConfig(join(dir, '.docker'), {
      auths: { 'other.example.com': { auth: auth('a', 'b') }, 'registry.example.com:5001': { auth: auth('a', 'b') } },
      credHelpers: { 'registry.example.com:5000': 'secretservice' },
    })
    expect(findDockerCredentials('https://registry.example.com:5000', {}, files(dir))).toBeUndefined()
    expect(findDockerCredentials('https://other.example.com:5000', {}, files(dir))).toBeUndefined()
  })

  test('a malformed file or entry is an error naming the file, without the secret', () => {
    mkdirSync(join(dir, '.docker'))
    writeFileSync(join(dir, '.docker', 'config.json'), '{ not json')
    const find = () => findDockerCredentials('https://r.example.com', {}, files(dir))
    expect(find).toThrow(/config\.json is not valid JSON/)
    const noColon = Buffer.from('nocolon').toString('base64')
    writeConfig(join(dir, '.docker'), { auths: { 'r.example.com': { auth: noColon } } })
    expect(find).toThrow(
      /auths\["r.example.com"\].auth in the docker config .*config\.json is not base64 of user:password/,
    )
    writeConfig(join(dir, '.docker'), { auths: { 'r.example.com': { auth: 'not base64!' } } })
    expect(find).toThrow(/not base64/)
  })

  test('an unreadable file is an error, not anonymous access', () => {
    const unreadable = {
      readFile: () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })
      },
      homeDir: () => dir,
    }
    const find = () => findDockerCredentials('https://r.example.com', {}, unreadable)
    expect(find).toThrow(/Cannot read the docker config/)
  })
})
