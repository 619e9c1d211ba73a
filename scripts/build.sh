#!/usr/bin/env bash
# Builds dist/ from src/ with ncc: dist/index.js (the Action) and dist/cli/index.js (the CLI).
# ncc names each bundled module by a hash of its path relative to the working directory, with symlinks resolved.
# Running it from the directory that really holds node_modules makes dist/ the same byte for byte whether
# node_modules is a directory of this checkout or a symlink to another one's (a git worktree, a CI cache).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd -P)"
ncc="$root/node_modules/.bin/ncc"
cd "$(dirname "$(realpath "$root/node_modules")")"
"$ncc" build "$root/src/index.ts" -o "$root/dist" --license licenses.txt
"$ncc" build "$root/src/cli.ts" -o "$root/dist/cli"
