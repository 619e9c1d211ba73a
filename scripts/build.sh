#!/usr/bin/env bash
# Builds dist/ from src/ with ncc: dist/index.js (the Action) and dist/cli/index.js (the CLI).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd -P)"

ncc_build() {
  node_modules/.bin/ncc build src/index.ts -o "$root/dist" --license licenses.txt
  node_modules/.bin/ncc build src/cli.ts -o "$root/dist/cli"
}

if [ ! -L "$root/node_modules" ]; then
  cd "$root"
  ncc_build
  exit
fi
# ncc names each bundled module by a hash of its real path relative to where it runs. Through a symlinked
# node_modules (a git worktree, a cached CI directory) those paths lead out of the checkout, and every dependency
# would get another name than in a plain checkout. Build from a copy whose node_modules is a real directory (hard
# links where the filesystem allows), so dist/ is the same byte for byte either way.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -R "$root/src" "$root/package.json" "$root/tsconfig.json" "$stage/"
modules="$(realpath "$root/node_modules")"
cp -al "$modules" "$stage/node_modules" 2>/dev/null || cp -a "$modules" "$stage/node_modules"
cd "$stage"
ncc_build
