// SIGINT/SIGTERM, as a cancelled GitHub or GitLab job sends them, become an abort that the run hears: it starts no new
// deletion, lets those in flight finish, writes its record and exits 130/143 (DECISIONS 26), instead of dying with
// an empty or missing plan file. GitHub sends SIGINT, SIGTERM 7.5 s later and kills 2.5 s after that: later signals
// must not end the process before the record is written, so they are only acknowledged.

export interface Interrupt {
  signal: AbortSignal
  /** Removes the handlers; the process's default handling of the signals comes back. */
  dispose(): void
}

export const EXIT_ON_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const

export function interruptOnSignals(say: (message: string) => void, target: NodeJS.Process = process): Interrupt {
  const controller = new AbortController()
  const handler = (name: 'SIGINT' | 'SIGTERM') => () => {
    if (controller.signal.aborted) {
      say(`${name} received: still writing the record of what was done.`)
      return
    }
    say(`${name} received: starting no new deletion; writing the record of what was done.`)
    controller.abort(name)
  }
  const onInt = handler('SIGINT')
  const onTerm = handler('SIGTERM')
  target.on('SIGINT', onInt)
  target.on('SIGTERM', onTerm)
  return {
    signal: controller.signal,
    dispose() {
      target.off('SIGINT', onInt)
      target.off('SIGTERM', onTerm)
    },
  }
}
