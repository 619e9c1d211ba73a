#!/usr/bin/env bash
# Builds dist/ from src/ with ncc: dist/index.js (the Action) and dist/cli/index.js (the CLI), each with the licence
# notices of the dependencies it bundles (licenses.txt beside it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd -P)"

ncc_build() {
  rm -rf "$root/dist" # no chunk of an earlier build stays behind
  for target in index:dist cli:dist/cli; do
    node_modules/.bin/ncc build "src/${target%%:*}.ts" -o "$root/${target#*:}" --license '[name].licenses.txt'
    # ncc writes the notices of each chunk (the bundle, and the ssh2 chunk runs load when they connect) to a file of
    # its own: one licenses.txt, the bundle's notices first.
    (cd "$root/${target#*:}" && cat main.licenses.txt $(ls ./*.licenses.txt | grep -v '^./main\.' | sort) > licenses.txt &&
      rm ./*.licenses.txt)
  done
  # ncc copies ssh2's pagent.exe (a Windows helper for the PuTTY Pageant agent) next to each bundle. ssh2 runs it only
  # on Windows with a Pageant agent, which registry-prune never uses: keep it out of dist/ and the npm package.
  rm -f "$root/dist/pagent.exe" "$root/dist/cli/pagent.exe"
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
