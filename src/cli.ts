#!/usr/bin/env node
// Entry point of the CLI bundle (dist/cli/index.js, the package's `registry-prune` bin). The shim must come first:
// see src/shim.ts.
import './shim.js'
import { cliMain } from './cli/main.js'

// exitCode, not exit(): stdout may be a pipe still draining the report.
process.exitCode = await cliMain(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
})
