// Starts a real OpenSSH server (Debian's openssh-server) on a loopback port for tests, with its own host key and an
// authorized client key in a temporary directory.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { recordSecret } from './artifacts.js'
import { promisify } from 'node:util'
import { freePort } from './registry.js'

const run = promisify(execFile)
export const SSHD_BIN = process.env.SSHD_BIN ?? '/usr/sbin/sshd'

export interface KeyPair {
  /** OpenSSH private key text. */
  privateKey: string
  /** `ssh-ed25519 AAAA... comment` */
  publicKey: string
}

export interface TestSshd {
  host: '127.0.0.1'
  port: number
  user: string
  /** The authorized client key (no passphrase). */
  privateKey: string
  /** `[127.0.0.1]:port ssh-ed25519 AAAA...` */
  knownHostsLine: string
  /** `SHA256:...` of the host key. */
  fingerprint: string
  /** A fresh ed25519 key pair; `authorize` adds it to authorized_keys. */
  newKey(options?: { passphrase?: string; authorize?: boolean }): Promise<KeyPair>
  stop(): Promise<void>
}

let keyCount = 0

async function keygen(dir: string, passphrase = ''): Promise<KeyPair & { path: string }> {
  const path = join(dir, `key${++keyCount}`)
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', `test-key-${keyCount}`, '-f', path])
  const privateKey = await readFile(path, 'utf8')
  recordSecret(privateKey)
  if (passphrase.length >= 8) recordSecret(passphrase)
  return { path, privateKey, publicKey: (await readFile(`${path}.pub`, 'utf8')).trim() }
}

/** Resolves once the server sends its SSH banner (it listens and is ready to talk). */
async function waitForBanner(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}:\n${output()}`)
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.setTimeout(1000)
      socket.once('data', (d) => {
        socket.destroy()
        resolve(d.toString().startsWith('SSH-'))
      })
      socket.once('error', () => resolve(false))
      socket.once('timeout', () => {
        socket.destroy()
        resolve(false)
      })
    })
    if (up) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port} within 15 s:\n${output()}`)
}

export async function startSshd(): Promise<TestSshd> {
  // The privilege separation directory sshd insists on; Debian creates it only when the service starts.
  await mkdir('/run/sshd', { recursive: true })
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-sshd-'))
  const hostKey = join(dir, 'host_ed25519')
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])
  const client = await keygen(dir)
  const authorizedKeys = join(dir, 'authorized_keys')
  await writeFile(authorizedKeys, `${client.publicKey}\n`, { mode: 0o600 })
  const port = await freePort()
  const config = join(dir, 'sshd_config')
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  )
  let output = ''
  const child = spawn(SSHD_BIN, ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  try {
    await waitForBanner(port, child, () => output)
  } catch (e) {
    child.kill('SIGKILL')
    throw e
  }

  const hostPublic = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/)
  const { stdout: fp } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`])
  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    privateKey: client.privateKey,
    knownHostsLine: `[127.0.0.1]:${port} ${hostPublic[0]} ${hostPublic[1]}`,
    fingerprint: fp.split(/\s+/)[1] ?? '',
    async newKey(options = {}) {
      const pair = await keygen(dir, options.passphrase)
      if (options.authorize) await appendFile(authorizedKeys, `${pair.publicKey}\n`)
      return { privateKey: pair.privateKey, publicKey: pair.publicKey }
    },
    async stop() {
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve())
          child.kill('SIGTERM')
          setTimeout(() => child.kill('SIGKILL'), 3000).unref()
        })
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}
