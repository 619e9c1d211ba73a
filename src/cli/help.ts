// `--help`, made from the same input table as action.yml and the GitLab spec, so it cannot fall out of step.
import { OUTPUTS, type InputSpec } from '../inputs.js'
import { dotenvKey } from './dotenv.js'
import { envName, INPUT_FLAGS, isBooleanInput, SECRET_INPUTS } from './args.js'

const WIDTH = 100
const INDENT = 6

function wrap(text: string, indent: number): string[] {
  const lines: string[] = []
  let current = ''
  for (const word of text.split(/\s+/)) {
    if (current && indent + current.length + 1 + word.length > WIDTH) {
      lines.push(current)
      current = word
    } else current = current ? `${current} ${word}` : word
  }
  if (current) lines.push(current)
  return lines.map((line) => `${' '.repeat(indent)}${line}`)
}

function flagLine(input: InputSpec): string {
  const form = isBooleanInput(input)
    ? `--${input.name}[=true|false]`
    : `--${input.name}=<${input.kind === 'choice' ? (input.options ?? []).join('|') : 'value'}>`
  const value = input.required ? 'required' : input.default === '' ? 'default: empty' : `default: ${input.default}`
  return `  ${form}  (${value}; env ${envName(input.name)})`
}

export function helpText(version: string): string {
  const lines = [
    `registry-prune ${version}: prune stale images from a container registry (CNCF Distribution and other v2`,
    'registries), safely, and report the bytes reclaimed. Start with --dry-run.',
    '',
    'Usage: registry-prune --registry=https://registry.example.com [flags]',
    '       REGISTRY_PRUNE_PASSWORD=... registry-prune --registry=... --username=ci --keep-count=5 --dry-run',
    '',
    'Flags (the same names as the GitHub Action and GitLab component inputs). Each can also be set by its',
    'environment variable; a flag wins. A flag given twice adds a line (list inputs take one pattern per line).',
    '',
  ]
  for (const input of INPUT_FLAGS) lines.push(flagLine(input), ...wrap(input.description, INDENT))
  lines.push('', 'Secrets, only from the environment (a command line is visible to other users and kept in history):')
  for (const input of SECRET_INPUTS) lines.push(`  ${envName(input.name)}`, ...wrap(input.description, INDENT))
  lines.push(
    '',
    'Output:',
    '  --json',
    ...wrap('Print the JSON plan and result (the plan-file format) on stdout, and nothing else there.', INDENT),
    '  --summary-file=<path>',
    ...wrap('Also write the Markdown summary (the GitHub job summary, the GitLab summary artifact) to <path>.', INDENT),
    '  --dotenv-file=<path>',
    ...wrap(
      `Also write the outputs as a GitLab dotenv report: ${OUTPUTS.map((o) => dotenvKey(o.name)).join(', ')}.`,
      INDENT,
    ),
    '  --quiet, -q',
    ...wrap('Print only errors (stderr) and the one-line result (stdout) instead of the log and the report.', INDENT),
    '',
    'Confirmation:',
    '  --yes, -y',
    ...wrap(
      'Delete without asking. On a terminal (stdin and stderr), a run that would delete first shows how many images, ' +
        'repositories and bytes, and asks; without a terminal it never asks.',
      INDENT,
    ),
    '  --help, -h   this text',
    '  --version    the version',
    '',
    'The report goes to stdout, the log to stderr: on a terminal with a live progress line, elsewhere with a',
    'progress line every 10 s and a line with the figures of each phase. Colour on a terminal; NO_COLOR=1 turns it',
    'off, FORCE_COLOR=1 on. REGISTRY_PRUNE_DEBUG=1 adds debug lines (one per deletion) to the log.',
    '',
    'Exit codes: 0 success; 1 failure (the run failed, or finished with problems such as skipped',
    'repositories or failed deletions); 2 bad input (a flag or a value that cannot be used; nothing was sent);',
    '3 the deletion was not confirmed at the question (nothing was deleted).',
  )
  return `${lines.join('\n')}\n`
}
