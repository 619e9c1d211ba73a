import { afterAll, beforeAll, expect, it } from 'vitest'
import { startRegistry, type TestRegistry } from '../support/registry.js'
import { pushImage, pushIndex, pushSignature, pullsCompletely, resolveTag, tagList } from '../support/push.js'

let reg: TestRegistry
beforeAll(async () => { reg = await startRegistry() })
afterAll(async () => { await reg?.stop() })

it('pushes images, indexes and signatures the registry serves back byte for byte', async () => {
  const a = await pushImage(reg, 'team/app', 'v1', { layers: ['base', 'a'] })
  const amd = await pushImage(reg, 'team/app', undefined, { layers: ['base', 'x'], platform: { architecture: 'amd64', os: 'linux' } })
  const arm = await pushImage(reg, 'team/app', undefined, { layers: ['base', 'y'], platform: { architecture: 'arm64', os: 'linux' } })
  const idx = await pushIndex(reg, 'team/app', 'multi', [amd, arm])
  await pushSignature(reg, 'team/app', a.digest)
  expect(await resolveTag(reg, 'team/app', 'v1')).toBe(a.digest)
  expect(await resolveTag(reg, 'team/app', 'multi')).toBe(idx.digest)
  expect(await tagList(reg, 'team/app')).toEqual(['multi', `${a.digest.replace(':', '-')}.sig`, 'v1'].sort())
  expect(await pullsCompletely(reg, 'team/app', 'multi')).toBe(true)
})
