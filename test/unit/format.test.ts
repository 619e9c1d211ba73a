import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatCount } from '../../src/report/format.js'

describe('formatCount', () => {
  it.each([
    [0, '0'], [-0, '-0'], [999, '999'], [1000, '1,000'], [-1000, '-1,000'], [1234567, '1,234,567'], [100000, '100,000'],
  ])('%d is %s', (n, text) => {
    expect(formatCount(n)).toBe(text)
  })

  it('writes every whole number as en-US does, and anything else through it', () => {
    fc.assert(fc.property(fc.oneof(fc.maxSafeInteger(), fc.double()), (n) => {
      expect(formatCount(n)).toBe(n.toLocaleString('en-US'))
    }))
  })
})
