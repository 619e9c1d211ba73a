// The GitHub workflows and action.yml cannot run here, so the suite checks them with GitHub's own parser
// (@actions/workflow-parser: the workflow schema, expressions, and the action.yml schema), plus the few rules of this
// project that no schema holds (actions pinned by version, what each workflow must do). Broken copies must fail.
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser'
import { convertActionTemplate, parseAction } from '@actions/workflow-parser/actions/index'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const ROOT = join(import.meta.dirname, '../..')
const WORKFLOWS = join(ROOT, '.github/workflows')
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')
const workflowFiles = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort()

/** Every error GitHub's parser finds in a workflow: schema, expressions, and the conversion to a runnable template. */
async function workflowErrors(name: string, content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter())
  const errors = parsed.context.errors.getErrors().map((e) => e.message)
  if (parsed.value !== undefined) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value)
    errors.push(...(template.errors ?? []).map((e) => e.Message))
  }
  return [...new Set(errors)]
}

interface Action {
  runs: { using: string; main: string }
  inputs: Record<string, { description?: string }>
  outputs: Record<string, { description?: string }>
}

/** What GitHub's parser finds wrong in an action.yml, and what this project asks on top (a node24 bundle that exists). */
function actionErrors(content: string): string[] {
  const parsed = parseAction({ name: 'action.yml', content }, new NoOperationTraceWriter())
  if (parsed.value !== undefined) convertActionTemplate(parsed.context, parsed.value)
  const errors = parsed.context.errors.getErrors().map((e) => e.message)
  if (errors.length > 0) return errors
  const action = parse(content) as Action
  if (action.runs.using !== 'node24') errors.push(`runs.using is ${action.runs.using}, not node24`)
  if (!existsSync(join(ROOT, action.runs.main))) errors.push(`runs.main ${action.runs.main} does not exist`)
  // The parser accepts any key under an input or output; GitHub knows only these (a misspelt `require` is ignored
  // there, silently).
  const known = { input: ['description', 'required', 'default', 'deprecationMessage'], output: ['description', 'value'] }
  for (const [kind, entries] of [['input', action.inputs], ['output', action.outputs]] as const) {
    for (const [name, entry] of Object.entries(entries)) {
      if (!entry.description) errors.push(`${kind} ${name} has no description`)
      for (const key of Object.keys(entry)) if (!known[kind].includes(key)) errors.push(`${kind} ${name} has an unknown key ${key}`)
    }
  }
  return errors
}

interface Step {
  id?: string
  uses?: string
  run?: string
  with?: Record<string, string>
  env?: Record<string, string>
}
interface Job {
  steps: Step[]
  permissions?: Record<string, string>
  services?: Record<string, { image: string; env?: Record<string, string> }>
}
interface Workflow {
  on: Record<string, unknown>
  jobs: Record<string, Job>
}

const steps = (wf: Workflow): Step[] => Object.values(wf.jobs).flatMap((j) => j.steps)

/** Third-party actions must name at least a major version (or a commit); a branch would change under us. */
function unpinned(wf: Workflow): string[] {
  return steps(wf)
    .map((s) => s.uses)
    .filter((uses): uses is string => uses !== undefined && !uses.startsWith('./'))
    .filter((uses) => !/^[\w.-]+\/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/.test(uses))
}

