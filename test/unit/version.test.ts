// One version (issue 16): package.json's version is the only source. The GitLab component's defaults (its image, and
// the npx command it documents), the image the release publishes, and every example in the READMEs must name it;
// the Action's examples name its moving major tag. The check is one function, so the test can show that drift fails.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'

const ROOT = join(import.meta.dirname, '../..')
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')
const IMAGE = 'ghcr.io/registry-prune/registry-prune'

/** The files whose examples and defaults name a version. */
const DOCUMENTS = ['README.md', 'gitlab/README.md', 'gitlab/templates/registry-prune.yml', 'SECURITY.md']

/**
 * The moving tag the Action's examples use. While the package is 0.y.z nothing is released yet and the README
 * already shows the first stable major, v1 (release 1.0.0 first, or change the examples).
 */
function actionTag(version: string): string {
  const major = Number(version.split('.')[0])
  return `v${Math.max(major, 1)}`
}

interface Sources {
  version: string
  files: Record<string, string>
}

function load(): Sources {
  return {
    version: (JSON.parse(read('package.json')) as { version: string }).version,
    files: Object.fromEntries([...DOCUMENTS, '.github/workflows/release.yml'].map((f) => [f, read(f)])),
  }
}

const all = (text: string, re: RegExp): string[] => [...text.matchAll(re)].map((m) => m[1]!)

/** Every place that names another version than package.json's; empty when they agree. */
function versionProblems({ version, files }: Sources): string[] {
  const problems: string[] = []
  const found = { npm: 0, image: 0, action: 0 }

  // The GitLab component's defaults: its own image at this version, running the tool installed there.
  const template = parseAllDocuments(files['gitlab/templates/registry-prune.yml']!)[0]!.toJS() as {
    spec: { inputs: Record<string, { default?: unknown }> }
  }
  const { image, cli } = template.spec.inputs
  if (image?.default !== `${IMAGE}:${version}`) problems.push(`the component's image default is ${String(image?.default)}`)
  if (cli?.default !== 'registry-prune') problems.push(`the component's cli default is ${String(cli?.default)}`)

  // The image the release publishes is the one the component runs.
  const release = parse(files['.github/workflows/release.yml']!) as { env?: { IMAGE?: string } }
  if (release.env?.IMAGE !== IMAGE) problems.push(`release.yml publishes ${String(release.env?.IMAGE)}, not ${IMAGE}`)

  for (const file of DOCUMENTS) {
    const text = files[file]!
    // registry-prune@X.Y.Z is the npm package (npx) and the component (…/registry-prune/registry-prune@X.Y.Z).
    for (const v of all(text, /registry-prune@(\d+\.\d+\.\d+\S*?)(?=[\s`'")|,.]*(?:\s|$))/g)) {
      found.npm++
      if (v !== version) problems.push(`${file}: registry-prune@${v}`)
    }
    for (const tag of all(text, /ghcr\.io\/registry-prune\/registry-prune:([\w.-]*\w)/g)) {
      if (/^X(\.Y\.Z)?$/.test(tag)) continue // a placeholder in the release instructions
      found.image++
      if (tag !== version) problems.push(`${file}: ${IMAGE}:${tag}`)
    }
    for (const tag of all(text, /uses: registry-prune\/registry-prune@([\w.-]+)/g)) {
      found.action++
      if (tag !== actionTag(version)) problems.push(`${file}: uses registry-prune/registry-prune@${tag}`)
    }
  }
  // Patterns that match nothing would let every drift through.
  for (const [what, count] of Object.entries(found)) if (count === 0) problems.push(`no ${what} example found`)
  return problems
}

describe('one version, package.json\'s', () => {
  it('the component\'s defaults, the published image and every README example agree with package.json', () => {
    expect(versionProblems(load())).toEqual([])
  })

  it('the Action\'s moving tag is the major version (v1 until 1.0.0 is released)', () => {
    expect(['0.1.0', '1.0.0', '1.4.2', '2.0.0-rc.1'].map(actionTag)).toEqual(['v1', 'v1', 'v1', 'v2'])
  })

  // A test that cannot fail is worse than none: each drift below must be reported.
  it.each<[string, (s: Sources) => void]>([
    ['package.json bumped alone', (s) => void (s.version = '9.8.7')],
    ['the component pinning another image', (s) => {
      const f = 'gitlab/templates/registry-prune.yml'
      s.files[f] = s.files[f]!.replace(`default: ${IMAGE}:${s.version}`, `default: ${IMAGE}:0.0.1`)
    }],
    ['the component back on npx by default', (s) => {
      const f = 'gitlab/templates/registry-prune.yml'
      s.files[f] = s.files[f]!.replace('    cli:\n      default: registry-prune\n', `    cli:\n      default: npx --yes registry-prune@${s.version}\n`)
    }],
    ['a README example on an old npm version', (s) => void (s.files['README.md'] += '\n`npx registry-prune@0.0.9`\n')],
    ['a component example on an old version', (s) => {
      s.files['gitlab/README.md'] += '\n  - component: $CI_SERVER_FQDN/g/registry-prune/registry-prune@0.0.9\n'
    }],
    ['an image example on another tag', (s) => void (s.files['README.md'] += `\n${IMAGE}:latest\n`)],
    ['an Action example on another major', (s) => void (s.files['README.md'] += '\n- uses: registry-prune/registry-prune@v7\n')],
    ['the release publishing another image', (s) => {
      const f = '.github/workflows/release.yml'
      s.files[f] = s.files[f]!.replace(`IMAGE: ${IMAGE}`, 'IMAGE: ghcr.io/someone/else')
    }],
  ])('%s is reported', (_what, drift) => {
    const sources = load()
    const before = JSON.stringify(sources)
    drift(sources)
    expect(JSON.stringify(sources), 'the drift must change something').not.toBe(before)
    expect(versionProblems(sources)).not.toEqual([])
  })
})
