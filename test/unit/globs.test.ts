import { describe, expect, test } from 'vitest'
import { globMatcher, hasGlobMagic } from '../../src/globs.js'

describe('globMatcher', () => {
  test.each([
    ['latest', ['latest'], true],
    ['latest', ['v*'], false],
    ['v1.2.3', ['v*'], true],
    ['v1.2.3', ['v1.*', '!v1.2.*'], false],
    ['v1.3.0', ['v1.*', '!v1.2.*'], true],
    ['team/app', ['team/**'], true],
    ['team/sub/app', ['team/**'], true],
    ['team/sub/app', ['team/*'], false],
    ['other/app', ['team/**'], false],
    ['team/app', ['!team/**'], false],
    ['other/app', ['!team/**'], true],
    ['anything', [], false],
    ['.hidden', ['*'], true],
    ['team/.cache', ['team/*'], true],
    ['v1', ['{v1,v2}'], true],
    ['#1', ['#1'], true],
    ['feature-x', ['feature-*', 'release-*'], true],
  ])('%s against %j: %s', (name, globs, expected) => {
    expect(globMatcher(globs)(name)).toBe(expected)
    expect(globMatcher(globs)(name)).toBe(expected)
  })
})

describe('hasGlobMagic', () => {
  test.each([
    ['team/app', false],
    ['library/nginx', false],
    ['a.b-c_d', false],
    ['team/*', true],
    ['team/**', true],
    ['app?', true],
    ['app[12]', true],
    ['{app,web}', true],
    ['!team/app', false],
    ['!team/*', true],
  ])('%s: %s', (pattern, expected) => {
    expect(hasGlobMagic(pattern)).toBe(expected)
  })
})