describe('the GitHub workflows', () => {
  it('are ci.yml and release.yml', () => {
    expect(workflowFiles).toEqual(['ci.yml', 'release.yml'])
  })

  it.each(workflowFiles)('%s passes GitHub\'s workflow parser, and pins every action by version', async (file) => {
    const content = readFileSync(join(WORKFLOWS, file), 'utf8')
    expect(await workflowErrors(file, content)).toEqual([])
    expect(unpinned(parse(content) as Workflow)).toEqual([])
  })

  it('ci.yml runs .ci/run, checks dist/ on every pull request, and runs the Action from the checkout against registry:2', () => {
    const ci = parse(read('.github/workflows/ci.yml')) as Workflow
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(['push', 'pull_request']))
    expect(ci.on.pull_request ?? null).toBeNull() // every pull request, whatever its branch or paths

    // The same checks as the project's CI: .ci/run itself (apt packages, then scripts/test.sh).
    expect(ci.jobs.check!.steps.map((s) => s.run ?? '').join('\n')).toMatch(/\bbash \.ci\/run\b/)
    const dist = ci.jobs.dist!.steps.map((s) => s.run ?? '').join('\n')
    expect(dist).toContain('npm run build')
    expect(dist).toContain('git status --porcelain -- dist')

    const e2e = ci.jobs.e2e!
    expect(e2e.services?.registry).toMatchObject({ image: 'registry:2', env: { REGISTRY_STORAGE_DELETE_ENABLED: 'true' } })
    const actionSteps = e2e.steps.filter((s) => s.uses === './')
    expect(actionSteps.map((s) => s.with?.['dry-run'] ?? 'false')).toEqual(['true', 'false'])
    const pushIndex = e2e.steps.findIndex((s) => s.run?.includes('e2e-fixtures.ts push'))
    expect(pushIndex).toBeGreaterThanOrEqual(0)
    expect(pushIndex).toBeLessThan(e2e.steps.indexOf(actionSteps[0]!))
    // Every output of the Action (DECISIONS 13) is read and checked after each run.
    const outputs = Object.keys((parse(read('action.yml')) as Action).outputs)
    for (const step of actionSteps) {
      const check = e2e.steps[e2e.steps.indexOf(step) + 1]!
      const read = Object.values(check.env ?? {}).join('\n')
      expect(outputs.filter((o) => !read.includes(`steps.${step.id}.outputs.${o}`))).toEqual([])
    }
    expect(e2e.steps.at(-1)!.run).toContain('e2e-fixtures.ts check')
  })

  it('release.yml, on a vX.Y.Z tag: verifies, checks the tag, publishes with provenance, moves vX, releases with the changelog', () => {
    const text = read('.github/workflows/release.yml')
    const release = parse(text) as Workflow & { env: Record<string, string> }
    expect(release.on).toEqual({ push: { tags: ['v[0-9]+.[0-9]+.[0-9]+'] } })
    const verify = release.jobs.verify!.steps.map((s) => s.run ?? '').join('\n')
    expect(verify).toContain('"$GITHUB_REF_NAME" != "v$version"')
    expect(verify).toMatch(/\bbash \.ci\/run\b/)
    expect(release.jobs.npm!.permissions).toEqual({ contents: 'read', 'id-token': 'write' })
    expect(release.jobs.npm!.steps.map((s) => s.run ?? '')).toContain('npm publish --provenance --access public')
    const final = release.jobs.release!.steps.map((s) => s.run ?? '').join('\n')
    expect(final).toContain('git push --force origin "refs/tags/v$MAJOR"')
    expect(final).toContain('CHANGELOG.md')
    expect(final).toContain('gh release create')
    // Publishing waits for the checks, and the release for both publications.
    expect((release.jobs.npm as { needs?: unknown }).needs).toBe('verify')
    expect((release.jobs.release as { needs?: unknown }).needs).toEqual(['verify', 'npm', 'image'])
  })

  it('dependabot updates npm (the project and tools/) and the actions', () => {
    const config = parse(read('.github/dependabot.yml')) as {
      version: number
      updates: { 'package-ecosystem': string; directory: string; schedule: { interval: string } }[]
    }
    expect(config.version).toBe(2)
    expect(config.updates.map((u) => `${u['package-ecosystem']} ${u.directory}`)).toEqual([
      'npm /',
      'npm /tools',
      'github-actions /',
    ])
    for (const u of config.updates) expect(['daily', 'weekly', 'monthly']).toContain(u.schedule.interval)
  })
})

describe('action.yml', () => {
  it('passes GitHub\'s action.yml parser and runs the committed node24 bundle', () => {
    expect(actionErrors(read('action.yml'))).toEqual([])
  })
})

// A test that cannot fail is worse than none: each broken copy below must be refused.
describe('broken copies are refused', () => {
  const ci = read('.github/workflows/ci.yml')
  const release = read('.github/workflows/release.yml')
  const action = read('action.yml')
  const replaced = (text: string, from: string | RegExp, to: string): string => {
    const out = text.replace(from, to)
    expect(out, `the mutation ${String(from)} must change the file`).not.toBe(text)
    return out
  }

  it.each<[string, () => string]>([
    ['a misspelt job key (runs_on)', () => replaced(ci, 'runs-on: ubuntu-latest', 'runs_on: ubuntu-latest')],
    ['a broken expression', () => replaced(ci, '${{ steps.dry.outputs.deleted-count }}', '${{ steps.dry.outputs.deleted-count ) }}')],
    ['an unknown context in an expression', () => replaced(ci, '${{ env.REGISTRY }}', '${{ environment.REGISTRY }}')],
    ['a step with both uses and run', () => replaced(release, '      - uses: docker/setup-qemu-action@v3', '      - uses: docker/setup-qemu-action@v3\n        run: echo')],
    ['a misspelt trigger filter (tag)', () => replaced(release, '    tags:\n', '    tag:\n')],
    ['a bad permission value', () => replaced(release, 'id-token: write', 'id-token: writ')],
    ['a job needing a job that does not exist', () => replaced(release, 'needs: [verify, npm, image]', 'needs: [verify, npm, images]')],
  ])('workflow: %s', async (_what, broken) => {
    const text = broken()
    const file = text.includes('name: Release') ? 'release.yml' : 'ci.yml'
    expect(await workflowErrors(file, text)).not.toEqual([])
  })

  it('workflow: an action used by branch, not by version', () => {
    expect(unpinned(parse(replaced(ci, 'actions/checkout@v5', 'actions/checkout@main')) as Workflow)).toEqual([
      'actions/checkout@main',
    ])
  })

  it.each<[string, () => string]>([
    ['an unknown runtime', () => replaced(action, 'using: node24', 'using: node99')],
    ['a misspelt input key (require)', () => replaced(action, /required: true/, 'require: true')],
    ['no runs section', () => replaced(action, /^runs:[\s\S]*$/m, '')],
    ['an older runtime than the users have', () => replaced(action, 'using: node24', 'using: node20')],
    ['a bundle that does not exist', () => replaced(action, 'main: dist/index.js', 'main: dist/main.js')],
    ['an output without a description', () => replaced(action, /(outputs:\n {2}deleted-count:\n) {4}description:.*\n/, '$1    value: x\n')],
  ])('action.yml: %s', (_what, broken) => {
    expect(actionErrors(broken())).not.toEqual([])
  })
})
