// Issue 5 acceptance 2: the auth and transport matrix against the real registry, through the bundled Action
// (`node dist/index.js`; run `npm run build` first): anonymous, htpasswd Basic, Bearer tokens from a token server
// (Distribution's own `auth: token`), and TLS with a private CA. Each case gets its own copy of the fixture storage.
import { execFileSync } from 'node:child_process'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../support/action.js'
import { recordArtifacts, recordSecret } from '../support/artifacts.js'
import { prunedLikeTheAction } from '../support/cli.js'
import { startFaultProxy } from '../support/faults.js'
import { pushFixtures, type Fixtures } from '../support/fixtures.js'
import { startRegistry, type RegistryOptions, type TestRegistry } from '../support/registry.js'
import { makeCa, type TestCa } from '../support/tls.js'
import { grantAll, grantPull, startTokenServer, type TokenServer } from '../support/token-server.js'
import { snapshot } from '../support/fixtures.js'

const BASIC_USER = 'alice'
const BASIC_PASSWORD = 'alice-basic-Pa55word'
const ADMIN_PASSWORD = 'admin-token-Pa55word'
const READER_PASSWORD = 'reader-token-Pa55word'

let work: string
let pristine: string
let fx: Fixtures
let before: Record<string, string | undefined>
let copies = 0

/** A registry on a fresh copy of the fixture storage, configured as the case needs. */
async function registryCopy(options: RegistryOptions): Promise<TestRegistry> {
  const storage = join(work, `copy-${++copies}`)
  await cp(pristine, storage, { recursive: true })
  return startRegistry({ ...options, storage })
}

/** Looks at a registry's storage over plain HTTP without auth (a second registry process on the same tree). */
async function inspect<T>(reg: TestRegistry, look: (plain: TestRegistry) => Promise<T>): Promise<T> {
  const plain = await startRegistry({ storage: reg.storage })
  try {
    return await look(plain)
  } finally {
    await plain.stop()
  }
}

async function action(name: string, inputs: Record<string, string>): Promise<ActionRun> {
  const run = await runAction({ 'keep-count': '2', ...inputs })
  recordArtifacts(`auth-matrix-${name}`, run.everything)
  return run
}

const shown = (run: ActionRun): string => `${run.stdout}\n${run.stderr}`

async function expectPruned(reg: TestRegistry, run: ActionRun): Promise<void> {
  expect(run.code, shown(run)).toBe(0)
  expect(run.outputs['deleted-count']).toBe('4')
  expect(await inspect(reg, (plain) => prunedLikeTheAction(plain, fx))).toEqual([])
}

async function expectUntouched(reg: TestRegistry): Promise<void> {
  expect(await inspect(reg, (plain) => snapshot(plain, fx))).toEqual(before)
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'registry-prune-auth-'))
  const seed = await startRegistry()
  fx = await pushFixtures(seed)
  before = await snapshot(seed, fx)
  pristine = join(work, 'pristine')
  await cp(seed.storage, pristine, { recursive: true })
  await seed.stop()
}, 60_000)
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

describe('anonymous', () => {
  it('prunes a registry without auth', async () => {
    const reg = await registryCopy({})
    try {
      await expectPruned(reg, await action('anonymous', { registry: reg.url }))
    } finally {
      await reg.stop()
    }
  })
})

describe('htpasswd Basic auth', () => {
  let reg: TestRegistry
  beforeAll(async () => {
    recordSecret(BASIC_PASSWORD, BASIC_USER)
    const htpasswd = join(work, 'htpasswd')
    await writeFile(htpasswd, execFileSync('htpasswd', ['-nbB', BASIC_USER, BASIC_PASSWORD]))
    reg = await registryCopy({ auth: `auth:\n  htpasswd:\n    realm: test\n    path: ${htpasswd}` })
  })
  afterAll(async () => reg?.stop())

  it('refuses a wrong password clearly, deleting nothing', async () => {
    const wrong = 'alice-WRONG-password'
    recordSecret(wrong, BASIC_USER)
    const run = await action('basic-wrong', { registry: reg.url, username: BASIC_USER, password: wrong })
    expect(run.code).not.toBe(0)
    expect(run.stdout).toMatch(/::error::.*401.*check username and password/)
    await expectUntouched(reg)
  })

  it('prunes with the right user and password', async () => {
    const run = await action('basic', { registry: reg.url, username: BASIC_USER, password: BASIC_PASSWORD })
    await expectPruned(reg, run)
  })
})

