// Issue 2 (acceptance 5) and issue 5: every bad input fails in parseSettings, naming the input and the expected form.
// (That no request is sent before this is shown by the lead's entry-point test; parseSettings itself has no network.)
import { describe, expect, test } from 'vitest'
import { BAD, inputFailure, rowName } from '../support/bad-inputs.js'

const failure = inputFailure

describe('bad inputs', () => {
  test('the table is big enough', () => expect(BAD.length).toBeGreaterThanOrEqual(30))

  const named = BAD.map(([input, values, says]) => [input, rowName(values), values, says] as const)
  test.each(named)('%s: %s', (input, _name, values, says) => {
    const error = failure(values)
    expect(error.input).toBe(input)
    expect(error.message).toContain(input)
    expect(error.message).toMatch(/Expected /)
    expect(error.message).toMatch(says)
  })

  test('secret values never appear in a message', () => {
    const secrets = { password: 'hun\u0007ter2-SECRET', 'ssh-passphrase': 'pass\u0001phrase-SECRET' }
    for (const [name, value] of Object.entries(secrets)) {
      const error = failure({ username: 'ci', [name]: value })
      expect(error.input).toBe(name)
      expect(error.message).not.toContain('SECRET')
    }
    for (const registry of ['https://ci:SECRET@registry.example.com', 'ci:SECRET@registry.example.com:5000']) {
      expect(failure({ registry }).message).not.toContain('SECRET')
    }
    const key = failure({ 'ssh-private-key': 'SECRET-KEY-MATERIAL' })
    expect(key.message).not.toContain('SECRET')
  })

  test('long and control-character values are shown escaped and cut', () => {
    const error = failure({ 'keep-count': `1\u001b[2J${'9'.repeat(200)}` })
    expect(error.message).toContain('\\u001b')
    expect(error.message).not.toContain('\u001b')
    expect(error.message).toMatch(/\.\.\.' \(205 characters\)/)
  })
})
