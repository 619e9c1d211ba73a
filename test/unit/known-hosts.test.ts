import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import { afterAll, describe, expect, it } from 'vitest'
import { checkHostKey, fingerprint, hostKeyAlgorithms, hostMatches, hostVerifier, parseKnownHosts } from '../../src/gc/known-hosts.js'

const dir = mkdtempSync(join(tmpdir(), 'known-hosts-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A real host key made by ssh-keygen: its public line and raw blob. */
function hostKey(type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519'): { line: string; blob: Buffer; path: string } {
  const path = join(dir, `host_${type}_${Math.random().toString(36).slice(2)}`)
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', path])
  const line = readFileSync(`${path}.pub`, 'utf8').trim()
  return { line: line.split(' ').slice(0, 2).join(' '), blob: Buffer.from(line.split(' ')[1] ?? '', 'base64'), path }
}

const a = hostKey()
const b = hostKey()
const rsa = hostKey('rsa')

function check(text: string, host: string, port: number, key: Buffer) {
  return checkHostKey(parseKnownHosts(text), host, port, key)
}

describe('fingerprint', () => {
  it('equals what ssh-keygen -lf prints', () => {
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${a.path}.pub`], { encoding: 'utf8' })
    expect(printed.split(' ')[1]).toBe(fingerprint(a.blob))
  })
})

describe('checkHostKey', () => {
  it.each([
    ['a plain host on port 22', `registry.example.com ${a.line}`, 'registry.example.com', 22],
    ['a host list', `other,registry.example.com,10.0.0.1 ${a.line}`, 'registry.example.com', 22],
    ['a host name in another case', `Registry.Example.com ${a.line}`, 'registry.example.COM', 22],
    ['[host]:port for another port', `[registry.example.com]:2222 ${a.line}`, 'registry.example.com', 2222],
    ['a wildcard', `*.example.com ${a.line}`, 'registry.example.com', 22],
    ['a wildcard in [host]:port', `[*.example.com]:2222 ${a.line}`, 'registry.example.com', 2222],
    ['a comment and a trailing comment field', `# mine\n\nregistry.example.com ${a.line} root@registry`, 'registry.example.com', 22],
    ['a fingerprint', fingerprint(a.blob), 'anything', 2222],
    ['ssh-keygen -lf output', `256 ${fingerprint(a.blob)} root@registry (ED25519)`, 'anything', 22],
    ['one of several lines', `other ${b.line}\nregistry.example.com ${rsa.line}\nregistry.example.com ${a.line}`, 'registry.example.com', 22],
  ])('accepts %s', (_name, text, host, port) => {
    expect(check(text, host, port, a.blob)).toEqual({ ok: true })
  })

  it('accepts a hashed entry made by ssh-keygen -H, for the right host and port only', () => {
    const file = join(dir, 'known_hosts_hashed')
    writeFileSync(file, `[registry.example.com]:2222 ${a.line}\n`)
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' })
    const hashed = readFileSync(file, 'utf8')
    expect(hashed).toMatch(/^\|1\|/)
    expect(check(hashed, 'registry.example.com', 2222, a.blob)).toEqual({ ok: true })
    expect(check(hashed, 'registry.example.com', 22, a.blob).ok).toBe(false)
    expect(check(hashed, 'evil.example.com', 2222, a.blob).ok).toBe(false)
  })

  it('refuses a different key for a known host, showing both fingerprints and how to fix it', () => {
    const result = check(`[registry.example.com]:2222 ${a.line}`, 'registry.example.com', 2222, b.blob)
    expect(result.ok).toBe(false)
    const reason = result.ok ? '' : result.reason
    expect(reason).toContain('does not match')
    expect(reason).toContain(fingerprint(b.blob))
    expect(reason).toContain(fingerprint(a.blob))
    expect(reason).toContain('ssh-keyscan -p 2222 registry.example.com')
    expect(reason).toContain('ssh-insecure-accept-any-host-key')
  })

  it('refuses a key that is known only for another host (matching needs host AND key)', () => {
    const result = check(`other.example.com ${a.line}`, 'registry.example.com', 22, a.blob)
    expect(result.ok).toBe(false)
    expect(result.ok ? '' : result.reason).toContain('is not in ssh-known-hosts')
  })

  it('refuses the right host on the wrong port: [host]:port is a different entry', () => {
    const reason = (r: ReturnType<typeof check>) => (r.ok ? '' : r.reason)
    expect(reason(check(`registry.example.com ${a.line}`, 'registry.example.com', 2222, a.blob))).toContain('[registry.example.com]:2222')
    expect(check(`[registry.example.com]:2222 ${a.line}`, 'registry.example.com', 22, a.blob).ok).toBe(false)
  })

  it('refuses when a negated pattern names the host', () => {
    expect(check(`*.example.com,!registry.example.com ${a.line}`, 'registry.example.com', 22, a.blob).ok).toBe(false)
  })

  it('refuses a wrong fingerprint and an empty list', () => {
    expect(check(fingerprint(b.blob), 'h', 22, a.blob).ok).toBe(false)
    const empty = check('', 'h', 22, a.blob)
    expect(empty.ok ? '' : empty.reason).toContain(fingerprint(a.blob))
  })

  it('refuses a @revoked key even where another line lists it', () => {
    const result = check(`@revoked * ${a.line}\nregistry.example.com ${a.line}`, 'registry.example.com', 22, a.blob)
    expect(result.ok ? '' : result.reason).toContain('@revoked')
  })

  it('does not take a @cert-authority key as the host key, and says host certificates are not supported', () => {
    const result = check(`@cert-authority *.example.com ${a.line}`, 'registry.example.com', 22, a.blob)
    expect(result.ok ? '' : result.reason).toContain('@cert-authority')
  })
})

describe('parseKnownHosts', () => {
  it.each([
    ['a line without a key', 'registry.example.com ssh-ed25519', 'line 1'],
    ['an unknown key type', 'registry.example.com ssh-foo AAAA', 'not a known_hosts line'],
    ['a truncated fingerprint', 'SHA256:abc', 'not a SHA256 fingerprint'],
    ['an unknown marker', `@trusted host ${a.line}`, 'unknown marker'],
    ['a key that is not of its type', `host ssh-rsa ${a.line.split(' ')[1]}`, 'does not decode to a ssh-rsa key'],
  ])('rejects %s with the line number and the expected forms', (_name, text, message) => {
    expect(() => parseKnownHosts(text)).toThrow(message)
  })
})

describe('hostMatches', () => {
  it('hashes [host]:port the way OpenSSH does', () => {
    const file = join(dir, 'kh2')
    writeFileSync(file, `host.example ${a.line}\n`)
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' })
    const hosts = readFileSync(file, 'utf8').split(' ')[0] ?? ''
    expect(hostMatches(hosts, 'host.example', 22)).toBe(true)
    expect(hostMatches(hosts, 'HOST.example', 22)).toBe(true)
    expect(hostMatches(hosts, 'host.exampl', 22)).toBe(false)
  })
})

describe('hostKeyAlgorithms', () => {
  it('offers the key types listed for the host, so a server with several keys shows a known one', () => {
    const known = parseKnownHosts(`h ${rsa.line}\nother ${a.line}`)
    expect(hostKeyAlgorithms(known, 'h', 22)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'])
    expect(hostKeyAlgorithms(parseKnownHosts(fingerprint(a.blob)), 'h', 22)).toBeUndefined()
  })
})

describe('hostVerifier', () => {
  it('keeps the reason for ssh2, which only says "Host denied"', () => {
    const v = hostVerifier(parseKnownHosts(`h ${a.line}`), 'h', 22)
    expect(v.verify(b.blob)).toBe(false)
    expect(v.rejection()).toContain(fingerprint(b.blob))
    expect(v.verify(a.blob)).toBe(true)
    expect(v.rejection()).toBeUndefined()
  })

  it('works on the blob ssh2 parses from an OpenSSH public key', () => {
    const pair = ssh2.utils.generateKeyPairSync('ed25519')
    const blob = Buffer.from(pair.public.split(' ')[1] ?? '', 'base64')
    expect(hostVerifier(parseKnownHosts(`h ${pair.public}`), 'h', 22).verify(blob)).toBe(true)
  })
})
