import { describe, expect, it } from 'vitest'
import { envName, parseCliArgs, rawInput, UsageError } from '../../src/cli/args.js'
import { toDotenv } from '../../src/cli/dotenv.js'
import { helpText } from '../../src/cli/help.js'
import { cliLogger } from '../../src/cli/logger.js'
import { INPUTS } from '../../src/inputs.js'
import { printable } from '../../src/report/text.js'

const flags = (argv: string[]): Record<string, string> => Object.fromEntries(parseCliArgs(argv).flags)

function usageError(argv: string[]): UsageError {
  try {
    parseCliArgs(argv)
  } catch (error) {
    if (error instanceof UsageError) return error
    throw error
  }
  throw new Error(`${JSON.stringify(argv)} was accepted`)
}

describe('parseCliArgs', () => {
  it.each([
    [['--keep-count=3'], { 'keep-count': '3' }],
    [['--keep-count', '3'], { 'keep-count': '3' }],
    [['--keep-tags='], { 'keep-tags': '' }],
    [['--dry-run'], { 'dry-run': 'true' }],
    [['--dry-run=false'], { 'dry-run': 'false' }],
    [['--dry-run=TRUE'], { 'dry-run': 'TRUE' }], // parseSettings judges the value
    [['--keep-count=-1'], { 'keep-count': '-1' }],
    [['--keep-tags', 'latest', '--keep-tags=stable'], { 'keep-tags': 'latest\nstable' }],
    [['--gc-command=docker exec registry registry garbage-collect /c.yml'], {
      'gc-command': 'docker exec registry registry garbage-collect /c.yml',
    }],
    [['--registry=https://r.example', '--'], { registry: 'https://r.example' }],
  ])('%j -> %j', (argv, expected) => {
    expect(flags(argv)).toEqual(expected)
  })

  it('reads the report flags apart from the inputs', () => {
    const args = parseCliArgs(['--json', '--summary-file=s.md', '--dotenv-file', 'o.env', '-h'])
    expect(args).toMatchObject({ json: true, help: true, version: false, summaryFile: 's.md', dotenvFile: 'o.env' })
    expect(args.flags.size).toBe(0)
  })

  it.each([
    [['--password=x'], 'password', 'REGISTRY_PRUNE_PASSWORD'],
    [['--ssh-passphrase', 'x'], 'ssh-passphrase', 'REGISTRY_PRUNE_SSH_PASSPHRASE'],
    [['--keep-count'], 'keep-count', '--keep-count=<value>'],
    [['--keep-count', '--dry-run'], 'keep-count', 'looks like a flag'],
    [['--kep-count=1'], 'kep-count', 'Did you mean --keep-count?'],
    [['--frobnicate'], 'frobnicate', "registry-prune --help"],
    [['-k'], 'k', 'Unknown flag -k'],
    [['prune-now'], 'prune-now', 'takes only flags'],
    [['--', 'x'], 'x', 'takes only flags'],
    [['--summary-file='], 'summary-file', '--summary-file=<path>'],
    [['--json=yes'], 'json', 'Expected --json'],
  ])('%j is a usage error naming %s', (argv, flag, text) => {
    const error = usageError(argv)
    expect(error.flag).toBe(flag)
    expect(error.message).toContain(text)
  })

  it('never repeats a secret given as a flag', () => {
    expect(usageError(['--password=hunter2-value']).message).not.toContain('hunter2-value')
  })
})

describe('rawInput', () => {
  const env = { REGISTRY_PRUNE_KEEP_COUNT: '7', REGISTRY_PRUNE_PASSWORD: 'from-env', REGISTRY_PRUNE_KEEP_TAGS: '' }

  it('takes the flag, else the environment variable, else undefined (the table default)', () => {
    const read = rawInput(parseCliArgs(['--keep-count=3']), env)
    expect(read('keep-count')).toBe('3')
    expect(rawInput(parseCliArgs([]), env)('keep-count')).toBe('7')
    expect(read('password')).toBe('from-env')
    expect(read('keep-tags')).toBe('') // explicitly empty, as in the action
    expect(read('older-than')).toBeUndefined()
  })

  it('names every variable REGISTRY_PRUNE_ and the input in upper snake case', () => {
    expect(envName('ssh-insecure-accept-any-host-key')).toBe('REGISTRY_PRUNE_SSH_INSECURE_ACCEPT_ANY_HOST_KEY')
  })
})

