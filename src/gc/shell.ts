// Where garbage collection runs: a shell on the registry host over SSH, or on this machine.
import { spawn } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'
import type { ClientChannel, ConnectConfig } from 'ssh2'
import { commandEnvironment } from '../redact.js'
import type { GcSettings, Logger } from '../types.js'
import { hostKeyAlgorithms, hostVerifier, parseKnownHosts } from './known-hosts.js'

export type OnLine = (stream: 'stdout' | 'stderr', line: string) => void

export interface CommandResult {
  code: number
  /** The whole output, redacted; when the lines went to an `onLine`, only the last 100 of each stream. */
  stdout: string
  stderr: string
}

export interface Shell {
  /** Where commands run, for messages: `root@host:22` or `this machine`. */
  readonly target: string
  /** Warnings about how the shell was opened (the host key opt-out), for the summary. */
  readonly warnings: string[]
  /** Runs a command with `sh -c` semantics; resolves with its exit code, it never rejects on a non-zero one. */
  run(command: string, onLine?: OnLine): Promise<CommandResult>
  close(): Promise<void>
}

const READY_TIMEOUT_MS = 20_000

/**
 * What keeps the tool's secrets away from the commands it runs (DECISIONS 27): the environment they get, and the
 * redactor every line they print passes through before anyone (log, error, plan file) sees it.
 */
export interface CommandGuard {
  /** For local commands; over SSH no variable is sent at all (ssh2 sends none unless asked). */
  env: NodeJS.ProcessEnv
  redact: (text: string) => string
}

/** Lines of a stream kept in `CommandResult` when they went to `onLine`: enough for an error's tail. */
const TAIL_LINES = 100

/**
 * Splits a byte stream into lines for `onLine`, redacted. Without `onLine` the whole text is kept (redacted); with it,
 * only the last `TAIL_LINES` lines: a collector prints tens of MB at 100,000 tags, and its reader has them already.
 */
function lineCollector(stream: 'stdout' | 'stderr', onLine: OnLine | undefined, redact: (text: string) => string) {
  const decoder = new StringDecoder('utf8')
  let text = ''
  const recent: string[] = []
  let partial = ''
  const emit = (chunk: string): void => {
    if (!onLine) {
      text += chunk
      return
    }
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) deliver(redact(line.replace(/\r$/, '')))
  }
  const deliver = (line: string): void => {
    onLine?.(stream, line)
    recent.push(line)
    if (recent.length > TAIL_LINES * 2) recent.splice(0, recent.length - TAIL_LINES)
  }
  return {
    write: (data: Buffer): void => emit(decoder.write(data)),
    end: (): string => {
      emit(decoder.end())
      if (!onLine) return redact(text)
      if (partial) deliver(redact(partial))
      partial = ''
      return recent.slice(-TAIL_LINES).join('\n')
    },
  }
}

/** A shell on this machine; without a guard, commands still run without the tool's secret variables. */
export function localShell(guard: CommandGuard = { env: commandEnvironment(process.env, []).env, redact: (t) => t }): Shell {
  return {
    target: 'this machine',
    warnings: [],
    run(command, onLine) {
      return new Promise((resolve, reject) => {
        const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], env: guard.env })
        const out = lineCollector('stdout', onLine, guard.redact)
        const err = lineCollector('stderr', onLine, guard.redact)
        child.stdout.on('data', out.write)
        child.stderr.on('data', err.write)
        child.once('error', (e) => reject(new Error(`could not start sh on this machine: ${e.message}`)))
        child.once('close', (code, signal) => {
          resolve({ code: code ?? (signal ? 128 : 1), stdout: out.end(), stderr: err.end() })
        })
      })
    },
    async close() {},
  }
}

/** Reads the private key up front so a wrong or missing passphrase gets its own message, not an auth failure. */
function checkPrivateKey(ssh2: Ssh2, gc: GcSettings): void {
  if (!gc.sshPrivateKey.trim()) {
    throw new Error('garbage-collect: ssh needs ssh-private-key: the text of a private key whose public key is in ' +
      `~${gc.sshUser}/.ssh/authorized_keys on ${gc.sshHost}.`)
  }
  const parsed = ssh2.utils.parseKey(gc.sshPrivateKey, gc.sshPassphrase || undefined)
  if (!(parsed instanceof Error)) return
  // ssh2's messages name the problem without quoting the key; still, only pass known phrases on.
  const message = parsed.message
  if (/no passphrase given/i.test(message)) {
    throw new Error('ssh-private-key is encrypted with a passphrase: set ssh-passphrase.')
  }
  if (/bad passphrase|decrypt/i.test(message)) {
    throw new Error('ssh-passphrase does not decrypt ssh-private-key: check that it is the passphrase of this key.')
  }
  throw new Error('ssh-private-key is not a private key that can be read (ssh2 says: ' +
    `${message.slice(0, 120)}). Give the whole key text, e.g. the contents of ~/.ssh/id_ed25519 including the ` +
    '-----BEGIN/END----- lines.')
}

