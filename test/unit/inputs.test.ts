import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { INPUTS, InputError, OUTPUTS, parseSettings, splitList } from '../../src/inputs.js'
import type { Settings } from '../../src/types.js'
import { CA, KEY } from '../support/bad-inputs.js'

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0mG2Vb7JXBp0mRVzJ3m2oQ2pXq9w2k7w8yYqv0x1Zq'
const FINGERPRINT = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'

const noFiles = {
  readFile: (path: string): string => {
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' })
  },
  homeDir: () => '/nonexistent-home',
}

function parse(values: Record<string, string | undefined>, env: NodeJS.ProcessEnv = {}, files = noFiles): Settings {
  const all: Record<string, string | undefined> = { registry: 'https://registry.example.com', ...values }
  return parseSettings((name) => all[name], env, files)
}

describe('defaults', () => {
  test('only registry given: every default from INPUTS, anonymous', () => {
    expect(parse({})).toEqual({
      registry: 'https://registry.example.com',
      username: '',
      password: '',
      credentialOrigin: {
        kind: 'none',
        looked: ['/nonexistent-home/.docker/config.json (no file)', '/nonexistent-home/.config/containers/auth.json (no file)'],
      },
      repositories: ['**'],
      keepCount: 10,
      keepTags: ['latest'],
      deleteTags: [],
      olderThanMs: undefined,
      ageFrom: 'created',
      untag: false,
      rules: [
        {
          name: 'inputs',
          repositories: ['**'],
          keepCount: 10,
          keepTags: ['latest'],
          deleteTags: [],
          olderThanMs: undefined,
          ageFrom: 'created',
          untagged: 'keep',
          keepUntagged: 0,
          allowDeleteAll: false,
          untag: false,
        },
      ],
      dryRun: false,
      concurrency: 8,
      caCert: undefined,
      insecureSkipTlsVerify: false,
      requestTimeoutMs: 30_000,
      allowDeleteAll: false,
      failOnSkipped: true,
      untagged: 'keep',
      keepUntagged: 0,
      untaggedSource: 'auto',
      shard: undefined,
      prune: true,
      planFile: 'registry-prune-plan.json',
      cacheFile: '',
      gc: {
        mode: 'off',
        sshHost: '',
        sshPort: 22,
        sshUser: 'root',
        sshPrivateKey: '',
        sshPassphrase: '',
        sshKnownHosts: '',
        sshInsecureAcceptAnyHostKey: false,
        command: 'docker exec registry bin/registry garbage-collect /etc/docker/registry/config.yml',
        storagePath: '',
        beforeCommand: '',
        afterCommand: '',
      },
    } satisfies Settings)
  })

  test("'' takes the default like an unset input, except keep-tags, where it means no protected tag", () => {
    const blank = Object.fromEntries(INPUTS.map((input) => [input.name, '']))
    const settings = parse({ ...blank, registry: 'https://registry.example.com' })
    expect(settings.keepCount).toBe(10)
    expect(settings.repositories).toEqual(['**'])
    expect(settings.keepTags).toEqual([])
    expect(parse({ 'keep-tags': undefined }).keepTags).toEqual(['latest'])
  })

  test('values are trimmed; booleans and choices ignore case', () => {
    const settings = parse({ 'keep-count': ' 3 ', 'dry-run': 'TRUE', 'fail-on-skipped': 'False', untagged: 'Keep' })
    expect(settings).toMatchObject({ keepCount: 3, dryRun: true, failOnSkipped: false, untagged: 'keep' })
  })
})

describe('registry', () => {
  test.each([
    ['https://registry.example.com/', 'https://registry.example.com'],
    ['https://registry.example.com:5000/v2/', 'https://registry.example.com:5000'],
    ['https://registry.example.com/v2', 'https://registry.example.com'],
    ['HTTPS://Registry.Example.com:443', 'https://registry.example.com'],
    ['http://127.0.0.1:5000', 'http://127.0.0.1:5000'],
    ['http://[::1]:5000/', 'http://[::1]:5000'],
    ['https://example.com/registry/v2//', 'https://example.com/registry'],
  ])('%s -> %s', (raw, normalized) => {
    expect(parse({ registry: raw }).registry).toBe(normalized)
  })
})

