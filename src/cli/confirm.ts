// The question a real run asks on a terminal before its first DELETE: what it is about to delete, in counts. `--yes`
// skips it; without a terminal it is never asked (a pipeline has nobody to answer).
import { createInterface } from 'node:readline'
import { isImage } from '../report/outcome.js'
import { formatBytesExact, plural } from '../report/format.js'
import type { Plan } from '../types.js'
import type { Palette } from './color.js'
import type { Stream } from './logger.js'

/** The run stopped at the question: nothing was deleted. */
export class Declined extends Error {
  constructor(readonly signal?: 'SIGINT' | 'SIGTERM') {
    super(signal ? `${signal} at the question: nothing was deleted.` : 'Nothing was deleted: the deletion was not confirmed.')
    this.name = 'Declined'
  }
}

export interface PlannedDeletions {
  images: number
  manifests: number
  repositories: number
  bytes: number
}

export function plannedDeletions(plan: Plan): PlannedDeletions {
  let images = 0
  let manifests = 0
  let repositories = 0
  for (const repo of plan.repositories) {
    const deletions = repo.skipped ? [] : repo.manifests.filter((m) => m.decision === 'delete')
    if (deletions.length > 0) repositories++
    manifests += deletions.length
    images += deletions.filter(isImage).length
  }
  return { images, manifests, repositories, bytes: plan.reclaimableBytes }
}

export function question(d: PlannedDeletions, registry: string): string {
  const others = d.manifests - d.images
  const withOthers = others > 0 ? ` (and ${plural(others, 'index child or signature', 'index children and signatures')} with them)` : ''
  return `About to delete ${plural(d.images, 'image')}${withOthers} in ${plural(d.repositories, 'repository', 'repositories')} ` +
    `of ${registry}: about ${formatBytesExact(d.bytes)} to reclaim (estimate).\nDelete them? [y/N] `
}

/**
 * `io.confirm` for `run`: asks on `output` and reads one line from `input`. Resolves to go on (`y` or `yes`); throws
 * `Declined` for anything else, an empty line or the end of input. A plan that deletes nothing asks nothing.
 */
export function terminalConfirm(
  input: NodeJS.ReadableStream,
  output: Stream,
  registry: string,
  paint: Palette,
  signal?: AbortSignal,
): (plan: Plan) => Promise<void> {
  return async (plan) => {
    const d = plannedDeletions(plan)
    if (d.manifests === 0) return
    output.write(paint.bold(question(d, registry)))
    const rl = createInterface({ input, terminal: false })
    // Ctrl-C at the question is a no (the signal handlers keep the process alive, so it must end the wait here).
    const interrupted = (): void => void rl.close()
    signal?.addEventListener('abort', interrupted, { once: true })
    const answer = await new Promise<string | undefined>((resolve) => {
      rl.once('line', resolve)
      rl.once('close', () => resolve(undefined))
    })
    signal?.removeEventListener('abort', interrupted)
    rl.close()
    if (answer === undefined) output.write('\n')
    if (signal?.aborted) throw new Declined(signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT')
    if (!/^\s*y(es)?\s*$/i.test(answer ?? '')) throw new Declined()
  }
}
