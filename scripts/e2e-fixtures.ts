// The end-to-end job of .github/workflows/ci.yml: pushes the test suite's fixture images to a registry (a `registry:2`
// service there), and after the Action's real run checks that the registry holds exactly what the suite expects of
// `keep-count: 2` (the same fixtures and expectations as test/integration/action.test.ts).
//   npx tsx scripts/e2e-fixtures.ts push  <registry URL> <state file>
//   npx tsx scripts/e2e-fixtures.ts check <registry URL> <state file>
import { readFile, writeFile } from 'node:fs/promises'
import { prunedLikeTheAction } from '../test/support/cli.js'
import { pushFixtures, type Fixtures } from '../test/support/fixtures.js'

const [command, url, stateFile] = process.argv.slice(2)
if (!url || !stateFile || (command !== 'push' && command !== 'check')) {
  console.error('usage: npx tsx scripts/e2e-fixtures.ts push|check <registry URL> <state file>')
  process.exit(2)
}

if (command === 'push') {
  const fx = await pushFixtures({ url })
  await writeFile(stateFile, JSON.stringify(fx, null, 2))
  const tags = Object.values(fx.tags).reduce((n, t) => n + Object.keys(t).length, 0)
  console.log(`pushed ${tags} tags in ${Object.keys(fx.tags).length} repositories to ${url}`)
} else {
  const fx = JSON.parse(await readFile(stateFile, 'utf8')) as Fixtures
  const problems = await prunedLikeTheAction({ url }, fx)
  for (const problem of problems) console.error(`::error::${problem}`)
  if (problems.length > 0) process.exit(1)
  console.log('the registry holds exactly the kept images')
}
