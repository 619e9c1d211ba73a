// A throw-away password store for Debian's `docker-credential-pass` (package golang-docker-credential-helpers):
// a GPG key without passphrase in a temporary GNUPGHOME, `pass init` in a temporary PASSWORD_STORE_DIR. Logins are
// stored the way `docker login` stores them, through the helper's own `store` command.
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PassStore {
  /** GNUPGHOME and PASSWORD_STORE_DIR: what the helper needs in its environment. */
  env: { GNUPGHOME: string; PASSWORD_STORE_DIR: string }
  /** `docker-credential-pass store` with the protocol's JSON on stdin. */
  store(serverUrl: string, username: string, secret: string): void
  /** Stops the store's gpg-agent and removes everything. */
  remove(): Promise<void>
}

export async function makePassStore(): Promise<PassStore> {
  // Short: gpg-agent's socket lives in GNUPGHOME when /run/user/<uid> does not exist, and socket paths are limited.
  const dir = await mkdtemp(join(tmpdir(), 'pass-'))
  const env = { GNUPGHOME: join(dir, 'g'), PASSWORD_STORE_DIR: join(dir, 's') }
  const withEnv = { ...process.env, ...env }
  execFileSync('mkdir', ['-m', '700', env.GNUPGHOME])
  const run = (command: string, args: string[], input?: string): string =>
    execFileSync(command, args, { env: withEnv, input: input ?? '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
  run('gpg', [
    '--batch', '--pinentry-mode', 'loopback', '--passphrase', '',
    '--quick-gen-key', 'registry-prune test <test@example.invalid>', 'default', 'default', 'never',
  ])
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(run('gpg', ['--batch', '--list-keys', '--with-colons']))?.[1]
  if (!fingerprint) throw new Error('makePassStore: gpg made no key')
  run('pass', ['init', fingerprint])
  return {
    env,
    store: (serverUrl, username, secret) => {
      run('docker-credential-pass', ['store'], JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: secret }))
    },
    remove: async () => {
      try {
        run('gpgconf', ['--kill', 'gpg-agent'])
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  }
}
