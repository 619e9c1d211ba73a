import { describe, expect, it } from 'vitest'
import { parseSettings } from '../../src/inputs.js'
import { plan } from '../../src/plan.js'
import { SUMMARY_LIMIT, toMarkdown } from '../../src/report/markdown.js'
import { resultLine, toText } from '../../src/report/text.js'
import type { RunResult } from '../../src/run.js'
import type { Plan, PlannedManifest, RepositoryInventory } from '../../src/types.js'
import { blob, daysAgo, digestOf, image, NOW, repository } from './inventory-builder.js'

function settingsFor(dryRun: boolean, extra: Record<string, string> = {}): RunResult['settings'] {
  const values: Record<string, string> = {
    registry: 'https://registry.example.com',
    'keep-count': '1',
    'dry-run': String(dryRun),
    ...extra,
  }
  return parseSettings((name) => values[name], {}, { homeDir: () => '/nonexistent' })
}

function resultOf(planned: Plan, dryRun: boolean, extra: Record<string, string> = {}): RunResult {
  return {
    settings: settingsFor(dryRun, extra),
    startedAt: NOW,
    plan: planned,
    applied: undefined,
    gc: undefined,
    requests: {},
    failures: [],
    warnings: [],
  }
}

function result(repositories: RepositoryInventory[], dryRun = false, extra: Record<string, string> = {}): RunResult {
  const settings = settingsFor(dryRun, extra)
  return resultOf(plan({ repositories }, settings, NOW), dryRun, extra)
}

/** `count` images of `bytes` each, the newest kept (keep-count 1), the rest deleted. */
function sizedRepository(name: string, count: number, bytes: number): RepositoryInventory {
  return repository(
    name,
    Array.from({ length: count }, (_, i): [string, ReturnType<typeof image>] => [
      `build_${i}`,
      image(`${name}-${i}`, { created: daysAgo(i + 1), layers: [blob(`${name}-${i}`, bytes)] }),
    ]),
  )
}

/** The tables and `<details>` blocks: where Markdown escapes are not processed. */
const htmlParts = (md: string): string[] => md.match(/<(details|summary|table|tr)>[\s\S]*?<\/\1>/g) ?? []

