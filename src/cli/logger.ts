// The CLI's logger: every line goes to stderr (stdout carries only the report, or the JSON with --json). On a
// terminal, a status line under the log shows the phase's progress (src/progress.ts); it is redrawn in place and never
// written when stderr is a file or a pipe, where progress comes as plain lines instead. Groups (the collapsed detail,
// such as the collector's output) become a GitLab section or a GitHub group when the CLI runs in those CIs.
import type { Logger } from '../types.js'
import { palette, type Palette } from './color.js'

export interface Stream {
  write(text: string): unknown
  isTTY?: boolean
}

export interface CliLogger extends Logger {
  /** Removes the status line and stops its timer. */
  close(): void
}

/** Where the CLI runs, for the form of its collapsed groups. */
export type Ci = 'gitlab' | 'github' | undefined

export function ciOf(env: NodeJS.ProcessEnv): Ci {
  // gitlab-ci-local (which runs pipelines locally and renders sections as GitLab does) sets GITLAB_CI=false.
  if (env.GITLAB_CI === 'true' || (env.GITLAB_CI === 'false' && env.CI_JOB_ID !== undefined)) return 'gitlab'
  if (env.GITHUB_ACTIONS === 'true') return 'github'
  return undefined
}

export interface CliLoggerOptions {
  debug: boolean
  now?: () => number
  /** The live status (the progress of the phase under way); drawn on a terminal only. */
  status?: () => string
  /** Only errors. */
  quiet?: boolean
  color?: Palette
  ci?: Ci
}

const FRAMES = ['|', '/', '-', '\\']
const CLEAR_LINE = '\r\u001b[K'

export function cliLogger(stderr: Stream, options: CliLoggerOptions): CliLogger {
  const now = options.now ?? Date.now
  const tty = stderr.isTTY === true
  const paint = options.color ?? palette(false)
  const quiet = options.quiet === true
  let frame = 0
  let statusShown = false
  let sections = 0
  let timer: NodeJS.Timeout | undefined

  const redraw = (): void => {
    if (!tty || quiet || !options.status) return
    const text = options.status()
    if (!text && !statusShown) return
    stderr.write(`${statusShown ? CLEAR_LINE : ''}${text ? `${FRAMES[frame % FRAMES.length]} ${text}` : ''}`)
    statusShown = text !== ''
  }
  const line = (text: string): void => {
    if (tty && statusShown) stderr.write(CLEAR_LINE)
    statusShown = false
    stderr.write(`${text}\n`)
    redraw()
  }
  if (tty && !quiet && options.status) {
    timer = setInterval(() => {
      frame++
      redraw()
    }, 250)
    timer.unref()
  }

  return {
    info: (m) => {
      if (!quiet) line(m.startsWith('== ') ? paint.bold(m) : m)
    },
    warning: (m) => {
      if (!quiet) line(`${paint.yellow('warning:')} ${m}`)
    },
    error: (m) => line(`${paint.red('error:')} ${m}`),
    debug: (m) => {
      if (options.debug && !quiet) line(paint.dim(`debug: ${m}`))
    },
    async group(name, body) {
      if (quiet) return body()
      const title = name.replace(/[\r\n]+/g, ' ')
      if (options.ci === 'gitlab') {
        // https://docs.gitlab.com/ci/jobs/job_logs/#custom-collapsible-sections
        const id = `registry_prune_${++sections}`
        const stamp = (): number => Math.floor(now() / 1000)
        line(`\u001b[0Ksection_start:${stamp()}:${id}[collapsed=true]\r\u001b[0K${title}`)
        try {
          return await body()
        } finally {
          line(`\u001b[0Ksection_end:${stamp()}:${id}\r\u001b[0K`)
        }
      }
      if (options.ci === 'github') {
        line(`::group::${title}`)
        try {
          return await body()
        } finally {
          line('::endgroup::')
        }
      }
      line(paint.dim(`-- ${title}`))
      return body()
    },
    close() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      if (tty && statusShown) stderr.write(CLEAR_LINE)
      statusShown = false
    },
  }
}
