// `gc-command`, read the way the shell on the host will read it (DECISIONS 28): the one place that parses it, checks
// the collector's flags, and places the flags the tool adds (`--dry-run`, and the listing's `--delete-untagged`).
import { parse } from 'shell-quote'

/** The collector's subcommand: the word that marks an invocation of it. */
const SUBCOMMAND = 'garbage-collect'
/** Marks a shell expansion (`$X`, `${X}`, `$(…)`) inside a word: its value on the host is unknown here. */
const EXPANSION = '\u0000'

/** Operators that end one command and start another (or run it elsewhere: a pipe, the background, a subshell). */
const SEPARATORS = new Set([';', '&', '&&', '||', '|', '|&', ';;', ';&', ';;&', '(', ')', '<(', '>('])

/** A word as the shell will pass it, or an operator. `expanded`: the host's shell substitutes part of it. */
type Token = { word: string; expanded: boolean; pattern: boolean } | { op: string }

/** One invocation of the collector: the simple command that holds the word `garbage-collect`. */
interface Invocation {
  /** How many quoted scripts deep (`sh -c '…'`, `ssh host '…'`) the command sits; 0 at the top. */
  depth: number
  /** The words of its simple command (redirections left out). */
  words: Token[]
  /** Where `garbage-collect` is in `words`. */
  at: number
  /** Words that follow the quoted script it sits in, at the outer levels: `ssh` joins them onto the script. */
  trailing: Token[]
}

interface Reading {
  invocations: Invocation[]
  /** Separators found at the top and in every script that holds an invocation. */
  separators: string[]
  /** Expanded words found there, as written (for messages). */
  expansions: string[]
}

export class GcCommandError extends Error {
  override name = 'GcCommandError'
}

/**
 * Joins line continuations, turns newlines that end a command into `;` and drops comments, the way sh does; shell-quote
 * reads a newline as a space and a `#` as the end of the whole text, which would hide the commands after them.
 */
function lines(script: string): string {
  let out = ''
  let quote: "'" | '"' | "$'" | undefined
  for (let i = 0; i < script.length; i++) {
    const c = script[i] as string
    const next = script[i + 1]
    if (quote === "'") {
      if (c === "'") quote = undefined
      out += c
    } else if (c === '\\' && next === '\n' && quote !== "$'") {
      i++
    } else if (c === '\\') {
      out += c + (next ?? '')
      i++
    } else if (quote) {
      if ((quote === '"' && c === '"') || (quote === "$'" && c === "'")) quote = undefined
      out += c
    } else if (c === "'" || c === '"') {
      quote = c
      out += c
    } else if (c === '$' && next === "'") {
      quote = "$'"
      out += "$'"
      i++
    } else if (c === '\n' || c === '\r') {
      out += ' ; '
    } else if (c === '#' && (out === '' || /[\s;&|()<>]$/.test(out))) {
      while (i + 1 < script.length && script[i + 1] !== '\n') i++
    } else {
      out += c
    }
  }
  return out
}

function tokens(script: string): Token[] {
  let entries: ReturnType<typeof parse>
  try {
    entries = parse(lines(script), (name) => `${EXPANSION}${name}${EXPANSION}`)
  } catch (error) {
    throw new GcCommandError(`the shell cannot read it (${(error as Error).message})`)
  }
  const out: Token[] = []
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as (typeof entries)[number]
    if (typeof entry === 'string') {
      // shell-quote reads `$(cmd)` as `$`, `(`, cmd, `)`: keep the command substitution one (expanded) word.
      if (entry.endsWith(`${EXPANSION}${EXPANSION}`) && isOp(entries[i + 1], '(')) {
        let depth = 0
        do {
          i++
          if (isOp(entries[i], '(')) depth++
          if (isOp(entries[i], ')')) depth--
        } while (depth > 0 && i < entries.length - 1)
        out.push(wordToken(`${entry}(…)`, false))
      } else {
        out.push(wordToken(entry, false))
      }
    } else if ('pattern' in entry) out.push(wordToken(entry.pattern, true))
    else if ('op' in entry) out.push({ op: entry.op })
    // Comments are gone already (see `lines`); the lookup returns strings, never objects.
  }
  return out
}

const isOp = (entry: unknown, op: string): boolean =>
  typeof entry === 'object' && entry !== null && (entry as { op?: string }).op === op

function wordToken(word: string, pattern: boolean): Token {
  // Backticks are command substitution; braces with a comma or `..` are bash's brace expansion.
  const expanded = word.includes(EXPANSION) || word.includes('`') || /\{[^}]*(,|\.\.)[^}]*\}/.test(word)
  return { word, expanded, pattern }
}

const isWord = (t: Token): t is Extract<Token, { word: string }> => 'word' in t

/** A word as the user wrote it, for messages: `$NAME` where the shell substitutes. */
function shown(t: Token): string {
  if (!isWord(t)) return t.op
  return t.word.replace(new RegExp(`${EXPANSION}([^${EXPANSION}]*)${EXPANSION}`, 'g'), (_m, name: string) => `$${name}`)
}

