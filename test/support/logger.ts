// A Logger that keeps what it is told, `level: message` per line, for tests that assert on the log.
import type { Logger } from '../../src/types.js'

export function linesLogger(lines: string[] = []): Logger & { lines: string[] } {
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => {},
    group: (_name, body) => body(),
  }
}
