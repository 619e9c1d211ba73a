// Raw inputs -> one validated `Settings`. Every front door (GitHub Action, GitLab component, CLI) hands its raw values
// to `parseSettings`, and everything is checked here before the first request: a mistake found after some deletions is
// found too late. `INPUTS` is the one list of inputs in code; action.yml, the GitLab spec and the CLI flags follow it.
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { findCredentials, type CredentialSources } from './credentials.js'
import { DURATION_FORM, parseDuration } from './duration.js'
import { checkGcCommand, GcCommandError } from './gc/command.js'
import { parseKnownHosts } from './gc/known-hosts.js'
import { PLAIN_RULE, RulesError, parseRules, plainPolicy, plainRule } from './rules.js'
import { PATTERN_FORM, patternListProblem, splitList, type PatternTarget } from './patterns.js'
import type { CredentialOrigin, GcSettings, Policy, Rule, Settings } from './types.js'
import { INPUTS, type InputKind, type InputName, type InputSpec } from './input-table.js'

export { REPOSITORY_NAME, splitList } from './patterns.js'
export { INPUTS, OUTPUTS, type InputKind, type InputName, type InputSpec, type OutputSpec } from './input-table.js'

export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(message)
    this.name = 'InputError'
  }
}

/** File access (and credential helpers), injectable so tests stay pure. */
export interface SettingsFiles {
  /** Returns a file's text (UTF-8); throws with `code: 'ENOENT'` when it does not exist. */
  readFile?: (path: string) => string
  homeDir?: () => string
  runHelper?: CredentialSources['runHelper']
}

/**
 * Validates every raw input and returns the settings for a run. `read` returns the raw value of an input, or
 * `undefined` (or '') when it was not given: the table default applies then, except that '' is a value of its own
 * for inputs marked `explicitEmpty`. Throws `InputError` for the first input that is wrong. Reads files only for a
 * `ca-cert` path and the credential files, and runs the credential helper they name when no username is given (see
 * credentials.ts); sends nothing anywhere itself.
 */
export function parseSettings(
  read: (name: string) => string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  files: SettingsFiles = {},
): Settings {
  const readFile = files.readFile ?? ((path: string) => readFileSync(path, 'utf8'))
  const homeDir = files.homeDir ?? (() => env.HOME || homedir())
  const raw = readRawInputs(read)
  const value = (name: InputName): string => raw.get(name)!

  const registry = parseRegistry(value('registry'))
  const olderThan = value('older-than')
  const settings: Settings = {
    registry,
    username: value('username'),
    password: value('password'),
    repositories: parsePatternList('repositories', value('repositories'), 'repository', false),
    keepCount: parseWholeNumber('keep-count', value('keep-count'), 0, 100_000, '10'),
    keepTags: parsePatternList('keep-tags', value('keep-tags'), 'tag', true),
    deleteTags: parsePatternList('delete-tags', value('delete-tags'), 'tag', true),
    olderThanMs: olderThan === '' ? undefined : parseDurationInput('older-than', olderThan, {}),
    ageFrom: parseChoice('age-from', value('age-from')) as Settings['ageFrom'],
    untag: parseBoolean('untag', value('untag')),
    rules: [],
    dryRun: parseBoolean('dry-run', value('dry-run')),
    concurrency: parseWholeNumber('concurrency', value('concurrency'), 1, 64, '8'),
    caCert: undefined,
    insecureSkipTlsVerify: parseBoolean('insecure-skip-tls-verify', value('insecure-skip-tls-verify')),
    requestTimeoutMs: parseDurationInput('request-timeout', value('request-timeout'), {
      minMs: 1000,
      maxMs: 3_600_000,
    }),
    allowDeleteAll: parseBoolean('allow-delete-all', value('allow-delete-all')),
    failOnSkipped: parseBoolean('fail-on-skipped', value('fail-on-skipped')),
    untagged: parseChoice('untagged', value('untagged')) as Settings['untagged'],
    keepUntagged: parseWholeNumber('keep-untagged', value('keep-untagged'), 0, 100_000, '3'),
    untaggedSource: parseChoice('untagged-source', value('untagged-source')) as Settings['untaggedSource'],
    shard: parseShard(value('shard')),
    prune: parseBoolean('prune', value('prune')),
    planFile: value('plan-file'),
    cacheFile: value('cache-file'),
    gc: parseGc(value),
  }
  settings.rules = parseRulesInput(value('rules'), settings)
  checkCombinations(settings, value)

  // Files last: every mistake that needs no file is reported first, whatever the files hold.
  settings.caCert = parseCaCert(value('ca-cert'), readFile)
  const { credentials, origin } = resolveCredentials(settings, env, {
    readFile,
    homeDir,
    helperTimeoutMs: settings.requestTimeoutMs,
    ...(files.runHelper ? { runHelper: files.runHelper } : {}),
  })
  settings.username = credentials.username
  settings.password = credentials.password
  settings.credentialOrigin = origin
  return settings
}

