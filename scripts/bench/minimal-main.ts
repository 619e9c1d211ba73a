// The minimal client as a program of its own (issue 15): `read URL CONCURRENCY` does the reads of `measureCeiling`,
// `real URL CONCURRENCY PLAN` those reads and then the re-reads and deletions of `measureMinimalApply` for the plan
// (a JSON file). It prints what it measured as JSON on stdout. Bundled by ncc, as registry-prune is (minimal.ts).
import { readFileSync } from 'node:fs'
import { measureCeiling, measureMinimalApply } from './ceiling.js'

const [mode, url, concurrencyText, planFile] = process.argv.slice(2)
const concurrency = Number(concurrencyText)
if (!url || !Number.isInteger(concurrency) || (mode !== 'read' && !(mode === 'real' && planFile))) {
  process.stderr.write('usage: minimal read URL CONCURRENCY | minimal real URL CONCURRENCY PLAN.json\n')
  process.exit(2)
}
const inventory = await measureCeiling(url, concurrency)
const applied =
  mode === 'real' ? await measureMinimalApply(url, concurrency, JSON.parse(readFileSync(planFile!, 'utf8'))) : undefined
process.stdout.write(JSON.stringify({ inventory, applied }))
