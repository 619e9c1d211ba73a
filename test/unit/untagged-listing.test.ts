// Issue 14: the collector's read-only listing of untagged manifests. The outputs below are what Distribution 2.8.2's
// `docker-registry garbage-collect --dry-run --delete-untagged` printed here (digests shortened to one letter, repeated);
// the parser takes them strictly, and anything else fails closed.
import { describe, expect, it } from 'vitest'
import { collectorCommand, listingCommand } from '../../src/gc/collector.js'
import { parseUntaggedListing } from '../../src/gc/untagged-listing.js'
import { parseSettings } from '../../src/inputs.js'
import { jsonPieces } from '../../src/report/json.js'
import { toMarkdown } from '../../src/report/markdown.js'
import { toText } from '../../src/report/text.js'
import type { RunResult, UntaggedListingReport } from '../../src/types.js'
import { emptyRun } from './result-builder.js'

const d = (c: string): string => `sha256:${c.repeat(64)}`

// app:latest pushed three times, a multi-arch index with two untagged children, a signature of the current build, an
// OCI referrer pushed by digest; team/clean with nothing untagged; team/x pushed twice.
const REAL = [
  'app',
  `manifest eligible for deletion: ${d('1')}`,
  `manifest eligible for deletion: ${d('4')}`,
  `manifest eligible for deletion: ${d('6')}`,
  `app: marking manifest ${d('8')} `,
  `app: marking blob ${d('a')}`,
  `app: marking blob ${d('3')}`,
  `app: marking manifest ${d('c')} `,
  `app: marking blob ${d('6')}`,
  `app: marking blob ${d('d')}`,
  `manifest eligible for deletion: ${d('d')}`,
  'team/clean',
  `team/clean: marking manifest ${d('e')} `,
  `team/clean: marking blob ${d('f')}`,
  'team/x',
  `team/x: marking manifest ${d('7')} `,
  `team/x: marking blob ${d('9')}`,
  `manifest eligible for deletion: ${d('2')}`,
  '',
  '9 blobs marked, 2 blobs and 5 manifests eligible for deletion',
  `blob eligible for deletion: ${d('b')}`,
  `blob eligible for deletion: ${d('5')}`,
  '',
].join('\n')

const lines = REAL.split('\n')
const withLine = (at: number, line: string): string => [...lines.slice(0, at), line, ...lines.slice(at)].join('\n')
const replaced = (at: number, line: string): string => [...lines.slice(0, at), line, ...lines.slice(at + 1)].join('\n')

