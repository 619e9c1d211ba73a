import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { renderReadme } from '../../scripts/docs.js'

const root = join(import.meta.dirname, '../..')

it("the README's input and output tables match action.yml (run `npm run docs` to update them)", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  expect(readme).toBe(renderReadme(readme, readFileSync(join(root, 'action.yml'), 'utf8')))
})

it('the README names the two commands for a fresh machine, and .ci/run calls the test one', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  expect(readme).toContain('bash scripts/demo.sh')
  expect(readme).toContain('bash scripts/test.sh')
  expect(readFileSync(join(root, '.ci/run'), 'utf8')).toContain('bash scripts/test.sh')
})

it('the version constant matches package.json', async () => {
  const { VERSION } = await import('../../src/version.js')
  expect(VERSION).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version)
})
