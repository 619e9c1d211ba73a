// Several policies in one run (DECISIONS 31): the `rules` input is a YAML list of rules, each a repository pattern
// list plus any of the policy inputs, spelled as the inputs. The published JSON Schema (schema/rules.schema.json,
// written from RULES_SCHEMA by `npm run docs`) is what editors check; the same schema is checked here with ajv before
// any request, then what a schema cannot say (pattern syntax, durations) with the inputs' own parsers.
import { Ajv, type ErrorObject } from 'ajv'
import { parse } from 'yaml'
import { DURATION_FORM, parseDuration } from './duration.js'
import { patternListProblem, splitList, type PatternTarget } from './patterns.js'
import type { Policy, Rule, Settings } from './types.js'

export const MAX_RULES = 100

const patternList = (description: string) => ({
  description: `${description} A list, or one string of patterns separated by commas or newlines.`,
  type: ['string', 'array'],
  items: { type: 'string' },
})

/** The JSON Schema of the `rules` input, as published. */
export const RULES_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'registry-prune rules',
  description:
    'Retention rules: for each repository the first rule whose repositories match applies; repositories no rule ' +
    'matches are not touched. Keys a rule leaves out take the value of the plain input of the same name.',
  type: 'array',
  minItems: 1,
  maxItems: MAX_RULES,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['repositories'],
    properties: {
      repositories: patternList('Repositories this rule covers: globs or /regular expressions/ (RE2); !pattern excludes.'),
      'keep-count': { description: 'How many images to keep, newest first.', type: 'integer', minimum: 0, maximum: 100000 },
      'keep-tags': patternList('Tags whose images are never deleted (empty: none).'),
      'delete-tags': patternList('Tag selector: only images all of whose tags match may be deleted (empty: every tag).'),
      'older-than': {
        description: 'Only delete images older than this, e.g. 30d, 12h, 2w, 1d12h (empty: no age condition).',
        type: 'string',
        pattern: '^(\\d+w)?(\\d+d)?(\\d+h)?(\\d+m)?(\\d+s)?$',
      },
      'age-from': { description: 'What an image\'s age is.', enum: ['created', 'pushed'] },
      untagged: { description: 'keep, or delete untagged manifests.', enum: ['keep', 'delete'] },
      'keep-untagged': {
        description: 'With untagged: delete, how many of the newest untagged manifests to keep.',
        type: 'integer',
        minimum: 0,
        maximum: 100000,
      },
      'allow-delete-all': { description: 'Allow a plan that deletes every image of a repository.', type: 'boolean' },
      untag: { description: 'Remove selected tags of kept images on their own.', type: 'boolean' },
    },
  },
} as const

/** A `rules` value that cannot be used; the message names the rule (counting from 1) and the key. */
export class RulesError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RulesError'
  }
}

type RawRule = Partial<Record<keyof (typeof RULES_SCHEMA)['items']['properties'], unknown>>

let validator: ReturnType<Ajv['compile']> | undefined
const validate = (value: unknown): ErrorObject[] => {
  validator ??= new Ajv({ allErrors: false, allowUnionTypes: true }).compile(RULES_SCHEMA)
  return validator(value) ? [] : [...(validator.errors ?? [])]
}

/** `/2/keep-count` -> `rule 3, keep-count`. */
function where(error: ErrorObject): string {
  const [index, key] = error.instancePath.split('/').slice(1)
  if (index === undefined) return 'the rules'
  const rule = `rule ${Number(index) + 1}`
  return key === undefined ? rule : `${rule}, ${key.replace(/~1/g, '/').replace(/~0/g, '~')}`
}