// ---------------------------------------------------------------------------------------------------------------------
// Raw values: defaults, characters, lengths

const MAX_LENGTH: Record<InputKind, number> = {
  string: 4096,
  boolean: 4096,
  integer: 4096,
  duration: 4096,
  choice: 4096,
  list: 64 * 1024,
  text: 1024 * 1024,
}

// C0 and C1 controls, DEL, and the invisible characters that can make text read differently than it runs
// (line/paragraph separators, bidirectional overrides). Newlines and tabs are allowed where lines make sense.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const FORBIDDEN_MULTILINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/
// eslint-disable-next-line no-control-regex -- as above
const FORBIDDEN_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

function readRawInputs(read: (name: string) => string | undefined): Map<InputName, string> {
  const values = new Map<InputName, string>()
  for (const spec of INPUTS) {
    const input: InputSpec = spec
    const kind = input.kind ?? 'string'
    let text = read(input.name)
    if (text !== undefined) {
      // Windows line ends are line ends; secrets other than keys are used exactly as given.
      text = text.replace(/\r\n/g, '\n')
      if (!input.secret || kind === 'text') text = text.trim()
    }
    if (text === undefined || (text === '' && !input.explicitEmpty)) text = input.default
    const multiline = kind === 'text' || kind === 'list'
    if ((multiline ? FORBIDDEN_MULTILINE : FORBIDDEN_LINE).test(text)) {
      const what = multiline ? 'control characters other than line breaks and tabs' : 'control characters'
      throw new InputError(
        input.name,
        `Invalid ${input.name}${shownValue(input, text)}: it contains ${what}. Expected ${expectedText(input)}.`,
      )
    }
    if (text.length > MAX_LENGTH[kind]) {
      throw new InputError(
        input.name,
        `Invalid ${input.name}: it is ${text.length} characters long, more than the ${MAX_LENGTH[kind]} allowed. ` +
          `Expected ${expectedText(input)}.`,
      )
    }
    values.set(spec.name as InputName, text)
  }
  return values
}

function expectedText(input: InputSpec): string {
  const kind = input.kind ?? 'string'
  if (kind === 'text') return 'text whose lines hold only printable characters'
  if (kind === 'list') return 'patterns separated by newlines or commas'
  return 'a single line of printable characters'
}

/** ` 'value'` for messages: control characters escaped, long values cut, secrets never shown. */
function shownValue(input: InputSpec, text: string): string {
  if (input.secret) return ' (value hidden)'
  let escaped = ''
  for (const ch of text.length > 80 ? text.slice(0, 80) : text) {
    const code = ch.codePointAt(0)!
    escaped += code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x2028 && code <= 0x2069)
      ? `\\u${code.toString(16).padStart(4, '0')}`
      : ch
  }
  return text.length > 80 ? ` '${escaped}...' (${text.length} characters)` : ` '${escaped}'`
}

function specOf(name: InputName): InputSpec {
  return INPUTS.find((spec) => spec.name === name)!
}

