// The bad-input table (issue 2 acceptance 5, issue 5 acceptance 3), shared by the unit test (parseSettings names the
// input and the expected form) and the end-to-end test (the bundled Action sends no request for any row).
// Rows leave `registry` out unless the row is about it; each test supplies its own.
import { InputError, parseSettings } from '../../src/inputs.js'
import type { Settings } from '../../src/types.js'

/** No file exists and the home directory is empty: what a parse sees of the machine in unit tests. */
const noFiles = {
  readFile: (path: string): string => {
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' })
  },
  homeDir: () => '/nonexistent-home',
}

/** Parses inputs as the Action does, with `registry` given unless `values` names it. */
export function parseInputs(values: Record<string, string>): Settings {
  const all: Record<string, string> = { registry: 'https://registry.example.com', ...values }
  return parseSettings((name) => all[name], {}, noFiles)
}

/** The InputError these inputs give; throws when they parse or fail some other way. */
export function inputFailure(values: Record<string, string>): InputError {
  try {
    parseInputs(values)
  } catch (error) {
    if (error instanceof InputError) return error
    throw error
  }
  throw new Error(`no InputError for ${JSON.stringify(values)}`)
}

export const CA = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBmDCCAT+gAwIBAgIUZZbM4g8iUnJteA03sHtcFNbLkR8wCgYIKoZIzj0EAwIw',
  'ITEfMB0GA1UEAwwWcmVnaXN0cnktcHJ1bmUgdGVzdCBDQTAgFw0yNjExMjQwMTAy',
  'NDhaGA8yMTI2MTAzMTAxMDI0OFowITEfMB0GA1UEAwwWcmVnaXN0cnktcHJ1bmUg',
  'dGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABAWIuygFl8bEIW0/yRfn',
  'BJd1n4aj2X11eIfT1ie0Cjn6OwaPTRrbSQY86iO9rjNZJnLuQS+fcESS5RkBrwSN',
  '33KjUzBRMB0GA1UdDgQWBBTYQuK8S0UxrfZdSFF6aTVEN+oHNTAfBgNVHSMEGDAW',
  'gBTYQuK8S0UxrfZdSFF6aTVEN+oHNTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49',
  'BAMCA0cAMEQCICFLTadsBu92JbaP98Ey3YQ4YH9I5GwkMra//dI/I/DRAiAdn2cq',
  'imOJd0GClVu8oXhnavii2FPl94kzR/JgRSmA0Q==',
  '-----END CERTIFICATE-----',
].join('\n')
export const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----'
const KNOWN_HOSTS = 'gc.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0mG2Vb7JXBp0mRVzJ3m2oQ2pXq9w2k7w8yYqv0x1Zq'
const GC = 'docker exec registry bin/registry garbage-collect'
const SSH = { 'garbage-collect': 'ssh', 'ssh-host': 'gc.example.com', 'ssh-private-key': KEY }