describe('parseUntaggedListing', () => {
  it('reads the real output per repository: eligible lines belong to the last name line, whatever comes between', () => {
    const parsed = parseUntaggedListing(REAL)
    expect('untagged' in parsed && Object.fromEntries(parsed.untagged)).toEqual({
      app: [d('1'), d('4'), d('6'), d('d')],
      'team/clean': [],
      'team/x': [d('2')],
    })
  })

  it.each<[string, string, Record<string, string[]>]>([
    ['an empty registry', '\n0 blobs marked, 0 blobs and 0 manifests eligible for deletion\n', {}],
    [
      'a repository with no eligible manifest',
      ['solo', `solo: marking manifest ${d('1')} `, `solo: marking blob ${d('2')}`, '', '2 blobs marked, 0 blobs and 0 manifests eligible for deletion', ''].join('\n'),
      { solo: [] },
    ],
    [
      'a repository whose only manifest is untagged (no marking line at all)',
      ['gone', `manifest eligible for deletion: ${d('1')}`, '', '0 blobs marked, 1 blobs and 1 manifests eligible for deletion', `blob eligible for deletion: ${d('1')}`].join('\n'),
      { gone: [d('1')] },
    ],
    [
      'names with slashes, dots, dashes and underscores',
      ['a.b/c_d/e--f', `manifest eligible for deletion: ${d('3')}`, `a.b/c_d/e--f: marking manifest ${d('4')} `, '', '0 blobs marked, 0 blobs and 1 manifests eligible for deletion'].join('\n'),
      { 'a.b/c_d/e--f': [d('3')] },
    ],
  ])('%s', (_name, stdout, expected) => {
    const parsed = parseUntaggedListing(stdout)
    expect('untagged' in parsed && Object.fromEntries(parsed.untagged)).toEqual(expected)
  })

  it.each<[string, string, RegExp]>([
    ['nothing at all', '', /ends after 0 lines without the `N blobs marked/],
    ['garbage', 'Error: something went wrong\n', /line 1 .*"Error: something went wrong" is none of the lines/],
    ['a warning line among the eligible ones', withLine(2, 'WARN: could not read tag'), /line 3 .*"WARN: could not read tag"/],
    ['an eligible line with a short digest', replaced(2, 'manifest eligible for deletion: sha256:abc'), /line 3 .*sha256:abc/],
    ['an eligible line with another algorithm', replaced(2, `manifest eligible for deletion: sha512:${'a'.repeat(128)}`), /line 3 /],
    ['an eligible line with a trailing character', replaced(2, `manifest eligible for deletion: ${d('4')}x`), /line 3 /],
    ['a marking line of another repository', replaced(4, `team/x: marking manifest ${d('8')} `), /line 5 .*names another repository than the last name line \("app"\)/],
    ['an eligible line before any name line', [`manifest eligible for deletion: ${d('1')}`, '', '0 blobs marked, 0 blobs and 1 manifests eligible for deletion'].join('\n'), /line 1 .*before any repository name/],
    ['a repository named twice', withLine(11, 'app'), /line 12 .*"app" names a repository a second time/],
    ['an output cut off before the summary', lines.slice(0, 15).join('\n'), /ends after 15 lines without/],
    ['an output cut off after the blank line', `${lines.slice(0, 19).join('\n')}\n`, /ends after 19 lines without/],
    ['a summary that does not count the eligible manifests', replaced(19, '9 blobs marked, 2 blobs and 4 manifests eligible for deletion'), /counts 4 manifests .* lists 5/],
    ['blob lines cut off', lines.slice(0, 21).join('\n'), /counts 2 blobs .* lists 1/],
    ['an odd line after the summary', withLine(21, 'done.'), /line 22 .*"done\." is not a `blob eligible/],
    ['a line with a carriage return', replaced(2, `manifest eligible for deletion: ${d('4')}\r`), /line 3 .*\\r/],
    ['something instead of the summary', replaced(19, '9 blobs marked'), /line 20 .*is not the `N blobs marked/],
  ])('fails closed on %s, naming the line', (_name, stdout, problem) => {
    const parsed = parseUntaggedListing(stdout)
    expect('problem' in parsed && parsed.problem).toMatch(problem)
  })
})

describe('listingCommand', () => {
  it.each([
    ['docker-registry garbage-collect /etc/docker/registry/config.yml', 'docker-registry garbage-collect --dry-run --delete-untagged /etc/docker/registry/config.yml'],
    ['docker exec registry bin/registry garbage-collect /etc/docker/registry/config.yml', 'docker exec registry bin/registry garbage-collect --dry-run --delete-untagged /etc/docker/registry/config.yml'],
    [
      "kubectl exec -n registry deploy/registry -- sh -c 'registry garbage-collect /etc/docker/registry/config.yml'",
      "kubectl exec -n registry deploy/registry -- sh -c 'registry garbage-collect --dry-run --delete-untagged /etc/docker/registry/config.yml'",
    ],
  ])('puts --dry-run --delete-untagged together right after garbage-collect: %s', (command, expected) => {
    expect(listingCommand(command)).toBe(expected)
    // The collector's real runs never get --delete-untagged.
    expect(collectorCommand(command, false)).not.toContain('--delete-untagged')
    expect(collectorCommand(command, true)).not.toContain('--delete-untagged')
  })

  it.each([
    ['registry garbage-collect -m /etc/r.yml', /--delete-untagged/],
    ['registry garbage-collect --delete-untagged /etc/r.yml', /--delete-untagged/],
    ['registry garbage-collect --dry-run=false /etc/r.yml', /--dry-run=false.*is refused/],
    ['/usr/local/bin/collect.sh', /no such word/],
  ])('refuses %s', (command, message) => {
    expect(() => listingCommand(command)).toThrow(message)
  })
})

describe('untagged-source', () => {
  const parse = (values: Record<string, string>) =>
    parseSettings((name) => ({ registry: 'https://r.example.com', ...values })[name], {}, { homeDir: () => '/nonexistent' })

  it('defaults to auto, and untagged: delete needs no storage-path then (the collector lists)', () => {
    expect(parse({}).untaggedSource).toBe('auto')
    expect(parse({ untagged: 'delete', 'garbage-collect': 'local', 'gc-command': 'registry garbage-collect /c.yml' }))
      .toMatchObject({ untagged: 'delete', untaggedSource: 'auto', gc: { storagePath: '' } })
  })

  it.each(['storage', 'collector', 'auto'])('accepts %s with what it needs', (source) => {
    const settings = parse({
      untagged: 'delete',
      'untagged-source': source.toUpperCase(),
      'garbage-collect': 'local',
      'storage-path': '/var/lib/registry',
    })
    expect(settings.untaggedSource).toBe(source)
  })

  it('a gc-command the listing cannot extend is fine while storage-path gives the storage listing', () => {
    const values = { untagged: 'delete', 'garbage-collect': 'local', 'gc-command': '/srv/collect.sh' }
    expect(parse({ ...values, 'storage-path': '/srv/registry' }).untaggedSource).toBe('auto')
    expect(() => parse(values)).toThrow(/listing untagged manifests with the collector/)
    expect(() => parse({ ...values, 'untagged-source': 'collector', 'storage-path': '/srv/registry' })).toThrow(/no such word/)
  })
})

describe('the reports name the listing and its count', () => {
  const result = (untaggedListing?: UntaggedListingReport): RunResult =>
    emptyRun({ registry: 'https://r.example.com' }, untaggedListing ? { untaggedListing } : {})
  const json = (r: RunResult) => JSON.parse([...jsonPieces(r)].join('')) as { untaggedListing: unknown }

  it.each<[UntaggedListingReport, string]>([
    [{ source: 'collector', candidates: 7 }, '7, listed by the collector (garbage-collect --dry-run --delete-untagged)'],
    [{ source: 'storage', candidates: 0 }, '0, listed from the storage tree (storage-path)'],
  ])('%j', (listing, text) => {
    expect(toMarkdown(result(listing))).toContain(`| Untagged manifests found | ${text} |`)
    expect(toText(result(listing))).toMatch(new RegExp(`Untagged manifests found +${text.replace(/[()]/g, '\\$&')}\n`))
    expect(json(result(listing)).untaggedListing).toEqual(listing)
  })

  it('says nothing about a listing when there was none', () => {
    expect(toMarkdown(result())).not.toContain('Untagged manifests found')
    expect(toText(result())).not.toContain('Untagged manifests found')
    expect(json(result()).untaggedListing).toBeNull()
  })
})