/** Splits tokens into simple commands, leaving redirections (`2>&1`, `> log`) and their targets out. */
function simpleCommands(list: Token[]): { commands: Token[][]; separators: string[] } {
  const commands: Token[][] = [[]]
  const separators: string[] = []
  for (let i = 0; i < list.length; i++) {
    const t = list[i] as Token
    if (isWord(t)) (commands.at(-1) as Token[]).push(t)
    else if (SEPARATORS.has(t.op)) {
      separators.push(t.op)
      commands.push([])
    } else if (list[i + 1] && isWord(list[i + 1] as Token)) i++ // a redirection: skip its target
  }
  return { commands: commands.filter((c) => c.length > 0), separators }
}

/**
 * Reads a script into the collector invocations it holds, also in every word the shell on the host could run as a
 * script (`sh -c '…'`, `ssh host '…'`, `eval "…"`, one word of several): a quoted script's own quoting is undone too,
 * so `'registry garb""age-collect'` is found. Separators and expansions count at the top and in the scripts that hold
 * an invocation.
 */
function read(script: string, depth = 0, trailing: Token[] = []): Reading {
  const { commands, separators } = simpleCommands(tokens(script))
  const reading: Reading = { invocations: [], separators: [], expansions: [] }
  const expansions: string[] = []
  for (const words of commands) {
    for (const [at, t] of words.entries()) {
      if (!isWord(t)) continue
      if (t.expanded) expansions.push(shown(t))
      if (t.word === SUBCOMMAND) {
        reading.invocations.push({ depth, words, at, trailing })
      } else if (!t.expanded && /[\s'"\\;&|()<>]/.test(t.word)) {
        let nested: Reading
        try {
          nested = read(t.word, depth + 1, [...words.slice(at + 1), ...trailing])
        } catch {
          continue // not something a shell could run: a plain argument
        }
        if (nested.invocations.length === 0) continue
        reading.invocations.push(...nested.invocations)
        reading.separators.push(...nested.separators)
        reading.expansions.push(...nested.expansions)
      }
    }
  }
  if (depth === 0 || reading.invocations.length > 0) {
    reading.separators.unshift(...separators)
    reading.expansions.unshift(...expansions)
  }
  return reading
}

/**
 * The words the collector takes as its own: every word after `garbage-collect`, and the flags right before it (its
 * parser also reads `registry --delete-untagged=true garbage-collect`), back to the first plain word (the program).
 */
function collectorWords(inv: Invocation): Token[] {
  const before: Token[] = []
  for (let i = inv.at - 1; i >= 0; i--) {
    const t = inv.words[i] as Extract<Token, { word: string }>
    if (!t.word.startsWith('-') && !t.expanded && !t.pattern) break
    before.unshift(t)
  }
  return [...before, ...inv.words.slice(inv.at + 1), ...inv.trailing]
}

/** Which of the collector's own flags a word is, in any of the spellings its flag parser accepts. */
function collectorFlag(word: string): 'delete-untagged' | 'dry-run' | undefined {
  if (!word.startsWith('-') || word === '-' || word === '--') return undefined
  const name = word.split('=')[0] as string
  if (name.startsWith('--')) {
    if (name === '--delete-untagged') return 'delete-untagged'
    if (name === '--dry-run') return 'dry-run'
    return undefined
  }
  // A bundle of short flags: `-dm`, `-md`, `-m=true`.
  if (name.includes('m')) return 'delete-untagged'
  if (name.includes('d')) return 'dry-run'
  return undefined
}

const WHY_DELETE_UNTAGGED =
  'it makes the collector delete untagged manifests, and on Distribution 2.x that deletes the untagged children of ' +
  'every multi-arch (multi-platform) image and untagged OCI referrers in the whole registry: the index tag still ' +
  'resolves, but no platform can be pulled. Remove it; use `untagged: delete` to remove untagged images safely ' +
  'through the API'
const WHY_DRY_RUN =
  'the tool owns the collector\'s dry run: it adds --dry-run itself in a dry run (dry-run: true), and in a real run ' +
  'the flag would make it report blobs as deleted that the collector did not delete. Remove it'

/** Why the collector's words are refused (DECISIONS 1, 28), or undefined. */
function flagProblem(reading: Reading): string | undefined {
  for (const inv of reading.invocations) {
    for (const t of collectorWords(inv)) {
      if (!isWord(t)) continue
      if (t.expanded || t.pattern) {
        return `'${shown(t)}' next to garbage-collect is expanded by the shell on the host (a variable, a command ` +
          'substitution or a pattern), so the collector\'s flags cannot be checked. Write it out'
      }
      const flag = collectorFlag(t.word)
      if (flag === 'delete-untagged') return `'${t.word}' (--delete-untagged, -m) is refused: ${WHY_DELETE_UNTAGGED}`
      if (flag === 'dry-run') return `'${t.word}' (--dry-run, -d) is refused: ${WHY_DRY_RUN}`
    }
  }
  return undefined
}

/**
 * Why a dry run cannot be guaranteed for this command, or undefined. The rule: one command (nothing chained), no `$`
 * or backtick anywhere, one `garbage-collect` word (at the top or in one quoted script that obeys the same rule). Then
 * the only program the command runs gets `--dry-run` as the collector's first argument, and nothing can follow it
 * that turns it off (such flags are refused).
 */
function guardProblem(reading: Reading, text: string): string | undefined {
  const n = reading.invocations.length
  if (n === 0) {
    return 'a dry run adds --dry-run right after the word garbage-collect, and this command has no such word (a ' +
      'wrapper script cannot be checked)'
  }
  if (reading.separators.length > 0) {
    return `it chains commands ('${reading.separators[0]}'), and a dry run can only vouch for one command: run the ` +
      'collector alone (put other steps in gc-before-command / gc-after-command)'
  }
  if (n > 1) return `it runs garbage-collect ${n} times, and a dry run can only vouch for one invocation`
  // Anywhere, even in a quoted argument that holds no collector word: a script the host's shell builds from it at run
  // time cannot be read here.
  if (reading.expansions.length > 0 || /[$`]/.test(text)) {
    const shownAs = reading.expansions[0] ?? (text.includes('`') ? '`' : '$')
    return `'${shownAs}' is expanded by the shell on the host, so what a dry run would run cannot be checked: write ` +
      'it out'
  }
  return undefined
}

function readOrRefuse(command: string): Reading {
  if (!command.trim()) {
    throw new GcCommandError('it is empty: give the collector command, e.g. `registry garbage-collect ' +
      '/etc/docker/registry/config.yml`')
  }
  const reading = read(command)
  const problem = flagProblem(reading)
  if (problem) throw new GcCommandError(problem)
  return reading
}

/**
 * Checks `gc-command` before any request: the collector's own flags (every run) and, for a dry run, that `--dry-run`
 * can be guaranteed. Throws `GcCommandError` with the reason.
 */
export function checkGcCommand(command: string, dryRun: boolean): void {
  placeFlags(command, { dryRun })
}

export interface CollectorFlags {
  /** `--dry-run`: the collector deletes nothing. */
  dryRun?: boolean
  /** `--delete-untagged`: only with `dryRun`, for the tool's own read-only listing of untagged manifests. */
  deleteUntagged?: boolean
}

const sameWords = (a: Token[], b: Token[]): boolean =>
  a.length === b.length && a.every((t, i) => JSON.stringify(t) === JSON.stringify(b[i]))

/**
 * The command to run: `gc-command` with the given collector flags right after `garbage-collect`, where the
 * collector reads them through any wrapper (`sh -c '…'`, `docker exec …`). `collectorCommand(command, true)` is the
 * dry run (DECISIONS 17). Throws `GcCommandError` for a command the inputs would refuse.
 */
export function collectorCommand(command: string, flags: boolean | CollectorFlags): string {
  try {
    return placeFlags(command, typeof flags === 'boolean' ? { dryRun: flags } : flags)
  } catch (error) {
    if (!(error instanceof GcCommandError)) throw error
    throw new GcCommandError(`gc-command '${command}' is refused: ${error.message}.`)
  }
}

function placeFlags(command: string, { dryRun = false, deleteUntagged = false }: CollectorFlags): string {
  if (deleteUntagged && !dryRun) throw new GcCommandError('--delete-untagged is only ever added with --dry-run')
  const reading = readOrRefuse(command)
  const added = [...(dryRun ? ['--dry-run'] : []), ...(deleteUntagged ? ['--delete-untagged'] : [])]
  if (added.length === 0) return command
  const problem = guardProblem(reading, command)
  if (problem) throw new GcCommandError(`it cannot be made safe for a dry run: ${problem}`)
  const inv = reading.invocations[0] as Invocation
  const expected = [...inv.words]
  expected.splice(inv.at + 1, 0, ...added.map((word) => wordToken(word, false)))
  // Place the flags after each `garbage-collect` in the text, and keep the placement that the shell reads back as
  // exactly the same command with the flags right after the word (not one inside quotes that glue them to it).
  const at = /(?<=^|[\s'"])garbage-collect(?=$|[\s'";&|)])/g
  for (const match of command.matchAll(at)) {
    const end = match.index + SUBCOMMAND.length
    const candidate = `${command.slice(0, end)} ${added.join(' ')}${command.slice(end)}`
    const back = read(candidate)
    const placed = back.invocations[0]
    if (
      back.invocations.length === 1 && !guardProblem(back, candidate) && placed &&
      placed.depth === inv.depth && placed.at === inv.at && sameWords(placed.words, expected) &&
      sameWords(placed.trailing, inv.trailing)
    ) {
      return candidate
    }
  }
  throw new GcCommandError('it cannot be made safe for a dry run: --dry-run cannot be placed right after garbage-collect ' +
    '(write the word garbage-collect on its own, without quotes around it alone)')
}
