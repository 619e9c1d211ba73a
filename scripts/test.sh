#!/usr/bin/env bash
# The one command that sets up a fresh machine and runs every check: types, lint, a fresh dist/, and the tests
# (unit tests, and integration tests against a real registry and a real sshd started on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

npm run typecheck
npm run lint
npm run build
if [ -n "$(git status --porcelain -- dist)" ]; then
  echo "dist/ is not the fresh build of src/: run 'npm run build' and commit dist/." >&2
  git status --short -- dist >&2
  exit 1
fi
# The same from a checkout whose node_modules is a symlink to this one's (a git worktree, a cached CI directory):
# the committed dist/ must not depend on where node_modules lives.
linked="$(mktemp -d)"
trap 'git worktree remove --force "$linked/tree" >/dev/null 2>&1 || true; rm -rf "$linked"' EXIT
git worktree add --quiet --detach "$linked/tree" HEAD
ln -s "$PWD/node_modules" "$linked/tree/node_modules"
(cd "$linked/tree" && npm run build >/dev/null)
if [ -n "$(git -C "$linked/tree" status --porcelain -- dist)" ]; then
  echo "dist/ built with a symlinked node_modules differs from the committed one: see scripts/build.sh." >&2
  git -C "$linked/tree" status --short -- dist >&2
  exit 1
fi
npm test
# Last: search everything the suite produced for the secrets it used (issue 5).
npx vitest run --config vitest.final.config.ts
