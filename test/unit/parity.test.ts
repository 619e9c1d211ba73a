// Name parity between the three front doors (issue 4 acceptance 4, DECISIONS 13 and 14): action.yml inputs, the GitLab
// component's `spec: inputs:` and the CLI flags carry the same names and defaults, with exactly the listed exceptions;
// the action's outputs and the dotenv keys match. The checks are one function so the test can show that a drift fails.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { CLI_ONLY_FLAGS, cliOptions, envName } from '../../src/cli/args.js'
import { dotenvKey, toDotenv } from '../../src/cli/dotenv.js'
import { INPUTS, OUTPUTS } from '../../src/inputs.js'

const ROOT = join(import.meta.dirname, '../..')

// DECISIONS 14, written out: the only allowed differences.
const SECRETS = ['password', 'ssh-private-key', 'ssh-passphrase']
const SECRET_ENV = ['REGISTRY_PRUNE_PASSWORD', 'REGISTRY_PRUNE_SSH_PRIVATE_KEY', 'REGISTRY_PRUNE_SSH_PASSPHRASE']
const GITLAB_ONLY = ['stage', 'as', 'image', 'cli']
const CLI_ONLY = ['json', 'summary-file', 'dotenv-file', 'yes', 'quiet', 'help', 'version']
const DOTENV_KEYS = ['DELETED_COUNT', 'KEPT_COUNT', 'RECLAIMABLE_BYTES', 'RECLAIMED_BYTES', 'GC_BLOBS_DELETED', 'PLAN_FILE']
const GLOBAL_KEYWORDS = ['default', 'include', 'stages', 'variables', 'workflow', 'image', 'services', 'cache',
  'before_script', 'after_script']

interface ActionInput {
  default?: unknown
  required?: boolean
}
interface SpecInput {
  default?: unknown
  type?: string
  options?: unknown[]
}
interface Sides {
  action: { inputs: Record<string, ActionInput>; outputs: Record<string, unknown> }
  spec: Record<string, SpecInput>
  job: Record<string, unknown>
  cliFlags: string[]
}

const sorted = (names: Iterable<string>): string[] => [...names].sort()
const same = (a: Iterable<string>, b: Iterable<string>): boolean => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b))
const shown = (value: unknown): string => (value === undefined ? '(none)' : JSON.stringify(value))

function loadSides(): Sides {
  const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as Sides['action']
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'gitlab/templates/registry-prune.yml'), 'utf8'))
  expect(docs).toHaveLength(2)
  const header = docs[0]!.toJS() as { spec: { inputs: Record<string, SpecInput> } }
  return {
    action,
    spec: header.spec.inputs,
    job: docs[1]!.toJS() as Record<string, unknown>,
    cliFlags: Object.keys(cliOptions()),
  }
}

/** Every difference between the front doors that DECISIONS 14 does not allow; empty when they are in step. */
function parityProblems({ action, spec, job, cliFlags }: Sides): string[] {
  const problems: string[] = []
  const actionNames = Object.keys(action.inputs)
  const plain = actionNames.filter((n) => !SECRETS.includes(n))

  if (!SECRETS.every((s) => actionNames.includes(s))) problems.push(`action.yml lacks a secret input of ${SECRETS}`)
  const expectedSpec = [...plain, ...SECRETS.map((s) => `${s}-variable`), ...GITLAB_ONLY]
  if (!same(Object.keys(spec), expectedSpec)) {
    problems.push(`GitLab spec inputs ${sorted(Object.keys(spec))} differ from ${sorted(expectedSpec)}`)
  }
  const expectedFlags = [...plain, ...CLI_ONLY]
  if (!same(cliFlags, expectedFlags)) problems.push(`CLI flags ${sorted(cliFlags)} differ from ${sorted(expectedFlags)}`)

  for (const name of plain) {
    const a = action.inputs[name]!
    const s = spec[name]
    const actionDefault = a.required ? undefined : String(a.default ?? '')
    const specDefault = s?.default === undefined ? undefined : String(s.default)
    if (actionDefault !== specDefault) {
      problems.push(`${name}: action.yml default ${shown(actionDefault)}, GitLab default ${shown(specDefault)}`)
    }
    const input = INPUTS.find((i) => i.name === name)
    const cliDefault = input === undefined ? undefined : input.required ? undefined : input.default
    if (actionDefault !== cliDefault) problems.push(`${name}: action.yml default ${shown(actionDefault)}, CLI ${shown(cliDefault)}`)
    const type = input?.kind === 'boolean' ? 'boolean' : input?.kind === 'integer' ? 'number' : undefined
    if ((s?.type ?? undefined) !== type) problems.push(`${name}: GitLab type ${shown(s?.type)}, expected ${shown(type)}`)
    if (input?.options && JSON.stringify(s?.options) !== JSON.stringify(input.options)) {
      problems.push(`${name}: GitLab options ${shown(s?.options)}, expected ${shown(input.options)}`)
    }
  }
  for (const secret of SECRETS) {
    const variable = spec[`${secret}-variable`]
    if (typeof variable?.default !== 'string' || !/^[A-Z_][A-Z0-9_]*$/.test(variable.default)) {
      problems.push(`${secret}-variable: the default must name a CI/CD variable, not ${shown(variable?.default)}`)
    }
    if (cliFlags.includes(secret)) problems.push(`the CLI must not take --${secret} as a flag`)
  }

  // The job uses every input, passes every plain input as a flag, and defines nothing global.
  const jobText = JSON.stringify(job)
  for (const name of Object.keys(spec)) {
    if (!new RegExp(`\\$\\[\\[ inputs\\.${name} \\]\\]`).test(jobText)) problems.push(`the job never uses input ${name}`)
  }
  for (const name of plain) if (!jobText.includes(`--${name}=`)) problems.push(`the job does not pass --${name}`)
  for (const key of Object.keys(job)) if (GLOBAL_KEYWORDS.includes(key)) problems.push(`global keyword ${key}`)
  if (Object.keys(job).length !== 1) problems.push(`the template defines ${Object.keys(job).length} top-level keys`)

  const outputKeys = Object.keys(action.outputs).map(dotenvKey)
  if (!same(outputKeys, DOTENV_KEYS)) problems.push(`action.yml outputs ${sorted(outputKeys)} vs dotenv ${DOTENV_KEYS}`)
  return problems
}