describe('lists', () => {
  test.each([
    ['team/**', ['team/**']],
    ['team/**, ops/app', ['team/**', 'ops/app']],
    ['team/**\n\n  !team/tmp-*  \n', ['team/**', '!team/tmp-*']],
    ['team/{app,api}, ops/*', ['team/{app,api}', 'ops/*']],
    ['!team/tmp-*', ['!team/tmp-*']],
    ['a/{b,{c,d}},e', ['a/{b,{c,d}}', 'e']],
    ['a,,b,', ['a', 'b']],
    ['  ,\n\n', []],
  ])('splitList(%j)', (text, items) => {
    expect(splitList(text)).toEqual(items)
  })

  test('repositories and keep-tags keep order, braces, excludes; CRLF is a line break', () => {
    const settings = parse({
      repositories: 'team/**,ops/{app,api}\r\n!team/tmp-*\r\n',
      'keep-tags': 'latest, v[0-9]*, +(stable|lts), release-{1..3}',
    })
    expect(settings.repositories).toEqual(['team/**', 'ops/{app,api}', '!team/tmp-*'])
    expect(settings.keepTags).toEqual(['latest', 'v[0-9]*', '+(stable|lts)', 'release-{1..3}'])
  })

  test('excludes alone are a list of their own (everything but them, as src/globs.ts matches)', () => {
    expect(parse({ repositories: '!team/tmp-*', 'keep-tags': '!dev-*' })).toMatchObject({
      repositories: ['!team/tmp-*'],
      keepTags: ['!dev-*'],
    })
  })

  test('names of every legal shape pass', () => {
    const names = 'library/ubuntu, a.b_c__d-e--f/g0, team/app/sub, x'
    expect(parse({ repositories: names }).repositories).toHaveLength(4)
    expect(parse({ 'keep-tags': 'v1.2.3, _x, Latest-RC.1' }).keepTags).toHaveLength(3)
  })
})

describe('rules and combinations that are allowed', () => {
  test('older-than, shard, keep-untagged', () => {
    const settings = parse({ 'older-than': '1d12h', shard: '2/4', 'request-timeout': '2m' })
    expect(settings).toMatchObject({ olderThanMs: 36 * 3_600_000, requestTimeoutMs: 120_000 })
    expect(settings.shard).toEqual({ index: 2, total: 4 })
  })

  test('keep-count 0 with an empty keep-tags only with allow-delete-all, even with older-than', () => {
    expect(parse({ 'keep-count': '0', 'keep-tags': '', 'allow-delete-all': 'true' }).keepCount).toBe(0)
    expect(() => parse({ 'keep-count': '0', 'keep-tags': '', 'older-than': '30d' })).toThrow(/allow-delete-all/)
    expect(parse({ 'keep-count': '0' }).keepTags).toEqual(['latest'])
  })

  test('untagged delete with local GC and a storage path; prune false with GC', () => {
    const settings = parse({
      untagged: 'delete',
      'keep-untagged': '2',
      'garbage-collect': 'local',
      'storage-path': '/var/lib/registry/',
    })
    expect(settings).toMatchObject({ untagged: 'delete', keepUntagged: 2 })
    expect(settings.gc).toMatchObject({ mode: 'local', storagePath: '/var/lib/registry' })
    expect(parse({ prune: 'false', 'garbage-collect': 'local' }).prune).toBe(false)
  })

  test('a gc-command with other programs\' flags passes: only the collector\'s -m and -d are refused', () => {
    const command = 'docker run --rm -it -m 1g -v /srv/registry:/var/lib/registry registry:2 garbage-collect /c.yml'
    expect(parse({ 'gc-command': command }).gc.command).toBe(command)
    expect(() => parse({ 'gc-command': `${command} -d` })).toThrow(/'-d'/)
  })
})

describe('ssh', () => {
  const ssh = { 'garbage-collect': 'ssh', 'ssh-private-key': KEY }

  test.each([
    ['gc.example.com', 'gc.example.com', 22],
    ['gc.example.com:2222', 'gc.example.com', 2222],
    ['10.0.0.5', '10.0.0.5', 22],
    ['[2001:db8::1]:2222', '2001:db8::1', 2222],
    ['[::1]', '::1', 22],
  ])('ssh-host %s', (raw, host, port) => {
    const settings = parse({ ...ssh, 'ssh-host': raw, 'ssh-known-hosts': FINGERPRINT })
    expect(settings.gc).toMatchObject({ mode: 'ssh', sshHost: host, sshPort: port })
  })

  test('known hosts: lines, markers, comments, fingerprints; key with CRLF is normalized', () => {
    const knownHosts = [
      '# the registry host',
      `gc.example.com,10.0.0.5 ${HOST_KEY}`,
      `[gc.example.com]:2222 ${HOST_KEY} comment`,
      `@cert-authority *.example.com ${HOST_KEY}`,
      `|1|c2FsdA==|aGFzaA== ${HOST_KEY}`,
      FINGERPRINT,
    ].join('\n')
    const settings = parse({
      ...ssh,
      'ssh-host': 'gc.example.com',
      'ssh-private-key': `${KEY.replace(/\n/g, '\r\n')}\r\n`,
      'ssh-passphrase': ' spaced passphrase ',
      'ssh-known-hosts': knownHosts,
      'ssh-user': 'deploy',
    })
    expect(settings.gc).toMatchObject({
      sshPrivateKey: `${KEY}\n`,
      sshPassphrase: ' spaced passphrase ',
      sshKnownHosts: knownHosts,
      sshUser: 'deploy',
    })
  })

  test('the explicit opt-out replaces known hosts', () => {
    const settings = parse({ ...ssh, 'ssh-host': 'gc.example.com', 'ssh-insecure-accept-any-host-key': 'true' })
    expect(settings.gc.sshInsecureAcceptAnyHostKey).toBe(true)
  })

  test('ssh settings are not required with garbage-collect off or local', () => {
    expect(parse({ 'garbage-collect': 'local' }).gc.mode).toBe('local')
  })
})

