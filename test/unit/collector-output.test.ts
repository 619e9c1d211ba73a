// The collector's output as Debian's docker-registry 2.8.2 printed it on a test storage (team/app:v2 deleted through
// the API, then `garbage-collect`), kept verbatim so the parser is tested against the real format. The command line
// itself is tested in gc-command.test.ts.
import { describe, expect, it } from 'vitest'
import { CollectorReader, deletedBlobs, parseCollectorOutput } from '../../src/gc/collector.js'
import { localShell } from '../../src/gc/shell.js'

/** `docker-registry garbage-collect config.yml`, stdout (log level info). */
const REAL_STDOUT = `other
other: marking manifest sha256:44a4b4112b96b6c88ad7c7fe5e6744ba06fd1b20b647f890b6c478df1dfcb3be\x20
other: marking blob sha256:fd7fc54c41959b6c12bb18f8dc119c6e86c2c4bb5d27bb6f3ba1cd6559b119ed
other: marking blob sha256:cae662172fd450bb0cd710a769079c05bfc5d8e35efa6576edc7d0377afdd4a2
team/app
team/app: marking manifest sha256:01d79ade55ec976c2f076e39d3d81ac40531b2f87098657d3183303e8acc8c51\x20
team/app: marking blob sha256:e9ad167a3de2fb2e0e1d04daffa4ff0f0fc93af96e199c30efe61288031f8d9c
team/app: marking blob sha256:cae662172fd450bb0cd710a769079c05bfc5d8e35efa6576edc7d0377afdd4a2
team/app: marking blob sha256:2fce97fe6ec8811452255c10caff522085966e8688083aa72fe25f89b421413c

6 blobs marked, 3 blobs and 0 manifests eligible for deletion
blob eligible for deletion: sha256:6dca6b2e2444ba31790926f562879ea394bf49786521fb68c9c9482e1eb831f0
blob eligible for deletion: sha256:afd878e28a488ffde371da16c41dd48b41b1809202c3babd97a360e1d21f84f7
blob eligible for deletion: sha256:5c2f62c12900b2f033fff2e056a0d688e62c75414d296cb11173af6dabe93d67
`

/** Its stderr: logrus lines, one per blob removed (they only appear at log level info). */
const REAL_STDERR = `time="2026-11-24T00:56:47.066692146Z" level=info msg="Deleting blob: /docker/registry/v2/blobs/sha256/6d/6dca6b2e2444ba31790926f562879ea394bf49786521fb68c9c9482e1eb831f0" go.version=go1.19.8 instance.id=7f02f7ca-4063-4bf8-ac13-8c95ca4a08e5
time="2026-11-24T00:56:47.067477651Z" level=info msg="Deleting blob: /docker/registry/v2/blobs/sha256/af/afd878e28a488ffde371da16c41dd48b41b1809202c3babd97a360e1d21f84f7" go.version=go1.19.8 instance.id=7f02f7ca-4063-4bf8-ac13-8c95ca4a08e5
time="2026-11-24T00:56:47.067773981Z" level=info msg="Deleting blob: /docker/registry/v2/blobs/sha256/5c/5c2f62c12900b2f033fff2e056a0d688e62c75414d296cb11173af6dabe93d67" go.version=go1.19.8 instance.id=7f02f7ca-4063-4bf8-ac13-8c95ca4a08e5
`

