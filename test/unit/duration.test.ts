import { describe, expect, test } from 'vitest'
import { formatDuration, parseDuration } from '../../src/duration.js'

const S = 1000
const M = 60 * S
const H = 60 * M
const D = 24 * H
const W = 7 * D

describe('parseDuration', () => {
  test.each([
    ['30d', 30 * D],
    ['12h', 12 * H],
    ['2w', 2 * W],
    ['90m', 90 * M],
    ['45s', 45 * S],
    ['1d12h', D + 12 * H],
    ['1w2d3h4m5s', W + 2 * D + 3 * H + 4 * M + 5 * S],
    ['007d', 7 * D],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  test.each([
    ['3 weeks', /without spaces/],
    ['-1d', /negative/],
    ['1.5d', /whole numbers/],
    ['30', /no unit/],
    ['30D', /lower-case/],
    ['3mo', /not a duration/],
    ['3y', /unknown unit 'y'/],
    ['12h1d', /largest first/],
    ['1d1d', /largest first/],
    ['0d', /zero/],
    ['0h0m', /zero/],
    ['', /not a duration/],
    ['d', /not a duration/],
    ['9999999999d', /longer than 5000w/],
    ['5001w', /longer than 5000w/],
  ])('%j is refused (%s)', (text, reason) => {
    expect(() => parseDuration(text)).toThrow(reason)
  })

  test('limits bound the value', () => {
    expect(() => parseDuration('500s', { minMs: S, maxMs: 5 * M })).toThrow(/longer than 5m/)
    expect(() => parseDuration('1s', { minMs: 2 * S })).toThrow(/shorter than 2s/)
    expect(parseDuration('5m', { maxMs: 5 * M })).toBe(5 * M)
  })
})

describe('formatDuration', () => {
  test.each([
    [D + 12 * H, '1d12h'],
    [2 * W, '2w'],
    [90 * M, '1h30m'],
    [1500, '1s'],
    [0, '0s'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })

  test('round-trips with parseDuration', () => {
    for (const text of ['30d', '2w', '9d3h4m5s', '12h', '45s']) expect(formatDuration(parseDuration(text))).toBe(text)
    for (const ms of [S, 59 * S, D + S, 3 * W + 1000 * S, 5000 * W]) expect(parseDuration(formatDuration(ms))).toBe(ms)
  })
})
