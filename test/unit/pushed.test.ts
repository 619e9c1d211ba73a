// Push times (DECISIONS 32): parsing the one `find -printf` listing, and turning link times into image ages.
import { describe, expect, test } from 'vitest'
import { parseLinkTimes } from '../../src/gc/storage.js'
import { pushTimes } from '../../src/pushed.js'
import { digestOf, image, repository } from './inventory-builder.js'

const ROOT = '/srv/my registry/docker/registry/v2/repositories'
const hex = (label: string) => digestOf(label).slice('sha256:'.length)

describe('parseLinkTimes', () => {
  test('revision, current and index links by repository; anything else is ignored', () => {
    const out = [
      `1700000000.5000000000 ${ROOT}/team/app/_manifests/revisions/sha256/${hex('a')}/link`,
      `1700000100.0000000000 ${ROOT}/team/app/_manifests/tags/v1/current/link`,
      `1700000100.0000000000 ${ROOT}/team/app/_manifests/tags/v1/index/sha256/${hex('a')}/link`,
      `1700000200.0000000000 ${ROOT}/team/app/_layers/sha256/${hex('l')}/link`,
      `1700000300.0000000000 /elsewhere/team/app/_manifests/revisions/sha256/${hex('b')}/link`,
      `not-a-time ${ROOT}/team/app/_manifests/revisions/sha256/${hex('c')}/link`,
      '',
    ].join('\n')
    const times = parseLinkTimes(out, ROOT)
    expect([...times.keys()]).toEqual(['team/app'])
    expect(times.get('team/app')).toEqual({
      revisions: new Map([[`sha256:${hex('a')}`, 1_700_000_000_500]]),
      tags: new Map([['v1', { current: 1_700_000_100_000, index: new Map([[`sha256:${hex('a')}`, 1_700_000_100_000]]) }]]),
    })
  })
})

describe('pushTimes', () => {
  const a = image('a')
  const b = image('b')
  const times = {
    revisions: new Map([[a.digest, 1000], [b.digest, 5000]]),
    tags: new Map([
      ['v1', { current: 9000, index: new Map([[a.digest, 9000]]) }],
      ['v2', { current: 6000, index: new Map([[b.digest, 5000]]) }],
    ]),
  }

  test('the newest link of an image: its revision, and the links of the tags that point at it', () => {
    expect(pushTimes(repository('app', [['v1', a], ['v2', b]]), times)).toEqual(new Map([[a.digest, 9000], [b.digest, 6000]]))
  })

  test('a tag the listing never saw point at an image moved after the listing: that image is undated', () => {
    // v2 points at a now, but the listing only knew v2 -> b.
    expect(pushTimes(repository('app', [['v1', a], ['v2', a]]), times).has(a.digest)).toBe(false)
  })

  test('no revision link listed (pushed after the listing), or no listing at all: undated', () => {
    const c = image('c')
    expect(pushTimes(repository('app', [['v1', a], ['new', c]]), times).has(c.digest)).toBe(false)
    expect(pushTimes(repository('app', [['v1', a]]), undefined).size).toBe(0)
  })
})