/** `docker-registry garbage-collect --dry-run config.yml` on the same storage before the real run: stderr was empty. */
const DRY_STDOUT = `other
other: marking manifest sha256:44a4b4112b96b6c88ad7c7fe5e6744ba06fd1b20b647f890b6c478df1dfcb3be\x20
other: marking blob sha256:fd7fc54c41959b6c12bb18f8dc119c6e86c2c4bb5d27bb6f3ba1cd6559b119ed
other: marking blob sha256:cae662172fd450bb0cd710a769079c05bfc5d8e35efa6576edc7d0377afdd4a2
team/app
team/app: marking manifest sha256:01d79ade55ec976c2f076e39d3d81ac40531b2f87098657d3183303e8acc8c51\x20
team/app: marking blob sha256:e9ad167a3de2fb2e0e1d04daffa4ff0f0fc93af96e199c30efe61288031f8d9c
team/app: marking blob sha256:cae662172fd450bb0cd710a769079c05bfc5d8e35efa6576edc7d0377afdd4a2
team/app: marking blob sha256:2fce97fe6ec8811452255c10caff522085966e8688083aa72fe25f89b421413c

6 blobs marked, 3 blobs and 0 manifests eligible for deletion
blob eligible for deletion: sha256:afd878e28a488ffde371da16c41dd48b41b1809202c3babd97a360e1d21f84f7
blob eligible for deletion: sha256:5c2f62c12900b2f033fff2e056a0d688e62c75414d296cb11173af6dabe93d67
blob eligible for deletion: sha256:6dca6b2e2444ba31790926f562879ea394bf49786521fb68c9c9482e1eb831f0
`

/** `garbage-collect -m --dry-run` after an untagged manifest was pushed by digest (we refuse -m; parsed all the same). */
const UNTAGGED_STDOUT = `other
other: marking manifest sha256:44a4b4112b96b6c88ad7c7fe5e6744ba06fd1b20b647f890b6c478df1dfcb3be\x20
other: marking blob sha256:fd7fc54c41959b6c12bb18f8dc119c6e86c2c4bb5d27bb6f3ba1cd6559b119ed
other: marking blob sha256:cae662172fd450bb0cd710a769079c05bfc5d8e35efa6576edc7d0377afdd4a2
team/app
team/app: marking manifest sha256:01d79ade55ec976c2f076e39d3d81ac40531b2f87098657d3183303e8acc8c51\x20
team/app: marking blob sha256:e9ad167a3de2fb2e0e1d04daffa4ff0f0fc93af96e199c30efe61288031f8d9c
team/app: marking blob sha256:cae662172fd450bb0cd710a769079c05bfc5d8e35efa6576edc7d0377afdd4a2
team/app: marking blob sha256:2fce97fe6ec8811452255c10caff522085966e8688083aa72fe25f89b421413c
manifest eligible for deletion: sha256:99fd7a95cc79b4a89b19ce7ec776447169a3cbe1b3aaa16c1ee37403c6828c13

6 blobs marked, 3 blobs and 1 manifests eligible for deletion
blob eligible for deletion: sha256:1f9ac0bbdd15ff8f6ed3ade06e4250b5590828cc163dea112e70e7285a2a9f84
blob eligible for deletion: sha256:9959872f387301828f573c4ab39aad718d046c682a45d45a3ff967cf15f99e5b
blob eligible for deletion: sha256:99fd7a95cc79b4a89b19ce7ec776447169a3cbe1b3aaa16c1ee37403c6828c13
`

const CONFIG_ERROR = `configuration error: open /nope.yml: no such file or directory
Usage:
  registry garbage-collect <config> [flags]
`

const DELETED = [
  'sha256:5c2f62c12900b2f033fff2e056a0d688e62c75414d296cb11173af6dabe93d67',
  'sha256:6dca6b2e2444ba31790926f562879ea394bf49786521fb68c9c9482e1eb831f0',
  'sha256:afd878e28a488ffde371da16c41dd48b41b1809202c3babd97a360e1d21f84f7',
]