function invalid(name: InputName, text: string, expected: string, reason?: string): InputError {
  const because = reason ? `: ${reason}` : ''
  return new InputError(name, `Invalid ${name}${shownValue(specOf(name), text)}${because}. Expected ${expected}.`)
}

// ---------------------------------------------------------------------------------------------------------------------
// Scalars

function parseBoolean(name: InputName, text: string): boolean {
  const lower = text.toLowerCase()
  if (lower === 'true') return true
  if (lower === 'false') return false
  throw invalid(name, text, 'true or false (yes/no and 1/0 are not accepted)')
}

function parseWholeNumber(name: InputName, text: string, min: number, max: number, example: string): number {
  const expected = `a whole number from ${min} to ${max}, e.g. ${example}`
  if (!/^\d{1,15}$/.test(text)) {
    const reason = /^-\d/.test(text)
      ? 'it is negative'
      : /^-?\d*[.,]\d+$/.test(text)
        ? 'it is not a whole number'
        : undefined
    throw invalid(name, text, expected, reason)
  }
  const number = Number(text)
  if (number < min || number > max) throw invalid(name, text, expected, 'it is out of range')
  return number
}

function parseChoice(name: InputName, text: string): string {
  const options = specOf(name).options ?? []
  const lower = text.toLowerCase()
  if (options.includes(lower)) return lower
  throw invalid(name, text, `one of ${options.join(', ')}`)
}

function parseDurationInput(name: InputName, text: string, limits: { minMs?: number; maxMs?: number }): number {
  try {
    return parseDuration(text, limits)
  } catch (error) {
    throw invalid(name, text, DURATION_FORM, (error as Error).message)
  }
}

function parseShard(text: string): Settings['shard'] {
  if (text === '') return undefined
  const expected = 'i/n with whole numbers 1 <= i <= n <= 10000, e.g. 1/4 (or empty for all repositories)'
  const match = /^(\d{1,5})\/(\d{1,5})$/.exec(text)
  if (!match) throw invalid('shard', text, expected)
  const index = Number(match[1])
  const total = Number(match[2])
  if (index < 1) throw invalid('shard', text, expected, 'shards count from 1')
  if (total > 10_000) throw invalid('shard', text, expected, 'too many shards')
  if (index > total) throw invalid('shard', text, expected, `there is no shard ${index} of ${total}`)
  return { index, total }
}

// ---------------------------------------------------------------------------------------------------------------------
// The registry URL

const REGISTRY_FORM = 'the base URL of the registry, e.g. https://registry.example.com:5000'

function parseRegistry(text: string): string {
  if (text === '') throw new InputError('registry', `Missing registry. Expected ${REGISTRY_FORM}.`)
  if (text.includes('@')) {
    // Never repeat this value: it most likely holds a password (user:password@host).
    throw new InputError(
      'registry',
      `Invalid registry: it contains credentials (user:password@). Expected ${REGISTRY_FORM} without them; ` +
        'pass them in username and password.',
    )
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase()
  if (scheme === undefined) {
    if (/^https?:/i.test(text)) {
      throw invalid('registry', text, REGISTRY_FORM, 'write the scheme as https:// or http://')
    }
    throw invalid('registry', text, REGISTRY_FORM, `it has no scheme (did you mean https://${text}?)`)
  }
  if (scheme !== 'https' && scheme !== 'http') {
    throw invalid('registry', text, `${REGISTRY_FORM} (https:// or http://)`, `${scheme}:// is not supported`)
  }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw invalid('registry', text, REGISTRY_FORM, 'it is not a valid URL')
  }
  if (/\s/.test(text)) throw invalid('registry', text, REGISTRY_FORM, 'it contains spaces')
  if (url.hostname === '') throw invalid('registry', text, REGISTRY_FORM, 'it has no host')
  if (text.includes('?') || text.includes('#')) {
    throw invalid('registry', text, REGISTRY_FORM, 'it has a query or fragment')
  }
  // Users paste the API root (`.../v2/`) as often as the base; both mean the same registry.
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v2$/, '').replace(/\/+$/, '')
  return `${url.protocol}//${url.host}${path}`
}

