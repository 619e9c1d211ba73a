// Issue 13 on a real registry (Distribution 2.8.2): the tag selector, untag through a throw-away manifest, push time
// from the storage links, regular expressions, and several rules in one run.
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { apply } from '../../src/apply.js'
import { localShell } from '../../src/gc/shell.js'
import { listLinkTimes } from '../../src/gc/storage.js'
import { parseSettings } from '../../src/inputs.js'
import { RegistryClient } from '../../src/registry/client.js'
import { DeleteDisabledError } from '../../src/registry/errors.js'
import { toText } from '../../src/report/text.js'
import { run, type RunResult } from '../../src/run.js'
import { linesLogger } from '../support/logger.js'
import { startProxy } from '../support/proxy.js'
import { startSshd } from '../support/sshd.js'
import { pullsCompletely, pushImage, resolveTag, retag, tagList, type PushedImage } from '../support/push.js'
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../support/registry.js'
import { ageLinks, linkTime, revisionLinks } from '../support/storage.js'

interface PlanFile {
  repositories: {
    rule?: string
    ageFrom: string
    images: { digest: string; pushed?: string }[]
    untags: { tag: string; outcome: string }[]
  }[]
}

let dir: string
const registries: TestRegistry[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-prune-policies-'))
})
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.stop()))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function registry(): Promise<TestRegistry> {
  const reg = await startRegistry()
  registries.push(reg)
  return reg
}

let runs = 0
/** A whole run with raw inputs, as a front door would make it; `storage` adds local GC over the registry's storage. */
async function prune(reg: TestRegistry, values: Record<string, string>, storage = false): Promise<RunResult> {
  const all: Record<string, string> = {
    registry: reg.url,
    concurrency: '4',
    'plan-file': join(dir, `plan-${++runs}.json`),
    ...(storage
      ? {
          'garbage-collect': 'local',
          'storage-path': reg.storage,
          'gc-command': `${REGISTRY_BIN} garbage-collect ${reg.configPath}`,
        }
      : {}),
    ...values,
  }
  const settings = parseSettings((name) => all[name], {}, { homeDir: () => '/nonexistent-home' })
  const result = await run(settings, { log: linesLogger(), now: Date.now })
  expect(result.failures).toEqual([])
  return result
}

const image = (reg: TestRegistry, repo: string, tag: string, created: string, label = `${repo}:${tag}`) =>
  pushImage(reg, repo, tag, { layers: ['base', label], created, label })

/** Every tag still pulls: GET of every manifest and blob (DECISIONS 19). */
async function everyTagPulls(reg: TestRegistry, repo: string): Promise<void> {
  for (const tag of await tagList(reg, repo)) expect(await pullsCompletely(reg, repo, tag), `${repo}:${tag}`).toBe(true)
}

async function promotedImages(reg: TestRegistry): Promise<{ old: PushedImage; young: PushedImage }> {
  // Both built in 2020; `promoted` was pushed today (a mirror, a release copy), `stale` long ago.
  const young = await image(reg, 'app', 'promoted', '2020-01-01T00:00:00Z')
  const old = await image(reg, 'app', 'stale', '2020-01-02T00:00:00Z')
  await image(reg, 'app', 'latest', '2020-01-03T00:00:00Z')
  await ageLinks(reg.storage, 'app', new Date('2021-01-01T00:00:00Z'))
  await retag(reg, 'app', young.digest, 'promoted') // pushed again today
  return { old, young }
}

