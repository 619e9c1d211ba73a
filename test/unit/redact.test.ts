// Issue 11 item 6, the pure parts: the plan file goes through the run's redactor (values are masked before JSON escapes
// them), and hooks get an environment without the tool's secret variables (DECISIONS 27).
import { describe, expect, it } from 'vitest'
import { commandEnvironment, secretsOf, secretVariableNames } from '../../src/redact.js'
import { jsonPieces } from '../../src/report/json.js'
import type { RunResult } from '../../src/run.js'
import { emptyRun } from './result-builder.js'

// A password with the characters JSON escapes: a redactor run over the JSON text would miss it.
const PASSWORD = 'pa"ss\\word-0123'

function result(values: Record<string, string>, failures: string[] = []): RunResult {
  return emptyRun({ username: 'ci', password: PASSWORD, ...values }, {
    failures,
    warnings: [`a registry said https://ci:${PASSWORD}@registry.example.com/v2/`],
  })
}

describe('the plan file is redacted', () => {
  it('masks a secret in gc-before-command, in failures and in warnings, escaped characters and all', () => {
    const r = result(
      {
        'garbage-collect': 'local',
        'gc-before-command': `curl -u ci:${PASSWORD} -X POST http://registry.local/readonly`,
      },
      [`gc-after-command failed on this machine with exit 1: 401 for ci:${PASSWORD}`],
    )
    const text = [...jsonPieces(r)].join('')
    expect(text).not.toContain(JSON.stringify(PASSWORD).slice(1, -1))
    expect(text).not.toContain('0123')
    const document = JSON.parse(text) as { settings: { gc: { beforeCommand: string } }; failures: string[]; warnings: string[] }
    expect(document.settings.gc.beforeCommand).toBe('curl -u ci:*** -X POST http://registry.local/readonly')
    expect(document.failures[0]).toContain('for ci:***')
    expect(document.warnings[0]).not.toContain('word')
    // Still exactly the pretty-printed document.
    expect(text).toBe(`${JSON.stringify(document, null, 2)}\n`)
  })

  it('adds a front door\'s own redactor on top', () => {
    const text = [...jsonPieces(result({ 'gc-before-command': 'echo other-secret-value' }), (t) => t.replace('other-secret-value', '###'))].join('')
    expect(text).toContain('"beforeCommand": "echo ###"')
  })
})

describe('the environment of hooks and collectors', () => {
  const KEY_LINE = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ'
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: '/root',
    REGISTRY_PRUNE_PASSWORD: PASSWORD,
    REGISTRY_PRUNE_SSH_PRIVATE_KEY: 'key text',
    REGISTRY_PRUNE_SSH_PASSPHRASE: 'phrase',
    REGISTRY_PRUNE_KEEP_COUNT: '3',
    INPUT_PASSWORD: PASSWORD,
    'INPUT_SSH-PRIVATE-KEY': 'key text',
    INPUT_SSH_PRIVATE_KEY: 'key text',
    'INPUT_SSH-PASSPHRASE': 'phrase',
    'INPUT_GC-COMMAND': 'registry garbage-collect /c.yml',
    // GitLab: the component names the variables in RP_*_VARIABLE; a File variable holds a path, not the key.
    RP_PASSWORD_VARIABLE: 'TEAM_REGISTRY_TOKEN',
    TEAM_REGISTRY_TOKEN: PASSWORD,
    RP_SSH_PRIVATE_KEY_VARIABLE: 'GC_KEY',
    GC_KEY: '/builds/tmp/GC_KEY',
    RP_SSH_PASSPHRASE_VARIABLE: 'bad name; rm -rf /',
    // The same secret under a name nobody told us about; and one that merely contains a long secret.
    SOMETHING_ELSE: PASSWORD,
    KEY_COPY: `-----BEGIN\n${KEY_LINE}\n-----END`,
  }

  it('leaves out every name the front doors use for secrets, GitLab\'s named variables, and any secret value', () => {
    const { env: safe, withheld } = commandEnvironment(env, [PASSWORD, KEY_LINE])
    expect(safe).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/root',
      REGISTRY_PRUNE_KEEP_COUNT: '3',
      'INPUT_GC-COMMAND': 'registry garbage-collect /c.yml',
      RP_PASSWORD_VARIABLE: 'TEAM_REGISTRY_TOKEN',
      RP_SSH_PRIVATE_KEY_VARIABLE: 'GC_KEY',
      RP_SSH_PASSPHRASE_VARIABLE: 'bad name; rm -rf /',
    })
    expect(withheld).toContain('TEAM_REGISTRY_TOKEN')
    expect(withheld).toContain('GC_KEY')
    expect(withheld).toContain('SOMETHING_ELSE')
  })

  it('matches a short secret only whole, so a hook keeps its PATH', () => {
    expect(commandEnvironment({ PATH: '/usr/local/bin:/bin', X: 'bin' }, ['bin']).env).toEqual({ PATH: '/usr/local/bin:/bin' })
  })

  it('names the variables of every secret input', () => {
    expect(secretVariableNames({})).toEqual(expect.arrayContaining([
      'REGISTRY_PRUNE_PASSWORD', 'REGISTRY_PRUNE_SSH_PRIVATE_KEY', 'REGISTRY_PRUNE_SSH_PASSPHRASE',
      'INPUT_PASSWORD', 'INPUT_SSH-PRIVATE-KEY', 'INPUT_SSH_PRIVATE_KEY', 'INPUT_SSH-PASSPHRASE', 'INPUT_SSH_PASSPHRASE',
    ]))
    expect(secretsOf(result({}).settings)).toContain(PASSWORD)
  })
})