// ---------------------------------------------------------------------------------------------------------------------
// Rules


const RULES_FORM = "a YAML list of rules, each with repositories and policy keys (README: Policies; schema/rules.schema.json)"

/** The run's rules: those of the `rules` input (plain inputs fill the keys a rule leaves out), or the plain inputs. */
function parseRulesInput(text: string, settings: Settings): Rule[] {
  if (text === '') return [plainRule(settings)]
  const policy = plainPolicy(settings)
  try {
    return parseRules(text, policy)
  } catch (error) {
    if (!(error instanceof RulesError)) throw error
    throw new InputError('rules', `Invalid rules: ${error.message}. Expected ${RULES_FORM}.`)
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Pattern lists (the patterns themselves are src/patterns.ts's)

function parsePatternList(name: InputName, text: string, target: PatternTarget, allowEmpty: boolean): string[] {
  const expected = PATTERN_FORM[target]
  const patterns = splitList(text)
  if (patterns.length === 0 && !allowEmpty) throw invalid(name, text, expected, 'it lists no pattern')
  const reason = patternListProblem(patterns, target)
  if (reason) throw invalid(name, text, expected, reason)
  return patterns
}

// ---------------------------------------------------------------------------------------------------------------------
// TLS and credentials

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----\n?[\s\S]*?-----END CERTIFICATE-----/g
const CA_FORM = 'PEM text (-----BEGIN CERTIFICATE-----) or the path of a PEM file'

function parseCaCert(text: string, readFile: (path: string) => string): string | undefined {
  if (text === '') return undefined
  let pem = text
  let source = ''
  if (!text.includes('-----BEGIN')) {
    if (text.includes('\n')) throw invalid('ca-cert', text, CA_FORM, 'it is neither PEM nor a single path')
    try {
      pem = readFile(text).replace(/\r\n/g, '\n')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw invalid('ca-cert', text, CA_FORM, code === 'ENOENT' ? 'no such file' : (error as Error).message)
    }
    if (pem.length > MAX_LENGTH.text) throw invalid('ca-cert', text, CA_FORM, 'the file is larger than 1 MiB')
    source = ` (read from ${text})`
  }
  // A private key pasted by mistake must not be kept, or repeated.
  if (/PRIVATE KEY-----/.test(pem)) {
    throw new InputError('ca-cert', `Invalid ca-cert${source}: it holds a private key. Expected ${CA_FORM}.`)
  }
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? []
  if (blocks.length === 0) {
    throw new InputError('ca-cert', `Invalid ca-cert${source}: it holds no certificate. Expected ${CA_FORM}.`)
  }
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block)
    } catch (error) {
      throw new InputError(
        'ca-cert',
        `Invalid ca-cert${source}: certificate ${index + 1} cannot be parsed (${(error as Error).message}). ` +
          `Expected ${CA_FORM}.`,
      )
    }
  }
  return `${blocks.join('\n')}\n`
}

const BOTH_OR_NEITHER =
  'both username and password, or neither (to use a docker or podman login, or no credentials)'

function resolveCredentials(
  settings: Settings,
  env: NodeJS.ProcessEnv,
  sources: CredentialSources,
): { credentials: { username: string; password: string }; origin: CredentialOrigin } {
  const { username, password } = settings
  if (username !== '' && password === '') {
    throw new InputError('password', `Missing password: username is set. Expected ${BOTH_OR_NEITHER}.`)
  }
  if (username === '' && password !== '') {
    throw new InputError('username', `Missing username: password is set. Expected ${BOTH_OR_NEITHER}.`)
  }
  let credentials = { username, password }
  let origin: CredentialOrigin = { kind: 'given' }
  if (username === '') {
    try {
      const found = findCredentials(settings.registry, env, sources)
      credentials = found.credentials ?? credentials
      origin = found.origin
    } catch (error) {
      throw new InputError(
        'username',
        `${(error as Error).message} Expected username and password, or a login file that holds them.`,
      )
    }
  }
  // Basic auth cannot carry a colon in the user name (RFC 7617), and a line break would split a header.
  const from = origin.kind === 'found' ? ` (from ${origin.used})` : ''
  if (credentials.username.includes(':') || FORBIDDEN_LINE.test(credentials.username)) {
    throw new InputError(
      'username',
      `Invalid username${from}: it contains a colon or control characters. Expected a user name without them.`,
    )
  }
  if (FORBIDDEN_LINE.test(credentials.password)) {
    throw new InputError(
      'password',
      `Invalid password${from}: it contains control characters. Expected one line of text.`,
    )
  }
  return { credentials, origin }
}

