import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fnv1a32, inShard } from '../../src/shard.js'

describe('shards', () => {
  it('hashes with FNV-1a 32 (known vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5)
    expect(fnv1a32('a')).toBe(0xe40c292c)
    expect(fnv1a32('foobar')).toBe(0xbf9cf968)
  })

  it('takes every repository without a shard', () => {
    expect(inShard('team/app', undefined)).toBe(true)
  })

  it('puts every name in exactly one of n shards, counting from 1', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 16 }), (name, total) => {
        const owners = Array.from({ length: total }, (_, i) => i + 1).filter((index) => inShard(name, { index, total }))
        expect(owners).toHaveLength(1)
      }),
    )
  })

  it('spreads names over the shards', () => {
    const names = Array.from({ length: 1000 }, (_, i) => `team-${i}/app`)
    for (let index = 1; index <= 4; index++) {
      const count = names.filter((name) => inShard(name, { index, total: 4 })).length
      expect(count).toBeGreaterThan(150)
      expect(count).toBeLessThan(350)
    }
  })
})
