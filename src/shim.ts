// The ESM bundle that ncc emits still contains CommonJS code (undici's llhttp loader) that reads `__dirname`.
// This module is imported first by each entry point so the name exists before that code runs.
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const scope = globalThis as { __dirname?: string }
scope.__dirname ??= dirname(fileURLToPath(import.meta.url))