describe('help', () => {
  it('shows each input once, as a flag or (secrets) as a variable', () => {
    const help = helpText('9.9.9')
    for (const input of INPUTS) {
      // A flag's name ends where its line goes on (`--untagged` is not `--untagged-source`).
      const needle = input.secret ? `  ${envName(input.name)}\n` : new RegExp(`  --${input.name}(?![\\w-])`)
      expect(help.split(needle).length - 1, input.name).toBe(1)
    }
    expect(help).toContain('registry-prune 9.9.9')
  })
})

describe('toDotenv', () => {
  it('writes KEY=value lines', () => {
    expect(toDotenv({ 'deleted-count': '4', 'plan-file': 'p.json' })).toBe('DELETED_COUNT=4\nPLAN_FILE=p.json\n')
  })

  it.each([
    [{ 'plan-file': 'a\nINJECTED=1' }, 'spans lines'],
    [{ 'plan-file': 'x'.repeat(6000) }, '5120'],
    [{ 'bad.key': '1' }, 'outside [A-Za-z0-9_]'],
  ])('refuses what GitLab could not read: %#', (outputs, text) => {
    expect(() => toDotenv(outputs)).toThrow(text)
  })
})

describe('cliLogger', () => {
  const capture = (isTTY: boolean): { text: () => string; write: (t: string) => void; isTTY: boolean } => {
    let text = ''
    return { text: () => text, write: (t: string) => void (text += t), isTTY }
  }

  it('writes plain lines, without a status line, when stderr is not a terminal', async () => {
    const stream = capture(false)
    const log = cliLogger(stream, { debug: false, now: () => 0, status: () => 'Inventory: 1/3 repositories' })
    await log.group('Collector output', async () => log.info('team/app'))
    log.debug('hidden')
    log.warning('careful')
    log.close()
    expect(stream.text()).toBe('-- Collector output\nteam/app\nwarning: careful\n')
  })

  it('on a terminal, keeps the status line under the log, redraws it in place, and clears it', async () => {
    const stream = capture(true)
    let status = 'Delete: 0/2 manifests deleted'
    const log = cliLogger(stream, { debug: true, now: () => 0, status: () => status })
    log.info('== Delete')
    status = 'Delete: 1/2 manifests deleted'
    log.info('team/app: spared one')
    log.close()
    const text = stream.text()
    expect(text).toContain('== Delete\n| Delete: 0/2 manifests deleted')
    expect(text).toContain('\r\u001b[Kteam/app: spared one\n| Delete: 1/2 manifests deleted\r\u001b[K')
    expect(text.endsWith('\r\u001b[K')).toBe(true)
  })

  it('groups are collapsed sections in GitLab and groups in GitHub Actions, with no other CI syntax', async () => {
    const gitlab = capture(false)
    const inGitlab = cliLogger(gitlab, { debug: false, now: () => 1_700_000_000_000, ci: 'gitlab' })
    await inGitlab.group('Collector output (registry garbage-collect /c.yml)', async () => inGitlab.info('blob marked'))
    expect(gitlab.text()).toBe(
      '\u001b[0Ksection_start:1700000000:registry_prune_1[collapsed=true]\r\u001b[0KCollector output (registry garbage-collect /c.yml)\n' +
        'blob marked\n\u001b[0Ksection_end:1700000000:registry_prune_1\r\u001b[0K\n',
    )
    expect(gitlab.text()).not.toContain('::')
    const github = capture(false)
    const inGithub = cliLogger(github, { debug: false, ci: 'github' })
    await inGithub.group('Collector output', async () => inGithub.info('blob marked'))
    expect(github.text()).toBe('::group::Collector output\nblob marked\n::endgroup::\n')
  })

  it('--quiet keeps only errors', async () => {
    const stream = capture(true)
    const log = cliLogger(stream, { debug: true, quiet: true, status: () => 'Inventory' })
    await log.group('Collector output', async () => log.info('x'))
    log.warning('w')
    log.debug('d')
    log.error('broken')
    log.close()
    expect(stream.text()).toBe('error: broken\n')
  })
})

describe('printable', () => {
  it('replaces characters that would drive the terminal', () => {
    expect(printable('v1\u001b[2J\r\u202etag')).toBe('v1?[2J??tag')
  })
})
