// The collector's output in the log, without a line per blob: `registry garbage-collect` prints one line per manifest
// and blob it marks, and one per blob it deletes (24,000 lines, 2.4 MB, at 6,000 tags), which would push the report out
// of a job log that GitLab cuts at 4 MiB. Those lines go to debug and are counted; the others (repository names, the
// `N blobs marked, ...` total, warnings and errors) are shown, up to a limit. The whole output is still parsed.
import { formatCount, plural } from '../report/format.js'
import type { Logger } from '../types.js'
import type { OnLine } from './shell.js'

/** Lines about one manifest or blob: marking, eligible for deletion, and logrus' `Deleting blob:` on stderr. */
const PER_ITEM = /^\S+: marking (manifest|blob) |^(blob|manifest) eligible for deletion: |msg="Deleting (blob|manifest)/

export interface CollectorEcho {
  onLine: OnLine
  /** Says what was left out, once the command has ended. */
  finish(): void
}

export function collectorEcho(log: Logger, shown = 200): CollectorEcho {
  let perItem = 0
  let other = 0
  let hidden = 0
  return {
    onLine(_stream, line) {
      if (PER_ITEM.test(line)) {
        perItem++
        log.debug(line)
      } else if (++other > shown) {
        hidden++
        log.debug(line)
      } else {
        log.info(line)
      }
    },
    finish() {
      const left = [
        perItem > 0 ? `${formatCount(perItem)} per-blob and per-manifest ${perItem === 1 ? 'line' : 'lines'}` : '',
        hidden > 0 ? plural(hidden, 'other line') : '',
      ].filter(Boolean)
      if (left.length > 0) log.info(`(${left.join(' and ')} of the collector left out of the log; they are debug lines)`)
    },
  }
}
