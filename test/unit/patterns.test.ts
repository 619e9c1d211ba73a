// Pattern lists (DECISIONS 30): globs as before, `/…/` and `/…/i` as RE2 regular expressions over the whole name.
import { describe, expect, test } from 'vitest'
import { needsListing, patternListProblem, patternMatcher, splitList } from '../../src/patterns.js'

describe('patternMatcher', () => {
  test.each([
    ['v1.2.3', ['/v\\d+\\.\\d+\\.\\d+/'], true],
    ['v1.2.3-rc.1', ['/v\\d+\\.\\d+\\.\\d+/'], false], // the whole name, not a part of it
    ['xv1.2.3', ['/v\\d+\\.\\d+\\.\\d+/'], false],
    ['MAIN', ['/main/'], false],
    ['MAIN', ['/main/i'], true],
    ['pr-12', ['pr-*', '!/pr-1[0-9]/'], false],
    ['pr-21', ['pr-*', '!/pr-1[0-9]/'], true],
    ['team/app-7', ['/team\\/app-[0-9]+/'], true],
    ['team/app-x', ['/team\\/app-[0-9]+/'], false],
    ['anything', ['!/tmp-.*/'], true],
    ['tmp-1', ['!/tmp-.*/'], false],
    ['latest', ['/v.*/', 'latest'], true],
    ['a', [], false],
  ])('%s against %j: %s', (name, patterns, expected) => {
    expect(patternMatcher(patterns)(name)).toBe(expected)
  })

  test('a pattern that backtracking engines take exponential time on is linear here', () => {
    // (a+)+$ against "aaaa…b" is the textbook catastrophic case for a backtracking RegExp; RE2 has no backtracking.
    const name = `${'a'.repeat(5000)}b`
    expect(patternMatcher(['/(a+)+/'])(name)).toBe(false)
    expect(patternMatcher(['/(a|aa)*c/'])(name)).toBe(false)
  })
})

describe('patternListProblem', () => {
  test.each([
    [['/v(/'], 'tag', /'\/v\(\/' is not a valid regular expression \(RE2 syntax: .*missing closing \)/],
    [['!/(?=x)/'], 'tag', /'!\/\(\?=x\)\/' is not a valid regular expression .*Perl syntax/],
    [['/(a)\\1/'], 'tag', /not a valid regular expression .*escape/],
    [['/v1'], 'tag', /starts with \/ but is not a regular expression/],
    [['/x/g'], 'tag', /starts with \/ but is not a regular expression/],
    [['latest', 'v[2-1]'], 'tag', /reversed range 2-1/],
  ] as const)('%j (%s): %s', (patterns, target, says) => {
    expect(patternListProblem(patterns, target)).toMatch(says)
  })

  test.each([
    [['/^v\\d+\\.\\d+\\.\\d+$/', '/main/i', '!/pr-[0-9]{1,3}/', 'latest'], 'tag'],
    [['/team\\/.+/', 'ops/*'], 'repository'],
  ] as const)('%j (%s) passes', (patterns, target) => {
    expect(patternListProblem(patterns, target)).toBeUndefined()
  })
})

test('a regular expression always needs the catalog; a literal name never', () => {
  expect(needsListing('/team\\/app/')).toBe(true)
  expect(needsListing('!/team\\/app/')).toBe(true)
  expect(needsListing('team/app')).toBe(false)
  expect(needsListing('team/*')).toBe(true)
})

test('a comma inside {} of a regular expression does not split the list', () => {
  expect(splitList('/v[0-9]{1,3}/, latest')).toEqual(['/v[0-9]{1,3}/', 'latest'])
})