function describe(error: ErrorObject): string {
  if (error.instancePath === '' && error.keyword === 'type') return 'they are not a YAML list'
  if (error.keyword === 'additionalProperties') {
    return `${where(error)} has an unknown key '${String(error.params.additionalProperty)}'`
  }
  if (error.keyword === 'required') return `${where(error)} has no ${String(error.params.missingProperty)}`
  if (error.keyword === 'pattern') return `${where(error)}: not ${DURATION_FORM}`
  if (error.keyword === 'enum') {
    return `${where(error)}: must be one of ${(error.params.allowedValues as string[]).join(', ')}`
  }
  return `${where(error)}: ${error.message ?? 'invalid'}`
}

function patterns(value: unknown, at: string, target: PatternTarget, allowEmpty: boolean): string[] {
  const list = typeof value === 'string' ? splitList(value) : (value as string[]).map((p) => p.trim()).filter(Boolean)
  if (list.length === 0 && !allowEmpty) throw new RulesError(`${at}: lists no pattern`)
  const problem = patternListProblem(list, target)
  if (problem) throw new RulesError(`${at}: ${problem}`)
  return list
}

function olderThan(value: unknown, at: string): number | undefined {
  if (value === '') return undefined
  try {
    return parseDuration(value as string)
  } catch (error) {
    throw new RulesError(`${at}: ${(error as Error).message}; expected ${DURATION_FORM}`)
  }
}

/**
 * Parses and validates the `rules` text. `defaults` (the plain inputs) fill the keys a rule leaves out. Rules are
 * named `rule 1`, `rule 2`, … in the order written. Throws `RulesError`; reads nothing, sends nothing.
 */
export function parseRules(text: string, defaults: Policy): Rule[] {
  let value: unknown
  try {
    value = parse(text, { maxAliasCount: 100 })
  } catch (error) {
    throw new RulesError(`they are not YAML (${(error as Error).message.split('\n')[0]})`)
  }
  const errors = validate(value)
  if (errors[0]) throw new RulesError(describe(errors[0]))
  return (value as RawRule[]).map((raw, i) => {
    const at = (key: string) => `rule ${i + 1}, ${key}`
    return {
      name: `rule ${i + 1}`,
      repositories: patterns(raw.repositories, at('repositories'), 'repository', false),
      keepCount: (raw['keep-count'] as number | undefined) ?? defaults.keepCount,
      keepTags: raw['keep-tags'] === undefined ? defaults.keepTags : patterns(raw['keep-tags'], at('keep-tags'), 'tag', true),
      deleteTags:
        raw['delete-tags'] === undefined ? defaults.deleteTags : patterns(raw['delete-tags'], at('delete-tags'), 'tag', true),
      olderThanMs: raw['older-than'] === undefined ? defaults.olderThanMs : olderThan(raw['older-than'], at('older-than')),
      ageFrom: (raw['age-from'] as Policy['ageFrom'] | undefined) ?? defaults.ageFrom,
      untagged: (raw.untagged as Policy['untagged'] | undefined) ?? defaults.untagged,
      keepUntagged: (raw['keep-untagged'] as number | undefined) ?? defaults.keepUntagged,
      allowDeleteAll: (raw['allow-delete-all'] as boolean | undefined) ?? defaults.allowDeleteAll,
      untag: (raw.untag as boolean | undefined) ?? defaults.untag,
    }
  })
}

/** The name of the one rule the plain inputs make when there is no `rules` input. */
export const PLAIN_RULE = 'inputs'

/** The plain inputs as one rule: what a run without a `rules` input applies to every repository it covers. */
export function plainRule(settings: Settings): Rule {
  return { name: PLAIN_RULE, repositories: settings.repositories, ...plainPolicy(settings) }
}

/** The policy inputs of the settings: the defaults of every rule. */
export function plainPolicy(settings: Settings): Policy {
  return {
    keepCount: settings.keepCount,
    keepTags: settings.keepTags,
    deleteTags: settings.deleteTags,
    olderThanMs: settings.olderThanMs,
    ageFrom: settings.ageFrom,
    untagged: settings.untagged,
    keepUntagged: settings.keepUntagged,
    allowDeleteAll: settings.allowDeleteAll,
    untag: settings.untag,
  }
}
