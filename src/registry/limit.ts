// Bounds how much runs at once. One Limiter is shared by every request of a run, whatever repository it is for.

export class Limiter {
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`concurrency must be a whole number >= 1, got ${limit}`)
  }

  /**
   * Takes a slot: undefined when one is free (no turn of the event loop), else a promise that settles when a finished
   * request hands its slot over. Every acquire is paired with one `release`.
   */
  acquire(): Promise<void> | undefined {
    if (this.active < this.limit) {
      this.active++
      return undefined
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve))
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const slot = this.acquire()
    if (slot) await slot
    try {
      return await task()
    } finally {
      this.release()
    }
  }

  release(): void {
    // Hand the slot straight to the next waiter, so a newcomer cannot overtake it.
    const next = this.waiting.shift()
    if (next) next()
    else this.active--
  }
}

/**
 * Runs `work` for every item with at most `width` running at once, and waits for all. The first error is
 * rethrown after the running ones settle; items not yet started are not started.
 */
export async function forEachLimited<T>(
  items: Iterable<T>,
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]()
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    for (;;) {
      if (failure) return
      const next = iterator.next()
      if (next.done) return
      try {
        await work(next.value)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, width) }, worker))
  if (failure) throw failure.error
}
