// What people see (issue 12), on the real registry through the built bundles: progress lines in a CI log, the
// collector's output in a collapsed group, the summary's headline, and the confirmation question on a terminal.
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { shellQuote } from '../../src/gc/storage.js'
import { runAction } from '../support/action.js'
import { CLI_ENTRY, cleanEnv, prunedLikeTheAction, runCli } from '../support/cli.js'
import { pushFixtures, snapshot } from '../support/fixtures.js'
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../support/registry.js'

let reg: TestRegistry | undefined
afterEach(async () => {
  await reg?.stop()
  reg = undefined
})

const collector = (r: TestRegistry): Record<string, string> => ({
  'garbage-collect': 'local',
  'gc-command': `${REGISTRY_BIN} garbage-collect ${r.configPath}`,
  'storage-path': r.storage,
})
const flags = (inputs: Record<string, string>): string[] => Object.entries(inputs).map(([k, v]) => `--${k}=${v}`)

/** The HTML blocks of a summary: where a Markdown escape would show as a stray backslash. */
const htmlParts = (md: string): string[] => md.match(/<(details|summary|table|tr)>[\s\S]*?<\/\1>/g) ?? []

describe('the log of a run in CI (no terminal)', () => {
  it('has progress lines, one line of figures per phase, and the collector output in a GitLab section', async () => {
    reg = await startRegistry()
    await pushFixtures(reg)
    // A short interval makes the fixture run "long enough" to show progress lines; nothing here measures time.
    const env = { REGISTRY_PRUNE_PROGRESS_INTERVAL_MS: '5', GITLAB_CI: 'true' }
    const run = await runCli([`--registry=${reg.url}`, '--keep-count=2', ...flags(collector(reg))], { env })
    expect(run.code, run.stderr).toBe(0)
    const lines = run.stderr.split('\n')
    expect(lines).toContain('== Inventory')
    expect(lines.some((l) => /^Inventory: \d+\/3 repositories/.test(l))).toBe(true)
    expect(lines.some((l) => /^Inventory done in .*: 3\/3 repositories, \d+ tags read/.test(l))).toBe(true)
    expect(lines.some((l) => /^Delete done in .*: \d+\/\d+ manifests deleted/.test(l))).toBe(true)
    expect(lines.some((l) => /^Garbage collection: \d+ blobs deleted; .* reclaimed \(measured by du\)/.test(l))).toBe(true)
    // No line per deletion or per blob outside the collapsed section.
    // eslint-disable-next-line no-control-regex -- GitLab's section markers are escape sequences
    const section = /\u001b\[0Ksection_start:\d+:(registry_prune_\d+)\[collapsed=true\]\r\u001b\[0KCollector output \([^\n]*\)\n([\s\S]*?)\u001b\[0Ksection_end:\d+:\1\r\u001b\[0K\n/.exec(run.stderr)
    expect(section, run.stderr).not.toBeNull()
    expect(section![2]).toMatch(/^\d+ blobs marked, \d+ blobs and \d+ manifests eligible for deletion$/m)
    expect(section![2]).toMatch(/^\([\d,]+ per-blob and per-manifest lines of the collector left out of the log; they are debug lines\)$/m)
    expect(section![2]).not.toMatch(/^Garbage collection/m) // no progress lines hidden in the collapsed section
    // No line per blob, manifest or deletion anywhere in the log (GitLab keeps collapsed lines in its 4 MiB too).
    expect(run.stderr).not.toMatch(/marking (blob|manifest)|eligible for deletion: |Deleting blob|^deleted: /m)
    expect(run.stderr).not.toContain('::group::')
    console.log(`log of the fixture run: ${lines.length} lines, ${Buffer.byteLength(run.stderr)} bytes`)

    // stdout: the report, its headline first.
    expect(run.stdout.split('\n')[0]).toMatch(/^registry-prune: .* freed \(measured on the host by du\) · 4 images deleted, 6 kept · 3 repositories · /)
  })

  it('the Action groups the collector output with ::group:: and leads its summary with the answer', async () => {
    reg = await startRegistry()
    await pushFixtures(reg)
    const run = await runAction(
      { registry: reg.url, 'keep-count': '2', ...collector(reg) },
      { REGISTRY_PRUNE_PROGRESS_INTERVAL_MS: '5' },
    )
    expect(run.code, run.stdout).toBe(0)
    expect(run.stdout).toMatch(/^::group::Collector output \(.*garbage-collect.*\)\n(?:(?!::endgroup::)[\s\S])*\d+ blobs marked[\s\S]*?\n::endgroup::$/m)
    // Per-blob lines are debug lines: the runner shows `::debug::` only when step debugging is on.
    const shown = run.stdout.split('\n').filter((l) => !l.startsWith('::debug::'))
    expect(shown.join('\n')).not.toMatch(/marking (blob|manifest)|eligible for deletion: |Deleting blob/)
    expect(run.stdout).toMatch(/^::debug::.*marking blob sha256:/m)
    expect(run.stdout).toMatch(/^Inventory: \d+\/3 repositories/m)
    expect(run.stdout).toMatch(/^Inventory done in /m)
    expect(run.stdout.match(/^::group::/gm)).toHaveLength(1) // the phases stay in the main log

    const lines = run.summary.split('\n').filter(Boolean)
    expect(lines[0]).toBe('## registry-prune: 127.0.0.1:' + new URL(reg.url).port)
    expect(lines[1]).toMatch(/^\*\*[\d.]+ (KiB|MiB) \([\d,]+ bytes\) freed\*\* \(measured on the host by du\) · 4 images deleted, 6 kept · 3 repositories · [\d.]+ (ms|s)$/)
    // Repositories by bytes, largest first.
    const table = lines.filter((l) => /^\| (team\/|solo)/.test(l)).map((l) => l.split(' | '))
    const sizes = table.map((cells) => cells[1]!)
    expect(table).toHaveLength(3)
    const bytes = (text: string): number => {
      const [n, unit] = text.split(' ')
      return Number(n) * ({ B: 1, KiB: 1024, MiB: 1024 ** 2 } as Record<string, number>)[unit!]!
    }
    expect(sizes.map(bytes)).toEqual(sizes.map(bytes).sort((a, b) => b - a))
    for (const part of htmlParts(run.summary)) expect(part).not.toMatch(/\\[_*[\]#`!~\\-]/)
    expect(run.summary).not.toMatch(/\b1 (repositories|images|blobs|manifests)\b/)
  })
})

interface TerminalRun {
  code: number
  /** What the terminal showed: stdout and stderr together. */
  screen: string
  cwd: string
}

/**
 * Runs the CLI on a pseudo-terminal (`script` from util-linux), answering `answer` when it asks. Both stdin and
 * stdout/stderr are then terminals, as in an interactive shell.
 */
async function onTerminal(args: string[], answer: string | undefined, env: Record<string, string> = {}): Promise<TerminalRun> {
  const cwd = await mkdtemp(join(tmpdir(), 'registry-prune-tty-'))
  const command = [process.execPath, CLI_ENTRY, ...args].map(shellQuote).join(' ')
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd,
    env: { ...cleanEnv(cwd), TERM: 'xterm', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let screen = ''
  let answered = false
  const onData = (d: Buffer): void => {
    screen += d.toString()
    if (answer !== undefined && !answered && screen.includes('[y/N]')) {
      answered = true
      child.stdin.write(answer === '\u0003' ? answer : `${answer}\r`) // Ctrl-C as typed: the terminal sends SIGINT
    }
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)))
  return { code, screen, cwd }
}

describe('the confirmation question', () => {
  it('on a terminal, a real run asks with the counts first: n deletes nothing (exit 3), Ctrl-C neither (130), y deletes', async () => {
    reg = await startRegistry()
    const fx = await pushFixtures(reg)
    const before = await snapshot(reg, fx)
    const args = [`--registry=${reg.url}`, '--keep-count=2']

    const no = await onTerminal(args, 'n', { NO_COLOR: '1' })
    expect(no.screen).toContain(
      `About to delete 4 images (and 4 index children and signatures with them) in 2 repositories of ${reg.url}: about `,
    )
    expect(no.screen).toMatch(/about [\d.]+ KiB \([\d,]+ bytes\) to reclaim \(estimate\)\.\r?\nDelete them\? \[y\/N\] /)
    expect(no.code, no.screen).toBe(3)
    expect(no.screen).toContain('Nothing was deleted: the deletion was not confirmed.')
    expect(no.screen).not.toContain('\u001b[1m') // NO_COLOR
    expect(await snapshot(reg, fx)).toEqual(before)
    expect(await readdir(no.cwd)).toEqual([]) // no plan file for a run that did nothing

    // Ctrl-C at the question: a no, with the exit code of SIGINT.
    const interrupted = await onTerminal(args, '\u0003', { NO_COLOR: '1' })
    expect(interrupted.code, interrupted.screen).toBe(130)
    expect(interrupted.screen).toContain('SIGINT at the question: nothing was deleted.')
    expect(await snapshot(reg, fx)).toEqual(before)

    const yes = await onTerminal(args, 'y')
    expect(yes.code, yes.screen).toBe(0)
    expect(yes.screen).toContain('\u001b[1mAbout to delete 4 images') // colour on a terminal
    expect(yes.screen).toMatch(/registry-prune: .* reclaimable .* · 4 images deleted, 6 kept · 3 repositories/)
    expect(await prunedLikeTheAction(reg, fx)).toEqual([])
    const plan = JSON.parse(await readFile(join(yes.cwd, 'registry-prune-plan.json'), 'utf8')) as { totals: { imagesDeleted: number } }
    expect(plan.totals.imagesDeleted).toBe(4)
  })

  it('is not asked with --yes, on a dry run, or without a terminal; --quiet prints only the result line', async () => {
    reg = await startRegistry()
    const fx = await pushFixtures(reg)
    const before = await snapshot(reg, fx)
    const dry = await onTerminal([`--registry=${reg.url}`, '--keep-count=2', '--dry-run'], undefined)
    expect(dry.code, dry.screen).toBe(0)
    expect(dry.screen).not.toContain('[y/N]')
    expect(await snapshot(reg, fx)).toEqual(before)

    const quiet = await runCli([`--registry=${reg.url}`, '--keep-count=2', '--quiet'])
    expect(quiet.code, quiet.stderr).toBe(0)
    expect(quiet.stderr).toBe('') // no question, no log: there is no terminal
    expect(quiet.stdout).toMatch(/^registry-prune: [\d.]+ KiB \([\d,]+ bytes\) reclaimable \(estimate; freed once the registry's garbage collector runs\) · 4 images deleted, 6 kept · 3 repositories · [\d.]+ m?s\n$/)
    expect(await prunedLikeTheAction(reg, fx)).toEqual([])

    const again = await onTerminal([`--registry=${reg.url}`, '--keep-count=2', '--yes'], undefined)
    expect(again.code, again.screen).toBe(0)
    expect(again.screen).not.toContain('[y/N]')
  })
})