/** Turns ssh2's connection errors into messages that say what to fix. */
function connectError(e: Error & { code?: string; level?: string }, gc: GcSettings, rejection: string | undefined): Error {
  const where = `${gc.sshHost}:${gc.sshPort}`
  if (rejection) return new Error(rejection)
  if (e.code === 'ECONNREFUSED') {
    return new Error(`Could not connect to ssh-host ${where}: connection refused. Check that sshd runs there and ` +
      'listens on that port (write ssh-host as host:port for a port other than 22).')
  }
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
    return new Error(`Could not connect to ssh-host ${where}: the name ${gc.sshHost} does not resolve. Check ssh-host.`)
  }
  if (e.code === 'ETIMEDOUT' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || /timed out/i.test(e.message)) {
    return new Error(`Could not connect to ssh-host ${where}: no SSH handshake within ${READY_TIMEOUT_MS / 1000} s ` +
      `(${e.message}). Check that the host is reachable from this runner and that a firewall lets the port through.`)
  }
  if (e.level === 'client-authentication') {
    return new Error(`The SSH server ${where} rejected the key for user ${gc.sshUser}: add the public key of ` +
      `ssh-private-key to ~${gc.sshUser}/.ssh/authorized_keys on the host (\`ssh-keygen -y -f key\` prints it), ` +
      'or set ssh-user to the account that has it.')
  }
  if (/no matching host key/i.test(e.message)) {
    return new Error(`The SSH server ${where} offers none of the host key types that ssh-known-hosts lists for it ` +
      `(${e.message}). Put the host's current line from \`ssh-keyscan -p ${gc.sshPort} ${gc.sshHost}\` in ssh-known-hosts.`)
  }
  return new Error(`SSH connection to ${gc.sshUser}@${where} failed: ${e.message}`)
}

/**
 * ssh2 and its cryptography are a fifth of the bundle: a chunk of its own (dist/…/NNN.index.js), loaded by the runs that
 * connect, so every other run starts without reading it.
 */
type Ssh2 = typeof import('ssh2')
const loadSsh2 = async (): Promise<Ssh2> => ((await import('ssh2')) as { default: Ssh2 }).default

/** Connects to `ssh-host` with the key in memory, checking the host key first. Rejects with a message that says what to fix. */
export async function connectSsh(gc: GcSettings, log: Logger, guard: Pick<CommandGuard, 'redact'>): Promise<Shell> {
  const ssh2 = await loadSsh2()
  checkPrivateKey(ssh2, gc)
  const warnings: string[] = []
  const known = parseKnownHosts(gc.sshKnownHosts)
  const verifier = hostVerifier(known, gc.sshHost, gc.sshPort)
  if (gc.sshInsecureAcceptAnyHostKey) {
    const warning = `ssh-insecure-accept-any-host-key is true: the host key of ${gc.sshHost}:${gc.sshPort} is not ` +
      'checked, so whoever answers on that address gets this connection and the commands it runs. Put the output of ' +
      `\`ssh-keyscan -p ${gc.sshPort} ${gc.sshHost}\` in ssh-known-hosts and remove the opt-out.`
    log.warning(warning)
    warnings.push(warning)
  }
  const algorithms = gc.sshInsecureAcceptAnyHostKey ? undefined : hostKeyAlgorithms(known, gc.sshHost, gc.sshPort)
  const config: ConnectConfig = {
    host: gc.sshHost,
    port: gc.sshPort,
    username: gc.sshUser,
    privateKey: gc.sshPrivateKey,
    ...(gc.sshPassphrase ? { passphrase: gc.sshPassphrase } : {}),
    readyTimeout: READY_TIMEOUT_MS,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    // Always a verifier: without one ssh2 accepts any host key. The opt-out accepts, but only when asked to.
    hostVerifier: (key: Buffer) => {
      const ok = verifier.verify(key)
      if (!ok && gc.sshInsecureAcceptAnyHostKey) {
        log.warning(`Accepting the unverified SSH host key ${verifier.presented()} of ${gc.sshHost}:${gc.sshPort}.`)
        return true
      }
      return ok
    },
    ...(algorithms ? { algorithms: { serverHostKey: algorithms as never } } : {}),
  }

  const client = new ssh2.Client()
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error): void => {
      client.removeAllListeners('ready')
      client.end()
      reject(connectError(e, gc, gc.sshInsecureAcceptAnyHostKey ? undefined : verifier.rejection()))
    }
    client.once('ready', () => {
      client.removeListener('error', fail)
      resolve()
    })
    client.once('error', fail)
    client.connect(config)
  })
  // Later errors (a dropped connection) surface through the command that was running; keep them from crashing us.
  let lost: Error | undefined
  client.on('error', (e) => (lost = e))
  client.on('close', () => (lost ??= new Error('the SSH connection closed')))
  log.info(`Connected to ${gc.sshUser}@${gc.sshHost}:${gc.sshPort} (host key ${verifier.presented() ?? 'not checked'}).`)

  const target = `${gc.sshUser}@${gc.sshHost}:${gc.sshPort}`
  return {
    target,
    warnings,
    run(command, onLine) {
      return new Promise((resolve, reject) => {
        if (lost) return reject(new Error(`Cannot run a command on ${target}: ${lost.message}.`))
        // No `env` option: the command gets the SSH user's login environment, none of this process's variables.
        client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
          if (err) return reject(new Error(`Could not run a command on ${target}: ${err.message}`))
          const out = lineCollector('stdout', onLine, guard.redact)
          const errOut = lineCollector('stderr', onLine, guard.redact)
          let code: number | undefined
          channel.on('data', out.write)
          channel.stderr.on('data', errOut.write)
          channel.on('exit', (exitCode: number | null, signal?: string) => {
            code = exitCode ?? (signal ? 128 : 1)
          })
          channel.on('close', () => {
            const stdout = out.end()
            const stderr = errOut.end()
            if (code === undefined) {
              reject(new Error(`The connection to ${target} ended before the command finished${lost ? `: ${lost.message}` : ''}.`))
            } else {
              resolve({ code, stdout, stderr })
            }
          })
        })
      })
    },
    close() {
      return new Promise((resolve) => {
        if (lost) return resolve()
        client.once('close', () => resolve())
        client.end()
      })
    },
  }
}
