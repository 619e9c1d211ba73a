// Command-line flags -> raw input values. Every input of `INPUTS` is a flag of the same name, except the secrets
// (DECISIONS 14): a command line is visible to other users (`ps`) and kept in shell history, so secrets come only from
// environment variables. Every other input may also come from the environment; a flag wins.
import { parseArgs } from 'node:util'
import { INPUTS, type InputSpec } from '../inputs.js'

/** Flags that only the CLI has: how it reports, not what it does. The parity test lists them too. */
export const CLI_ONLY_FLAGS = ['json', 'summary-file', 'dotenv-file', 'yes', 'quiet', 'help', 'version'] as const

/** Input flags: every non-secret input, by its input name. */
export const INPUT_FLAGS: readonly InputSpec[] = INPUTS.filter((i) => !i.secret)

export const SECRET_INPUTS: readonly InputSpec[] = INPUTS.filter((i) => i.secret)

/** `keep-count` -> `REGISTRY_PRUNE_KEEP_COUNT`. */
export function envName(input: string): string {
  return `REGISTRY_PRUNE_${input.toUpperCase().replace(/-/g, '_')}`
}

export const isBooleanInput = (input: InputSpec): boolean => input.kind === 'boolean'

/** A command line that cannot be used: exit code 2, like a bad input. `flag` is the flag to fix. */
export class UsageError extends Error {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(message)
    this.name = 'UsageError'
  }
}

export interface CliArgs {
  /** Input name -> raw value, for the inputs given as flags only. */
  flags: Map<string, string>
  json: boolean
  /** Delete without asking on a terminal. */
  yes: boolean
  /** Only errors and the one-line result. */
  quiet: boolean
  help: boolean
  version: boolean
  summaryFile: string | undefined
  dotenvFile: string | undefined
}

type Options = Record<string, { type: 'string' | 'boolean'; short?: string }>

/** The `parseArgs` option table; exported so the parity test reads the flags the parser really knows. */
export function cliOptions(): Options {
  const options: Options = {}
  for (const input of INPUT_FLAGS) options[input.name] = { type: isBooleanInput(input) ? 'boolean' : 'string' }
  options.json = { type: 'boolean' }
  options['summary-file'] = { type: 'string' }
  options['dotenv-file'] = { type: 'string' }
  options.yes = { type: 'boolean', short: 'y' }
  options.quiet = { type: 'boolean', short: 'q' }
  options.help = { type: 'boolean', short: 'h' }
  options.version = { type: 'boolean' }
  return options
}

const HELP_HINT = "Run 'registry-prune --help' for the flags."

/**
 * Parses the command line. Accepted forms: `--name value`, `--name=value`; for a boolean input a bare `--dry-run`
 * (true) or `--dry-run=true|false`. A flag given twice adds a line (list inputs take one pattern per line).
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const options = cliOptions()
  // Not strict: `--dry-run=false` is an error in strict mode, and our own messages say more than parseArgs' do.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true })
  const args: CliArgs = {
    flags: new Map(),
    json: false,
    yes: false,
    quiet: false,
    help: false,
    version: false,
    summaryFile: undefined,
    dotenvFile: undefined,
  }
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue
    if (token.kind === 'positional') {
      throw new UsageError(
        token.value,
        `Unexpected argument '${token.value}': registry-prune takes only flags, as --name=value or --name value. ` +
          HELP_HINT,
      )
    }
    const { name, rawName, value, inlineValue } = token
    const option = options[name]
    if (option === undefined) throw unknownFlag(rawName, name)
    if (option.type === 'boolean') {
      const text = value ?? 'true'
      if (name === 'json' || name === 'yes' || name === 'quiet' || name === 'help' || name === 'version') {
        if (!/^(true|false)$/i.test(text)) throw new UsageError(name, `Invalid --${name}=${text}. Expected --${name}.`)
        args[name] = text.toLowerCase() === 'true'
      } else {
        args.flags.set(name, text)
      }
      continue
    }
    if (value === undefined) {
      throw new UsageError(name, `Missing value for --${name}. Expected --${name}=<value> or --${name} <value>.`)
    }
    // `--keep-count --dry-run` almost always means a forgotten value, not a value that starts with a dash.
    if (!inlineValue && value.startsWith('-')) {
      throw new UsageError(
        name,
        `Missing value for --${name}: the next argument '${value}' looks like a flag. ` +
          `Expected --${name}=<value>; write --${name}=${value} if that is the value.`,
      )
    }
    if (name === 'summary-file') args.summaryFile = nonEmptyPath(name, value)
    else if (name === 'dotenv-file') args.dotenvFile = nonEmptyPath(name, value)
    else {
      const previous = args.flags.get(name)
      args.flags.set(name, previous === undefined ? value : `${previous}\n${value}`)
    }
  }
  return args
}

function nonEmptyPath(flag: string, value: string): string {
  if (value === '') throw new UsageError(flag, `Missing path for --${flag}. Expected --${flag}=<path>.`)
  return value
}

function unknownFlag(rawName: string, name: string): UsageError {
  const secret = SECRET_INPUTS.find((i) => i.name === name)
  if (secret) {
    return new UsageError(
      name,
      `--${name} is not a flag: a secret on the command line is visible to other users of this machine and stays ` +
        `in shell history. Set the environment variable ${envName(name)} instead.`,
    )
  }
  const near = closest(name, Object.keys(cliOptions()))
  const hint = near ? ` Did you mean --${near}?` : ''
  return new UsageError(name, `Unknown flag ${rawName}.${hint} ${HELP_HINT}`)
}

/** The known flag within two edits of a mistyped one, if any. */
function closest(name: string, known: string[]): string | undefined {
  let best: { flag: string; distance: number } | undefined
  for (const flag of known) {
    const distance = editDistance(name, flag)
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { flag, distance }
  }
  return best?.flag
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length]!
}

/**
 * The raw value of an input for `parseSettings`: the flag, else its environment variable, else undefined (the table
 * default applies). Secrets come only from the environment.
 */
export function rawInput(args: CliArgs, env: NodeJS.ProcessEnv): (name: string) => string | undefined {
  return (name) => args.flags.get(name) ?? env[envName(name)]
}