// ---------------------------------------------------------------------------------------------------------------------
// Garbage collection and SSH

function parseGc(value: (name: InputName) => string): GcSettings {
  const ssh = parseSshHost(value('ssh-host'))
  return {
    mode: parseChoice('garbage-collect', value('garbage-collect')) as GcSettings['mode'],
    sshHost: ssh.host,
    sshPort: ssh.port,
    sshUser: parseSshUser(value('ssh-user')),
    sshPrivateKey: parsePrivateKey(value('ssh-private-key')),
    sshPassphrase: value('ssh-passphrase'),
    sshKnownHosts: checkKnownHosts(value('ssh-known-hosts')),
    sshInsecureAcceptAnyHostKey: parseBoolean(
      'ssh-insecure-accept-any-host-key',
      value('ssh-insecure-accept-any-host-key'),
    ),
    command: parseGcCommand(value('gc-command')),
    storagePath: parseStoragePath(value('storage-path')),
    beforeCommand: value('gc-before-command'),
    afterCommand: value('gc-after-command'),
  }
}

const SSH_HOST_FORM = 'host or host:port, with an IPv6 address in brackets ([2001:db8::1]:2222)'

function parseSshHost(text: string): { host: string; port: number } {
  if (text === '') return { host: '', port: 22 }
  if (text.includes('@')) throw invalid('ssh-host', text, SSH_HOST_FORM, 'put the login in ssh-user')
  if (text.includes('://')) throw invalid('ssh-host', text, SSH_HOST_FORM, 'it is a URL')
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(text)
  const plain = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(text)
  const match = bracketed ?? plain
  if (!match) {
    const reason = /^[0-9A-Fa-f]*:[0-9A-Fa-f]*:/.test(text) ? 'write an IPv6 address in brackets' : undefined
    throw invalid('ssh-host', text, SSH_HOST_FORM, reason)
  }
  const port = match[2] === undefined ? 22 : Number(match[2])
  if (port < 1 || port > 65_535) throw invalid('ssh-host', text, SSH_HOST_FORM, 'the port is out of range')
  return { host: match[1]!, port }
}

function parseSshUser(text: string): string {
  // A leading dash could be read as an option by whatever ends up running with it.
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/.test(text)) {
    throw invalid('ssh-user', text, 'a login name such as root or deploy (letters, digits, _ . -)')
  }
  return text
}

const PRIVATE_KEY = /^-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----\n[\s\S]+\n-----END \1PRIVATE KEY-----$/
const KEY_FORM = 'the private key text, from -----BEGIN ... PRIVATE KEY----- to -----END ... PRIVATE KEY-----'

function parsePrivateKey(text: string): string {
  if (text === '') return ''
  if (!PRIVATE_KEY.test(text)) {
    const reason = /^(ssh-|ecdsa-|sk-)/.test(text)
      ? 'it looks like a public key'
      : text.includes('\\n') && !text.includes('\n')
        ? 'it has the characters \\n instead of line breaks'
        : 'it does not look like a private key'
    throw new InputError('ssh-private-key', `Invalid ssh-private-key (value hidden): ${reason}. Expected ${KEY_FORM}.`)
  }
  return `${text}\n`
}

