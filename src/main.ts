// The GitHub Action front door: inputs from `INPUT_*`, logs in groups, the job summary and step outputs.
// As in actions/typescript-action, this module only exports `run()` and index.ts calls it, so tools that import the
// entry module and call `run` themselves (`npx @github/local-action . src/main.ts .env`) run the Action too.
import * as core from '@actions/core'
import { context } from '@actions/github'
import { INPUTS, parseSettings } from './inputs.js'
import { EXIT_ON_SIGNAL, interruptOnSignals, type Interrupt } from './interrupt.js'
import { redactingLogger, redactor, secretsOf } from './redact.js'
import { ProgressMeter, progressInterval, withProgress } from './progress.js'
import { toMarkdown } from './report/markdown.js'
import { outputs } from './report/outcome.js'
import { run as prune } from './run.js'
import type { Logger } from './types.js'

const githubLogger: Logger = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  error: (m) => core.error(m),
  debug: (m) => core.debug(m),
  group: (name, body) => core.group(name, body),
}

export async function run(): Promise<void> {
  // Mask secrets before anything can print them, even an error about another input.
  const rawSecrets = INPUTS.filter((i) => i.secret).map((i) => core.getInput(i.name))
  for (const secret of rawSecrets) if (secret) core.setSecret(secret)
  let redact = redactor(rawSecrets.filter(Boolean))
  let interrupt: Interrupt | undefined
  try {
    // The runner sets every input from action.yml's defaults; an unset variable (a local run) means "the default",
    // while an explicitly empty one (`keep-tags: ''`) is a value of its own.
    const given = (name: string): string | undefined =>
      process.env[`INPUT_${name.toUpperCase()}`] === undefined ? undefined : core.getInput(name)
    const settings = parseSettings(given, process.env)
    const secrets = secretsOf(settings)
    for (const secret of secrets) core.setSecret(secret)
    redact = redactor(secrets)
    interrupt = interruptOnSignals((message) => core.warning(message))
    // Phases stay in the main log with a progress line every 10 s; only detail (the collector's output) is grouped.
    const log = withProgress(redactingLogger(githubLogger, redact), new ProgressMeter(Date.now), {
      live: false,
      intervalMs: progressInterval(process.env),
    })
    const result = await prune(settings, { log, now: Date.now, signal: interrupt.signal })

    const footer = context.runId ? `\n<sub>${context.workflow} run #${context.runNumber}</sub>\n` : ''
    await core.summary.addRaw(redact(toMarkdown(result, { finishedAt: Date.now() }) + footer)).write()
    for (const [name, value] of Object.entries(outputs(result))) core.setOutput(name, value)
    if (result.interrupted) {
      core.setFailed(redact(`registry-prune was interrupted by ${result.interrupted}:\n- ${result.failures.join('\n- ')}`))
      // Reads and a collector the run stopped waiting for must not keep the job alive until it is killed.
      process.exit(EXIT_ON_SIGNAL[result.interrupted])
    }
    if (result.failures.length > 0) {
      core.setFailed(redact(`registry-prune finished with problems:\n- ${result.failures.join('\n- ')}`))
    }
  } catch (error) {
    core.setFailed(redact(error instanceof Error ? error.message : String(error)))
  } finally {
    interrupt?.dispose()
  }
}
