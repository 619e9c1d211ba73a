// Issue 11: shapes real registries and real users produce, on which the tool used to fail open. Each case runs the
// whole run() against the real registry (a proxy only where the registry itself cannot answer so).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseSettings } from '../../src/inputs.js'
import { run } from '../../src/run.js'
import { spawn } from 'node:child_process'
import { NODE24, runAction } from '../support/action.js'
import { CLI_ENTRY, cleanEnv } from '../support/cli.js'
import { linesLogger } from '../support/logger.js'
import { startProxy, type Proxy } from '../support/proxy.js'
import {
  MEDIA,
  pushImage,
  pushManifest,
  pushReferrer,
  resolveTag,
  tagList,
  type Descriptor,
} from '../support/push.js'
import { startRegistry, type TestRegistry } from '../support/registry.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()))
})

async function registry(options: Parameters<typeof startRegistry>[0] = {}): Promise<TestRegistry> {
  const reg = await startRegistry(options)
  open.push({ close: () => reg.stop() })
  return reg
}

async function proxy(target: string, faults: Parameters<typeof startProxy>[1]): Promise<Proxy> {
  const p = await startProxy(target, faults)
  open.push(p)
  return p
}

async function prune(url: string, values: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-fail-closed-'))
  const planFile = join(dir, 'plan.json')
  const settings = parseSettings(
    (name) => ({ registry: url, 'keep-tags': '', 'plan-file': planFile, ...values })[name],
    {},
    { homeDir: () => '/nonexistent-home' },
  )
  const lines: string[] = []
  const result = await run(settings, { log: linesLogger(lines), now: Date.now, sleep: async () => {} })
  const plan = JSON.parse(await readFile(planFile, 'utf8')) as {
    failures: string[]
    warnings: string[]
    repositories: { name: string; images: { digest: string; outcome: string }[] }[]
  }
  return { result, plan, lines }
}

/** An OCI index in the referrers tag schema: what oras and notation write on a registry without the referrers API. */
async function pushReferrersIndex(reg: TestRegistry, repo: string, subject: Descriptor, referrers: Descriptor[]) {
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.ociIndex,
    manifests: referrers.map((r) => ({
      mediaType: r.mediaType,
      digest: r.digest,
      size: r.size,
      artifactType: 'application/spdx+json',
    })),
  }
  return pushManifest(reg, repo, subject.digest.replace(':', '-'), index)
}

/** `app:v1` … `app:vN`, one a day from 2024-01-01: the newest is the highest. */
async function pushReleases(reg: TestRegistry, n: number): Promise<Descriptor[]> {
  const pushed: Descriptor[] = []
  for (let i = 1; i <= n; i++) {
    const day = String(i).padStart(2, '0')
    pushed.push(await pushImage(reg, 'app', `v${i}`, { layers: [`layer ${i}`], created: `2024-01-${day}T00:00:00Z` }))
  }
  return pushed
}

const present = async (reg: TestRegistry, repo: string, digest: string) => (await resolveTag(reg, repo, digest)) === digest

