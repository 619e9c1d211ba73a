#!/usr/bin/env node
// Entry point of the CLI bundle (dist/cli/index.js, the package's `registry-prune` bin). The shim must come first:
// see src/shim.ts.
import './shim.js'
import './heap.js'
import { cliMain } from './cli/main.js'
import { interruptOnSignals } from './interrupt.js'

const interrupt = interruptOnSignals((message) => process.stderr.write(`registry-prune: ${message}\n`))
const code = await cliMain(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  signal: interrupt.signal,
})
if (interrupt.signal.aborted) {
  // Work the run no longer waits for (reads, a collector) must not keep the process alive: exit once stdout drained.
  process.stdout.write('', () => process.exit(code))
} else {
  // exitCode, not exit(): stdout may be a pipe still draining the report.
  process.exitCode = code
  interrupt.dispose()
}
