import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { compareTagsDescending, highestTag } from '../../src/tag-order.js'

const sorted = (tags: string[]): string[] => [...tags].sort(compareTagsDescending)

describe('compareTagsDescending', () => {
  test.each([
    [['v1.9.2', 'v1.10.0', 'v1.9.2-rc.1'], ['v1.10.0', 'v1.9.2', 'v1.9.2-rc.1']],
    [['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-beta', '1.0.0', '1.0.0-rc.1', '1.0.0-beta.11', '1.0.0-beta.2'],
      ['1.0.0', '1.0.0-rc.1', '1.0.0-beta.11', '1.0.0-beta.2', '1.0.0-beta', '1.0.0-alpha.1', '1.0.0-alpha']],
    [['latest', 'v2', 'main', 'v1.4'], ['v2', 'v1.4', 'main', 'latest']],
    [['build-9', 'build-10', 'build-100'], ['build-100', 'build-10', 'build-9']],
    [['2024-01-05', '2024-01-15', '2023-12-31'], ['2024-01-15', '2024-01-05', '2023-12-31']],
    // Beyond Number.MAX_SAFE_INTEGER: compared as digit strings, not floats.
    [['v99999999999999999998.0.0', 'v99999999999999999999.0.0'],
      ['v99999999999999999999.0.0', 'v99999999999999999998.0.0']],
    [['1.2.0', 'v1.2.0', '1.2.0+build.5'], ['v1.2.0', '1.2.0+build.5', '1.2.0']],
    [['sha256-aa.sig', 'v0.0.1'], ['v0.0.1', 'sha256-aa.sig']],
  ])('%j sorts to %j', (input, expected) => {
    expect(sorted(input)).toEqual(expected)
  })

  test('is a total order: the result does not depend on the input order', () => {
    const tag = fc.oneof(
      fc.constantFrom('latest', 'main', 'v1', 'v1.2', 'v1.2.0', '1.2.0', 'v1.2.0-rc.1', 'v1.2.0-rc.a', 'a01', 'a1'),
      fc.stringMatching(/^v?\d{1,3}(\.\d{1,3}){0,2}(-[a-z0-9]{1,3}(\.[a-z0-9]{1,3})?)?$/),
      fc.stringMatching(/^[a-z0-9._-]{1,8}$/),
    )
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 12 }), (tags) => {
        expect(sorted([...tags].reverse())).toEqual(sorted(tags))
      }),
    )
    fc.assert(
      fc.property(tag, tag, tag, (a, b, c) => {
        const sign = (x: string, y: string) => Math.sign(compareTagsDescending(x, y))
        expect(sign(a, b)).toBe(-sign(b, a) || 0)
        expect(sign(a, b) === 0).toBe(a === b)
        if (sign(a, b) < 0 && sign(b, c) < 0) expect(sign(a, c)).toBe(-1)
      }),
    )
  })
})

describe('highestTag', () => {
  test.each([
    [[], undefined],
    [['latest'], 'latest'],
    [['latest', 'v1.0.0', 'v0.9.0'], 'v1.0.0'],
    [['main', 'dev'], 'main'],
  ])('%j: %s', (tags, expected) => {
    expect(highestTag(tags)).toBe(expected)
  })
})
