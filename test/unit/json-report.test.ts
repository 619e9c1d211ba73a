import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { parseSettings } from '../../src/inputs.js'
import { plan } from '../../src/plan.js'
import { jsonPieces, writeJson } from '../../src/report/json.js'
import type { RunResult } from '../../src/run.js'
import { daysAgo, image, NOW, repository, signatureTag } from './inventory-builder.js'

function result(repositories: Parameters<typeof plan>[0]['repositories']): RunResult {
  const settings = parseSettings((name) => ({ registry: 'https://registry.example.com', 'keep-count': '1' })[name], {}, {
    homeDir: () => '/nonexistent',
  })
  return {
    settings,
    startedAt: NOW,
    plan: plan({ repositories }, settings, NOW),
    applied: undefined,
    gc: undefined,
    requests: { manifest: 3 },
    failures: [],
    warnings: [],
  }
}

const old = image('old', { created: daysAgo(9) })
const fresh = image('new', { created: daysAgo(1) })
const other = image('other', { created: daysAgo(2) })

describe('the JSON plan, written one repository at a time', () => {
  it.each([
    ['no repository', []],
    ['two repositories', [repository('team/app', [['v1', old], ['v2', fresh], [signatureTag(old), other]]), repository('solo', [['x', fresh]])]],
  ])('with %s is exactly the pretty-printed document', (_name, repos) => {
    const text = [...jsonPieces(result(repos))].join('')
    const document = JSON.parse(text) as { schemaVersion: number; repositories: { name: string }[] }
    expect(text).toBe(`${JSON.stringify(document, null, 2)}\n`)
    expect(document.schemaVersion).toBe(1)
    expect(document.repositories.map((r) => r.name)).toEqual(repos.map((r) => r.name).sort())
  })

  it('waits for a slow stream instead of buffering everything', async () => {
    const chunks: string[] = []
    let waits = 0
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString())
        waits++
        setImmediate(done)
      },
    })
    const r = result([repository('a', [['v1', old]]), repository('b', [['v1', fresh]])])
    await writeJson(r, slow, (t) => t.toUpperCase())
    expect(chunks.join('')).toBe([...jsonPieces(r)].join('').toUpperCase())
    expect(waits).toBeGreaterThan(2)
  })
})
