// The benchmark's fixture shapes: the figures it reports divide by these counts, so they must be what the flags say.
import { describe, expect, it } from 'vitest'
import { ALIAS_TAGS_PER_IMAGE, fixtureCounts, fixtureRepo, repoName, tagsOfRepo, type FixtureMode } from '../../scripts/bench/fixture.js'

const tagsIn = (spec: { tags: number; repos: number; mode: FixtureMode }, i: number): string[] => {
  const repo = fixtureRepo(spec, i)
  return [...repo.images.flatMap((image) => image.tags), ...repo.indexes.map((index) => index.tag)]
}

describe('benchmark fixture', () => {
  it.each(['mixed', 'distinct', 'aliases'] as const)('%s: holds exactly the tags asked for, unique per repository', (mode) => {
    const spec = { tags: 1003, repos: 7, mode }
    expect(fixtureCounts(spec).tags).toBe(1003)
    for (let i = 0; i < spec.repos; i++) {
      const tags = tagsIn(spec, i)
      expect(tags).toHaveLength(tagsOfRepo(spec, i))
      expect(new Set(tags).size).toBe(tags.length)
    }
  })

  it('distinct: one image per tag, no index', () => {
    const counts = fixtureCounts({ tags: 2000, repos: 10, mode: 'distinct' })
    expect(counts).toEqual({ tags: 2000, images: 2000, indexes: 0, manifests: 2000 })
  })

  it(`aliases: ${ALIAS_TAGS_PER_IMAGE} tags per image, so at least 80% of the tags alias another`, () => {
    const counts = fixtureCounts({ tags: 2000, repos: 10, mode: 'aliases' })
    expect(counts.indexes).toBe(0)
    expect(counts.images / counts.tags).toBeLessThanOrEqual(0.2)
  })

  it('mixed: aliases and a few two-platform indexes', () => {
    const counts = fixtureCounts({ tags: 20_000, repos: 100, mode: 'mixed' })
    expect(counts.indexes).toBe(200)
    expect(counts.images).toBe(14_800)
    expect(counts.manifests).toBe(14_800 + 200 * 3)
  })

  it('is the same every time (seeded), with created dates spread over time', () => {
    const spec = { tags: 500, repos: 2, mode: 'mixed' as const }
    expect(fixtureRepo(spec, 1)).toEqual(fixtureRepo(spec, 1))
    const created = new Set(fixtureRepo(spec, 0).images.map((image) => image.created))
    expect(created.size).toBe(fixtureRepo(spec, 0).images.length)
  })

  it('names repositories validly, padded so they sort in order', () => {
    expect(repoName(7, 100)).toBe('bench/team-7/app-07')
    expect(repoName(0, 1)).toBe('bench/team-0/app-0')
  })
})
