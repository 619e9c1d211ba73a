// The command-line front door: flags and environment -> settings -> run -> a report on stdout. Returns the exit code:
// 0 success, 1 failure (including a run that finished with problems), 2 bad input (nothing was sent), 3 declined at
// the confirmation question (nothing was deleted).
import { createReadStream, readFileSync } from 'node:fs'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { InputError, parseSettings } from '../inputs.js'
import { EXIT_ON_SIGNAL } from '../interrupt.js'
import { redactingLogger, redactor, secretsOf } from '../redact.js'
import { toMarkdown } from '../report/markdown.js'
import { outputs } from '../report/outcome.js'
import { resultLine, toText } from '../report/text.js'
import { ProgressMeter, progressInterval, withProgress } from '../progress.js'
import { run } from '../run.js'
import { VERSION } from '../version.js'
import { addRulesFile, envName, parseCliArgs, rawInput, SECRET_INPUTS, UsageError } from './args.js'
import { toDotenv } from './dotenv.js'
import { helpText } from './help.js'
import type { Writable } from 'node:stream'
import { colorEnabled, palette } from './color.js'
import { Declined, terminalConfirm } from './confirm.js'
import { ciOf, cliLogger, type Stream } from './logger.js'

export interface CliIo {
  stdout: Writable
  stderr: Stream
  /** Where the answer to the confirmation question comes from; asked only when it and stderr are terminals. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
  now?: () => number
  /** Aborted by SIGINT/SIGTERM (src/interrupt.ts). */
  signal?: AbortSignal
}

export const EXIT = { ok: 0, failure: 1, badInput: 2, declined: 3 } as const

export async function cliMain(argv: readonly string[], io: CliIo): Promise<number> {
  const { stdout, stderr, env } = io
  // Redact the raw secrets before anything can print them, even an error about another flag.
  let redact = redactor(SECRET_INPUTS.map((i) => env[envName(i.name)] ?? '').filter((s) => s.length >= 4))
  const fail = (code: number, message: string): number => {
    stderr.write(`registry-prune: ${redact(message)}\n`)
    return code
  }

  let args
  let settings
  try {
    args = parseCliArgs(argv)
    if (args.help) {
      stdout.write(helpText(VERSION))
      return EXIT.ok
    }
    if (args.version) {
      stdout.write(`${VERSION}\n`)
      return EXIT.ok
    }
    addRulesFile(args, (path) => readFileSync(path, 'utf8'))
    settings = parseSettings(rawInput(args, env), env)
  } catch (error) {
    if (error instanceof UsageError) return fail(EXIT.badInput, error.message)
    if (error instanceof InputError) return fail(EXIT.badInput, `${error.message} (${whereSet(error.input)})`)
    throw error
  }
  redact = redactor([...secretsOf(settings), ...SECRET_INPUTS.map((i) => env[envName(i.name)] ?? '').filter((s) => s.length >= 4)])

  // An unwritable report path is found now, not after the deletions.
  for (const [flag, path] of [['summary-file', args.summaryFile], ['dotenv-file', args.dotenvFile]] as const) {
    if (path === undefined) continue
    try {
      await writeFile(path, '')
    } catch (error) {
      return fail(EXIT.badInput, `Cannot write --${flag} ${path}: ${(error as Error).message}. Expected a writable file path.`)
    }
  }

  const debug = env.REGISTRY_PRUNE_DEBUG === '1' || env.REGISTRY_PRUNE_DEBUG === 'true'
  const now = io.now ?? Date.now
  const paint = palette(colorEnabled(env, stderr))
  const meter = new ProgressMeter(now)
  const logger = cliLogger(stderr, {
    debug,
    now,
    status: () => meter.status(),
    quiet: args.quiet,
    color: paint,
    ci: ciOf(env),
  })
  const log = withProgress(redactingLogger(logger, redact), meter, { live: stderr.isTTY === true, intervalMs: progressInterval(env) })
  // Ask only where someone can answer: stdin and stderr both terminals. Elsewhere a run proceeds as it always did.
  const ask = !args.yes && io.stdin?.isTTY === true && stderr.isTTY === true
  const confirm = ask && io.stdin ? terminalConfirm(io.stdin, stderr, redact(settings.registry), paint, io.signal) : undefined
  let result
  try {
    result = await run(settings, {
      log,
      now,
      ...(confirm ? { confirm } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    })
  } catch (error) {
    logger.close()
    if (error instanceof Declined) return fail(error.signal ? EXIT_ON_SIGNAL[error.signal] : EXIT.declined, error.message)
    return fail(EXIT.failure, error instanceof Error ? error.message : String(error))
  }
  logger.close()
  const finishedAt = now()

  if (args.json) await printPlanFile(result.settings.planFile, stdout, redact)
  else if (args.quiet) stdout.write(`${redact(resultLine(result, { finishedAt }))}\n`)
  else stdout.write(redact(toText(result, { finishedAt, paint: palette(colorEnabled(env, stdout as { isTTY?: boolean })) })))
  try {
    if (args.summaryFile !== undefined) await writeFile(args.summaryFile, redact(toMarkdown(result, { finishedAt })))
    if (args.dotenvFile !== undefined) await writeFile(args.dotenvFile, redact(toDotenv(outputs(result))))
  } catch (error) {
    return fail(EXIT.failure, `Cannot write the report: ${(error as Error).message}`)
  }
  if (result.interrupted) {
    return fail(EXIT_ON_SIGNAL[result.interrupted], `interrupted by ${result.interrupted}:\n- ${result.failures.join('\n- ')}`)
  }
  if (result.failures.length > 0) {
    return fail(EXIT.failure, `finished with problems:\n- ${result.failures.join('\n- ')}`)
  }
  return EXIT.ok
}

/** Where the user set (or can set) an input, for the end of an error message. */
function whereSet(input: string): string {
  if (SECRET_INPUTS.some((i) => i.name === input)) return `environment variable ${envName(input)}`
  const file = input === 'rules' ? ', --rules-file' : ''
  return `flag --${input}${file} or environment variable ${envName(input)}`
}

/**
 * --json prints the plan file the run has just written (the same document: DECISIONS 12), not a second serialisation
 * of the run. Through the CLI's redactor too, a piece of whole lines at a time: the file is indented JSON, so no string
 * in it spans two lines, and no secret is split.
 */
async function printPlanFile(path: string, out: Writable, redact: (text: string) => string): Promise<void> {
  let rest = ''
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 })) {
    const text = rest + (chunk as string)
    const end = text.lastIndexOf('\n') + 1
    rest = text.slice(end)
    if (end > 0 && !out.write(redact(text.slice(0, end)))) await once(out, 'drain')
  }
  if (rest) out.write(redact(rest))
}