describe('delete-tags and untag', () => {
  it('removes exactly three chosen tags: one alone on its image, two sharing a digest with tags that stay', async () => {
    const reg = await registry()
    const alone = await image(reg, 'app', 'T12', '2024-01-01T00:00:00Z')
    const shared = await image(reg, 'app', 'main', '2024-02-01T00:00:00Z')
    await retag(reg, 'app', shared.digest, 'T22')
    const release = await image(reg, 'app', 'v1', '2024-03-01T00:00:00Z')
    await retag(reg, 'app', release.digest, 'stable')
    await retag(reg, 'app', release.digest, 'T52')
    const other = await image(reg, 'app', 'T13', '2024-04-01T00:00:00Z')

    // keep-count 0: the image T12 alone names goes with it; the two others stay under their unselected tags.
    const result = await prune(reg, { 'delete-tags': 'T12, T22, T52', untag: 'true', 'keep-count': '0', 'keep-tags': '' })

    const app = result.plan.repositories.find((r) => r.name === 'app')
    expect(app?.untags?.map((u) => u.tag)).toEqual(['T22', 'T52'])
    expect(app?.manifests.filter((m) => m.decision === 'delete').map((m) => m.digest)).toEqual([alone.digest])
    expect(result.applied?.repositories[0]?.untagged).toEqual(['T22', 'T52'])
    // The plan file lists the tags removed on their own apart from the deleted images.
    const json = JSON.parse(await readFile(result.settings.planFile, 'utf8')) as PlanFile
    expect(json.repositories[0]?.rule).toBe('inputs')
    expect(json.repositories[0]?.untags.map((u) => [u.tag, u.outcome])).toEqual([['T22', 'untagged'], ['T52', 'untagged']])
    expect(toText(result)).toMatch(/untagged: tag T22 on sha256:[0-9a-f]{12} \(selected by delete-tags; the image stays under main\)/)
    expect(await tagList(reg, 'app')).toEqual(['T13', 'main', 'stable', 'v1'])
    expect(await resolveTag(reg, 'app', 'main')).toBe(shared.digest)
    expect(await resolveTag(reg, 'app', 'stable')).toBe(release.digest)
    await everyTagPulls(reg, 'app')
    // No throw-away manifest left behind: exactly the revisions of the images that stay.
    expect(await revisionLinks(reg.storage, 'app')).toEqual([shared.digest, release.digest, other.digest].sort())
  })

  it('the seed question with the defaults: the three tags go, every image stays, the lone one by digest', async () => {
    const reg = await registry()
    const alone = await image(reg, 'app', 'T12', '2024-01-01T00:00:00Z')
    const shared = await image(reg, 'app', 'main', '2024-02-01T00:00:00Z')
    await retag(reg, 'app', shared.digest, 'T22')
    await retag(reg, 'app', shared.digest, 'T52')
    await prune(reg, { 'delete-tags': 'T12,T22,T52', untag: 'true' })
    expect(await tagList(reg, 'app')).toEqual(['main'])
    expect(await pullsCompletely(reg, 'app', alone.digest)).toBe(true)
    await everyTagPulls(reg, 'app')
    expect(await revisionLinks(reg.storage, 'app')).toEqual([alone.digest, shared.digest].sort())
  })

  it('a tag that moved since planning is left alone', async () => {
    const reg = await registry()
    const kept = await image(reg, 'app', 'main', '2024-02-01T00:00:00Z')
    await retag(reg, 'app', kept.digest, 'pr-1')
    // The plan of a dry run untags pr-1; then pr-1 is pushed anew, and that plan is applied.
    const dry = await prune(reg, { 'delete-tags': 'pr-*', untag: 'true', 'dry-run': 'true' })
    expect(dry.plan.repositories[0]?.untags?.map((u) => u.tag)).toEqual(['pr-1'])
    const newer = await image(reg, 'app', 'pr-1', '2024-05-01T00:00:00Z')
    const client = new RegistryClient({
      registry: reg.url, username: '', password: '', insecureSkipTlsVerify: false, requestTimeoutMs: 5000,
      concurrency: 2,
    })
    const log = linesLogger()
    const applied = await apply(client, dry.plan, { concurrency: 2 }, log)
    await client.close()
    expect(applied.repositories[0]?.untagSpared).toEqual([
      { tag: 'pr-1', reason: expect.stringMatching(/^the tag now points at sha256:/) },
    ])
    expect(await resolveTag(reg, 'app', 'pr-1')).toBe(newer.digest)
    expect(await revisionLinks(reg.storage, 'app')).toEqual([kept.digest, newer.digest].sort())
  })

  /** Plans untagging pr-1 (on the image main names) with a dry run, then applies that plan through `url`. */
  async function untagThrough(reg: TestRegistry, url: string) {
    const dry = await prune(reg, { 'delete-tags': 'pr-*', untag: 'true', 'dry-run': 'true' })
    expect(dry.plan.repositories[0]?.untags?.map((u) => u.tag)).toEqual(['pr-1'])
    const client = new RegistryClient({
      registry: url, username: '', password: '', insecureSkipTlsVerify: false, requestTimeoutMs: 5000, concurrency: 2,
    })
    try {
      return await apply(client, dry.plan, { concurrency: 2 }, linesLogger())
    } finally {
      await client.close()
    }
  }

  it('where the registry accepts a tag DELETE, that is all it gets: no throw-away manifest', async () => {
    const reg = await registry()
    const main = await image(reg, 'app', 'main', '2024-02-01T00:00:00Z')
    await retag(reg, 'app', main.digest, 'pr-1')
    // Distribution 2.8.2 refuses deletes by tag; the proxy answers one as 3.x does (202), so the path is visible.
    const proxy = await startProxy(reg.url, {
      answer: (req, res) => {
        if (req.method !== 'DELETE' || req.url !== '/v2/app/manifests/pr-1') return false
        res.writeHead(202).end()
        return true
      },
    })
    try {
      const applied = await untagThrough(reg, proxy.url)
      expect(applied.repositories[0]?.untagged).toEqual(['pr-1'])
      expect(proxy.seen.filter((r) => !r.startsWith('GET'))).toEqual(['DELETE /v2/app/manifests/pr-1'])
    } finally {
      await proxy.close()
    }
  })

  it('where deletes are disabled, the tag is not moved: no throw-away manifest is left behind', async () => {
    const reg = await startRegistry({ deleteEnabled: false })
    registries.push(reg)
    const main = await image(reg, 'app', 'main', '2024-02-01T00:00:00Z')
    await retag(reg, 'app', main.digest, 'pr-1')
    await expect(untagThrough(reg, reg.url)).rejects.toBeInstanceOf(DeleteDisabledError)
    expect(await resolveTag(reg, 'app', 'pr-1')).toBe(main.digest)
    expect(await revisionLinks(reg.storage, 'app')).toEqual([main.digest])
  })

  it('a tag selector deletes only pr-* images; keep-count counts among them; a pr tag on main protects main', async () => {
    const reg = await registry()
    await image(reg, 'web', 'pr-1', '2024-01-01T00:00:00Z')
    const pr2 = await image(reg, 'web', 'pr-2', '2024-01-02T00:00:00Z')
    const main = await image(reg, 'web', 'main', '2024-01-03T00:00:00Z')
    await retag(reg, 'web', main.digest, 'pr-3')
    await image(reg, 'web', 'v1.0', '2023-01-01T00:00:00Z')
    await image(reg, 'web', 'v1.1', '2023-02-01T00:00:00Z')

    const result = await prune(reg, { 'delete-tags': 'pr-*', 'keep-count': '1', 'keep-tags': '' })

    const reasons = Object.fromEntries(result.plan.repositories[0]!.manifests.map((m) => [m.tags.join(','), m.reason]))
    expect(reasons).toEqual({
      'pr-1': 'beyond keep-count 1',
      'pr-2': 'among the 1 newest',
      'pr-3,main': 'tag main is not selected by delete-tags',
      'v1.1': 'tag v1.1 is not selected by delete-tags',
      'v1.0': 'tag v1.0 is not selected by delete-tags',
    })
    expect(await tagList(reg, 'web')).toEqual(['main', 'pr-2', 'pr-3', 'v1.0', 'v1.1'])
    expect(await resolveTag(reg, 'web', 'pr-2')).toBe(pr2.digest)
    await everyTagPulls(reg, 'web')
  })
})

