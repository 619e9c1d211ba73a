// Glob matching for repository names and tags: one meaning everywhere an input takes a list of globs.
import { Minimatch } from 'minimatch'
import type { MinimatchOptions } from 'minimatch'

// dot: tags such as `.cache` and repository segments such as `.hidden` match `*` like any other name.
// nonegate/nocomment: a leading `!` is handled below (as an exclude), and `#` is never a comment in a tag.
const OPTIONS: MinimatchOptions = { dot: true, nonegate: true, nocomment: true }

/**
 * A test of names against a list of globs, compiled once (100,000 names may be tested): true when a name matches at
 * least one include glob and no `!exclude` glob. A list made only of excludes means "everything but those"; an empty
 * list matches nothing.
 */
export function globMatcher(globs: string[]): (name: string) => boolean {
  const compile = (glob: string) => new Minimatch(glob, OPTIONS)
  const includes = globs.filter((glob) => !glob.startsWith('!')).map(compile)
  const excludes = globs.filter((glob) => glob.startsWith('!')).map((glob) => compile(glob.slice(1)))
  return (name) => {
    if (excludes.some((glob) => glob.match(name))) return false
    if (includes.length === 0) return excludes.length > 0
    return includes.some((glob) => glob.match(name))
  }
}

/**
 * True when a pattern matches something other than its own literal text, so the names it stands for must be listed
 * (`_catalog`) rather than used directly (DECISIONS 10). Braces count: `{a,b}` is not a repository name.
 * A leading `!` is ignored: the answer is about the pattern it excludes.
 */
export function hasGlobMagic(pattern: string): boolean {
  const body = pattern.startsWith('!') ? pattern.slice(1) : pattern
  return new Minimatch(body, { ...OPTIONS, magicalBraces: true }).hasMagic()
}
