#!/usr/bin/env bash
# One command on a fresh machine: install what is needed, then prune a local demo registry (dry run, then real run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f dist/cli/index.js ] || npm run build
exec npx tsx scripts/demo.ts
