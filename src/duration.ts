// Durations as users write them in inputs: `30d`, `12h`, `2w`, `90m`, `45s`, or combinations such as `1d12h`.
// Deliberately small: whole numbers, one letter per unit, largest unit first. Anything else (`3 weeks`, `1.5d`, `-1d`,
// `30D`) is refused rather than guessed at, because a misread age decides what gets deleted.

const UNIT_MS: Record<string, number> = {
  w: 7 * 24 * 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  h: 60 * 60 * 1000,
  m: 60 * 1000,
  s: 1000,
}
const UNIT_ORDER = 'wdhms'

/** How to write a duration; error messages quote it. */
export const DURATION_FORM = 'a duration such as 30d, 12h, 2w, 90m, 45s or 1d12h (whole numbers; units w, d, h, m, s)'

export interface DurationLimits {
  /** Smallest accepted value in ms (inclusive); default 1 s. Zero is never accepted. */
  minMs?: number
  /** Largest accepted value in ms (inclusive); default 5000w (about 96 years). */
  maxMs?: number
}

const DEFAULT_MAX_MS = 5000 * UNIT_MS.w!

/**
 * Parses a duration into milliseconds. Throws a `RangeError` whose message says what is wrong with the text
 * (without repeating it), for the caller to wrap with the input's name.
 */
export function parseDuration(text: string, limits: DurationLimits = {}): number {
  const minMs = Math.max(limits.minMs ?? 1000, 1)
  const maxMs = limits.maxMs ?? DEFAULT_MAX_MS
  if (!/^(\d+[a-z])+$/.test(text)) throw new RangeError(describeMalformed(text))
  let total = 0
  let lastUnit = -1
  for (const [, digits, unit] of text.matchAll(/(\d+)([a-z])/g)) {
    const position = UNIT_ORDER.indexOf(unit!)
    if (position < 0) throw new RangeError(`unknown unit '${unit}'`)
    if (position <= lastUnit) throw new RangeError('units must each appear once, largest first')
    lastUnit = position
    // Long digit strings would lose precision long before they could be a sensible age.
    if (digits!.length > 9) throw new RangeError(`it is longer than ${formatDuration(maxMs)}`)
    total += Number(digits) * UNIT_MS[unit!]!
  }
  if (total === 0) throw new RangeError('a zero duration is meaningless here')
  if (total > maxMs) throw new RangeError(`it is longer than ${formatDuration(maxMs)}`)
  if (total < minMs) throw new RangeError(`it is shorter than ${formatDuration(minMs)}`)
  return total
}

function describeMalformed(text: string): string {
  if (/^-/.test(text)) return 'it is negative'
  if (/\s/.test(text)) return 'write it without spaces and with one-letter units'
  if (/\d[.,]\d/.test(text)) return 'use whole numbers (e.g. 36h instead of 1.5d)'
  if (/^\d+$/.test(text)) return 'it has no unit'
  if (/[A-Z]/.test(text)) return 'units are lower-case letters'
  return 'it is not a duration'
}

/**
 * `1d12h`-style text for a whole number of seconds (smaller remainders are dropped). Weeks only when the value is
 * whole weeks: `30d` reads better than `4w2d`.
 */
export function formatDuration(ms: number): string {
  let rest = Math.floor(ms / 1000) * 1000
  if (rest <= 0) return '0s'
  if (rest % UNIT_MS.w! === 0) return `${rest / UNIT_MS.w!}w`
  let text = ''
  for (const unit of UNIT_ORDER.slice(1)) {
    const size = UNIT_MS[unit]!
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`
      rest %= size
    }
  }
  return text
}