describe('regular expressions', () => {
  it('keep only semver tags, in repositories a regular expression picks from the catalog', async () => {
    const reg = await registry()
    for (const repo of ['svc-1', 'svc-x']) {
      await image(reg, repo, 'v1.2.3', '2024-01-01T00:00:00Z')
      await image(reg, repo, 'v2.0.0', '2024-01-02T00:00:00Z')
      await image(reg, repo, 'v2.0.0-rc.1', '2024-01-03T00:00:00Z')
      await image(reg, repo, 'nightly', '2024-01-04T00:00:00Z')
    }
    await prune(reg, { repositories: '/svc-[0-9]+/', 'keep-tags': '/v\\d+\\.\\d+\\.\\d+/', 'keep-count': '0' })
    expect(await tagList(reg, 'svc-1')).toEqual(['v1.2.3', 'v2.0.0'])
    expect(await tagList(reg, 'svc-x')).toEqual(['nightly', 'v1.2.3', 'v2.0.0', 'v2.0.0-rc.1'])
    await everyTagPulls(reg, 'svc-1')
  })
})

describe('age-from: pushed', () => {
  it('pins what Distribution rewrites: a push and a re-tag rewrite the revision link; a tag link only its own tag', async () => {
    const reg = await registry()
    const a = await image(reg, 'app', 'one', '2020-01-01T00:00:00Z')
    const long = new Date('2020-06-01T00:00:00Z')
    await ageLinks(reg.storage, 'app', long)
    const hex = a.digest.slice('sha256:'.length)
    const revision = `revisions/sha256/${hex}/link`

    await retag(reg, 'app', a.digest, 'two')
    expect(await linkTime(reg.storage, 'app', revision), 're-tag: revision link').toBeGreaterThan(long.getTime())
    expect(await linkTime(reg.storage, 'app', 'tags/two/current/link')).toBeGreaterThan(long.getTime())
    expect(await linkTime(reg.storage, 'app', `tags/two/index/sha256/${hex}/link`)).toBeGreaterThan(long.getTime())
    expect(await linkTime(reg.storage, 'app', 'tags/one/current/link'), 'the other tag is untouched').toBe(long.getTime())

    await ageLinks(reg.storage, 'app', long)
    await retag(reg, 'app', a.digest, 'one') // the same manifest pushed again onto the same tag
    expect(await linkTime(reg.storage, 'app', revision), 're-push: revision link').toBeGreaterThan(long.getTime())
    expect(await linkTime(reg.storage, 'app', 'tags/one/current/link')).toBeGreaterThan(long.getTime())
    expect(await linkTime(reg.storage, 'app', 'tags/two/current/link')).toBe(long.getTime())

    // And the listing the tool reads sees the same times.
    const shell = localShell()
    const times = (await listLinkTimes(shell, reg.storage)).get('app')
    await shell.close()
    expect(times?.revisions.get(a.digest)).toBeGreaterThan(long.getTime())
    expect(times?.tags.get('two')?.current).toBe(long.getTime())
    expect(times?.tags.get('one')?.index.get(a.digest)).toBeGreaterThan(long.getTime())
  })

  const policy = { 'older-than': '30d', 'keep-count': '0', 'keep-tags': 'latest' }

  it('an image built long ago and pushed today is kept under pushed, and deleted under created', async () => {
    const reg = await registry()
    const { old, young } = await promotedImages(reg)
    const pushed = await prune(reg, { ...policy, 'age-from': 'pushed' }, true)
    const entries = pushed.plan.repositories[0]!.manifests
    expect(pushed.plan.repositories[0]?.ageFrom).toBe('pushed')
    expect(entries.find((m) => m.digest === young.digest)).toMatchObject({ decision: 'keep', reason: 'younger than older-than' })
    expect(entries.find((m) => m.digest === old.digest)?.decision).toBe('delete')
    expect(entries.find((m) => m.digest === old.digest)?.pushed).toBe(Date.parse('2021-01-01T00:00:00Z'))
    expect(await tagList(reg, 'app')).toEqual(['latest', 'promoted'])
    const json = JSON.parse(await readFile(pushed.settings.planFile, 'utf8')) as PlanFile
    expect(json.repositories[0]?.ageFrom).toBe('pushed')
    expect(json.repositories[0]?.images.find((i) => i.digest === old.digest)?.pushed).toBe('2021-01-01T00:00:00.000Z')

    const created = await prune(reg, { ...policy, 'age-from': 'created' }, true)
    expect(created.plan.repositories[0]!.manifests.find((m) => m.digest === young.digest)?.decision).toBe('delete')
    expect(await tagList(reg, 'app')).toEqual(['latest'])
  })

  it('a re-tag moves the push time: an old image tagged today is young again', async () => {
    const reg = await registry()
    const { old } = await promotedImages(reg)
    await retag(reg, 'app', old.digest, 'hotfix')
    const result = await prune(reg, { ...policy, 'age-from': 'pushed', 'dry-run': 'true' }, true)
    expect(result.plan.repositories[0]!.manifests.find((m) => m.digest === old.digest)).toMatchObject({
      decision: 'keep',
      reason: 'younger than older-than',
    })
  })
})

