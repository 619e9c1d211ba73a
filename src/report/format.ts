// Small formatting helpers shared by the Markdown, text and JSON reports, the log and the CLI prompt: one way to write
// a size, a count, a time and an escaped value everywhere.
import type { UntaggedListingReport } from '../types.js'

/** IEC units (KiB, MiB, GiB): `219.3 KiB`, `512 B`. */
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

/** `219.3 KiB (224,592 bytes)`: the size with its exact figure, for the places a reader may want to compare it. */
export function formatBytesExact(bytes: number): string {
  return Math.abs(bytes) < 1024 ? formatBytes(bytes) : `${formatBytes(bytes)} (${formatCount(bytes)} bytes)`
}

/** `6,000`: a whole number with thousands separators. */
export function formatCount(n: number): string {
  // By hand for whole numbers: toLocaleString goes through ICU, and a summary formats thousands of counts.
  if (!Number.isSafeInteger(n) || Object.is(n, -0)) return n.toLocaleString('en-US')
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',')
}

/** `1 repository`, `2 repositories`, `6,000 tags`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`
}

/** `850 ms`, `24.1 s`, `3 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  const seconds = ms / 1000
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const whole = Math.round(seconds)
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`
}

/** Which listing of untagged manifests was used and what it gave (issue 14), e.g. `4, listed by the collector (…)`. */
export function untaggedListingText({ source, candidates }: UntaggedListingReport): string {
  return source === 'collector'
    ? `${formatCount(candidates)}, listed by the collector (garbage-collect --dry-run --delete-untagged)`
    : `${formatCount(candidates)}, listed from the storage tree (storage-path)`
}

/** `sha256:0123456789ab…`: enough to tell digests apart in a table. */
export function shortDigest(digest: string): string {
  const [algorithm, hex = ''] = digest.split(':')
  return `${algorithm}:${hex.slice(0, 12)}`
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

/**
 * Makes a value that came from the registry or the user safe in GitHub-flavoured Markdown text (a table cell, a
 * paragraph): Markdown's own characters are backslash-escaped, and HTML's are entities, since Markdown renders HTML
 * too. Never use it inside an HTML block, where backslashes are not processed and show: use `escapeHtml` there.
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

/** Makes a value safe inside an HTML block (`<details>`, `<summary>`, `<table>`): entities only, no backslashes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/[\r\n]+/g, ' ')
}
