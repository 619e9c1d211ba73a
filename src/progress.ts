// Progress of a run, for people watching it: stages count (`log.progress?.tick('tags')`), this module turns the counts
// into words. On a terminal the CLI shows `status()` in a line redrawn in place; elsewhere (CI logs) `withProgress`
// prints a plain line every interval, so a long run's log always shows where it is, and one line with the figures at
// the end of each phase.
import { formatCount, formatDuration, plural } from './report/format.js'
import type { Logger, Progress, ProgressCounter } from './types.js'

/** How often a plain progress line is printed when nobody sees a live line. */
export const PROGRESS_INTERVAL_MS = 10_000

type Counts = Record<ProgressCounter, number>
const zero = (): Counts => ({ 'repositories-total': 0, repositories: 0, tags: 0, 'deletions-total': 0, deletions: 0 })

export class ProgressMeter implements Progress {
  private readonly counts = zero()
  private phase: { name: string; startedAt: number; at: Counts } | undefined

  constructor(private readonly now: () => number) {}

  tick(counter: ProgressCounter, n = 1): void {
    this.counts[counter] += n
  }

  startPhase(name: string): void {
    this.phase = { name, startedAt: this.now(), at: { ...this.counts } }
  }

  /** The figures of the phase under way, e.g. `Inventory: 12/40 repositories, 1,800 tags (75 tags/s), ETA 32 s`. */
  status(): string {
    if (!this.phase) return ''
    const elapsed = this.now() - this.phase.startedAt
    const { figures, fraction } = this.figures(elapsed)
    let eta = ''
    if (fraction !== undefined && fraction > 0 && fraction < 1) eta = `, ETA ${formatDuration((elapsed * (1 - fraction)) / fraction)}`
    const what = figures.length > 0 ? `: ${figures.join(', ')}` : ''
    return `${this.phase.name}${what} (${formatDuration(elapsed)}${eta})`
  }

  stopPhase(): void {
    this.phase = undefined
  }

  /** The one line that ends a phase: `Inventory done in 24.1 s: 40 repositories, 6,000 tags (249 tags/s)`. */
  endPhase(): string {
    if (!this.phase) return ''
    const elapsed = this.now() - this.phase.startedAt
    const { figures } = this.figures(elapsed)
    const line = `${this.phase.name} done in ${formatDuration(elapsed)}${figures.length > 0 ? `: ${figures.join(', ')}` : ''}`
    this.phase = undefined
    return line
  }

  /** What changed since the phase began, and how far along it is (0..1) when there is a total to measure against. */
  private figures(elapsed: number): { figures: string[]; fraction: number | undefined } {
    const at = (this.phase as NonNullable<ProgressMeter['phase']>).at
    const delta = (c: ProgressCounter): number => this.counts[c] - at[c]
    const rate = (n: number, unit: string): string => (elapsed >= 1000 ? ` (${formatCount(Math.round((n * 1000) / elapsed))} ${unit}/s)` : '')
    const figures: string[] = []
    let fraction: number | undefined
    const repoTotal = delta('repositories-total')
    if (repoTotal > 0) {
      figures.push(`${formatCount(delta('repositories'))}/${plural(repoTotal, 'repository', 'repositories')}`)
      fraction = delta('repositories') / repoTotal
    }
    if (delta('tags') > 0) figures.push(`${plural(delta('tags'), 'tag')} read${rate(delta('tags'), 'tags')}`)
    const deletionTotal = delta('deletions-total')
    if (deletionTotal > 0) {
      figures.push(`${formatCount(delta('deletions'))}/${plural(deletionTotal, 'manifest')} deleted${rate(delta('deletions'), 'deletions')}`)
      fraction = delta('deletions') / deletionTotal
    }
    return { figures, fraction }
  }
}

export interface ProgressOptions {
  /** true: someone watches a live line (the CLI draws `meter.status()`); no periodic lines then. */
  live: boolean
  intervalMs?: number
}

/**
 * A logger for a front door. Its outermost groups are the run's phases (Inventory, Delete, Garbage collection): they
 * stay in the main log, not collapsed, as a line when they start, a plain progress line every `intervalMs` (unless a
 * live line shows it) and one line with their figures when they end. Groups inside a phase are the collapsed detail
 * (the collector's output) and go to the front door's own groups. `log.progress` is the meter.
 */
export function withProgress(log: Logger, meter: ProgressMeter, options: ProgressOptions): Logger {
  const intervalMs = options.intervalMs ?? PROGRESS_INTERVAL_MS
  let inPhase = false
  let detail = 0
  return {
    info: (m) => log.info(m),
    warning: (m) => log.warning(m),
    error: (m) => log.error(m),
    debug: (m) => log.debug(m),
    progress: meter,
    async group(name, body) {
      if (inPhase) {
        // Detail: its lines are collapsed in CI, so progress lines would be hidden there; the phase's end line says it.
        detail++
        try {
          return await log.group(name, body)
        } finally {
          detail--
        }
      }
      inPhase = true
      log.info(`== ${name}`)
      meter.startPhase(name)
      const timer = options.live ? undefined : setInterval(() => detail === 0 && log.info(meter.status()), intervalMs)
      timer?.unref()
      try {
        const result = await body()
        log.info(meter.endPhase())
        return result
      } finally {
        if (timer) clearInterval(timer)
        meter.stopPhase()
        inPhase = false
      }
    },
  }
}

/** The progress interval a front door uses: `REGISTRY_PRUNE_PROGRESS_INTERVAL_MS` (tests set a short one), else 10 s. */
export function progressInterval(env: NodeJS.ProcessEnv): number {
  const ms = Number(env.REGISTRY_PRUNE_PROGRESS_INTERVAL_MS)
  return Number.isInteger(ms) && ms > 0 ? ms : PROGRESS_INTERVAL_MS
}
