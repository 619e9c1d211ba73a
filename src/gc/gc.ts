// Garbage collection, once per run after all deletions: connect first, measure, collect, measure again.
import { formatBytesExact, plural } from '../report/format.js'
import type { GcResult, GcSettings, Logger } from '../types.js'
import { commandEnvironment, redactor, secretsOf } from '../redact.js'
import type { BlobSizes } from '../reclaim.js'
import { CollectorReader, collectorCommand, deletedBlobs } from './collector.js'
import { collectorEcho } from './collector-log.js'
import { connectSsh, localShell, type Shell } from './shell.js'
import { measure } from './storage.js'

/**
 * Opens the shell GC will use, before any API delete (DECISIONS 8), so a wrong host key or key stops the run early.
 * Undefined when `garbage-collect` is off. The caller closes the shell. `secrets` (all of the run's, `secretsOf`) are
 * kept out of the commands' environment and masked in everything they print.
 */
export async function openGc(
  gc: GcSettings,
  log: Logger,
  secrets: string[] = secretsOf({ username: '', password: '', gc }),
  env: NodeJS.ProcessEnv = process.env,
): Promise<Shell | undefined> {
  if (gc.mode === 'off') return undefined
  // Refuse a bad gc-command now too, before anything is deleted.
  collectorCommand(gc.command, false)
  const redact = redactor(secrets)
  if (gc.mode === 'ssh') return connectSsh(gc, log, { redact })
  const safe = commandEnvironment(env, secrets)
  if (safe.withheld.length > 0) log.debug(`Local commands run without the variables ${safe.withheld.join(', ')}.`)
  return localShell({ env: safe.env, redact })
}

/** `du -sb` of `storage-path` before the first deletion; undefined without `storage-path`. */
export async function measureBefore(shell: Shell, gc: GcSettings): Promise<number | undefined> {
  return gc.storagePath ? measure(shell, gc.storagePath) : undefined
}

export interface CollectOptions {
  dryRun: boolean
  /** Sizes of the blobs the inventory saw; used for `reclaimedBytes` without `storage-path`. */
  blobSizes: BlobSizes
  /** From `measureBefore`, taken before the first API delete. */
  storageBytesBefore: number | undefined
  /** Why `measureBefore` failed, if it did: then bytes are counted from blob sizes, and the summary says why. */
  storageUnreadable?: string
}