describe('the job summary', () => {
  it('escapes every value that came from the registry: entities in HTML, backslashes only in Markdown', () => {
    // A registry is not bound to the name grammar; what it answers must never become markup in the summary.
    const hostile = repository('team/<img src=x onerror=alert(1)>|x', [
      ['__init__', image('a', { created: daysAgo(2) })],
      ['v1*2', image('b', { created: daysAgo(1) })],
    ])
    const md = toMarkdown(result([hostile]))
    expect(md).not.toContain('<img')
    expect(md).toContain('| team/&lt;img src=x onerror=alert(1)&gt;&#124;x |') // the Markdown table
    expect(md).toContain('<summary>team/&lt;img src=x onerror=alert(1)&gt;|x:') // HTML: no Markdown escapes
    expect(md).toContain('<tr><td>__init__</td>')
    expect(md).toContain('<tr><td>v1*2</td>')
    for (const part of htmlParts(md)) expect(part).not.toMatch(/\\[_*[\]#`!~\\]/)
  })

  it('`build_42` shows as build_42 in the details, never build\\_42', () => {
    const md = toMarkdown(result([sizedRepository('team/app', 3, 1000)]))
    const details = htmlParts(md).join('\n')
    expect(details).toContain('build_2')
    expect(details).not.toContain('\\_')
  })

  it('leads with the answer: bytes, images deleted and kept, repositories, time taken', () => {
    const r = result([sizedRepository('team/app', 3, 224_592), sizedRepository('team/web', 2, 1000)])
    const md = toMarkdown(r, { finishedAt: NOW + 3_400 })
    const lines = md.split('\n').filter(Boolean)
    expect(lines[0]).toBe('## registry-prune: registry.example.com')
    expect(lines[1]).toMatch(/^\*\*440\.0 KiB \([\d,]+ bytes\) reclaimable\*\* \(estimate; freed once the registry's garbage collector runs\)/)
    expect(lines[1]).toContain(' · 3 images deleted, 2 kept · 2 repositories · 3.4 s')

    const dry = toMarkdown(result([sizedRepository('team/app', 2, 224_482)], true), { finishedAt: NOW + 850 })
    const head = dry.split('\n').filter(Boolean)[1]
    expect(head).toContain('would be freed** (estimate from the plan; dry run, nothing deleted)')
    expect(head).toContain('1 image would be deleted, 1 kept · 1 repository · 850 ms')
  })

  it('the same figure is written one way: IEC units with the exact bytes once', () => {
    const md = toMarkdown(result([sizedRepository('team/app', 2, 224_482)]))
    // 224,482 bytes of layer + 10 of config + 100 of manifest.
    expect(md).toContain('219.3 KiB (224,592 bytes)')
    expect(md).not.toMatch(/224592 bytes/)
  })

  it('lists repositories by the bytes they free, largest first, with a bar of their share', () => {
    const md = toMarkdown(
      result([sizedRepository('a-small', 2, 1_000), sizedRepository('b-large', 4, 300_000), sizedRepository('c-mid', 3, 50_000)]),
    )
    const rows = md.split('\n').filter((l) => /^\| [abc]-/.test(l))
    expect(rows.map((r) => r.split(' | ')[0])).toEqual(['| b-large', '| c-mid', '| a-small'])
    expect(rows[0]).toMatch(/█{8}[▏▎▍▌▋▊▉]? 90 %/)
    // The details follow in the same order.
    expect(md.indexOf('<summary>b-large')).toBeLessThan(md.indexOf('<summary>c-mid'))
    expect(md.indexOf('<summary>c-mid')).toBeLessThan(md.indexOf('<summary>a-small'))
  })

  it('writes plurals right and says why a date was not read', () => {
    // keep-count 5 with 1 image: no date is needed, so none is read.
    const one = repository('solo', [['v1', { ...image('solo') }]])
    const md = toMarkdown(result([one], false, { 'keep-count': '5' }), { finishedAt: NOW + 1000 })
    expect(md).toContain('0 images deleted, 1 kept · 1 repository · 1.0 s')
    expect(md).toContain('<summary>solo: 1 manifest, ordered by created time</summary>')
    expect(md).toContain('<td>not read (not needed)</td>')
    expect(md).not.toMatch(/\b1 (repositories|manifests|images|blobs)\b/)
    expect(md).not.toContain('unknown')
  })

  it('describes a skipped repository by its reason, not by how it would have been ordered', () => {
    const broken = repository('broken', [['v1', image('x')], ['v2', image('y')]], { incomplete: 'GET tags/list: 500' })
    const md = toMarkdown(result([broken]))
    expect(md).toContain('<summary>broken: 2 manifests, skipped, nothing deleted: the listing is incomplete: GET tags/list: 500</summary>')
    expect(md).not.toMatch(/undated|no usable created date/)
    expect(md).toContain('<td>not read (repository not read completely)</td>')
    const text = toText(result([broken]))
    expect(text).toContain('broken: 2 kept, 0 deleted; skipped, nothing deleted: the listing is incomplete')
    expect(text).not.toMatch(/undated|no usable created date/)
  })

  it('a dry run says so at the top', () => {
    const md = toMarkdown(result([repository('app', [['v1', image('x', { created: daysAgo(1) })]])], true))
    expect(md.split('\n').slice(0, 6).join('\n')).toContain('**Dry run**')
  })

  it('at 100,000 images stays under 1 MiB, keeps the headline and the table, and says what it left out', () => {
    const planned = syntheticPlan(500, 200)
    const md = toMarkdown(resultOf(planned, true), { finishedAt: NOW + 60_000 })
    const bytes = Buffer.byteLength(md)
    console.log(`summary of 100,000 images: ${bytes} bytes, ${md.split('\n').length} lines`)
    expect(bytes).toBeLessThan(SUMMARY_LIMIT)
    expect(md).toContain('99,500 images would be deleted, 500 kept · 500 repositories · 1 min 00 s')
    expect(md).toContain('| repo-499 |') // every repository is in the table (500 rows fit)
    expect(md).toMatch(/175 more manifests not shown: every one is in the plan file/)
    expect(md).toMatch(/_Details of [\d,]+ more repositories not shown/)

    // Far more repositories than the table shows: the rest are counted.
    const wide = toMarkdown(resultOf(syntheticPlan(20_000, 5), false))
    expect(Buffer.byteLength(wide)).toBeLessThan(SUMMARY_LIMIT)
    expect(wide).toContain('19,500 more repositories not shown (the smallest)')

    const text = toText(resultOf(planned, true))
    console.log(`text report of 100,000 images: ${Buffer.byteLength(text)} bytes, ${text.split('\n').length} lines`)
    expect(text.split('\n').length).toBeLessThan(3_000)
    expect(toText(resultOf(syntheticPlan(20_000, 5), false))).toMatch(/^19,500 more repositories and [\d,]+ lines of detail not shown/m)
    expect(text).toMatch(/^[\d,]+ lines of detail not shown: every manifest is in the plan file/m)
    expect(resultLine(resultOf(planned, true))).toMatch(/^registry-prune: .* would be freed .* 99,500 images would be deleted, 500 kept · 500 repositories$/)
  })
})

/** A plan made directly (the planner is not under test): `repos` repositories of `images` images, one kept in each. */
function syntheticPlan(repos: number, images: number): Plan {
  let reclaimable = 0
  const repositories = Array.from({ length: repos }, (_, r) => {
    const manifests: PlannedManifest[] = Array.from({ length: images }, (_, i) => {
      const size = 1_000_000 + r * 1000 + i
      const keep = i === images - 1
      if (!keep) reclaimable += size
      return {
        digest: digestOf(`${r}/${i}`),
        tags: [`build_${i}`, `sha-${i.toString(16).padStart(7, '0')}`],
        role: 'image',
        kind: 'image',
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size,
        created: daysAgo(images - i),
        decision: keep ? 'keep' : 'delete',
        reason: keep ? 'among the 1 newest (keep-count)' : 'older than the 1 newest (keep-count)',
      }
    })
    return { name: `repo-${r}`, order: 'created' as const, manifests, notes: [] }
  })
  return { repositories, reclaimableBytes: reclaimable, untaggedReclaimableBytes: 0 }
}
