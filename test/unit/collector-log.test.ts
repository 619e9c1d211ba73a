import { describe, expect, it } from 'vitest'
import { collectorEcho } from '../../src/gc/collector-log.js'

describe("the collector's output in the log", () => {
  it('shows the totals and warnings, sends per-blob lines to debug, and says how many it left out', () => {
    const lines: string[] = []
    const log = {
      info: (m: string) => lines.push(`info: ${m}`),
      warning: () => {},
      error: () => {},
      debug: (m: string) => lines.push(`debug: ${m}`),
      group: <T>(_n: string, body: () => Promise<T>) => body(),
    }
    const echo = collectorEcho(log, 3)
    const output = [
      'team/app',
      'team/app: marking manifest sha256:aa ',
      'team/app: marking blob sha256:bb',
      '',
      '1 blobs marked, 1 blobs and 0 manifests eligible for deletion',
      'blob eligible for deletion: sha256:cc',
      'time="…" level=info msg="Deleting blob: /docker/registry/v2/blobs/sha256/cc/cc" go.version=go1.19',
      'one line too many',
    ]
    for (const line of output) echo.onLine('stdout', line)
    echo.finish()
    expect(lines.filter((l) => l.startsWith('info: '))).toEqual([
      'info: team/app',
      'info: ',
      'info: 1 blobs marked, 1 blobs and 0 manifests eligible for deletion',
      'info: (4 per-blob and per-manifest lines and 1 other line of the collector left out of the log; they are debug lines)',
    ])
    expect(lines.filter((l) => l.startsWith('debug: '))).toHaveLength(5)
  })
})
