// A RunResult for report tests: settings parsed from inputs as a front door would, an empty plan, nothing done.
import { parseSettings } from '../../src/inputs.js'
import { plan } from '../../src/plan.js'
import type { RunResult } from '../../src/types.js'
import { NOW } from './inventory-builder.js'

export function emptyRun(values: Record<string, string> = {}, more: Partial<RunResult> = {}): RunResult {
  const all: Record<string, string> = { registry: 'https://registry.example.com', ...values }
  const settings = parseSettings((name) => all[name], {}, { homeDir: () => '/nonexistent' })
  return {
    settings,
    startedAt: NOW,
    plan: plan({ repositories: [] }, settings, NOW),
    applied: undefined,
    gc: undefined,
    requests: {},
    failures: [],
    warnings: [],
    ...more,
  }
}
