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
npm test
# Last: search everything the suite produced for the secrets it used (issue 5).
npx vitest run --config vitest.final.config.ts
