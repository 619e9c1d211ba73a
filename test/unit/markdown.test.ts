import { describe, expect, it } from 'vitest'
import { parseSettings } from '../../src/inputs.js'
import { plan } from '../../src/plan.js'
import { SUMMARY_LIMIT, toMarkdown } from '../../src/report/markdown.js'
import type { RunResult } from '../../src/run.js'
import type { RepositoryInventory } from '../../src/types.js'
import { daysAgo, image, NOW, repository } from './inventory-builder.js'

function result(repositories: RepositoryInventory[], dryRun = false): RunResult {
  const values: Record<string, string> = { registry: 'https://registry.example.com', 'keep-count': '1', 'dry-run': String(dryRun) }
  const settings = parseSettings((name) => values[name], {}, { homeDir: () => '/nonexistent' })
  return {
    settings,
    startedAt: NOW,
    plan: plan({ repositories }, settings, NOW),
    applied: undefined,
    gc: undefined,
    requests: {},
    failures: [],
    warnings: [],
  }
}

describe('the job summary', () => {
  it('escapes every value that came from the registry', () => {
    // A registry is not bound to the name grammar; what it answers must never become markup in the summary.
    const hostile = repository('team/<img src=x onerror=alert(1)>|x', [
      ['__init__', image('a', { created: daysAgo(2) })],
      ['v1*2', image('b', { created: daysAgo(1) })],
    ])
    const md = toMarkdown(result([hostile]))
    expect(md).not.toContain('<img')
    expect(md).toContain('&lt;img src=x onerror=alert(1)&gt;&#124;x')
    expect(md).toContain('\\_\\_init\\_\\_')
    expect(md).toContain('v1\\*2')
  })

  it('stays under the 1 MiB limit however big the registry, and points to the plan file for the rest', () => {
    const repos = Array.from({ length: 400 }, (_, r) =>
      repository(
        `team/service-${r}`,
        Array.from({ length: 40 }, (_, i): [string, ReturnType<typeof image>] => [
          `v1.0.${i}`,
          image(`${r}-${i}`, { created: daysAgo(i + 1) }),
        ]),
      ),
    )
    const md = toMarkdown(result(repos))
    expect(Buffer.byteLength(md)).toBeLessThan(SUMMARY_LIMIT)
    expect(md).toMatch(/more repositories are listed in the plan file/)
    // The totals and the per-repository table are never dropped.
    expect(md).toContain('| Images deleted | 15600 |')
    expect(md).toContain('| team/service-399 |')
  })

  it('a dry run says so at the top', () => {
    const md = toMarkdown(result([repository('app', [['v1', image('x', { created: daysAgo(1) })]])], true))
    expect(md.split('\n').slice(0, 4).join('\n')).toContain('**Dry run**')
  })
})
