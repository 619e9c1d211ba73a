// Garbage collection against a real OpenSSH server, a real registry and the real collector (Debian's docker-registry).
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectGarbage, measureBefore, openGc } from '../../src/gc/gc.js'
import { localShell, type Shell } from '../../src/gc/shell.js'
import { listRevisions, measure, shellQuote } from '../../src/gc/storage.js'
import type { GcSettings, Logger } from '../../src/types.js'
import { ACCEPT, pushImage, pushIndex, pullsCompletely, type PushedImage } from '../support/push.js'
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../support/registry.js'
import { startSshd, type TestSshd } from '../support/sshd.js'

let sshd: TestSshd
let scratch: string
/** Every line any logger printed and every error message, to prove the private key leaks into none of them. */
const everything: string[] = []
/** Every private key and passphrase handed to the code under test. */
const secrets: string[] = []

beforeAll(async () => {
  sshd = await startSshd()
  scratch = await mkdtemp(join(tmpdir(), 'registry-prune-gc-'))
})
afterAll(async () => {
  await sshd?.stop()
  await rm(scratch, { recursive: true, force: true })
})

interface TestLog extends Logger {
  lines: string[]
  warnings: string[]
  groups: string[]
}

function testLog(): TestLog {
  const lines: string[] = []
  const warnings: string[] = []
  const groups: string[] = []
  const record = (level: string) => (m: string) => {
    lines.push(m)
    everything.push(`${level}: ${m}`)
    if (level === 'warning') warnings.push(m)
  }
  return {
    lines,
    warnings,
    groups,
    info: record('info'),
    warning: record('warning'),
    error: record('error'),
    debug: record('debug'),
    async group(name, body) {
      groups.push(name)
      everything.push(`group: ${name}`)
      return body()
    },
  }
}

function settings(reg: TestRegistry, overrides: Partial<GcSettings> = {}): GcSettings {
  return {
    mode: 'ssh',
    sshHost: sshd.host,
    sshPort: sshd.port,
    sshUser: sshd.user,
    sshPrivateKey: sshd.privateKey,
    sshPassphrase: '',
    sshKnownHosts: sshd.knownHostsLine,
    sshInsecureAcceptAnyHostKey: false,
    command: `${REGISTRY_BIN} garbage-collect ${reg.configPath}`,
    storagePath: reg.storage,
    beforeCommand: '',
    afterCommand: '',
    ...overrides,
  }
}

/** Expects a promise to reject; returns the message (and records it for the leak check). */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (e) {
    const message = (e as Error).message
    everything.push(`error: ${message}`)
    return message
  }
  throw new Error('expected a failure')
}

const du = (path: string): number => Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0])