describe('Bearer tokens (Distribution auth: token, a test token server)', () => {
  let tokens: TokenServer
  beforeAll(async () => {
    // Tokens live 2 s: a run that takes longer must renew them.
    tokens = await startTokenServer({
      expiresIn: 2,
      users: {
        admin: { password: ADMIN_PASSWORD, grant: grantAll },
        reader: { password: READER_PASSWORD, grant: grantPull },
      },
    })
  })
  afterAll(async () => tokens?.close())

  it('renews tokens that expire during a long run, and prunes', async () => {
    const reg = await registryCopy({ auth: tokens.registryAuth })
    // A slow link (40 ms a request, one at a time) makes the run outlive several token lifetimes.
    const slow = await startFaultProxy(reg.url, {
      rate: 0, stallMs: 0, hook: () => new Promise((resolve) => setTimeout(resolve, 40)),
    })
    try {
      tokens.issued.length = 0
      const started = Date.now()
      const run = await action('bearer-admin', {
        registry: slow.url, username: 'admin', password: ADMIN_PASSWORD, concurrency: '1',
      })
      await expectPruned(reg, run)
      expect(Date.now() - started).toBeGreaterThan(2000) // the premise: the run outlived a token
      const perScope = new Map<string, number>()
      for (const t of tokens.issued) perScope.set(t.asked.join(' '), (perScope.get(t.asked.join(' ')) ?? 0) + 1)
      expect(Math.max(...perScope.values()), JSON.stringify([...perScope])).toBeGreaterThan(1)
      expect(tokens.issued.every((t) => t.user === 'admin')).toBe(true)
      expect(tokens.issued.some((t) => t.access.some((a) => a.actions.includes('delete')))).toBe(true)
    } finally {
      await slow.close()
      await reg.stop()
    }
  })

  it('a token without the delete scope: a clear error naming the scope, nothing deleted', async () => {
    const reg = await registryCopy({ auth: tokens.registryAuth })
    try {
      const run = await action('bearer-reader', { registry: reg.url, username: 'reader', password: READER_PASSWORD })
      expect(run.code).not.toBe(0)
      expect(run.stdout).toContain('did not grant the scope repository:team/app:delete')
      expect(run.stdout).toContain('give the user "reader" delete access to team/app')
      expect(run.outputs['deleted-count']).toBe('0')
      await expectUntouched(reg)
    } finally {
      await reg.stop()
    }
  })

  it('credentials the token server refuses: a clear error, nothing deleted', async () => {
    const reg = await registryCopy({ auth: tokens.registryAuth })
    const wrong = 'admin-WRONG-password'
    recordSecret(wrong, 'admin')
    try {
      const run = await action('bearer-wrong', { registry: reg.url, username: 'admin', password: wrong })
      expect(run.code).not.toBe(0)
      expect(run.stdout).toContain('token server refused the credentials of the user "admin"')
      await expectUntouched(reg)
    } finally {
      await reg.stop()
    }
  })
})

describe('TLS with a private CA', () => {
  let ca: TestCa
  beforeAll(async () => {
    ca = await makeCa()
  })
  afterAll(async () => ca?.remove())

  const tls = (): Promise<TestRegistry> => registryCopy({ scheme: 'https', http: ca.registryHttp })

  it.each([
    ['PEM text', () => ca.caPem],
    ['a path', () => ca.caCert],
  ])('trusts the registry with ca-cert as %s, and prunes', async (_how, caCert) => {
    const reg = await tls()
    try {
      await expectPruned(reg, await action('tls-ca', { registry: reg.url, 'ca-cert': caCert() }))
    } finally {
      await reg.stop()
    }
  })

  it('insecure-skip-tls-verify works and warns', async () => {
    const reg = await tls()
    try {
      const run = await action('tls-insecure', { registry: reg.url, 'insecure-skip-tls-verify': 'true' })
      await expectPruned(reg, run)
      expect(run.stdout).toMatch(/^::warning::insecure-skip-tls-verify is on/m)
    } finally {
      await reg.stop()
    }
  })

  it('an untrusted certificate: a clear error naming ca-cert, nothing deleted', async () => {
    const reg = await tls()
    try {
      const run = await action('tls-untrusted', { registry: reg.url })
      expect(run.code).not.toBe(0)
      expect(run.stdout).toMatch(/::error::.*not trusted.*`ca-cert`.*insecure-skip-tls-verify/)
      await expectUntouched(reg)
    } finally {
      await reg.stop()
    }
  })
})