// [input that must be named, raw values, what the message must also say]
export const BAD: [string, Record<string, string>, RegExp][] = [
  // registry URL
  ['registry', { registry: 'r.example.com:5000' }, /no scheme \(did you mean https:\/\/r\.example\.com:5000\?/],
  ['registry', { registry: '' }, /Missing registry\. Expected the base URL/],
  ['registry', { registry: 'ftp://registry.example.com' }, /ftp:\/\/ is not supported/],
  ['registry', { registry: 'https://' }, /not a valid URL/],
  ['registry', { registry: 'https:/registry.example.com' }, /write the scheme as https:\/\//],
  ['registry', { registry: 'https://registry.example.com/v2/?n=1' }, /query or fragment/],
  ['registry', { registry: 'https://registry.example.com#x' }, /query or fragment/],
  ['registry', { registry: 'https://ci:hunter2@registry.example.com' }, /contains credentials/],
  ['registry', { registry: 'ci:hunter2@registry.example.com' }, /contains credentials/],
  ['registry', { registry: 'https://registry.example.com/\u001b[31m' }, /control characters/],
  // counts
  ['keep-count', { 'keep-count': '-1' }, /negative.*whole number from 0/],
  ['keep-count', { 'keep-count': 'ten' }, /'ten'\. Expected a whole number from 0 to 100000, e\.g\. 10/],
  ['keep-count', { 'keep-count': '1.5' }, /not a whole number/],
  ['keep-count', { 'keep-count': '100001' }, /out of range/],
  ['keep-count', { 'keep-count': '1e3' }, /whole number/],
  ['concurrency', { concurrency: '0' }, /from 1 to 64/],
  ['concurrency', { concurrency: '65' }, /from 1 to 64/],
  ['keep-untagged', { 'keep-untagged': '-2' }, /negative/],
  // booleans and choices
  ['dry-run', { 'dry-run': 'yes' }, /true or false/],
  ['prune', { prune: 'maybe' }, /true or false/],
  ['untagged', { untagged: 'purge' }, /one of keep, delete/],
  ['garbage-collect', { 'garbage-collect': 'remote' }, /one of off, ssh, local/],
  // durations
  ['older-than', { 'older-than': '3 weeks' }, /without spaces.*such as 30d/],
  ['older-than', { 'older-than': '-1d' }, /negative/],
  ['older-than', { 'older-than': '0d' }, /zero/],
  ['older-than', { 'older-than': '1.5d' }, /whole numbers/],
  ['older-than', { 'older-than': '99999999999w' }, /longer than/],
  ['request-timeout', { 'request-timeout': '2h' }, /longer than 1h/],
  // globs
  ['repositories', { repositories: ' , ' }, /lists no pattern/],
  ['repositories', { repositories: 'team/**\n!' }, /'!' needs a pattern/],
  ['repositories', { repositories: 'team/[abc' }, /\[ without a matching \]/],
  ['repositories', { repositories: 'team/{a,b' }, /\{ without a matching \}/],
  ['repositories', { repositories: 'team/a]' }, /\] without a matching \[/],
  ['repositories', { repositories: 'team/[z-a]*' }, /reversed range z-a/],
  ['repositories', { repositories: '+(team|ops' }, /\( without a matching \)/],
  ['repositories', { repositories: 'team/x\\' }, /lone backslash/],
  ['repositories', { repositories: 'Team/App' }, /lower case/],
  ['repositories', { repositories: 'team//app' }, /not a valid repository name/],
  ['repositories', { repositories: 'team/**\n!team/' }, /not a valid repository name/],
  ['repositories', { repositories: '!!team' }, /negates twice/],
  ['repositories', { repositories: 'a'.repeat(300) }, /longer than 256/],
  ['repositories', { repositories: '{a,b}'.repeat(9) }, /expands to more than 256/],
  ['repositories', { repositories: 'a,'.repeat(40_000) }, /65536 allowed/],
  // Not globs to the catalog matcher either (hasGlobMagic): checked as names, before any request.
  ['repositories', { repositories: 'team/a+b' }, /'team\/a\+b' is not a valid repository name/],
  ['repositories', { repositories: 'team/x{y}' }, /'team\/x\{y\}' is not a valid repository name/],
  ['keep-tags', { 'keep-tags': 'v1 .0' }, /contains a space/],
  ['keep-tags', { 'keep-tags': 'release/*' }, /'\/' cannot appear in a tag name/],
  ['keep-tags', { 'keep-tags': '.hidden' }, /not a valid tag/],
  ['keep-tags', { 'keep-tags': '#latest' }, /'#' cannot appear/],
  // Regular expressions (DECISIONS 30), the tag selector, push time and rules (DECISIONS 29-33)
  ['keep-tags', { 'keep-tags': '/v(\\d+/' }, /'\/v\(\\d\+\/' is not a valid regular expression \(RE2 syntax/],
  ['delete-tags', { 'delete-tags': 'pr-*, /(?=x)/' }, /'\/\(\?=x\)\/' is not a valid regular expression/],
  ['repositories', { repositories: '/team\\/app' }, /starts with \/ but is not a regular expression/],
  ['age-from', { 'age-from': 'built' }, /one of created, pushed/],
  ['age-from', { 'age-from': 'pushed' }, /age-from: pushed without garbage-collect ssh or local and a storage-path/],
  ['untag', { untag: 'yes' }, /true or false/],
  ['untag', { untag: 'true' }, /untag: true with an empty delete-tags/],
  ['rules', { rules: '- repositories: team/*\n  keep-tag: latest' }, /rule 1 has an unknown key 'keep-tag'/],
  ['rules', { rules: '- repositories: team/*\n  older-than: 3 weeks' }, /rule 1, older-than: not a duration/],
  // shard
  ['shard', { shard: '0/2' }, /count from 1.*1 <= i <= n/],
  ['shard', { shard: '3/2' }, /no shard 3 of 2/],
  ['shard', { shard: '1-2' }, /i\/n/],
  // gc-command (DECISIONS 1)
  ['gc-command', { 'gc-command': `${GC} -dm /etc/docker/registry/config.yml` }, /'-dm'.*multi-arch.*untagged: delete/],
  ['gc-command', { 'gc-command': `${GC} --delete-untagged /etc/x.yml` }, /'--delete-untagged'/],
  ['gc-command', { 'gc-command': `sh -c '${GC} /etc/x.yml -m'` }, /'-m'/],
  ['gc-command', { 'gc-command': `${GC} --delete-untagged=true /etc/x.yml` }, /--delete-untagged=true/],
  ['gc-command', { 'gc-command': `${GC} -m=true /etc/x.yml` }, /'-m=true'/],
  // DECISIONS 17: a dry run's --dry-run must reach the collector.
  ['gc-command', { 'dry-run': 'true', 'garbage-collect': 'local', 'gc-command': '/usr/local/bin/gc.sh' },
    /for a dry run: .*no such word.*garbage-collect: off/],
  // Issue 11: the tool owns the collector's flags (DECISIONS 28), in any shell spelling, and a dry run only runs a
  // command it can vouch for.
  ['gc-command', { 'gc-command': `${GC} --dry-run=false /etc/x.yml` }, /'--dry-run=false'.*adds --dry-run itself/],
  ['gc-command', { 'gc-command': `${GC} -\\m /etc/x.yml` }, /'-m'.*multi-arch/],
  ['gc-command', { 'gc-command': `${GC} -"m" /etc/x.yml` }, /'-m'.*multi-arch/],
  ['gc-command', { 'gc-command': `${GC} --delete-un""tagged /etc/x.yml` }, /'--delete-untagged'.*multi-arch/],
  ['gc-command', { 'gc-command': `${GC} -md /etc/x.yml` }, /'-md'/],
  ['gc-command', { 'gc-command': `${GC} '--dry-run' /etc/x.yml` }, /'--dry-run'.*report blobs as deleted/],
  ['gc-command', { 'gc-command': `${GC} -d /etc/x.yml` }, /'-d'.*report blobs as deleted/],
  ['gc-command', { 'gc-command': `sh -c '${GC} -\\m /etc/x.yml'` }, /'-m'/],
  ['gc-command', { 'gc-command': `${GC} $FLAGS /etc/x.yml` }, /'\$FLAGS'.*expanded by the shell/],
  ['gc-command', { 'dry-run': 'true', 'garbage-collect': 'local', 'gc-command': `echo starting garbage-collect && ${GC} /etc/x.yml` },
    /for a dry run: it chains commands \('&&'\)/],
  ['gc-command', { 'dry-run': 'true', 'garbage-collect': 'local', 'gc-command': `sh -c 'true; ${GC} /etc/x.yml'` },
    /for a dry run: it chains commands \(';'\)/],
  ['gc-command', { 'dry-run': 'true', 'garbage-collect': 'local', 'gc-command': `${GC} /etc/x.yml | tee log` },
    /for a dry run: it chains commands \('\|'\)/],
  ['gc-command', { 'dry-run': 'true', 'garbage-collect': 'local', 'gc-command': `docker exec $(docker ps -q) registry garbage-collect /etc/x.yml` },
    /for a dry run: .*expanded by the shell/],
  // contradictions
  ['keep-count', { 'keep-count': '0', 'keep-tags': '' }, /no image would be protected.*allow-delete-all: true/],
  ['keep-count', { 'keep-count': '0', 'keep-tags': '', 'older-than': '30d' }, /no image would be protected.*allow-delete-all: true/],
  ['untagged', { untagged: 'delete' }, /garbage-collect: off.*Expected garbage-collect: ssh or local/],
  ['untagged-source', { 'untagged-source': 'collector' }, /collector with garbage-collect: off/],
  ['untagged-source', { 'untagged-source': 'storage', 'garbage-collect': 'local' }, /without storage-path/],
  ['gc-command', { untagged: 'delete', 'garbage-collect': 'local', 'gc-command': 'sh /srv/collect.sh' }, /listing untagged manifests with the collector.*no such word/],
  ['untagged-source', { 'untagged-source': 'everything' }, /one of auto, storage, collector/],
  ['prune', { prune: 'false' }, /would do nothing.*garbage-collect/],
  ['shard', { prune: 'false', 'garbage-collect': 'local', shard: '1/2' }, /runs once, after all shards/],
  ['insecure-skip-tls-verify', { 'insecure-skip-tls-verify': 'true', 'ca-cert': CA }, /one of them/],
  ['password', { username: 'ci' }, /Missing password.*both username and password/],
  ['username', { password: 'hunter2' }, /Missing username.*both username and password/],
  // ssh
  ['ssh-host', { 'garbage-collect': 'ssh' }, /Missing ssh-host.*host:port/],
  ['ssh-private-key', { 'garbage-collect': 'ssh', 'ssh-host': 'gc.example.com' }, /Missing ssh-private-key/],
  ['ssh-known-hosts', SSH, /Missing ssh-known-hosts.*ssh-insecure-accept-any-host-key: true/],
  [
    'ssh-insecure-accept-any-host-key',
    { ...SSH, 'ssh-known-hosts': KNOWN_HOSTS, 'ssh-insecure-accept-any-host-key': 'true' },
    /one of them/,
  ],
  ['ssh-host', { 'ssh-host': 'root@gc.example.com' }, /put the login in ssh-user/],
  ['ssh-host', { 'ssh-host': '2001:db8::1' }, /IPv6 address in brackets/],
  ['ssh-host', { 'ssh-host': 'gc.example.com:70000' }, /port is out of range/],
  ['ssh-user', { 'ssh-user': '-oProxyCommand=x' }, /login name/],
  ['ssh-private-key', { 'ssh-private-key': KNOWN_HOSTS.split(' ').slice(1).join(' ') }, /public key/],
  ['ssh-private-key', { 'ssh-private-key': KEY.replace(/\n/g, '\\n') }, /characters \\n instead of line breaks/],
  ['ssh-known-hosts', { 'ssh-known-hosts': 'SHA256:abc' }, /not a SHA256 fingerprint/],
  ['ssh-known-hosts', { 'ssh-known-hosts': 'gc.example.com is trusted' }, /not a known_hosts line/],
  ['storage-path', { 'storage-path': 'var/lib/registry' }, /not absolute/],
  // ca-cert
  ['ca-cert', { 'ca-cert': '/no/such/ca.pem' }, /no such file.*PEM text/],
  ['ca-cert', { 'ca-cert': CA.replace('MIIBmDCC', 'XXXXXXXX') }, /cannot be parsed/],
  ['ca-cert', { 'ca-cert': '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }, /holds a private key/],
  ['ca-cert', { 'ca-cert': '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }, /holds no certificate/],
  // characters and lengths
  ['keep-count', { 'keep-count': '1\u0000' }, /control characters/],
  ['gc-command', { 'gc-command': `${GC} /etc/\u202eloc.yml` }, /control characters/],
  ['keep-tags', { 'keep-tags': 'latest\u0007' }, /control characters other than line breaks/],
  ['plan-file', { 'plan-file': 'x'.repeat(5000) }, /5000 characters long, more than the 4096 allowed/],
  ['password', { username: 'ci', password: 'hun\u0007ter2' }, /control characters/],
]

/** A row's name in test output: long values are cut, so a 5000-character input does not flood the log. */
export function rowName(values: Record<string, string>): string {
  const text = JSON.stringify(values)
  return text.length > 100 ? `${text.slice(0, 97)}...` : text
}
