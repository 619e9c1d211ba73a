// The CLI's logger: every line goes to stderr (stdout carries only the report, or the JSON with --json). On a
// terminal, a status line under the log shows which step is running and for how long; it is redrawn in place and
// never written when stderr is a file or a pipe, where it would only be noise.
import type { Logger } from '../types.js'

export interface Stream {
  write(text: string): unknown
  isTTY?: boolean
}

export interface CliLogger extends Logger {
  /** Removes the status line and stops its timer. */
  close(): void
}

const FRAMES = ['|', '/', '-', '\\']
const CLEAR_LINE = '\r\u001b[K'

export function cliLogger(stderr: Stream, options: { debug: boolean; now?: () => number }): CliLogger {
  const now = options.now ?? Date.now
  const tty = stderr.isTTY === true
  const steps: { name: string; startedAt: number }[] = []
  let frame = 0
  let statusShown = false
  let timer: NodeJS.Timeout | undefined

  const status = (): string => {
    const step = steps.at(-1)
    if (!step) return ''
    const seconds = Math.floor((now() - step.startedAt) / 1000)
    return `${FRAMES[frame % FRAMES.length]} ${steps.map((s) => s.name).join(' > ')} (${seconds}s)`
  }
  const redraw = (): void => {
    if (!tty) return
    const text = status()
    stderr.write(`${statusShown ? CLEAR_LINE : ''}${text}`)
    statusShown = text !== ''
  }
  const line = (text: string): void => {
    if (tty && statusShown) stderr.write(CLEAR_LINE)
    statusShown = false
    stderr.write(`${text}\n`)
    redraw()
  }

  return {
    info: (m) => line(m),
    warning: (m) => line(`warning: ${m}`),
    error: (m) => line(`error: ${m}`),
    debug: (m) => {
      if (options.debug) line(`debug: ${m}`)
    },
    async group(name, body) {
      const startedAt = now()
      line(`== ${name}`)
      steps.push({ name, startedAt })
      if (tty && timer === undefined) {
        timer = setInterval(() => {
          frame++
          redraw()
        }, 250)
        timer.unref()
      }
      redraw()
      try {
        return await body()
      } finally {
        steps.pop()
        if (tty) line(`   ${name}: ${((now() - startedAt) / 1000).toFixed(1)}s`)
        if (steps.length === 0 && timer !== undefined) {
          clearInterval(timer)
          timer = undefined
        }
      }
    },
    close() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      if (tty && statusShown) stderr.write(CLEAR_LINE)
      statusShown = false
    },
  }
}