describe('fail closed on real shapes (issue 11)', () => {
  it('the OCI referrers tag schema is no image: newer images stay, the kept image keeps its referrers', async () => {
    const reg = await registry()
    const images: Descriptor[] = []
    for (const [tag, day] of [['v3', '03'], ['v2', '02'], ['v1', '01']] as const) {
      images.push(await pushImage(reg, 'app', tag, { layers: [`layer ${tag}`], created: `2024-01-${day}T00:00:00Z` }))
    }
    const [v3, v2, v1] = images as [Descriptor, Descriptor, Descriptor]
    const sbomKept = await pushReferrer(reg, 'app', v3, 'sbom of v3')
    const sbomGone = await pushReferrer(reg, 'app', v1, 'sbom of v1')
    const indexKept = await pushReferrersIndex(reg, 'app', v3, [sbomKept])
    const indexGone = await pushReferrersIndex(reg, 'app', v1, [sbomGone])

    const { result } = await prune(reg.url, { repositories: 'app', 'keep-count': '2' })

    expect(result.failures).toEqual([])
    expect(result.plan.repositories[0]?.order).toBe('created')
    expect((await tagList(reg, 'app')).sort()).toEqual(['sha256-' + v3.digest.slice(7), 'v2', 'v3'].sort())
    for (const kept of [v3, v2, sbomKept, indexKept]) expect(await present(reg, 'app', kept.digest)).toBe(true)
    for (const gone of [v1, sbomGone, indexGone]) expect(await present(reg, 'app', gone.digest)).toBe(false)
  })

  it('a plain 404 on tags/list (a proxy, not the registry) deletes nothing, even with untagged: delete', async () => {
    const reg = await registry()
    const latest = await pushImage(reg, 'app', 'latest', { layers: ['a'], created: '2024-01-02T00:00:00Z' })
    const old = await pushImage(reg, 'app', undefined, { layers: ['b'], created: '2024-01-01T00:00:00Z' })
    const misrouted = await proxy(reg.url, {
      answer: (req, res) => {
        if (!req.url?.startsWith('/v2/app/tags/list')) return false
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found')
        return true
      },
    })

    const { result, plan } = await prune(misrouted.url, {
      repositories: 'app',
      untagged: 'delete',
      'garbage-collect': 'local',
      'gc-command': `docker-registry garbage-collect ${reg.configPath}`,
      'storage-path': reg.storage,
    })

    expect(await present(reg, 'app', latest.digest)).toBe(true)
    expect(await present(reg, 'app', old.digest)).toBe(true)
    expect(misrouted.seen.filter((line) => line.startsWith('DELETE'))).toEqual([])
    expect(result.failures.join('\n')).toMatch(/app was skipped: .*404.*not an answer about the repository/s)
    expect(plan.failures).toEqual(result.failures)
  })

  it('a plain 404 at the re-check deletes nothing in that repository', async () => {
    const reg = await registry()
    for (const [tag, day] of [['v2', '02'], ['v1', '01']] as const) {
      await pushImage(reg, 'app', tag, { layers: [tag], created: `2024-01-${day}T00:00:00Z` })
    }
    let tagLists = 0
    const flaky = await proxy(reg.url, {
      answer: (req, res) => {
        if (!req.url?.startsWith('/v2/app/tags/list') || tagLists++ === 0) return false
        res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Not Found</body></html>')
        return true
      },
    })

    const { result } = await prune(flaky.url, { repositories: 'app', 'keep-count': '1' })

    expect(tagLists).toBe(2)
    expect((await tagList(reg, 'app')).sort()).toEqual(['v1', 'v2'])
    expect(flaky.seen.filter((line) => line.startsWith('DELETE'))).toEqual([])
    expect(result.failures.join('\n')).toMatch(/^app: .*404/m)
  })

  it('a literal repository that does not exist fails the run by name; the others are still pruned', async () => {
    const reg = await registry()
    for (const [tag, day] of [['v2', '02'], ['v1', '01']] as const) {
      await pushImage(reg, 'team/app', tag, { layers: [tag], created: `2024-01-${day}T00:00:00Z` })
    }

    const { result, plan } = await prune(reg.url, { repositories: 'team/app, team/ap, nothing/**', 'keep-count': '1' })

    expect(await tagList(reg, 'team/app')).toEqual(['v2'])
    expect(result.failures).toEqual([expect.stringMatching(/^team\/ap: the registry has no repository of that name/)])
    expect(plan.failures).toEqual(result.failures)
    expect(result.warnings).toContainEqual(expect.stringMatching(/pattern nothing\/\*\* matches no repository/))
  })

  it('a broken tag (MANIFEST_UNKNOWN) is named, with how to repair it, and nothing in its repository is deleted', async () => {
    const reg = await registry()
    const v2 = await pushImage(reg, 'app', 'v2', { layers: ['x'], created: '2024-01-02T00:00:00Z' })
    const v1 = await pushImage(reg, 'app', 'v1', { layers: ['y'], created: '2024-01-01T00:00:00Z' })
    // What a collector run with -m, or an rm in the storage, leaves: a tag whose revision is gone.
    const broken = await pushImage(reg, 'app', 'broken', { layers: ['z'], created: '2024-01-03T00:00:00Z' })
    const revisions = join(reg.storage, 'docker/registry/v2/repositories/app/_manifests/revisions/sha256')
    await rm(join(revisions, broken.digest.slice(7)), { recursive: true })
    await reg.restart() // forget the cached descriptor

    const { result } = await prune(reg.url, { repositories: 'app', 'keep-count': '1' })

    expect(result.failures.join('\n')).toMatch(/the tag broken is broken: .*MANIFEST_UNKNOWN.*pushing an image to app:broken/s)
    for (const d of [v2, v1]) expect(await present(reg, 'app', d.digest)).toBe(true)
  })

  it('deletes disabled: the plan file is written whole, with the failure and what was not attempted', async () => {
    const reg = await registry({ deleteEnabled: false })
    for (const [tag, day] of [['v3', '03'], ['v2', '02'], ['v1', '01']] as const) {
      await pushImage(reg, 'app', tag, { layers: [tag], created: `2024-01-${day}T00:00:00Z` })
    }

    const { result, plan } = await prune(reg.url, { repositories: 'app', 'keep-count': '1' })

    expect(result.failures).toEqual([expect.stringMatching(/deletes disabled.*storage\.delete\.enabled/s)])
    expect(plan.failures).toEqual(result.failures)
    const outcomes = plan.repositories[0]?.images.map((i) => i.outcome).sort()
    expect(outcomes).toEqual(['failed', 'kept', 'not attempted'])
    expect((await tagList(reg, 'app')).sort()).toEqual(['v1', 'v2', 'v3'])
  })

  it('SIGTERM in the middle of deletions: exit 143, and the plan file says exactly what is gone', async () => {
    const reg = await registry()
    const pushed = await pushReleases(reg, 12)
    const running: { child?: ReturnType<typeof spawn> } = {}
    let deletes = 0
    // Each DELETE takes a while, as on a busy registry; the job is cancelled while the third is on its way.
    const slowed = await proxy(reg.url, {
      answer: (req, res) => {
        if (req.method !== 'DELETE') return false
        if (++deletes === 3) running.child?.kill('SIGTERM')
        setTimeout(() => {
          void fetch(`${reg.url}${req.url}`, { method: 'DELETE' }).then(async (answer) => {
            res.writeHead(answer.status).end(await answer.text())
          })
        }, 300)
        return true
      },
    })
    const cwd = await mkdtemp(join(tmpdir(), 'registry-prune-sigterm-'))
    const child = spawn(
      process.execPath,
      // With a cache file too: a run cut short must not leave a half-written one (nor its temporary file).
      [CLI_ENTRY, '--registry', slowed.url, '--repositories', 'app', '--keep-count', '2', '--keep-tags', '', '--cache-file', 'prune.cache'],
      { cwd, env: cleanEnv(cwd), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stderr = ''
    running.child = child
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout?.resume()
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))

    expect(code, stderr).toBe(143)
    const plan = JSON.parse(await readFile(join(cwd, 'registry-prune-plan.json'), 'utf8')) as {
      repositories: { images: { digest: string; outcome: string }[] }[]
    }
    const images = plan.repositories[0]?.images ?? []
    const recorded = images.filter((i) => i.outcome === 'deleted').map((i) => i.digest).sort()
    const gone: string[] = []
    for (const d of pushed) if (!(await present(reg, 'app', d.digest))) gone.push(d.digest)
    expect(recorded).toEqual(gone.sort())
    expect(gone.length).toBeGreaterThanOrEqual(2)
    expect(gone.length).toBeLessThan(10)
    expect(images.filter((i) => i.outcome === 'not attempted').length).toBe(10 - gone.length)
    expect(stderr).toMatch(/SIGTERM received: starting no new deletion/)
    expect((await readdir(cwd)).filter((f) => f.includes('prune.cache'))).toEqual([])
  })

  it('a cancelled GitHub job (SIGINT, then SIGTERM): the Action exits 130 with summary, outputs and plan file', async () => {
    const reg = await registry()
    const pushed = await pushReleases(reg, 12)
    let action: ReturnType<typeof spawn> | undefined
    let deletes = 0
    const slowed = await proxy(reg.url, {
      answer: (req, res) => {
        if (req.method !== 'DELETE') return false
        if (++deletes === 3) {
          // What the runner does on cancel: SIGINT, and SIGTERM a little later (7.5 s there; sooner here).
          action?.kill('SIGINT')
          setTimeout(() => action?.kill('SIGTERM'), 100)
        }
        setTimeout(() => {
          void fetch(`${reg.url}${req.url}`, { method: 'DELETE' }).then(async (answer) => {
            res.writeHead(answer.status).end(await answer.text())
          })
        }, 300)
        return true
      },
    })

    const ran = await runAction(
      { registry: slowed.url, repositories: 'app', 'keep-count': '2', 'keep-tags': '' },
      {},
      NODE24,
      (child) => (action = child),
    )

    expect(ran.code, ran.stderr + ran.stdout).toBe(130)
    const images = ran.plan?.repositories[0]?.images ?? []
    const recorded = images.filter((i) => i.outcome === 'deleted').map((i) => i.digest).sort()
    const gone: string[] = []
    for (const d of pushed) if (!(await present(reg, 'app', d.digest))) gone.push(d.digest)
    expect(recorded).toEqual(gone.sort())
    expect(ran.outputs['deleted-count']).toBe(String(gone.length))
    expect(ran.summary).toMatch(/interrupted|SIGINT/)
    expect(ran.stdout).toMatch(/::error::registry-prune was interrupted by SIGINT/)
  })
})
