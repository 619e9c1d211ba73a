// Throw-away password stores for Debian's `docker-credential-pass` (package golang-docker-credential-helpers):
// a GPG key without passphrase in a temporary GNUPGHOME, and `pass init` with it in temporary PASSWORD_STORE_DIRs
// (one key serves several stores: making a key is the slow part). Logins are stored the way `docker login` stores
// them, through the helper's own `store` command.
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface GpgKey {
  gnupgHome: string
  fingerprint: string
  /** A new, empty password store encrypted to this key. */
  passStore(): Promise<PassStore>
  /** Stops the key's gpg-agent and removes the key and every store made with it. */
  remove(): Promise<void>
}

export interface PassStore {
  /** GNUPGHOME and PASSWORD_STORE_DIR: what the helper needs in its environment. */
  env: { GNUPGHOME: string; PASSWORD_STORE_DIR: string }
  /** `docker-credential-pass store` with the protocol's JSON on stdin. */
  store(serverUrl: string, username: string, secret: string): void
}

export async function makeGpgKey(): Promise<GpgKey> {
  // Short: gpg-agent's socket lives in GNUPGHOME when /run/user/<uid> does not exist, and socket paths are limited.
  const dir = await mkdtemp(join(tmpdir(), 'pass-'))
  const gnupgHome = join(dir, 'g')
  const run = (command: string, args: string[], env: NodeJS.ProcessEnv = {}, input = ''): string =>
    execFileSync(command, args, {
      env: { ...process.env, GNUPGHOME: gnupgHome, ...env },
      input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    })
  run('mkdir', ['-m', '700', gnupgHome])
  run('gpg', [
    '--batch', '--pinentry-mode', 'loopback', '--passphrase', '',
    '--quick-gen-key', 'registry-prune test <test@example.invalid>', 'default', 'default', 'never',
  ])
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(run('gpg', ['--batch', '--list-keys', '--with-colons']))?.[1]
  if (!fingerprint) throw new Error('makeGpgKey: gpg made no key')
  let stores = 0
  return {
    gnupgHome,
    fingerprint,
    passStore: async () => {
      const env = { GNUPGHOME: gnupgHome, PASSWORD_STORE_DIR: join(dir, `s${++stores}`) }
      run('pass', ['init', fingerprint], env)
      return {
        env,
        store: (serverUrl, username, secret) => {
          const login = JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: secret })
          run('docker-credential-pass', ['store'], env, login)
        },
      }
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
