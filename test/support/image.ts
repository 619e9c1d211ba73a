// Builds and runs the project's container image (Containerfile) for the tests, with Debian's buildah and podman as
// root, in container storage of the tests' own (vfs driver: works on any filesystem, with no kernel overlay support),
// so that nothing here meets the machine's own containers or another driver's storage.
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const ROOT = join(import.meta.dirname, '../..')

/** Where the base image is kept between runs on one machine. */
export const IMAGE_CACHE = process.env.REGISTRY_PRUNE_TEST_CACHE ?? '/var/cache/registry-prune-test'

const STORAGE = [
  '--root', join(IMAGE_CACHE, 'containers'),
  '--runroot', '/run/registry-prune-test',
  '--storage-driver', 'vfs',
]

/** The Node 24 binary that scripts/setup.sh installs under tools/ (the tests' stand-in for node:24-slim's). */
export const NODE24 = join(ROOT, 'tools/node_modules/.bin/node')

export interface Command {
  code: number
  stdout: string
  stderr: string
}

async function run(command: string, args: string[], options: { timeout?: number } = {}): Promise<Command> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, {
      maxBuffer: 64 * 1024 * 1024,
      timeout: options.timeout ?? 600_000,
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr || e.message }
  }
}

/** What is missing on this machine to build and run the image here (scripts/setup.sh installs all of it). */
export function missingTools(): string[] {
  const has = (name: string): boolean => {
    try {
      execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  }
  return ['buildah', 'podman', 'debootstrap', 'runc', 'flock'].filter((t) => !has(t)).concat(existsSync(NODE24) ? [] : [NODE24])
}

/** Raise it when test/support/image-base.sh makes a different base: machines that cached the old one make it anew. */
const BASE_RECIPE = 2

/** The base image's name: one per Debian release, Node version and recipe, so a change of any makes a new one. */
export function baseImageName(): string {
  const codename = execFileSync('sh', ['-c', '. /etc/os-release && echo "$VERSION_CODENAME"'], { encoding: 'utf8' }).trim()
  const node = execFileSync(NODE24, ['--version'], { encoding: 'utf8' }).trim()
  return `localhost/registry-prune-test-base:${codename}-node-${node}-${BASE_RECIPE}`
}

/** Makes the base image unless this machine already has it (test/support/image-base.sh); one maker at a time. */
export async function ensureBaseImage(): Promise<{ name: string; made: boolean }> {
  const name = baseImageName()
  mkdirSync(IMAGE_CACHE, { recursive: true })
  const had = (await podman(['image', 'exists', name])).code === 0
  if (had) return { name, made: false }
  const script = join(import.meta.dirname, 'image-base.sh')
  const made = await run('flock', [join(IMAGE_CACHE, 'base.lock'), 'bash', script, name, realpathSync(NODE24), '--', ...STORAGE])
  if (made.code !== 0) throw new Error(`making the base image ${name} failed (${made.code}):\n${made.stderr}`)
  return { name, made: true }
}

/**
 * A build context as a clean checkout has it: only the files git tracks (with their contents in this work tree, so
 * a change under test is built before it is committed), none of node_modules or other local leftovers.
 */
export function cleanContext(): string {
  const dir = mkdtempSync(join(tmpdir(), 'registry-prune-image-context-'))
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean)
  for (const file of files) {
    const from = join(ROOT, file)
    if (!existsSync(from)) continue // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    copyFileSync(from, join(dir, file))
  }
  return dir
}

export function buildah(args: string[]): Promise<Command> {
  return run('buildah', [...STORAGE, ...args])
}

export function podman(args: string[]): Promise<Command> {
  // runc, not crun: crun refuses a machine whose cgroups are mounted in hybrid mode (v1 controllers and a v2 tree).
  return run('podman', [...STORAGE, '--runtime', 'runc', ...args])
}

/**
 * Limits for a container: podman's defaults for root (over a million open files and processes) exceed the hard limits
 * of a sandboxed machine, where runc then fails to set them. The CLI needs few of either: 4096, or less if this
 * process may have less.
 */
export function ulimitArgs(): string[] {
  const [files, processes] = execFileSync('bash', ['-c', 'ulimit -Hn; ulimit -Hu'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((v) => (v === 'unlimited' ? 4096 : Math.min(4096, Number(v))))
  return ['--ulimit', `nofile=${files}:${files}`, '--ulimit', `nproc=${processes}:${processes}`]
}
