#!/usr/bin/env bash
# One command on a fresh machine: install only what the demo needs (the registry and the npm packages; not sshd, the
# container tools, Node 24 or gitlab-ci-local, which only the tests use), then prune a local demo registry (dry run,
# then real run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
[ -f dist/cli/index.js ] || npm run build
exec npx tsx scripts/demo.ts