async function deleteManifest(reg: TestRegistry, repo: string, digest: string): Promise<void> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${digest}`, { method: 'DELETE', headers: { accept: ACCEPT } })
  expect(res.status).toBe(202)
}

/** team/app:v1 and v2 over a shared base layer, other:latest on the same base; v2 deleted through the API. */
async function fixture(reg: TestRegistry): Promise<{ v1: PushedImage; v2: PushedImage; sizes: Map<string, number> }> {
  const v1 = await pushImage(reg, 'team/app', 'v1', { layers: ['base layer', 'v1 layer'.repeat(2000)], label: 'v1' })
  const v2 = await pushImage(reg, 'team/app', 'v2', { layers: ['base layer', 'v2 layer'.repeat(5000)], label: 'v2' })
  await pushImage(reg, 'other', 'latest', { layers: ['base layer'], label: 'other' })
  await deleteManifest(reg, 'team/app', v2.digest)
  const sizes = new Map<string, number>()
  for (const image of [v1, v2]) {
    sizes.set(image.digest, image.size)
    for (const blob of [image.config, ...image.layers]) sizes.set(blob.digest, blob.size)
  }
  return { v1, v2, sizes }
}

async function withShell<T>(gc: GcSettings, log: Logger, body: (shell: Shell) => Promise<T>): Promise<T> {
  const shell = await openGc(gc, log)
  if (!shell) throw new Error('no shell')
  try {
    return await body(shell)
  } finally {
    await shell.close()
  }
}

describe('garbage collection over SSH', () => {
  let reg: TestRegistry
  beforeAll(async () => {
    reg = await startRegistry()
  })
  afterAll(async () => {
    await reg?.stop()
  })

  it('a dry run deletes nothing on disk and reports the blobs already orphaned', async () => {
    const { v2 } = await fixture(reg)
    const before = du(reg.storage)
    const log = testLog()
    const gc = settings(reg, { beforeCommand: `touch ${scratch}/before-ran`, afterCommand: `touch ${scratch}/after-ran` })
    const result = await withShell(gc, log, async (shell) =>
      collectGarbage(shell, gc, { dryRun: true, blobSizes: new Map(), storageBytesBefore: await measureBefore(shell, gc) }, log),
    )
    expect(du(reg.storage)).toBe(before)
    expect(result).toMatchObject({ mode: 'ssh', dryRun: true, blobsDeleted: [], reclaimedBytes: 0, blobsEligible: 3 })
    expect([...result.blobsEligibleDigests].sort()).toEqual([v2.digest, v2.config.digest, v2.layers[1]?.digest].sort())
    expect(result.storageBytesAfter).toBe(result.storageBytesBefore)
    // DECISIONS 17: no before/after commands in a dry run.
    expect(existsSync(`${scratch}/before-ran`) || existsSync(`${scratch}/after-ran`)).toBe(false)
    // The collector's output is a group of its own (collapsed in CI), inside the phase.
    expect(log.groups).toEqual(['Garbage collection', `Collector output (${REGISTRY_BIN} garbage-collect --dry-run ${reg.configPath})`])
    expect(log.lines).toContain(`$ ${REGISTRY_BIN} garbage-collect --dry-run ${reg.configPath}`)
    expect(log.lines).toContain('6 blobs marked, 3 blobs and 0 manifests eligible for deletion')
  })

  it('a real run frees the orphaned blobs; reclaimedBytes equals the drop of du -sb measured independently', async () => {
    const log = testLog()
    const gc = settings(reg, { beforeCommand: `touch ${scratch}/before-ran`, afterCommand: `touch ${scratch}/after-ran` })
    const before = du(reg.storage)
    const result = await withShell(gc, log, async (shell) =>
      collectGarbage(shell, gc, { dryRun: false, blobSizes: new Map(), storageBytesBefore: await measureBefore(shell, gc) }, log),
    )
    const after = du(reg.storage)
    expect(after).toBeLessThan(before)
    expect(result).toMatchObject({ dryRun: false, measuredBy: 'du', reclaimedBytes: before - after, blobsEligible: 3 })
    expect(result.storageBytesBefore).toBe(before)
    expect(result.storageBytesAfter).toBe(after)
    expect(result.blobsDeleted).toHaveLength(3)
    expect(existsSync(`${scratch}/before-ran`) && existsSync(`${scratch}/after-ran`)).toBe(true)
    // Both commands were set: no warning about collecting a writable registry.
    expect(result.warnings).toEqual([])

    // The inmemory blob cache answers for collected blobs until the registry restarts (REGISTRY-FACTS).
    await reg.restart()
    expect(await pullsCompletely(reg, 'team/app', 'v1')).toBe(true)
    expect(await pullsCompletely(reg, 'other', 'latest')).toBe(true)
    for (const digest of result.blobsDeleted) {
      expect((await fetch(`${reg.url}/v2/team/app/blobs/${digest}`)).status).toBe(404)
    }
  })

  it('without storage-path, reclaimedBytes is the sum of the known sizes of the blobs it deleted', async () => {
    const { v1, sizes } = await fixture(reg)
    await deleteManifest(reg, 'team/app', v1.digest)
    const log = testLog()
    const gc = settings(reg, { storagePath: '' })
    const before = du(reg.storage)
    const result = await withShell(gc, log, async (shell) =>
      collectGarbage(shell, gc, { dryRun: false, blobSizes: sizes, storageBytesBefore: await measureBefore(shell, gc) }, log),
    )
    const expected = [v1.digest, v1.config.digest, v1.layers[1]?.digest ?? '']
    expect([...result.blobsDeleted].sort()).toEqual(expect.arrayContaining(expected))
    const sum = result.blobsDeleted.reduce((s, d) => s + (sizes.get(d) ?? 0), 0)
    expect(result).toMatchObject({ measuredBy: 'blob-sizes', reclaimedBytes: sum, storageBytesBefore: undefined })
    // The blob sizes count the blob data only; du also counts the directories around them.
    expect(result.reclaimedBytes).toBeLessThanOrEqual(before - du(reg.storage))
    expect(result.reclaimedBytes).toBeGreaterThan(20_000)
    // DECISIONS 3: neither before nor after command: warn.
    expect(result.warnings.join('\n')).toMatch(/uploads? during GC.*inmemory/s)
    await reg.restart()
  })

  it('a failing collector throws with its stderr and what to check, and the after command still runs', async () => {
    const log = testLog()
    const gc = settings(reg, {
      command: `${REGISTRY_BIN} garbage-collect /nonexistent/config.yml`,
      afterCommand: `touch ${scratch}/after-failure`,
    })
    const message = await withShell(gc, log, (shell) =>
      failure(collectGarbage(shell, gc, { dryRun: false, blobSizes: new Map(), storageBytesBefore: undefined }, log)),
    )
    expect(message).toContain('exit 1')
    expect(message).toContain('configuration error: open /nonexistent/config.yml')
    expect(message).toContain('config path in gc-command')
    expect(message).toContain('user that can write')
    expect(existsSync(`${scratch}/after-failure`)).toBe(true)
  })

  it('a failing gc-before-command stops GC before the collector runs', async () => {
    const log = testLog()
    const gc = settings(reg, { beforeCommand: 'echo cannot switch to read-only >&2; exit 3', afterCommand: 'true' })
    const message = await withShell(gc, log, (shell) =>
      failure(collectGarbage(shell, gc, { dryRun: false, blobSizes: new Map(), storageBytesBefore: undefined }, log)),
    )
    expect(message).toMatch(/gc-before-command failed .* exit 3: cannot switch to read-only/)
    expect(log.lines.some((l) => l.includes('garbage-collect'))).toBe(false)
  })

  it('refuses -m before connecting, and the multi-arch image still pulls', async () => {
    const amd = await pushImage(reg, 'team/multi', undefined, { layers: ['m-amd'], platform: { architecture: 'amd64', os: 'linux' } })
    const arm = await pushImage(reg, 'team/multi', undefined, { layers: ['m-arm'], platform: { architecture: 'arm64', os: 'linux' } })
    await pushIndex(reg, 'team/multi', 'latest', [amd, arm])
    for (const flag of ['-m', '--delete-untagged', '-dm']) {
      const gc = settings(reg, { command: `${REGISTRY_BIN} garbage-collect ${flag} ${reg.configPath}`, sshPort: 1 })
      expect(await failure(openGc(gc, testLog()))).toMatch(/refused.*multi-platform/s)
    }
    expect(await pullsCompletely(reg, 'team/multi', 'latest')).toBe(true)
  })

  it('lists the manifest revisions of every repository, names with slashes included, without deleted ones', async () => {
    const kept = await pushImage(reg, 'team/sub/app', 'a', { layers: ['r1'], label: 'kept' })
    const untagged = await pushImage(reg, 'team/sub/app', undefined, { layers: ['r2'], label: 'untagged' })
    const gone = await pushImage(reg, 'team/sub/app', 'b', { layers: ['r3'], label: 'gone' })
    await deleteManifest(reg, 'team/sub/app', gone.digest)
    // A storage path with a space and a quote in it: quoted, never interpreted.
    const odd = join(scratch, "it's a $(storage)")
    await symlink(reg.storage, odd)
    const log = testLog()
    const gc = settings(reg, { storagePath: odd })
    const [overSsh, bytes] = await withShell(gc, log, async (shell) => [await listRevisions(shell, odd), await measure(shell, odd)] as const)
    expect(overSsh.get('team/sub/app')).toEqual([kept.digest, untagged.digest].sort())
    expect(overSsh.has('other')).toBe(true)
    expect(overSsh.has('team/multi')).toBe(true)
    expect(bytes).toBeGreaterThan(0)
    expect(await listRevisions(localShell(), reg.storage)).toEqual(overSsh)
  })

  it('says what it could not read when storage-path is wrong', async () => {
    const shell = localShell()
    const missing = join(scratch, 'no-such-storage')
    const listing = await failure(listRevisions(shell, missing))
    expect(listing).toContain(`${missing}/docker/registry/v2/repositories`)
    expect(listing).toContain('No such file or directory')
    expect(listing).toContain('storage root')
    const measuring = await failure(measure(shell, missing))
    expect(measuring).toContain(`Could not measure storage-path '${missing}' on this machine`)

    // A user that may not read the storage (the test registry's directory is 0700, owned by root).
    const nobody: Shell = {
      ...shell,
      run: (command, onLine) => shell.run(`setpriv --reuid=65534 --regid=65534 --clear-groups sh -c ${shellQuote(command)}`, onLine),
    }
    const denied = await failure(listRevisions(nobody, reg.storage))
    expect(denied).toContain(`Could not list the manifests in '${reg.storage}/docker/registry/v2/repositories'`)
    expect(denied).toContain('Permission denied')
    expect(denied).toContain('can read all of it')
    expect(await failure(measure(nobody, reg.storage))).toContain('Permission denied')
  })

  it('a dry run through sh -c still reaches the collector as --dry-run, and deletes nothing', async () => {
    // Appended after the quotes, --dry-run would be sh's $0, and the collector would delete for real.
    const { v2 } = await fixture(reg)
    const before = du(reg.storage)
    const log = testLog()
    const gc = settings(reg, { command: `sh -c '${REGISTRY_BIN} garbage-collect ${reg.configPath}'` })
    const result = await withShell(gc, log, async (shell) =>
      collectGarbage(shell, gc, { dryRun: true, blobSizes: new Map(), storageBytesBefore: await measureBefore(shell, gc) }, log),
    )
    expect(du(reg.storage)).toBe(before)
    expect(result).toMatchObject({ dryRun: true, blobsDeleted: [] })
    expect(result.blobsEligibleDigests).toEqual(expect.arrayContaining([v2.digest, v2.config.digest]))
  })

  it('runs locally too (garbage-collect: local)', async () => {
    const { v2 } = await fixture(reg)
    const log = testLog()
    const gc = settings(reg, { mode: 'local', sshKnownHosts: '', sshPrivateKey: '' })
    const before = du(reg.storage)
    const result = await withShell(gc, log, async (shell) => {
      expect(shell.target).toBe('this machine')
      return collectGarbage(shell, gc, { dryRun: false, blobSizes: new Map(), storageBytesBefore: await measureBefore(shell, gc) }, log)
    })
    expect(result).toMatchObject({ mode: 'local', measuredBy: 'du', reclaimedBytes: before - du(reg.storage) })
    expect(result.blobsDeleted).toEqual(expect.arrayContaining([v2.digest, v2.config.digest]))
    await reg.restart()
  })
})

describe('SSH connection checks', () => {
  let reg: TestRegistry
  beforeAll(async () => {
    reg = await startRegistry()
  })
  afterAll(async () => {
    await reg?.stop()
  })

  it('accepts the host by its SHA256 fingerprint', async () => {
    const log = testLog()
    await withShell(settings(reg, { sshKnownHosts: sshd.fingerprint }), log, async (shell) => {
      expect((await shell.run('echo hello; echo oops >&2; exit 4')).code).toBe(4)
    })
    expect(log.lines.join('\n')).toContain(sshd.fingerprint)
  })

  it('streams output line by line with its stream', async () => {
    const lines: string[] = []
    await withShell(settings(reg), testLog(), async (shell) => {
      const result = await shell.run("printf 'a\\nb\\n'; echo c >&2; printf 'no newline'", (s, l) => lines.push(`${s}:${l}`))
      // Lines that went to onLine come back as lines (the last 100 of each stream), joined by newlines.
      expect(result).toEqual({ code: 0, stdout: 'a\nb\nno newline', stderr: 'c' })
    })
    expect(lines.filter((l) => l.startsWith('stdout'))).toEqual(['stdout:a', 'stdout:b', 'stdout:no newline'])
    expect(lines).toContain('stderr:c')
  })

  it('refuses a wrong host key, showing the presented fingerprint and how to get the right line', async () => {
    const other = await sshd.newKey()
    const wrong = `[127.0.0.1]:${sshd.port} ${other.publicKey.split(' ').slice(0, 2).join(' ')}`
    const message = await failure(openGc(settings(reg, { sshKnownHosts: wrong }), testLog()))
    expect(message).toContain('does not match ssh-known-hosts')
    expect(message).toContain(sshd.fingerprint)
    expect(message).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1`)
    expect(message).toContain('ssh-insecure-accept-any-host-key: true')
  })

  it('refuses an unknown host (known_hosts names only another host)', async () => {
    const hostLine = sshd.knownHostsLine.split(' ').slice(1).join(' ')
    const message = await failure(openGc(settings(reg, { sshKnownHosts: `registry.example.com ${hostLine}` }), testLog()))
    expect(message).toContain(`The SSH host 127.0.0.1:${sshd.port} is not in ssh-known-hosts`)
    expect(message).toContain(sshd.fingerprint)
    // Right key, wrong port: [host]:port is another entry.
    const noPort = await failure(openGc(settings(reg, { sshKnownHosts: `127.0.0.1 ${hostLine}` }), testLog()))
    expect(noPort).toContain(`[127.0.0.1]:${sshd.port}`)
  })

  it('refuses a user key the server does not know, saying where to add it', async () => {
    const stranger = await sshd.newKey()
    secrets.push(stranger.privateKey)
    const message = await failure(openGc(settings(reg, { sshPrivateKey: stranger.privateKey }), testLog()))
    expect(message).toContain('rejected the key for user root')
    expect(message).toContain('~root/.ssh/authorized_keys')
  })

  it('tells a wrong or missing passphrase apart from a rejected key', async () => {
    const locked = await sshd.newKey({ passphrase: 'right horse', authorize: true })
    secrets.push(locked.privateKey)
    const wrong = await failure(openGc(settings(reg, { sshPrivateKey: locked.privateKey, sshPassphrase: 'wrong' }), testLog()))
    expect(wrong).toContain('ssh-passphrase does not decrypt ssh-private-key')
    const missing = await failure(openGc(settings(reg, { sshPrivateKey: locked.privateKey }), testLog()))
    expect(missing).toContain('set ssh-passphrase')
    const garbage = await failure(openGc(settings(reg, { sshPrivateKey: 'not a key' }), testLog()))
    expect(garbage).toContain('ssh-private-key is not a private key')
    await withShell(settings(reg, { sshPrivateKey: locked.privateKey, sshPassphrase: 'right horse' }), testLog(), async (shell) => {
      expect((await shell.run('true')).code).toBe(0)
    })
  })

  it('says what to check when the collector finds no repositories (an empty registry, or another storage)', async () => {
    const empty = await startRegistry()
    const log = testLog()
    const gc = settings(empty, { storagePath: '' })
    const message = await withShell(gc, log, (shell) =>
      failure(collectGarbage(shell, gc, { dryRun: true, blobSizes: new Map(), storageBytesBefore: undefined }, log)),
    ).finally(() => empty.stop())
    expect(message).toContain('Path not found: /docker/registry/v2/repositories')
    expect(message).toContain('holds no repositories')
  })

  it('says so when nothing listens on the port', async () => {
    const message = await failure(openGc(settings(reg, { sshPort: 1 }), testLog()))
    expect(message).toContain('connection refused')
    expect(message).toContain('127.0.0.1:1')
  })

  it('with the opt-out, connects to an unverified host and warns in the log and for the summary', async () => {
    await pushImage(reg, 'app', 'latest', { layers: ['x'] })
    const log = testLog()
    const gc = settings(reg, { sshKnownHosts: '', sshInsecureAcceptAnyHostKey: true, storagePath: '' })
    const result = await withShell(gc, log, (shell) =>
      collectGarbage(shell, gc, { dryRun: true, blobSizes: new Map(), storageBytesBefore: undefined }, log),
    )
    expect(log.warnings.join('\n')).toContain('ssh-insecure-accept-any-host-key is true')
    expect(log.warnings.join('\n')).toContain(sshd.fingerprint)
    expect(result.warnings.some((w) => w.includes('ssh-insecure-accept-any-host-key is true'))).toBe(true)
  })

  it('never prints the private key: no log line or error message of this file carries any of it', () => {
    expect(everything.length).toBeGreaterThan(20)
    expect(secrets).toHaveLength(2)
    for (const key of [sshd.privateKey, ...secrets]) {
      const body = key.split('\n').filter((l) => l && !l.startsWith('-----'))
      expect(body.length).toBeGreaterThan(2)
      for (const output of everything) for (const line of body) expect(output).not.toContain(line)
    }
    for (const output of everything) expect(output).not.toContain('right horse')
  })
})