describe('ca-cert', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'inputs-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  test('as PEM text', () => {
    expect(parse({ 'ca-cert': CA }).caCert).toBe(`${CA}\n`)
  })

  test('as a path, read from disk (a bundle of two, with CRLF and text around)', () => {
    const path = join(dir, 'ca.pem')
    writeFileSync(path, `subject=test CA\r\n${CA.replace(/\n/g, '\r\n')}\r\n${CA}\n`)
    const settings = parseSettings((name) => ({ registry: 'https://r.example.com', 'ca-cert': path })[name], {}, {
      homeDir: () => dir,
    })
    expect(settings.caCert).toBe(`${CA}\n${CA}\n`)
  })

  test('a path that cannot be read names the input', () => {
    const error = (() => {
      try {
        parse({ 'ca-cert': join(dir, 'missing.pem') }, {}, { ...noFiles, readFile: (p) => readFileSync(p, 'utf8') })
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).input).toBe('ca-cert')
  })
})

describe('credentials', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'inputs-docker-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  const realFiles = () => ({ readFile: (p: string) => readFileSync(p, 'utf8'), homeDir: () => dir })

  test('username and password as given', () => {
    expect(parse({ username: 'ci', password: ' p w ' })).toMatchObject({ username: 'ci', password: ' p w ' })
  })

  test('from $DOCKER_CONFIG when both are empty; given ones win', () => {
    const auth = Buffer.from('pusher:s3cret').toString('base64')
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'registry.example.com:5000': { auth } } }))
    const env = { DOCKER_CONFIG: dir }
    const registry = 'https://registry.example.com:5000'
    expect(parse({ registry }, env, realFiles())).toMatchObject({ username: 'pusher', password: 's3cret' })
    expect(parse({ registry, username: 'ci', password: 'x' }, env, realFiles())).toMatchObject({ username: 'ci' })
    expect(parse({ registry: 'https://other.example.com' }, env, realFiles()).username).toBe('')
  })

  test('from ~/.docker/config.json without $DOCKER_CONFIG', () => {
    mkdirSync(join(dir, '.docker'))
    const auths = { 'https://registry.example.com': { username: 'u', password: 'p' } }
    writeFileSync(join(dir, '.docker', 'config.json'), JSON.stringify({ auths }))
    expect(parse({}, {}, realFiles())).toMatchObject({ username: 'u', password: 'p' })
  })

  test('a broken docker config is an InputError on username', () => {
    writeFileSync(join(dir, 'config.json'), '{')
    try {
      parse({}, { DOCKER_CONFIG: dir }, realFiles())
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(InputError)
      expect((error as InputError).input).toBe('username')
      expect((error as Error).message).toMatch(/not valid JSON.*Expected username and password/)
    }
  })

  test('a colon in a user name from the docker config is refused, without echoing the password', () => {
    const auths = { 'registry.example.com': { username: 'a:b', password: 'TOPSECRET' } }
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths }))
    expect(() => parse({}, { DOCKER_CONFIG: dir }, realFiles())).toThrow(
      /Invalid username \(from auths\["registry.example.com"\] in .*config\.json\): it contains a colon/,
    )
  })
})

describe('INPUTS, OUTPUTS and action.yml', () => {
  const action = parseYaml(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
    inputs: Record<string, { description?: string; required?: boolean; default?: unknown }>
    outputs: Record<string, { description?: string }>
    runs: { using: string; main: string }
    name: string
    description: string
    branding: unknown
  }

  test('names are unique kebab-case; secrets are exactly the three of DECISIONS 14', () => {
    const names = INPUTS.map((input) => input.name)
    expect(new Set(names).size).toBe(names.length)
    for (const name of names) expect(name).toMatch(/^[a-z]+(-[a-z]+)*$/)
    expect(INPUTS.filter((input) => input.secret).map((input) => input.name)).toEqual([
      'password',
      'ssh-private-key',
      'ssh-passphrase',
    ])
    expect(INPUTS.filter((input) => input.required).map((input) => input.name)).toEqual(['registry'])
    for (const input of INPUTS) {
      expect(input.description, input.name).toMatch(/\S.*\.$/)
      if (input.kind === 'choice') expect(input.options, input.name).toContain(input.default)
    }
  })

  test('action.yml lists every input in the same order, with the same description, default and required', () => {
    expect(Object.keys(action.inputs)).toEqual(INPUTS.map((input) => input.name))
    for (const input of INPUTS) {
      const declared = action.inputs[input.name]!
      expect(declared.description, input.name).toBe(input.description)
      expect(declared.required ?? false, input.name).toBe(input.required ?? false)
      if (input.required) expect(declared.default, input.name).toBeUndefined()
      else expect(declared.default, input.name).toBe(input.default)
    }
  })

  test('action.yml lists every output with its description, and runs the bundle on node24', () => {
    expect(Object.keys(action.outputs)).toEqual(OUTPUTS.map((output) => output.name))
    for (const output of OUTPUTS) expect(action.outputs[output.name]!.description).toBe(output.description)
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
    expect(action.name).toBe('registry-prune')
    expect(action.description).toBeTruthy()
    expect(action.branding).toBeTruthy()
  })
})
