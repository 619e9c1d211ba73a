// The fixture registry every front door is tested on (action, CLI, GitLab component): Docker v2 and OCI images, a
// multi-arch index with untagged children, tags aliasing one digest, cosign signatures, names with slashes, and a base
// layer shared across repositories. With `keep-count: 2` and `keep-tags: latest` the expected outcome is below.
import { pushImage, pushIndex, pushSignature, resolveTag, tagList, type Target } from './push.js'

export interface Digests {
  old: string
  v100: string
  v110: string
  v120: string
  v130: string
  v130amd: string
  v130arm: string
  cli09: string
  cli09amd: string
  cli09arm: string
  cli10: string
  cli11: string
  cli12: string
  solo: string
}

export interface Fixtures {
  digests: Digests
  /** repository -> tag -> digest, as pushed. */
  tags: Record<string, Record<string, string>>
  /** With keep-count 2, keep-tags latest: every tag that must still resolve to its original digest. */
  keptTags: Record<string, string[]>
  /** ... and every tag that must be gone. */
  deletedTags: Record<string, string[]>
  /** Untagged children that must still resolve by digest (children of kept indexes). */
  keptChildren: Record<string, string[]>
  /** Untagged children deleted with their index. */
  deletedChildren: Record<string, string[]>
}

const sig = (digest: string): string => `${digest.replace(':', '-')}.sig`

export async function pushFixtures(t: Target): Promise<Fixtures> {
  const d = {} as Digests
  const base = 'shared base layer '.repeat(2000)

  // team/app: OCI images, an old image that `latest` still points at, an alias, signatures, a multi-arch index.
  const app = 'team/app'
  d.old = (await pushImage(t, app, 'latest', { layers: [base, 'app 0.9'], created: '2023-12-01T00:00:00Z' })).digest
  d.v100 = (await pushImage(t, app, 'v1.0.0', { layers: [base, 'app 1.0.0 '.repeat(500)], created: '2024-01-01T00:00:00Z' })).digest
  d.v110 = (await pushImage(t, app, 'v1.1.0', { layers: [base, 'app 1.1.0 '.repeat(500)], created: '2024-02-01T00:00:00Z' })).digest
  d.v120 = (await pushImage(t, app, 'v1.2.0', { layers: [base, 'app 1.2.0 '.repeat(500)], created: '2024-03-01T00:00:00Z' })).digest
  await pushImage(t, app, 'stable', { layers: [base, 'app 1.2.0 '.repeat(500)], created: '2024-03-01T00:00:00Z' })
  const amd = await pushImage(t, app, undefined, {
    layers: [base, 'app 1.3.0 amd64'],
    created: '2024-04-01T00:00:00Z',
    platform: { architecture: 'amd64', os: 'linux' },
  })
  const arm = await pushImage(t, app, undefined, {
    layers: [base, 'app 1.3.0 arm64'],
    created: '2024-04-01T00:00:00Z',
    platform: { architecture: 'arm64', os: 'linux' },
  })
  d.v130 = (await pushIndex(t, app, 'v1.3.0', [amd, arm])).digest
  d.v130amd = amd.digest
  d.v130arm = arm.digest
  for (const digest of [d.v100, d.v110, d.v120]) await pushSignature(t, app, digest)

  // team/tools/cli: Docker v2 images and an old Docker manifest list whose children go with it.
  const cli = 'team/tools/cli'
  const oldAmd = await pushImage(t, cli, undefined, {
    layers: [base, 'cli 0.9 amd64'],
    created: '2023-06-01T00:00:00Z',
    format: 'docker',
    platform: { architecture: 'amd64', os: 'linux' },
  })
  const oldArm = await pushImage(t, cli, undefined, {
    layers: [base, 'cli 0.9 arm64'],
    created: '2023-06-01T00:00:00Z',
    format: 'docker',
    platform: { architecture: 'arm64', os: 'linux' },
  })
  d.cli09 = (await pushIndex(t, cli, '0.9', [oldAmd, oldArm], 'docker')).digest
  d.cli09amd = oldAmd.digest
  d.cli09arm = oldArm.digest
  const cliImage = async (tag: string, day: string): Promise<string> =>
    (await pushImage(t, cli, tag, { layers: [base, `cli ${tag} `.repeat(300)], created: `2024-01-${day}T00:00:00Z`, format: 'docker' }))
      .digest
  d.cli10 = await cliImage('1.0', '05')
  d.cli11 = await cliImage('1.1', '06')
  d.cli12 = await cliImage('1.2', '07')

  // solo: one image, nothing to delete.
  d.solo = (await pushImage(t, 'solo', 'latest', { layers: ['solo layer'], created: '2024-05-01T00:00:00Z' })).digest

  return {
    digests: d,
    tags: {
      [app]: {
        latest: d.old,
        'v1.0.0': d.v100,
        'v1.1.0': d.v110,
        'v1.2.0': d.v120,
        stable: d.v120,
        'v1.3.0': d.v130,
        [sig(d.v100)]: '',
        [sig(d.v110)]: '',
        [sig(d.v120)]: '',
      },
      [cli]: { '0.9': d.cli09, '1.0': d.cli10, '1.1': d.cli11, '1.2': d.cli12 },
      solo: { latest: d.solo },
    },
    keptTags: {
      [app]: ['latest', 'v1.2.0', 'stable', 'v1.3.0', sig(d.v120)],
      [cli]: ['1.1', '1.2'],
      solo: ['latest'],
    },
    deletedTags: {
      [app]: ['v1.0.0', 'v1.1.0', sig(d.v100), sig(d.v110)],
      [cli]: ['0.9', '1.0'],
      solo: [],
    },
    keptChildren: { [app]: [d.v130amd, d.v130arm] },
    deletedChildren: { [cli]: [d.cli09amd, d.cli09arm] },
  }
}

/** tag -> digest for every tag of every fixture repository, as the registry answers now. */
export async function snapshot(t: Target, fx: Fixtures): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {}
  for (const repo of Object.keys(fx.tags)) {
    for (const tag of await tagList(t, repo)) out[`${repo}:${tag}`] = await resolveTag(t, repo, tag)
  }
  return out
}
