// What the npm package ships and what it says about itself (issue 16): exactly the CLI bundle, its licence notices,
// the README and the LICENSE, with the metadata a registry page links to, and no Windows helper binary anywhere in
// dist/.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')
const REPOSITORY = 'https://github.com/registry-prune/registry-prune'

interface PackageJson {
  name: string
  version: string
  license: string
  repository: { type: string; url: string }
  homepage: string
  bugs: { url: string }
  keywords: string[]
  bin: Record<string, string>
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson

/** The package names listed in an ncc licence file: each entry starts with the name, then the licence id. */
function noticedPackages(path: string): string[] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const names: string[] = []
  for (let i = 0; i + 1 < lines.length; i++) {
    const previous = i === 0 ? '' : lines[i - 1]!
    if (previous === '' && /^(@[\w.-]+\/)?[\w.-]+$/.test(lines[i]!) && /^[\w.+-]+( (OR|AND) [\w.+-]+)*$|^\(/.test(lines[i + 1]!)) {
      names.push(lines[i]!)
    }
  }
  return names
}

describe('the npm package', () => {
  it('`npm pack` ships exactly the CLI bundle, its notices, the README, the LICENSE and package.json', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, npm_config_loglevel: 'error' },
      }),
    ) as { name: string; version: string; files: { path: string; mode: number }[] }[]
    expect(packed).toHaveLength(1)
    // Chunks beside the bundle: what only some runs load (ssh2, for garbage collection over SSH).
    const chunks = readdirSync(join(ROOT, 'dist/cli')).filter((f) => /^\d+\.index\.js$/.test(f))
    expect(chunks.length).toBeGreaterThan(0)
    expect(packed[0]!.files.map((f) => f.path).sort()).toEqual([
      'LICENSE',
      'README.md',
      ...chunks.map((f) => `dist/cli/${f}`),
      'dist/cli/index.js',
      'dist/cli/licenses.txt',
      'dist/cli/package.json',
      'package.json',
    ].sort())
    // The bin must be executable once installed.
    expect(packed[0]!.files.find((f) => f.path === pkg.bin['registry-prune'])!.mode & 0o111).not.toBe(0)
  })

  it('links its repository, home page and issue tracker, and names the licence the LICENSE file grants', () => {
    expect(pkg.repository).toEqual({ type: 'git', url: `git+${REPOSITORY}.git` })
    expect(pkg.homepage).toBe(`${REPOSITORY}#readme`)
    expect(pkg.bugs.url).toBe(`${REPOSITORY}/issues`)
    expect(pkg.keywords).toEqual(expect.arrayContaining(['docker-registry', 'github-action', 'gitlab-ci']))
    expect(pkg.license).toBe('MIT')
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8')
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} registry-prune contributors\n/)
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS"')
    // The component project is published on its own and carries the same licence.
    expect(readFileSync(join(ROOT, 'gitlab/LICENSE'), 'utf8')).toBe(license)
  })
})

describe('dist/', () => {
  it('each bundle carries the licence notices of the dependencies it bundles', () => {
    const action = noticedPackages(join(ROOT, 'dist/licenses.txt'))
    const cli = noticedPackages(join(ROOT, 'dist/cli/licenses.txt'))
    expect(action).toEqual(expect.arrayContaining(['@actions/core', 'ssh2', 'undici', 'minimatch']))
    expect(cli).toEqual(expect.arrayContaining(['ssh2', 'undici', 'minimatch']))
    // A notice file that lost its entries would still pass the lines above if the parser were wrong: check it counts.
    expect(noticedPackages(join(ROOT, 'LICENSE'))).toEqual([])
  })

  it('holds no pagent.exe (ssh2 runs it only for a Windows Pageant agent)', () => {
    const files = readdirSync(join(ROOT, 'dist'), { recursive: true }).map(String)
    expect(files.filter((f) => f.endsWith('.exe'))).toEqual([])
    expect(existsSync(join(ROOT, 'dist/cli/index.js'))).toBe(true)
  })
})
