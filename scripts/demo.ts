// The built-in demo: starts a local registry, pushes sample images, runs a dry run and a real run of the CLI (with
// garbage collection on this machine), and prints the summary. Run it with `bash scripts/demo.sh`.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pushFixtures } from '../test/support/fixtures.js'
import { REGISTRY_BIN, startRegistry } from '../test/support/registry.js'

const cli = join(import.meta.dirname, '../dist/cli/index.js')
const registry = await startRegistry()
try {
  console.log(`\n== A registry on ${registry.url}, storage in ${registry.storage}`)
  await pushFixtures(registry)
  console.log('== Pushed sample images: team/app (OCI, multi-arch, signatures), team/tools/cli (Docker v2), solo\n')
  const flags = [
    `--registry=${registry.url}`,
    '--keep-count=2',
    '--garbage-collect=local',
    `--gc-command=${REGISTRY_BIN} garbage-collect ${registry.configPath}`,
    `--storage-path=${registry.storage}`,
    // The demo registry is not switched to read-only around GC: nothing else writes to it.
    '--gc-before-command=true',
    '--gc-after-command=true',
  ]
  for (const dryRun of [true, false]) {
    console.log(`\n== registry-prune ${dryRun ? '--dry-run (nothing is deleted)' : '(the real run)'}\n`)
    // --yes: the demo's real run is the point of the demo, so it does not stop at the confirmation question.
    const args = [cli, ...flags, `--dry-run=${dryRun}`, `--plan-file=${join(registry.storage, '..', 'plan.json')}`, '--yes']
    const result = spawnSync(process.execPath, args, { stdio: 'inherit' })
    if (result.status !== 0) process.exitCode = result.status ?? 1
  }
} finally {
  await registry.stop()
}
