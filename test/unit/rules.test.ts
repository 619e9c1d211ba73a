// The `rules` input (DECISIONS 31): YAML, checked against the published schema before any request, with messages that
// name the rule and the key; plain inputs fill what a rule leaves out.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { inputFailure, parseInputs } from '../support/bad-inputs.js'
import { RULES_SCHEMA } from '../../src/rules.js'
import { rulesSchemaText } from '../../scripts/docs.js'

const ROOT = join(import.meta.dirname, '../..')
const LOCAL_GC = { 'garbage-collect': 'local', 'storage-path': '/var/lib/registry' }

const parse = parseInputs
const failure = inputFailure

const RULES = `
- repositories: [release/**]
  keep-count: 50
- repositories: /feature\\/.+/
  keep-count: 3
  older-than: 14d
  delete-tags: pr-*, /branch-[0-9]+/
  untag: true
- repositories: "scratch/*, !scratch/keep"
  older-than: 7d
  keep-tags: ""
  age-from: pushed
`

describe('rules', () => {
  test('are parsed in order, named rule 1…, and take the plain inputs for the keys they leave out', () => {
    const settings = parse({ rules: RULES, 'keep-tags': 'latest, stable', 'keep-count': '5', ...LOCAL_GC })
    expect(settings.rules).toEqual([
      expect.objectContaining({
        name: 'rule 1', repositories: ['release/**'], keepCount: 50, keepTags: ['latest', 'stable'], deleteTags: [],
        olderThanMs: undefined, ageFrom: 'created', untag: false,
      }),
      expect.objectContaining({
        name: 'rule 2', repositories: ['/feature\\/.+/'], keepCount: 3, olderThanMs: 14 * 86_400_000,
        deleteTags: ['pr-*', '/branch-[0-9]+/'], untag: true,
      }),
      expect.objectContaining({
        name: 'rule 3', repositories: ['scratch/*', '!scratch/keep'], keepCount: 5, keepTags: [], ageFrom: 'pushed',
      }),
    ])
  })

  test('without a rules input, the plain inputs are the one rule, named inputs', () => {
    const settings = parse({ repositories: 'team/*', 'delete-tags': 'pr-*', untag: 'true' })
    expect(settings.rules).toEqual([
      expect.objectContaining({ name: 'inputs', repositories: ['team/*'], deleteTags: ['pr-*'], untag: true }),
    ])
  })

  test.each([
    ['not YAML', '- repositories: [a\n', /Invalid rules: they are not YAML/],
    ['not a list', 'repositories: a', /Invalid rules: they are not a YAML list/],
    ['an empty list', '[]', /Invalid rules: the rules: must NOT have fewer than 1 items/],
    ['an unknown key', '- repositories: a\n- repositories: b\n  keep-tag: latest', /rule 2 has an unknown key 'keep-tag'/],
    ['no repositories', '- keep-count: 3', /rule 1 has no repositories/],
    ['a wrong type', '- repositories: a\n  keep-count: "3"', /rule 1, keep-count: must be integer/],
    ['a negative count', '- repositories: a\n  keep-count: -1', /rule 1, keep-count: must be >= 0/],
    ['a bad choice', '- repositories: a\n  age-from: build', /rule 1, age-from: must be one of created, pushed/],
    ['a bad duration', '- repositories: a\n  older-than: 3 weeks', /rule 1, older-than: not a duration such as 30d/],
    ['a bad regex', '- repositories: a\n  keep-tags: [/v(/]', /rule 1, keep-tags: '\/v\(\/' is not a valid regular expression/],
    ['a bad repository', '- repositories: Team/App', /rule 1, repositories: 'T' cannot appear in a repository name/],
    ['no pattern', '- repositories: ""', /rule 1, repositories: lists no pattern/],
    ['a boolean as text', '- repositories: a\n  untag: "yes"', /rule 1, untag: must be boolean/],
  ])('%s is refused, naming the rule and key', (_name, rules, says) => {
    const error = failure({ rules })
    expect(error.input).toBe('rules')
    expect(error.message).toMatch(says)
    expect(error.message).toMatch(/Expected a YAML list of rules/)
  })

  test.each([
    ['age-from: pushed without storage', '- repositories: a\n- repositories: b\n  age-from: pushed', /rule 2, age-from: pushed without garbage-collect/],
    ['untagged: delete without garbage collection', '- repositories: a\n  untagged: delete', /rule 1, untagged: delete with garbage-collect: off/],
    ['a rule that protects nothing', '- repositories: a\n  keep-count: 0\n  keep-tags: []', /rule 1, keep-count 0 with an empty keep-tags/],
  ])('%s: a rule that contradicts the other inputs is refused', (_name, rules, says) => {
    const error = failure({ rules })
    expect(error.input).toBe('rules')
    expect(error.message).toMatch(says)
  })

  test('a tag selector protects on its own: keep-count 0 with delete-tags needs no allow-delete-all', () => {
    expect(parse({ 'keep-count': '0', 'keep-tags': '', 'delete-tags': 'pr-*' }).keepCount).toBe(0)
    expect(failure({ 'keep-count': '0', 'keep-tags': '' }).input).toBe('keep-count')
  })

  test('untag needs a selector: with every tag selected it would strip every kept image of all but its keep-tags', () => {
    expect(failure({ untag: 'true' }).message).toMatch(/Invalid untag: true with an empty delete-tags/)
    expect(failure({ rules: '- repositories: a\n  untag: true' }).message).toMatch(/rule 1, untag: true with an empty/)
    expect(parse({ untag: 'true', 'delete-tags': 'pr-*' }).untag).toBe(true)
  })

  test('age-from: pushed as a plain input needs readable storage', () => {
    expect(failure({ 'age-from': 'pushed' }).input).toBe('age-from')
    expect(failure({ 'age-from': 'pushed', 'garbage-collect': 'local' }).input).toBe('age-from')
    expect(parse({ 'age-from': 'pushed', ...LOCAL_GC }).ageFrom).toBe('pushed')
  })

  test('the published schema is the one the code checks with (npm run docs writes it)', () => {
    expect(readFileSync(join(ROOT, 'schema/rules.schema.json'), 'utf8')).toBe(rulesSchemaText())
    expect(JSON.parse(rulesSchemaText())).toEqual(RULES_SCHEMA)
  })

  test("the README's worked examples are valid rules", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Policies'), readme.indexOf('## Enable deletes'))
    const examples = [...section.matchAll(/```yaml\nrules: \|\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/^ {2}/gm, ''))
    expect(examples).toHaveLength(3)
    for (const rules of examples) expect(parse({ rules, ...LOCAL_GC }).rules.length).toBeGreaterThan(0)
  })

  test('every policy key of the schema is an input of the same name', async () => {
    const { INPUTS } = await import('../../src/inputs.js')
    for (const key of Object.keys(RULES_SCHEMA.items.properties)) {
      expect(INPUTS.map((i) => i.name), key).toContain(key)
    }
  })
})
