#!/usr/bin/env bash
# Installs what the demo, the tests and the benchmark need on a fresh Debian machine:
# a real registry (Distribution 2.8), a real OpenSSH server, rsync (for gitlab-ci-local), and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v rsync >/dev/null || need+=(rsync)
command -v htpasswd >/dev/null || need+=(apache2-utils)
# Real clients that make and push the images of test/integration/real-clients.test.ts.
for client in skopeo umoci buildah podman; do command -v "$client" >/dev/null || need+=("$client"); done
if [ "${#need[@]}" -gt 0 ] || [ "${REGISTRY_PRUNE_APT_UPDATE:-}" = 1 ]; then
  sudo=''
  [ "$(id -u)" = 0 ] || sudo='sudo'
  $sudo apt-get update -q
  [ "${#need[@]}" -eq 0 ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# The Debian packages start services where they can; the tests start their own on loopback ports.

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # --ignore-scripts: ssh2's optional native addons would otherwise be compiled and bundled into dist/, where they
  # cannot load under another Node ABI anyway, and would make dist/ differ from machine to machine.
  npm ci --ignore-scripts --no-audit --no-fund
fi

# Node 24 (the Action's runtime) and gitlab-ci-local, which needs Node 22+, kept apart from the project's Node.
if [ ! -x tools/node_modules/.bin/gitlab-ci-local ] || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  npm ci --prefix tools --no-audit --no-fund
fi
