// The benchmark's minimal client as the program it measures (issue 15): bundled by ncc and run as a child process, it
// reads every tag of a real registry, and for a plan re-reads each repository and deletes what the plan names.
// Its speed is the benchmark's business; here only that it does the work the ratios are taken against.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureCounts, repoName, type FixtureSpec } from '../../scripts/bench/fixture.js'
import { buildMinimal, runMinimal, type MinimalProgram } from '../../scripts/bench/minimal.js'
import { populate } from '../../scripts/bench/populate.js'
import { resolveTag, tagList } from '../support/push.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'

const spec: FixtureSpec = { tags: 60, repos: 3, mode: 'mixed' }
let registry: TestRegistry
let program: MinimalProgram

beforeAll(async () => {
  ;[registry, program] = await Promise.all([startRegistry(), buildMinimal()])
  await populate(registry.url, spec, { concurrency: 4 })
}, 120_000)

afterAll(async () => {
  await registry?.stop()
  await program?.remove()
})

describe('the minimal client program', () => {
  it('reads every tag, each index child and each distinct config once, timed from spawn to exit', async () => {
    const run = await runMinimal(program, registry.url, 4)
    const counts = fixtureCounts(spec)
    expect(run.inventory.tags).toBe(counts.tags)
    expect(run.inventory.manifestRequests).toBe(counts.tags + counts.indexes * 2)
    expect(run.inventory.listRequests).toBe(1 + spec.repos)
    expect(run.applied).toBeUndefined()
    // Start-up is in the wall time, not in the loop's own.
    expect(run.seconds).toBeGreaterThan(run.inventory.seconds)
  })

  it('re-reads a repository before deleting in it, then deletes what the plan names', async () => {
    const target = { url: registry.url }
    const repository = repoName(0, spec.repos)
    const tags = await tagList(target, repository)
    const digest = (await resolveTag(target, repository, tags[0]!))!
    const run = await runMinimal(program, registry.url, 4, [{ repository, digests: [digest] }])
    expect(run.applied).toMatchObject({ deleteRequests: 1, recheckRequests: 1 + tags.length })
    expect(await tagList(target, repository)).not.toContain(tags[0])
  })
})