describe('front door parity', () => {
  it('action.yml, the GitLab spec and the CLI flags agree, with exactly the DECISIONS 14 exceptions', () => {
    expect(parityProblems(loadSides())).toEqual([])
  })

  it('the exception lists in the code are the ones written here', () => {
    expect([...CLI_ONLY_FLAGS]).toEqual(CLI_ONLY)
    expect(INPUTS.filter((i) => i.secret).map((i) => i.name)).toEqual(SECRETS)
    expect(SECRETS.map(envName)).toEqual(SECRET_ENV)
    const header = loadSides().spec
    // The default image has the tool in it, as the command `registry-prune` (issue 16; test/unit/version.test.ts
    // keeps the image tag at the package version).
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
    expect(GITLAB_ONLY.map((n) => [n, header[n]?.default])).toEqual([
      ['stage', '.post'],
      ['as', 'registry-prune'],
      ['image', `ghcr.io/registry-prune/registry-prune:${version}`],
      ['cli', 'registry-prune'],
    ])
  })

  it('the dotenv report has one key per action output, in upper snake case', () => {
    const outputs = Object.fromEntries(OUTPUTS.map((o) => [o.name, '1']))
    const keys = toDotenv(outputs).trim().split('\n').map((line) => line.split('=')[0])
    expect(keys).toEqual(DOTENV_KEYS)
    expect(OUTPUTS.map((o) => o.name)).toEqual(Object.keys(loadSides().action.outputs))
  })

  it('gitlab/README.md lists every input of the component', () => {
    const readme = readFileSync(join(ROOT, 'gitlab/README.md'), 'utf8')
    const missing = Object.keys(loadSides().spec).filter((name) => !readme.includes(`| \`${name}\` |`))
    expect(missing).toEqual([])
  })

  // A test that cannot fail is worse than none: each drift below must be reported.
  it.each<[string, (s: Sides) => void]>([
    ['an input renamed in the GitLab spec', (s) => {
      s.spec['keep-counts'] = s.spec['keep-count']!
      delete s.spec['keep-count']
    }],
    ['a default changed in the GitLab spec', (s) => void (s.spec['keep-tags']!.default = 'stable')],
    ['a default changed in action.yml', (s) => void (s.action.inputs.concurrency!.default = '4')],
    ['an input missing from action.yml', (s) => void delete s.action.inputs['older-than']],
    ['a boolean input typed as a string', (s) => void delete s.spec['dry-run']!.type],
    ['a secret as a plain GitLab input', (s) => void (s.spec.password = { default: '' })],
    ['a secret as a CLI flag', (s) => void s.cliFlags.push('password')],
    ['a CLI flag missing', (s) => void s.cliFlags.splice(s.cliFlags.indexOf('ssh-user'), 1)],
    ['an extra CLI-only flag', (s) => void s.cliFlags.push('verbose')],
    ['an output renamed', (s) => {
      s.action.outputs['deleted-total'] = s.action.outputs['deleted-count']
      delete s.action.outputs['deleted-count']
    }],
    ['a global keyword in the template', (s) => void (s.job.stages = ['prune'])],
    ['the job no longer passing a flag', (s) => {
      const [name] = Object.keys(s.job)
      s.job[name!] = JSON.parse(JSON.stringify(s.job[name!]).replace('--ssh-user=', '--ssh-login='))
    }],
  ])('%s fails the parity check', (_what, drift) => {
    const sides = loadSides()
    drift(sides)
    expect(parityProblems(sides)).not.toEqual([])
  })
})