const KNOWN_HOSTS_FORM = 'known_hosts lines (as ssh-keyscan prints them) or a SHA256: fingerprint (ssh-keygen -lf)'

/** Checked by the parser the SSH connection uses: what passes here is what the host key is matched against. */
function checkKnownHosts(text: string): string {
  try {
    parseKnownHosts(text)
  } catch (error) {
    throw new InputError('ssh-known-hosts', (error as Error).message)
  }
  return text
}

/** The collector's own flags are refused in every run (DECISIONS 1, 28); the dry run's guard is checked with the mode. */
function parseGcCommand(text: string): string {
  if (text.trim() !== '') gcCommandCheck(text, false)
  return text
}

function gcCommandCheck(text: string, dryRun: boolean, purpose = ''): void {
  try {
    checkGcCommand(text, dryRun)
  } catch (error) {
    if (!(error instanceof GcCommandError)) throw error
    throw invalid(
      'gc-command',
      text,
      'the collector\'s command line as one command, e.g. registry garbage-collect /etc/docker/registry/config.yml ' +
        '(or garbage-collect: off)',
      `${purpose}${error.message}`,
    )
  }
}

function parseStoragePath(text: string): string {
  if (text === '') return ''
  if (!text.startsWith('/')) {
    throw invalid('storage-path', text, "an absolute path on the host, e.g. /var/lib/registry", 'it is not absolute')
  }
  return text.length > 1 ? text.replace(/\/+$/, '') : text
}

// ---------------------------------------------------------------------------------------------------------------------
// Inputs that are fine alone but not together

function checkCombinations(settings: Settings, value: (name: InputName) => string): void {
  const { gc } = settings
  const plainInputs = settings.rules.length === 1 && settings.rules[0]?.name === PLAIN_RULE
  for (const rule of settings.rules) {
    const problem = policyProblem(rule, gc)
    if (!problem) continue
    if (plainInputs) throw new InputError(problem.key, `Invalid ${problem.message}`)
    throw new InputError('rules', `Invalid rules: ${rule.name}, ${problem.message}`)
  }
  if (settings.insecureSkipTlsVerify && value('ca-cert') !== '') {
    throw new InputError(
      'insecure-skip-tls-verify',
      'Invalid insecure-skip-tls-verify true together with ca-cert. Expected one of them: ca-cert to trust a ' +
        'private CA, or insecure-skip-tls-verify to check nothing.',
    )
  }
  checkUntaggedSource(settings)
  if (!settings.prune && gc.mode === 'off') {
    throw new InputError(
      'prune',
      'Invalid prune: false with garbage-collect: off: the run would do nothing. Expected garbage-collect: ssh or ' +
        'local with prune: false (or prune: true).',
    )
  }
  if (!settings.prune && settings.shard !== undefined) {
    throw new InputError(
      'shard',
      'Invalid shard with prune: false: garbage collection covers the whole registry and runs once, after all ' +
        'shards. Expected an empty shard in the prune: false job.',
    )
  }
  if (gc.mode !== 'off') gcCommandCheck(gc.command, settings.dryRun)
  if (gc.mode === 'ssh') checkSsh(gc)
}

/** Issue 14: each listing of untagged manifests needs its way onto the registry host, checked before any request. */
function checkUntaggedSource(settings: Settings): void {
  const { gc, untaggedSource: source } = settings
  // With rules, any rule that deletes untagged manifests needs the listing.
  const wanted = settings.rules.some((rule) => rule.untagged === 'delete')
  if (wanted && gc.mode === 'off') {
    throw new InputError(
      'untagged',
      'Invalid untagged: delete with garbage-collect: off: untagged manifests can only be listed on the registry ' +
        'host (from the storage tree, or by the collector\'s dry run). Expected garbage-collect: ssh or local (or ' +
        'untagged: keep).',
    )
  }
  if (source === 'collector' && gc.mode === 'off') {
    throw new InputError(
      'untagged-source',
      'Invalid untagged-source collector with garbage-collect: off: the collector runs on the registry host. ' +
        'Expected garbage-collect: ssh or local with it.',
    )
  }
  if (source === 'storage' && gc.storagePath === '') {
    throw new InputError(
      'untagged-source',
      'Invalid untagged-source storage without storage-path: it lists the storage tree under storage-path. Expected ' +
        "storage-path (the registry's storage root on the host), or untagged-source: collector for storage the " +
        'host cannot list (s3, gcs, azure).',
    )
  }
  // The collector's listing adds --dry-run --delete-untagged right after the garbage-collect word: the command must
  // take a dry run's guard.
  const collector = source === 'collector' || (source === 'auto' && gc.storagePath === '')
  if (wanted && collector) {
    gcCommandCheck(gc.command, true, 'for listing untagged manifests with the collector (or give storage-path), ')
  }
}

