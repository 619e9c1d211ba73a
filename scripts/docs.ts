// Keeps the README's input and output tables in step with action.yml, and schema/rules.schema.json with src/rules.ts:
// `npm run docs` rewrites them, and test/unit/readme.test.ts and test/unit/rules.test.ts fail when they drift.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { RULES_SCHEMA } from '../src/rules.js'

interface ActionYml {
  inputs: Record<string, { description: string; default?: string; required?: boolean }>
  outputs: Record<string, { description: string }>
}

const root = join(import.meta.dirname, '..')
const cell = (text: string): string => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim()
const code = (text: string): string => (text === '' ? '' : `\`${text.replace(/\n/g, ', ')}\``)

export function tables(actionYml: string): { inputs: string; outputs: string } {
  const action = parse(actionYml) as ActionYml
  const inputs = [
    '| input | default | description |',
    '| --- | --- | --- |',
    ...Object.entries(action.inputs).map(
      ([name, i]) => `| \`${name}\` | ${i.required ? '**required**' : code(i.default ?? '')} | ${cell(i.description)} |`,
    ),
  ].join('\n')
  const outputs = [
    '| output | description |',
    '| --- | --- |',
    ...Object.entries(action.outputs).map(([name, o]) => `| \`${name}\` | ${cell(o.description)} |`),
  ].join('\n')
  return { inputs, outputs }
}

/** The README with its generated blocks replaced. */
export function renderReadme(readme: string, actionYml: string): string {
  const t = tables(actionYml)
  let out = readme
  for (const [name, table] of Object.entries(t)) {
    const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`)
    if (!re.test(out)) throw new Error(`README.md has no <!-- ${name}:start --> ... <!-- ${name}:end --> block`)
    out = out.replace(re, (_all, start: string, end: string) => `${start}\n${table}\n${end}`)
  }
  return out
}

/** The published JSON Schema of the `rules` input: RULES_SCHEMA, pretty-printed. */
export const rulesSchemaText = (): string => `${JSON.stringify(RULES_SCHEMA, null, 2)}\n`

if (process.argv[1] === import.meta.filename) {
  mkdirSync(join(root, 'schema'), { recursive: true })
  writeFileSync(join(root, 'schema/rules.schema.json'), rulesSchemaText())
  console.log('schema/rules.schema.json written from src/rules.ts')
  const readmePath = join(root, 'README.md')
  const next = renderReadme(readFileSync(readmePath, 'utf8'), readFileSync(join(root, 'action.yml'), 'utf8'))
  writeFileSync(readmePath, next)
  console.log('README.md tables updated from action.yml')
}