describe('age-from: pushed over SSH', () => {
  it('reads the same push times through a quoted storage path on the registry host', async () => {
    const sshd = await startSshd()
    try {
      const reg = await registry()
      const { old, young } = await promotedImages(reg)
      // A storage path with a space and a quote in it: quoted, never interpreted.
      const odd = join(dir, "it's a $(storage)")
      await symlink(reg.storage, odd)
      const result = await prune(reg, {
        'older-than': '30d', 'keep-count': '0', 'keep-tags': 'latest', 'age-from': 'pushed', 'dry-run': 'true',
        'garbage-collect': 'ssh', 'ssh-host': `${sshd.host}:${sshd.port}`, 'ssh-user': sshd.user,
        'ssh-private-key': sshd.privateKey, 'ssh-known-hosts': sshd.knownHostsLine, 'storage-path': odd,
        'gc-command': `${REGISTRY_BIN} garbage-collect ${reg.configPath}`,
      })
      const decisions = Object.fromEntries(result.plan.repositories[0]!.manifests.map((m) => [m.digest, m.decision]))
      expect(decisions[young.digest]).toBe('keep')
      expect(decisions[old.digest]).toBe('delete')
    } finally {
      await sshd.stop()
    }
  })
})

describe('rules', () => {
  const groups = {
    release: { repositories: 'release/*', 'keep-count': '2' },
    feature: { repositories: 'feature/*', 'delete-tags': 'pr-*', 'keep-count': '1', untag: 'true' },
    scratch: { repositories: '/scratch\\/.+/', 'keep-count': '1', 'keep-tags': '' },
  }
  const RULES = `
- repositories: release/*
  keep-count: 2
- repositories: [feature/*]
  delete-tags: pr-*
  keep-count: 1
  untag: true
- repositories: /scratch\\/.+/
  keep-count: 1
  keep-tags: []
`

  async function populate(reg: TestRegistry): Promise<string[]> {
    const repos = ['release/a', 'feature/x', 'feature/y', 'scratch/s1', 'other/untouched']
    for (const repo of repos) {
      for (let i = 1; i <= 2; i++) await image(reg, repo, `b${i}`, `2024-01-0${i}T00:00:00Z`)
      const main = await image(reg, repo, 'main', '2024-01-05T00:00:00Z')
      await retag(reg, repo, main.digest, 'pr-9')
      await image(reg, repo, 'pr-7', '2024-01-06T00:00:00Z')
      await image(reg, repo, 'latest', '2024-01-07T00:00:00Z')
    }
    return repos
  }

  async function state(reg: TestRegistry, repos: string[]): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {}
    for (const repo of repos) {
      const tags: Record<string, string | undefined> = {}
      for (const tag of await tagList(reg, repo)) tags[tag] = await resolveTag(reg, repo, tag)
      out[repo] = { tags, revisions: await revisionLinks(reg.storage, repo) }
    }
    return out
  }

  it('rules that name repositories literally read no catalog', async () => {
    const reg = await registry()
    await image(reg, 'team/a', 'v1', '2024-01-01T00:00:00Z')
    await image(reg, 'team/a', 'v2', '2024-01-02T00:00:00Z')
    await image(reg, 'team/b', 'v1', '2024-01-01T00:00:00Z')
    const result = await prune(reg, { rules: '- repositories: team/a\n  keep-count: 1\n  keep-tags: []\n- repositories: [team/b]' })
    expect(result.requests.catalog).toBe(0)
    expect(result.plan.repositories.map((r) => r.name)).toEqual(['team/a', 'team/b'])
    expect(await tagList(reg, 'team/a')).toEqual(['v2'])
  })

  it('settings made by hand without rules run as their plain inputs', async () => {
    const reg = await registry()
    await image(reg, 'team/a', 'v1', '2024-01-01T00:00:00Z')
    await image(reg, 'team/a', 'v2', '2024-01-02T00:00:00Z')
    const values: Record<string, string> = {
      registry: reg.url, 'keep-count': '1', 'keep-tags': '', 'plan-file': join(dir, 'by-hand.json'),
    }
    const settings = parseSettings((name) => values[name], {}, { homeDir: () => '/nonexistent-home' })
    const result = await run({ ...settings, rules: [] }, { log: linesLogger(), now: Date.now })
    expect(result.plan.repositories.map((r) => [r.name, r.rule])).toEqual([['team/a', 'inputs']])
    expect(await tagList(reg, 'team/a')).toEqual(['v2'])
  })

  it('untagged manifests are read and deleted only where the rule says untagged: delete', async () => {
    const reg = await registry()
    const stale: Record<string, string> = {}
    for (const repo of ['a/app', 'b/app']) {
      stale[repo] = (await image(reg, repo, 'latest', '2024-01-01T00:00:00Z', `${repo} old`)).digest
      await image(reg, repo, 'latest', '2024-01-02T00:00:00Z', `${repo} new`) // leaves the old one untagged
    }
    const result = await prune(reg, { rules: '- repositories: a/*\n  untagged: delete\n- repositories: b/*' }, true)
    expect(result.plan.repositories.map((r) => [r.name, r.manifests.length])).toEqual([['a/app', 2], ['b/app', 1]])
    expect(await revisionLinks(reg.storage, 'a/app')).not.toContain(stale['a/app'])
    expect(await revisionLinks(reg.storage, 'b/app')).toContain(stale['b/app'])
  })

  it('three rules in one run give the same registry as three single-rule runs; a repository no rule matches is untouched', async () => {
    const [one, three] = [await registry(), await registry()]
    const repos = await populate(one)
    await populate(three)
    const before = await state(one, ['other/untouched'])

    const result = await prune(one, { rules: RULES })
    for (const values of Object.values(groups)) await prune(three, values)

    expect(await state(one, repos)).toEqual(await state(three, repos))
    expect(result.requests.catalog, 'one catalog read for all the rules').toBe(1)
    expect(await state(one, ['other/untouched'])).toEqual(before)
    expect(result.plan.repositories.map((r) => [r.name, r.rule])).toEqual([
      ['feature/x', 'rule 2'], ['feature/y', 'rule 2'], ['release/a', 'rule 1'], ['scratch/s1', 'rule 3'],
    ])
    // Each rule did what it says: release keeps 2 + latest; feature lost pr-9 from main and pr-7 from the newest
    // selected image, which keep-count keeps by digest (untag); scratch keeps only its newest image.
    expect(await tagList(one, 'release/a')).toEqual(['latest', 'main', 'pr-7', 'pr-9'])
    expect(await tagList(one, 'feature/x')).toEqual(['b1', 'b2', 'latest', 'main'])
    expect(await tagList(one, 'scratch/s1')).toEqual(['latest'])
    for (const repo of repos) await everyTagPulls(one, repo)
  })
})