/** A policy's own contradictions, the same for the plain inputs and for each rule; `key` is the input to fix. */
function policyProblem(policy: Policy, gc: GcSettings): { key: string; message: string } | undefined {
  // Issue 5: nothing but age would protect any image, so the user must say that is meant. A tag selector protects
  // every image with a tag it does not pick.
  if (policy.keepCount === 0 && policy.keepTags.length === 0 && policy.deleteTags.length === 0 && !policy.allowDeleteAll) {
    return {
      key: 'keep-count',
      message:
        'keep-count 0 with an empty keep-tags: no image would be protected. Expected a keep-count above 0, ' +
        'a keep-tags pattern (e.g. latest), a delete-tags selector, or allow-delete-all: true.',
    }
  }
  // untag removes every selected tag of the images that stay: with every tag selected, that is every tag but the
  // keep-tags of every kept image, almost never what is meant.
  if (policy.untag && policy.deleteTags.length === 0) {
    return {
      key: 'untag',
      message:
        'untag: true with an empty delete-tags: every tag of every kept image except the keep-tags would be removed. ' +
        'Expected a delete-tags selector naming the tags to remove (e.g. pr-*), or untag: false.',
    }
  }
  const storage = gc.mode !== 'off' && gc.storagePath !== ''
  if (policy.untagged === 'delete' && gc.mode === 'off') {
    return {
      key: 'untagged',
      message:
        'untagged: delete with garbage-collect: off: untagged manifests can only be listed on the registry ' +
        'host (from the storage tree, or by the collector\'s dry run). Expected garbage-collect: ssh or local (or ' +
        'untagged: keep).',
    }
  }
  if (policy.ageFrom === 'pushed' && !storage) {
    return {
      key: 'age-from',
      message:
        'age-from: pushed without garbage-collect ssh or local and a storage-path: push times are read from the ' +
        "registry's storage tree on the host. Expected garbage-collect: ssh or local, and storage-path " +
        '(or age-from: created).',
    }
  }
  return undefined
}

function checkSsh(gc: GcSettings): void {
  if (gc.sshHost === '') {
    throw new InputError('ssh-host', `Missing ssh-host: garbage-collect is ssh. Expected ${SSH_HOST_FORM}.`)
  }
  if (gc.sshPrivateKey === '') {
    throw new InputError('ssh-private-key', `Missing ssh-private-key: garbage-collect is ssh. Expected ${KEY_FORM}.`)
  }
  if (gc.sshKnownHosts === '' && !gc.sshInsecureAcceptAnyHostKey) {
    throw new InputError(
      'ssh-known-hosts',
      `Missing ssh-known-hosts: garbage-collect is ssh, and the host key must be checked. Expected ` +
        `${KNOWN_HOSTS_FORM} (or ssh-insecure-accept-any-host-key: true to skip the check).`,
    )
  }
  if (gc.sshKnownHosts !== '' && gc.sshInsecureAcceptAnyHostKey) {
    throw new InputError(
      'ssh-insecure-accept-any-host-key',
      'Invalid ssh-insecure-accept-any-host-key true together with ssh-known-hosts. Expected one of them: ' +
        'ssh-known-hosts to check the host key (recommended), or the opt-out to check nothing.',
    )
  }
}