export interface GcOutcome extends GcResult {
  /** The digests the collector listed as eligible (in a dry run: the blobs already orphaned before this run). */
  blobsEligibleDigests: string[]
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

/** Runs a before/after command, streaming its output; throws when it exits non-zero. */
async function runHook(shell: Shell, input: string, command: string, log: Logger): Promise<void> {
  log.info(`$ ${command}`)
  const result = await shell.run(command, (_stream, line) => log.info(line))
  if (result.code !== 0) {
    throw new Error(
      `${input} failed on ${shell.target} with exit ${result.code}: ${tail(result.stderr, 10) || '(no output on stderr)'}. ` +
        `Check the command; it runs with sh -c as the SSH user.`,
    )
  }
}

function collectorFailure(shell: Shell, command: string, code: number, stderr: string): Error {
  const hints = ['check the config path in gc-command (the registry\'s own config.yml on that host)']
  if (code === 127) hints.unshift('the command was not found: check gc-command and that it is on the PATH of a non-interactive shell')
  if (/Path not found: \/docker\/registry\/v2\/repositories/.test(stderr)) {
    hints.unshift('the storage in that config holds no repositories: either nothing was ever pushed to this registry, ' +
      'or the config\'s storage rootdirectory is not the storage the registry serves')
  }
  if (/permission denied/i.test(stderr)) hints.push('run it as a user that can write the storage (root, or the registry\'s user)')
  else hints.push('run it as a user that can write the registry storage')
  return new Error(
    `The garbage collector failed on ${shell.target} with exit ${code} (\`${command}\`):\n${tail(stderr) || '(no output on stderr)'}\n` +
      `What to check: ${hints.join('; ')}.`,
  )
}

export async function collectGarbage(shell: Shell, gc: GcSettings, options: CollectOptions, log: Logger): Promise<GcOutcome> {
  const { dryRun } = options
  const command = collectorCommand(gc.command, dryRun)
  const warnings = [...shell.warnings]
  if (!gc.beforeCommand && !gc.afterCommand) {
    warnings.push(
      'Garbage collection ran while the registry stayed writable: an upload during GC can lose blobs and corrupt the ' +
        'image, and a registry with the inmemory blob cache keeps answering for collected blobs until it restarts. ' +
        'Set gc-before-command to switch it to read-only (or stop it) and gc-after-command to restart it.',
    )
  }

  const mode = gc.mode === 'local' ? 'local' : 'ssh'
  // The collector's output goes into a collapsed group inside this phase; the figures go after the phase, in the main log.
  const outcome = await log.group('Garbage collection', async (): Promise<GcOutcome> => {
    // An unreadable storage-path costs the du measurement, not the run: the blob sizes still count what GC freed.
    const measureOrWarn = async (): Promise<number | undefined> => {
      try {
        return await measure(shell, gc.storagePath)
      } catch (e) {
        warnings.push(`${(e as Error).message} Reclaimed bytes are the sizes of the blobs the collector deleted instead.`)
        return undefined
      }
    }
    if (options.storageUnreadable) {
      warnings.push(`${options.storageUnreadable} Reclaimed bytes are the sizes of the blobs the collector deleted instead.`)
    }
    const before = options.storageUnreadable
      ? undefined
      : (options.storageBytesBefore ?? (gc.storagePath ? await measureOrWarn() : undefined))
    let failure: Error | undefined
    const reader = new CollectorReader()
    try {
      if (!dryRun && gc.beforeCommand) await runHook(shell, 'gc-before-command', gc.beforeCommand, log)
      log.info(`$ ${command}`)
      const echo = collectorEcho(log)
      const result = await log.group(`Collector output (${command})`, async () => {
        const ran = await shell.run(command, (stream, line) => {
          reader.line(stream, line)
          echo.onLine(stream, line)
        })
        echo.finish()
        return ran
      })
      if (result.code !== 0) throw collectorFailure(shell, command, result.code, result.stderr)
    } catch (e) {
      failure = e as Error
    }
    // The after command usually restarts the registry or makes it writable again: run it whatever happened before.
    if (!dryRun && gc.afterCommand) {
      try {
        await runHook(shell, 'gc-after-command', gc.afterCommand, log)
      } catch (e) {
        failure = failure ? new Error(`${failure.message}\nAlso: ${(e as Error).message}`) : (e as Error)
      }
    }
    if (failure) throw failure
    const output = reader.result()
    if (output.blobsMarked === undefined) {
      warnings.push(
        `The collector's output has no \`N blobs marked, ...\` line: is gc-command (\`${gc.command}\`) really ` +
          '`registry garbage-collect <config>`? Blob counts are unknown.',
      )
    }

    const after = before !== undefined ? await measureOrWarn() : undefined
    const blobsDeleted = dryRun ? [] : deletedBlobs(output)
    // The blob data GC deleted, by the sizes the manifests give; du also counts the directories and link files.
    const unknown = blobsDeleted.filter((d) => !options.blobSizes.has(d))
    const blobBytesDeleted = blobsDeleted.reduce((sum, d) => sum + (options.blobSizes.get(d) ?? 0), 0)
    let reclaimedBytes = 0
    let measuredBy: GcResult['measuredBy'] = 'blob-sizes'
    if (before !== undefined && after !== undefined) {
      measuredBy = 'du'
      reclaimedBytes = dryRun ? 0 : Math.max(0, before - after)
      if (!dryRun && after > before) {
        warnings.push(`The storage grew by ${after - before} bytes during the run (uploads?), so reclaimed bytes show 0.`)
      }
    } else if (!dryRun) {
      reclaimedBytes = blobBytesDeleted
      if (unknown.length > 0) {
        warnings.push(
          `${unknown.length} of the ${blobsDeleted.length} blobs GC deleted were not referenced by any manifest this run ` +
            'read (orphaned before, or in repositories not inventoried): their size is not in reclaimed bytes. Set ' +
            'storage-path to measure the real drop.',
        )
      }
    }
    return {
      mode,
      dryRun,
      blobsMarked: output.blobsMarked,
      blobsEligible: output.blobsEligible,
      manifestsEligible: output.manifestsEligible,
      blobsDeleted,
      storageBytesBefore: before,
      storageBytesAfter: after,
      reclaimedBytes,
      measuredBy,
      blobBytesDeleted,
      blobsOfUnknownSize: unknown.length,
      warnings,
      blobsEligibleDigests: output.eligibleBlobs,
    }
  })
  log.info(
    dryRun
      ? `Garbage collection (dry run): ${plural(outcome.blobsEligibleDigests.length, 'blob')} already eligible for deletion; nothing was deleted.`
      : `Garbage collection: ${plural(outcome.blobsDeleted.length, 'blob')} deleted; ${formatBytesExact(outcome.reclaimedBytes)} ` +
        `reclaimed (measured by ${outcome.measuredBy === 'du' ? 'du' : 'the sizes of the deleted blobs'}).`,
  )
  return outcome
}
