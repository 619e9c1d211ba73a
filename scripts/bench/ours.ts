// Our whole tool, as a user runs it: `node dist/cli/index.js --dry-run --json` in a child process, start-up included,
// timed from spawn to exit, with its peak RSS and the request counts it reports in its JSON.
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { cleanEnv } from '../../test/support/cli.js'

export const CLI_ENTRY = join(import.meta.dirname, '../../dist/cli/index.js')
const GNU_TIME = '/usr/bin/time'

export interface OursResult {
  seconds: number
  /** Peak resident set of the CLI process, in MiB. */
  peakRssMiB: number
  peakRssBy: 'getrusage' | 'VmHWM'
  /** The CLI's own counts by kind (manifest, blob, tags, catalog, ping, token, ...). */
  requests: Record<string, number>
  /** The plan's totals (imagesKept, imagesDeleted, ...). */
  totals: Record<string, number>
  repositories: number
  /** Per phase, from the plan JSON (issue 15). */
  phases: Record<string, { seconds: number; requests: number }>
  cache: { loaded: number; manifestHits: number; blobHits: number; written: number } | undefined
  /** What the run leaves for people: its log (stderr) and its summary (--summary-file), in bytes. */
  logBytes: number
  summaryBytes: number
  deletions?: { repository: string; digests: string[] }[]
}

/**
 * Copies the built CLI (dist/cli: the bundle and its native parts) to a private directory and returns its entry: a
 * rebuild of dist/ during a long measurement (other work on the same checkout) would otherwise rewrite a native
 * module the running CLI has mapped, and crash it.
 */
export async function snapshotCli(): Promise<{ entry: string; remove: () => Promise<void> }> {
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run \`npm run build\` first.`)
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-bench-cli-'))
  await cp(dirname(CLI_ENTRY), dir, { recursive: true })
  return { entry: join(dir, 'index.js'), remove: () => rm(dir, { recursive: true, force: true }) }
}

export interface OursOptions {
  /** The CLI entry to run (from `snapshotCli`). */
  entry: string
  concurrency: number
  /** Extra CLI flags, e.g. ['--keep-count', '10']. */
  args?: string[]
  /** Runs `node --cpu-prof` and leaves the profile in this directory. */
  cpuProfileDir?: string
  /** false: a real run, with deletions. Default true. */
  dryRun?: boolean
  /** Also return the plan's deletions, per repository in the plan's order (for the minimal client's real run). */
  withDeletions?: boolean
}

export async function measureOurs(url: string, options: OursOptions): Promise<OursResult> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-bench-'))
  const out = join(dir, 'stdout.json')
  const rssFile = join(dir, 'rss.txt')
  const node = [
    process.execPath,
    ...(options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : []),
    options.entry,
    '--registry', url, `--dry-run=${options.dryRun ?? true}`, '--json', '--concurrency', String(options.concurrency),
    '--summary-file', join(dir, 'summary.md'), ...(options.args ?? []),
  ]
  // GNU time reports the peak RSS from getrusage, which sees the very last allocation; polling VmHWM is the fallback.
  const useTime = existsSync(GNU_TIME)
  const command = useTime ? [GNU_TIME, '-f', '%M', '-o', rssFile, ...node] : node
  const stdout = openSync(out, 'w')
  let stderr = ''
  const started = performance.now()
  const child = spawn(command[0]!, command.slice(1), {
    cwd: dir,
    env: cleanEnv(dir),
    stdio: ['ignore', stdout, 'pipe'],
  })
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  let hwmKiB = 0
  const poll = setInterval(() => {
    hwmKiB = Math.max(hwmKiB, vmHwmKiB(child.pid, useTime))
  }, 20)
  let code: number
  try {
    code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject)
      child.on('close', (c) => resolve(c ?? -1))
    })
  } finally {
    clearInterval(poll)
    closeSync(stdout)
  }
  const seconds = (performance.now() - started) / 1000
  const text = await readFile(out, 'utf8')
  if (code !== 0) {
    throw new Error(`the CLI exited with ${code}:\n${stderr.slice(-2000)}\n${text.slice(0, 500)}`)
  }
  const rusageKiB = useTime ? Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop()) : NaN
  const plan = JSON.parse(text) as {
    requests: Record<string, number>
    totals: Record<string, number>
    repositories: { name: string; skipped?: string; images: { digest: string; decision: string }[] }[]
    phases: OursResult['phases']
    cache?: OursResult['cache']
  }
  const summaryBytes = (await stat(join(dir, 'summary.md'))).size
  await rm(dir, { recursive: true, force: true })
  const byRusage = Number.isFinite(rusageKiB) && rusageKiB > 0
  return {
    seconds,
    peakRssMiB: (byRusage ? rusageKiB : hwmKiB) / 1024,
    peakRssBy: byRusage ? 'getrusage' : 'VmHWM',
    requests: plan.requests,
    totals: plan.totals,
    repositories: plan.repositories.length,
    phases: plan.phases,
    cache: plan.cache,
    logBytes: Buffer.byteLength(stderr),
    summaryBytes,
    ...(options.withDeletions
      ? {
          deletions: plan.repositories
            .filter((r) => !r.skipped)
            .map((r) => ({ repository: r.name, digests: r.images.filter((m) => m.decision === 'delete').map((m) => m.digest) }))
            .filter((r) => r.digests.length > 0),
        }
      : {}),
  }
}

/** VmHWM of the node process (under GNU time, the node process is its child). 0 when it cannot be read. */
function vmHwmKiB(pid: number | undefined, underTime: boolean): number {
  if (pid === undefined) return 0
  try {
    let target = pid
    if (underTime) {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)
      if (!children[0]) return 0
      target = Number(children[0])
    }
    const status = readFileSync(`/proc/${target}/status`, 'utf8')
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
  } catch {
    return 0
  }
}
