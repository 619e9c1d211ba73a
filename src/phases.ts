// How long each phase of a run took and how many requests it sent (issue 15), for the plan file and the summary.
// Repositories are re-checked and deleted in side by side, so two phases can overlap: a phase's time is the wall time
// during which at least one piece of its work was under way, not a sum over repositories.
import type { PhaseName } from './types.js'

export class PhaseClock {
  private readonly running = new Map<PhaseName, { count: number; since: number }>()
  private readonly spentMs = new Map<PhaseName, number>()

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Runs `body` as work of `phase`. */
  async time<T>(phase: PhaseName, body: () => Promise<T>): Promise<T> {
    const state = this.running.get(phase) ?? { count: 0, since: 0 }
    if (state.count++ === 0) state.since = this.now()
    this.running.set(phase, state)
    try {
      return await body()
    } finally {
      if (--state.count === 0) this.spentMs.set(phase, (this.spentMs.get(phase) ?? 0) + this.now() - state.since)
    }
  }

  seconds(phase: PhaseName): number {
    return (this.spentMs.get(phase) ?? 0) / 1000
  }
}

/** Requests sent between two snapshots of the client's counters (retries are attempts, not requests: left out). */
export function requestsBetween(before: Record<string, number>, after: Record<string, number>, kinds?: string[]): number {
  let n = 0
  for (const [kind, count] of Object.entries(after)) {
    if (kind === 'retries' || (kinds && !kinds.includes(kind))) continue
    n += count - (before[kind] ?? 0)
  }
  return n
}
