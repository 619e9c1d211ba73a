// The one machine-readable format (DECISIONS 12): the plan file, the CLI's --json and the GitLab plan artifact.
// It is written in pieces, one repository at a time: for 100,000 tags the whole text is tens of megabytes, and
// building it (and the object tree behind it) at once would double the run's peak memory.
import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { redactor, secretsOf } from '../redact.js'
import type { RunResult, Settings } from '../types.js'
import { VERSION } from '../version.js'
import { outcomes, totals, type RepositoryOutcome } from './outcome.js'

/** The settings as they were used, with every secret removed. */
export function publicSettings(s: Settings): Record<string, unknown> {
  const { password: _password, caCert, gc, ...rest } = s
  const { sshPrivateKey: _key, sshPassphrase: _passphrase, ...publicGc } = gc
  return { ...rest, caCert: caCert ? '(set)' : undefined, gc: publicGc }
}

function repositoryJson({ plan, manifests, untags, error }: RepositoryOutcome): object {
  return {
    name: plan.name,
    rule: plan.rule,
    order: plan.order,
    ageFrom: plan.ageFrom ?? 'created',
    skipped: plan.skipped,
    error,
    notes: plan.notes,
    images: manifests.map(({ manifest: m, outcome, note }) => ({
      digest: m.digest,
      tags: m.tags,
      role: m.role,
      kind: m.kind,
      mediaType: m.mediaType,
      size: m.size,
      created: m.created === undefined ? undefined : new Date(m.created).toISOString(),
      pushed: m.pushed === undefined ? undefined : new Date(m.pushed).toISOString(),
      parent: m.parent,
      decision: m.decision,
      reason: m.reason,
      outcome,
      outcomeNote: note,
    })),
    untags: untags.map(({ untag, outcome, note }) => ({ ...untag, outcome, outcomeNote: note })),
  }
}

const PLACEHOLDER = '\u0000repositories\u0000'
/** What `JSON.stringify({ r: [x] }, null, 2)` puts around `x`. */
const WRAP_START = '{\n  "r": [\n    '
const WRAP_END = '\n  ]\n}'

/**
 * The JSON text, in pieces whose concatenation is exactly `JSON.stringify(document, null, 2)`: the document
 * around the repositories first, then each repository, indented into its place. Every piece passes through the
 * run's redactor (a hook's command or its stderr in `failures` can hold a secret), and through `redact` on top.
 * A piece never splits a string, so no secret is split across two.
 */
export function* jsonPieces(result: RunResult, redact: (text: string) => string = (text) => text): Generator<string> {
  // Each secret as it is and as JSON escapes it: a password with a quote in it is `pa\"ss` in the text.
  const secrets = secretsOf(result.settings)
  const own = redactor([...secrets, ...secrets.map((s) => JSON.stringify(s).slice(1, -1))])
  const mask = (text: string): string => redact(own(text))
  const repos = outcomes(result)
  const document = {
    schemaVersion: 1,
    tool: { name: 'registry-prune', version: VERSION },
    startedAt: new Date(result.startedAt).toISOString(),
    dryRun: result.settings.dryRun,
    settings: publicSettings(result.settings),
    totals: totals(result, repos),
    requests: result.requests,
    phases: result.phases,
    cache: result.cache,
    repositories: PLACEHOLDER,
    untaggedListing: result.untaggedListing ?? null,
    gc: result.gc ?? null,
    failures: result.failures,
    warnings: result.warnings,
  }
  const [before, after] = JSON.stringify(document, null, 2).split(JSON.stringify(PLACEHOLDER))
  if (repos.length === 0) {
    yield mask(`${before}[]${after}\n`)
    return
  }
  yield mask(`${before}[`)
  for (const [i, repo] of repos.entries()) {
    // Stringified inside a one-element list under a key, as it stands in the document: JSON.stringify indents it
    // into its place itself, and the piece is cut out of that (re-indenting the text after was a copy per line).
    const wrapped = JSON.stringify({ r: [repositoryJson(repo)] }, null, 2)
    const text = wrapped.slice(WRAP_START.length, wrapped.length - WRAP_END.length)
    yield mask(`${i === 0 ? '' : ','}\n    ${text}`)
  }
  yield mask(`\n  ]${after}\n`)
}

/**
 * Writes the JSON to a stream piece by piece, waiting when the stream's buffer is full. Always redacted with the
 * run's secrets; `redact` adds a front door's own (e.g. the CLI's raw secret variables) on the text.
 */
export async function writeJson(result: RunResult, out: Writable, redact = (text: string) => text): Promise<void> {
  for (const piece of jsonPieces(result, redact)) {
    if (!out.write(piece)) await once(out, 'drain')
  }
}
