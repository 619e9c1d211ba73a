// Pattern lists (repositories, keep-tags, delete-tags): minimatch globs, or regular expressions written `/…/` or
// `/…/i` (DECISIONS 30). Regular expressions run on RE2 (re2js): linear time whatever the user writes, so a pattern
// from an input can never take exponential time on a name, as a backtracking RegExp could.
import { braceExpand, Minimatch } from 'minimatch'
import { RE2JS } from 're2js'
import { globMatcher, hasGlobMagic } from './globs.js'

export type PatternTarget = 'repository' | 'tag'

/** `/body/` or `/body/i`; a glob never starts with `/` (no repository name or tag does). */
const REGEX_ENTRY = /^\/(.+)\/(i?)$/s

const MAX_PATTERNS = 1000
const MAX_PATTERN_LENGTH = 256
const MAX_EXPANSIONS = 256
// distribution-spec: path components of lower-case alphanumerics joined by `.`, `_`, `__` or dashes, split by `/`.
export const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/
const TAG_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/
const PATTERN_CHARS: Record<PatternTarget, RegExp> = {
  repository: /[^a-z0-9._/*?[\]{}()!+@|,^\\-]/,
  tag: /[^A-Za-z0-9._*?[\]{}()!+@|,^\\-]/,
}

export const PATTERN_FORM: Record<PatternTarget, string> = {
  repository:
    'globs or /regular expressions/ over repository names separated by newlines or commas, e.g. team/** or ' +
    '!team/tmp-* or /team\\/app-[0-9]+/',
  tag: 'globs or /regular expressions/ over tag names separated by newlines or commas, e.g. latest, v*, /v\\d+\\.\\d+/',
}

const stripNegation = (pattern: string): string => (pattern.startsWith('!') ? pattern.slice(1) : pattern)

/** The compiled regular expression of a `/…/` entry (without `!`), or undefined for a glob. Throws on bad syntax. */
function compileRegex(body: string): RE2JS | undefined {
  const m = REGEX_ENTRY.exec(body)
  if (!m) return undefined
  return RE2JS.compile(m[1] as string, m[2] === 'i' ? RE2JS.CASE_INSENSITIVE : 0)
}

export const isRegexEntry = (pattern: string): boolean => REGEX_ENTRY.test(stripNegation(pattern))

/**
 * A test of names against a pattern list, compiled once: true when a name matches at least one include and no
 * `!exclude`. Regular expressions match the whole name. Only excludes = everything but those; empty = nothing.
 */
export function patternMatcher(patterns: readonly string[]): (name: string) => boolean {
  const compile = (entry: string): ((name: string) => boolean) => {
    const re = compileRegex(entry)
    return re ? (name) => re.matches(name) : globMatcher([entry])
  }
  const includes = patterns.filter((p) => !p.startsWith('!')).map(compile)
  const excludes = patterns.filter((p) => p.startsWith('!')).map((p) => compile(p.slice(1)))
  return (name) => {
    if (excludes.some((test) => test(name))) return false
    if (includes.length === 0) return excludes.length > 0
    return includes.some((test) => test(name))
  }
}

/**
 * True when a pattern can stand for names other than its own text, so the names must be listed (`_catalog`)
 * rather than used directly (DECISIONS 10): every regular expression, and globs with magic.
 */
export function needsListing(pattern: string): boolean {
  return isRegexEntry(pattern) || hasGlobMagic(pattern)
}

/**
 * Splits a list input (DECISIONS 5): newlines separate; a comma separates too, except inside `{}` (so `{a,b}` stays
 * one glob, and `/v\d{1,3}/` one regular expression); surrounding spaces and blank items are dropped.
 */
export function splitList(text: string): string[] {
  const items: string[] = []
  for (const line of text.split('\n')) {
    let depth = 0
    let start = 0
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]
      if (ch === '\\') i++
      else if (ch === '{') depth++
      else if (ch === '}' && depth > 0) depth--
      else if (ch === ',' && depth === 0) {
        items.push(line.slice(start, i))
        start = i + 1
      }
    }
    items.push(line.slice(start))
  }
  return items.map((item) => item.trim()).filter((item) => item !== '')
}