describe('parseCollectorOutput', () => {
  it('reads the counts, the eligible blobs and the Deleting blob log lines of a real run', () => {
    const out = parseCollectorOutput(REAL_STDOUT, REAL_STDERR)
    expect(out).toMatchObject({ blobsMarked: 6, blobsEligible: 3, manifestsEligible: 0, eligibleManifests: [] })
    expect([...out.eligibleBlobs].sort()).toEqual(DELETED)
    expect([...out.deletingBlobs].sort()).toEqual(DELETED)
    expect([...deletedBlobs(out)].sort()).toEqual(DELETED)
  })

  it('takes the eligible blobs as deleted when the registry logs at warn (no Deleting blob lines)', () => {
    const out = parseCollectorOutput(REAL_STDOUT, '')
    expect(out.deletingBlobs).toEqual([])
    expect([...deletedBlobs(out)].sort()).toEqual(DELETED)
  })

  it('reads a dry run: the same eligible blobs, nothing deleting', () => {
    const out = parseCollectorOutput(DRY_STDOUT, '')
    expect(out.blobsEligible).toBe(3)
    expect([...out.eligibleBlobs].sort()).toEqual(DELETED)
    expect(out.deletingBlobs).toEqual([])
  })

  it('reads manifest eligible lines and the manifest count', () => {
    const out = parseCollectorOutput(UNTAGGED_STDOUT, '')
    expect(out.manifestsEligible).toBe(1)
    expect(out.eligibleManifests).toEqual(['sha256:99fd7a95cc79b4a89b19ce7ec776447169a3cbe1b3aaa16c1ee37403c6828c13'])
    expect(out.eligibleBlobs).toHaveLength(3)
  })

  it('does not take "marking blob" lines for deletions', () => {
    const out = parseCollectorOutput(REAL_STDOUT.replace(/^blob eligible.*$/gm, ''), '')
    expect(out.eligibleBlobs).toEqual([])
    expect(out.blobsMarked).toBe(6)
  })

  it('reads the JSON log format too', () => {
    const json = `{"go.version":"go1.19.8","level":"info","msg":"Deleting blob: /docker/registry/v2/blobs/sha256/5c/${DELETED[0]?.slice(7)}","time":"2026-11-24T00:56:47Z"}`
    expect(parseCollectorOutput('', json).deletingBlobs).toEqual([DELETED[0]])
  })

  it('leaves the counts undefined on output that is not the collector\'s', () => {
    expect(parseCollectorOutput('', CONFIG_ERROR)).toMatchObject({ blobsMarked: undefined, eligibleBlobs: [], deletingBlobs: [] })
  })

  it('reads the output a line at a time as it comes, to the same result as the whole text', () => {
    const reader = new CollectorReader()
    // As a shell delivers it: the two streams interleaved.
    const out = REAL_STDOUT.split('\n')
    const err = REAL_STDERR.split('\n')
    for (let i = 0; i < Math.max(out.length, err.length); i++) {
      if (i < err.length) reader.line('stderr', err[i]!)
      if (i < out.length) reader.line('stdout', out[i]!)
    }
    const whole = parseCollectorOutput(REAL_STDOUT, REAL_STDERR)
    const streamed = reader.result()
    expect({ ...streamed, deletingBlobs: [...streamed.deletingBlobs].sort() }).toEqual({
      ...whole,
      deletingBlobs: [...whole.deletingBlobs].sort(),
    })
  })
})

describe('a command whose lines go to onLine', () => {
  it('hands every line over and keeps only the last 100 of each stream in its result', async () => {
    const seen: string[] = []
    const result = await localShell().run('seq 1 5000; seq 1 3 >&2', (stream, line) => seen.push(`${stream} ${line}`))
    expect(seen.filter((l) => l.startsWith('stdout'))).toHaveLength(5000)
    expect(seen.filter((l) => l.startsWith('stderr'))).toEqual(['stderr 1', 'stderr 2', 'stderr 3'])
    expect(result.stdout.split('\n')).toEqual(Array.from({ length: 100 }, (_, i) => String(4901 + i)))
    expect(result.stderr).toBe('1\n2\n3')
  })

  it('keeps the whole output when no one reads its lines', async () => {
    const result = await localShell().run('seq 1 5000')
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(5000)
  })
})
