// Test certificates made with openssl: a private CA with a server certificate for 127.0.0.1 (a TLS registry), and
// self-signed signing certificates (a token server's key, trusted by the registry through `rootcertbundle`).
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { recordSecret } from './artifacts.js'

export interface TestCa {
  dir: string
  /** Paths. */
  caCert: string
  serverCert: string
  serverKey: string
  /** PEM text of the CA certificate. */
  caPem: string
  /** The `http:` lines that make a test registry serve TLS with the server certificate. */
  registryHttp: string
  remove(): Promise<void>
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A CA, and a certificate it signed for 127.0.0.1 (IP SAN), valid for two days. */
export async function makeCa(name = 'registry-prune test CA'): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-ca-'))
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', `/CN=${name}`, '-days', '2')
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext')
  for (const key of ['ca.key', 'server.key']) recordSecret(await readFile(join(dir, key), 'utf8'))
  const serverCert = join(dir, 'server.crt')
  const serverKey = join(dir, 'server.key')
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert,
    serverKey,
    caPem: await readFile(join(dir, 'ca.crt'), 'utf8'),
    registryHttp: `  tls:\n    certificate: ${serverCert}\n    key: ${serverKey}`,
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}

export interface SigningCert {
  /** PEM private key (PKCS#8) and the self-signed certificate for it. */
  keyPem: string
  certPem: string
  /** Path of the certificate, for a registry's `rootcertbundle`. */
  certPath: string
  /** The certificate's DER, base64: the JWT `x5c` header. */
  certDerBase64: string
  remove(): Promise<void>
}

/** An RSA key and a self-signed certificate for it, to sign JWTs with RS256. */
export async function makeSigningCert(name = 'registry-prune test token issuer'): Promise<SigningCert> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-signing-'))
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'signing.key', '-out', 'signing.crt',
    '-subj', `/CN=${name}`, '-days', '2')
  const keyPem = await readFile(join(dir, 'signing.key'), 'utf8')
  recordSecret(keyPem)
  const certPem = await readFile(join(dir, 'signing.crt'), 'utf8')
  const certDerBase64 = certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '')
  return {
    keyPem,
    certPem,
    certPath: join(dir, 'signing.crt'),
    certDerBase64,
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}
