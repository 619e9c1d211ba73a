// A tag-name order for when image dates cannot order a repository (DECISIONS 4) and for ties (DECISIONS 9):
// semantic versions first, highest first (v1.10.0 > v1.9.2 > v1.9.2-rc.1), then every other tag in descending
// natural order (build-10 > build-9). Numbers are compared as numbers of any length, never as floats.

interface Version {
  core: string[]
  prerelease: string[]
}

// `v` prefix optional; one to three numeric parts (`v2`, `1.4` are common tags); prerelease and build metadata.
const VERSION = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

function parseVersion(tag: string): Version | undefined {
  const match = VERSION.exec(tag)
  if (!match) return undefined
  const core = [match[1] ?? '0', match[2] ?? '0', match[3] ?? '0']
  return { core, prerelease: match[4] ? match[4].split('.') : [] }
}

const isNumeric = (text: string): boolean => /^\d+$/.test(text)

/** Ascending comparison of two digit strings by value, whatever their length. */
function compareNumbers(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '')
  const y = b.replace(/^0+(?=\d)/, '')
  if (x.length !== y.length) return x.length - y.length
  return x < y ? -1 : x > y ? 1 : 0
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Ascending semver precedence: a release is above its prereleases; numeric identifiers below alphanumeric ones. */
function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const order = compareNumbers(a.core[i] ?? '0', b.core[i] ?? '0')
    if (order !== 0) return order
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return b.prerelease.length - a.prerelease.length
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i] ?? ''
    const y = b.prerelease[i] ?? ''
    const order =
      isNumeric(x) && isNumeric(y) ? compareNumbers(x, y) : isNumeric(x) ? -1 : isNumeric(y) ? 1 : compareText(x, y)
    if (order !== 0) return order
  }
  return a.prerelease.length - b.prerelease.length
}

/** Ascending natural order: runs of digits compare as numbers, the rest as text. */
function compareNatural(a: string, b: string): number {
  const x = a.match(/\d+|\D+/g) ?? []
  const y = b.match(/\d+|\D+/g) ?? []
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] ?? ''
    const q = y[i] ?? ''
    const order = isNumeric(p) && isNumeric(q) ? compareNumbers(p, q) : compareText(p, q)
    if (order !== 0) return order
  }
  return x.length - y.length
}

/**
 * Sort comparator putting the highest tag first. A total order: tags equal as versions (`1.2.0`, `v1.2.0`) and as
 * natural text (`a01`, `a1`) still come in a fixed order, so sorting never depends on the input order.
 */
export function compareTagsDescending(a: string, b: string): number {
  const x = parseVersion(a)
  const y = parseVersion(b)
  if (x && !y) return -1
  if (!x && y) return 1
  const byVersion = x && y ? compareVersions(y, x) : 0
  return byVersion || compareNatural(b, a) || compareText(b, a)
}

/** The highest of some tags in that order; undefined for none. */
export function highestTag(tags: Iterable<string>): string | undefined {
  let best: string | undefined
  for (const tag of tags) if (best === undefined || compareTagsDescending(tag, best) < 0) best = tag
  return best
}
