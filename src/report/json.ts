// The one machine-readable format (DECISIONS 12): the plan file, the CLI's --json and the GitLab plan artifact.
import type { RunResult } from '../run.js'
import type { Settings } from '../types.js'
import { VERSION } from '../version.js'
import { outcomes, totals } from './outcome.js'

/** The settings as they were used, with every secret removed. */
export function publicSettings(s: Settings): Record<string, unknown> {
  const { password: _password, caCert, gc, ...rest } = s
  const { sshPrivateKey: _key, sshPassphrase: _passphrase, ...publicGc } = gc
  return { ...rest, caCert: caCert ? '(set)' : undefined, gc: publicGc }
}

export function toJson(result: RunResult): object {
  const repos = outcomes(result)
  return {
    schemaVersion: 1,
    tool: { name: 'registry-prune', version: VERSION },
    startedAt: new Date(result.startedAt).toISOString(),
    dryRun: result.settings.dryRun,
    settings: publicSettings(result.settings),
    totals: totals(result, repos),
    requests: result.requests,
    repositories: repos.map(({ plan, manifests, error }) => ({
      name: plan.name,
      order: plan.order,
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
        parent: m.parent,
        decision: m.decision,
        reason: m.reason,
        outcome,
        outcomeNote: note,
      })),
    })),
    gc: result.gc ?? null,
    failures: result.failures,
    warnings: result.warnings,
  }
}
