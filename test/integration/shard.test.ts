// Issue 6, acceptance 2: sharded runs (n = 1, 2, 4) plan the same union of deletions as one unsharded run, shards never
// share a repository, and a real 4-shard run leaves the registry as one unsharded run does (GC needs SSH, so it is the
// deletions only here; the `prune: false` GC job after the shards is the README's recipe).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSettings } from '../../src/inputs.js'
import { run, type RunResult } from '../../src/run.js'
import { inShard } from '../../src/shard.js'
import type { Logger, Settings } from '../../src/types.js'
import { prunedLikeTheAction } from '../support/cli.js'
import { pushFixtures, type Fixtures } from '../support/fixtures.js'
import { pushImage, resolveTag, tagList, type Target } from '../support/push.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'

/** Six more repositories next to the fixtures, so that each of 4 shards gets some (checked below). */
const EXTRA = Array.from({ length: 6 }, (_, i) => `more/svc-${i}`)
const SHARDINGS = [1, 2, 4]

const quiet: Logger = {
  info: () => {},
  warning: () => {},
  error: () => {},
  debug: () => {},
  group: (_name, body) => body(),
}

let dir: string

/** The fixtures plus the extra repositories: four dated images each (two go with keep-count 2), one with an alias. */
async function populate(t: Target): Promise<{ fx: Fixtures; repositories: string[] }> {
  const fx = await pushFixtures(t)
  const base = 'shared base layer '.repeat(2000)
  for (const [r, name] of EXTRA.entries()) {
    for (let n = 1; n <= 4; n++) {
      await pushImage(t, name, `1.${n}`, {
        layers: [base, `${name} ${n}`],
        created: `2024-0${n}-1${r}T00:00:00Z`,
        format: n % 2 === 0 ? 'docker' : 'oci',
      })
      if (n === 1) await pushImage(t, name, 'old-alias', { layers: [base, `${name} ${n}`], created: `2024-0${n}-1${r}T00:00:00Z` })
    }
  }
  return { fx, repositories: [...Object.keys(fx.tags), ...EXTRA].sort() }
}

function settings(url: string, shard: Settings['shard'], dryRun: boolean, planFile: string): Settings {
  const values: Record<string, string> = {
    registry: url,
    'keep-count': '2',
    'keep-tags': 'latest',
    'dry-run': String(dryRun),
    concurrency: '4',
    'plan-file': planFile,
    ...(shard ? { shard: `${shard.index}/${shard.total}` } : {}),
  }
  return parseSettings((name) => values[name], {}, { homeDir: () => '/nonexistent-home' })
}

async function runShard(url: string, shard: Settings['shard'], dryRun: boolean): Promise<RunResult> {
  const name = shard ? `${shard.index}-of-${shard.total}` : 'all'
  const result = await run(settings(url, shard, dryRun, join(dir, `${name}-${dryRun}.json`)), { log: quiet, now: Date.now })
  expect(result.failures).toEqual([])
  return result
}

const planned = (r: RunResult): string[] =>
  r.plan.repositories.flatMap((repo) => repo.manifests.filter((m) => m.decision === 'delete').map((m) => `${repo.name}@${m.digest}`))

const shardsOf = (total: number): NonNullable<Settings['shard']>[] =>
  Array.from({ length: total }, (_, i) => ({ index: i + 1, total }))

/** Every tag -> digest, and whether each digest the unsharded plan names still resolves: the registry's state. */
async function state(t: Target, repositories: string[], digests: string[]): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {}
  for (const repo of repositories) {
    for (const tag of await tagList(t, repo)) out[`${repo}:${tag}`] = await resolveTag(t, repo, tag)
  }
  for (const key of digests) {
    const [repo, digest] = key.split('@') as [string, string]
    out[key] = (await resolveTag(t, repo, digest)) ? 'present' : 'gone'
  }
  return out
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-prune-shard-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('sharding (issue 6)', () => {
  let reg: TestRegistry
  let repositories: string[]
  beforeAll(async () => {
    reg = await startRegistry()
    repositories = (await populate(reg)).repositories
  })
  afterAll(async () => {
    await reg?.stop()
  })

  it('spreads the test repositories over every shard of 2 and of 4, so the runs below differ', () => {
    for (const total of [2, 4]) {
      for (const shard of shardsOf(total)) expect(repositories.filter((name) => inShard(name, shard)).length).toBeGreaterThan(0)
    }
  })

  it('plans the same union of deletions with 1, 2 and 4 shards, each repository in exactly one shard', async () => {
    const unsharded = await runShard(reg.url, undefined, true)
    const expected = planned(unsharded).sort()
    expect(expected.length).toBeGreaterThan(EXTRA.length * 2) // the extra repositories each lose two images
    expect(unsharded.plan.repositories.map((r) => r.name)).toEqual(repositories)

    for (const total of SHARDINGS) {
      const runs = await Promise.all(shardsOf(total).map((shard) => runShard(reg.url, shard, true)))
      const names = runs.flatMap((r) => r.plan.repositories.map((repo) => repo.name))
      expect(names.sort(), `${total} shards cover every repository once`).toEqual(repositories)
      expect(new Set(names).size, `${total} shards are disjoint`).toBe(names.length)
      const union = runs.flatMap(planned)
      expect(new Set(union).size).toBe(union.length)
      expect(union.sort(), `${total} shards plan the same deletions`).toEqual(expected)
      if (total > 1) for (const r of runs) expect(planned(r).length).toBeLessThan(expected.length)
    }
  })

  it('leaves the registry as one unsharded run does after a real run in 4 shards', async () => {
    const sharded = await startRegistry()
    const single = await startRegistry()
    try {
      const [{ fx }] = await Promise.all([populate(sharded), populate(single)])
      const reference = await runShard(single.url, undefined, false)
      const digests = [...new Set(reference.plan.repositories.flatMap((r) => r.manifests.map((m) => `${r.name}@${m.digest}`)))]

      // The shards run side by side, as a CI matrix does; each deletes only in its own repositories.
      const runs = await Promise.all(shardsOf(4).map((shard) => runShard(sharded.url, shard, false)))
      const deletedBy = runs.map((r) => r.applied?.repositories.filter((repo) => repo.deleted.length > 0).map((repo) => repo.name) ?? [])
      for (const [i, names] of deletedBy.entries()) for (const name of names) expect(inShard(name, { index: i + 1, total: 4 })).toBe(true)

      const after = await state(sharded, repositories, digests)
      expect(after).toEqual(await state(single, repositories, digests))
      expect(Object.values(after)).toContain('gone')
      expect(await prunedLikeTheAction(sharded, fx)).toEqual([])
    } finally {
      await Promise.allSettled([sharded.stop(), single.stop()])
    }
  })
})