/** What is wrong with a list of patterns as a whole or with one of its entries (named), or undefined. */
export function patternListProblem(patterns: readonly string[], target: PatternTarget): string | undefined {
  if (patterns.length > MAX_PATTERNS) return `it lists more than ${MAX_PATTERNS} patterns`
  for (const pattern of patterns) {
    const reason = patternProblem(pattern, target)
    if (reason) return reason
  }
  return undefined
}

/** What is wrong with one entry, or undefined. */
export function patternProblem(pattern: string, target: PatternTarget): string | undefined {
  const body = stripNegation(pattern)
  if (body === '') return "'!' needs a pattern after it"
  if (body.startsWith('!')) return `'${pattern}' negates twice`
  if (body.length > MAX_PATTERN_LENGTH) return `a pattern is longer than ${MAX_PATTERN_LENGTH} characters`
  if (REGEX_ENTRY.test(body)) return regexProblem(pattern, body)
  if (body.startsWith('/')) {
    return `'${pattern}' starts with / but is not a regular expression: write /expression/ or /expression/i`
  }
  return globProblem(pattern, body, target)
}

function regexProblem(pattern: string, body: string): string | undefined {
  try {
    compileRegex(body)
  } catch (error) {
    return `'${pattern}' is not a valid regular expression (RE2 syntax: ${(error as Error).message})`
  }
  return undefined
}

function globProblem(pattern: string, body: string, target: PatternTarget): string | undefined {
  if (/\s/.test(body)) return `'${pattern}' contains a space`
  const bad = PATTERN_CHARS[target].exec(body)?.[0]
  if (bad !== undefined) {
    const hint = target === 'repository' && /[A-Z]/.test(bad) ? ' (repository names are lower case)' : ''
    return `'${bad}' cannot appear in a ${target} name${hint}`
  }
  const structure = globStructureProblem(body)
  if (structure) return `'${pattern}' ${structure}`
  if (!hasGlobMagic(body)) {
    if (target === 'repository' && (body.length > 255 || !REPOSITORY_NAME.test(body))) {
      return `'${body}' is not a valid repository name (lower-case letters and digits, joined by . _ __ - or /)`
    }
    if (target === 'tag' && !TAG_NAME.test(body)) {
      return `'${body}' is not a valid tag (letters, digits, _ . -, not starting with . or -, at most 128)`
    }
    return undefined
  }
  if (braceExpand(body).length > MAX_EXPANSIONS) {
    return `'${pattern}' expands to more than ${MAX_EXPANSIONS} patterns`
  }
  try {
    new Minimatch(body)
  } catch (error) {
    return `'${pattern}' is not a valid glob (${(error as Error).message})`
  }
  return undefined
}

/**
 * Brackets, braces and parentheses must pair up: minimatch reads an unpaired one as a literal character, which no
 * repository or tag name contains, so the pattern would silently match nothing (or, as an exclude, exclude nothing).
 */
function globStructureProblem(body: string): string | undefined {
  let braces = 0
  let parens = 0
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]
    if (ch === '\\') {
      if (i === body.length - 1) return 'ends with a lone backslash'
      i++
    } else if (ch === '[') {
      const end = classEnd(body, i)
      if (end < 0) return 'has a [ without a matching ]'
      const problem = classProblem(body.slice(i + 1, end))
      if (problem) return problem
      i = end
    } else if (ch === ']') return 'has a ] without a matching ['
    else if (ch === '{') braces++
    else if (ch === '}' && --braces < 0) return 'has a } without a matching {'
    else if (ch === '(') parens++
    else if (ch === ')' && --parens < 0) return 'has a ) without a matching ('
  }
  if (braces > 0) return 'has a { without a matching }'
  if (parens > 0) return 'has a ( without a matching )'
  return undefined
}

/** Index of the `]` closing the class opened at `open`, or -1. A `]` right after `[` or `[!` is a member. */
function classEnd(body: string, open: number): number {
  let i = open + 1
  if (body[i] === '!' || body[i] === '^') i++
  if (body[i] === ']') i++
  for (; i < body.length; i++) {
    if (body[i] === '\\') i++
    else if (body[i] === ']') return i
  }
  return -1
}

function classProblem(inner: string): string | undefined {
  const members = inner.replace(/^[!^]/, '')
  for (let i = 0; i + 2 < members.length; i++) {
    if (members[i + 1] === '-' && members[i]! > members[i + 2]!) {
      return `has a reversed range ${members[i]}-${members[i + 2]}`
    }
  }
  return undefined
}
