// Small formatting helpers shared by the Markdown, text and JSON reports.
import type { UntaggedListingReport } from '../types.js'

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** Which listing of untagged manifests was used and what it gave (issue 14), e.g. `4, listed by the collector (…)`. */
export function untaggedListingText({ source, candidates }: UntaggedListingReport): string {
  return source === 'collector'
    ? `${candidates}, listed by the collector (garbage-collect --dry-run --delete-untagged)`
    : `${candidates}, listed from the storage tree (storage-path)`
}

/** `sha256:0123456789ab…`: enough to tell digests apart in a table. */
export function shortDigest(digest: string): string {
  const [algorithm, hex = ''] = digest.split(':')
  return `${algorithm}:${hex.slice(0, 12)}`
}

export function formatTime(ms: number | undefined): string {
  return ms === undefined ? 'unknown' : new Date(ms).toISOString().replace('.000Z', 'Z')
}

/**
 * Makes a value that came from the registry or the user safe inside GitHub-flavoured Markdown and HTML:
 * the job summary renders both, and a tag or repository name must never become markup or break a table.
 */
export function escapeMarkdown(text: string): string {
  // Markdown first: the entities added after it contain `#`, which must not be escaped again.
  return text
    .replace(/([\\`*_[\]#~!])/g, '\\$1')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\|/g, '&#124;')
    .replace(/[\r\n]+/g, ' ')
}
