#!/usr/bin/env bash
# Installs what the tests (or, with the argument `demo`, only what the demo) need on a fresh Debian machine.
#   bash scripts/setup.sh        everything the tests and the benchmark use: a real registry (Distribution 2.8), a
#                                real OpenSSH server, rsync (for gitlab-ci-local), htpasswd, the real image clients
#                                (skopeo, umoci, buildah, podman), runc and debootstrap (the container image test),
#                                a real docker credential helper (docker-credential-pass, with pass and gnupg),
#                                the npm packages, and Node 24 with gitlab-ci-local under tools/
#   bash scripts/setup.sh demo   the registry and the npm packages: the demo runs nothing else
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-test}"
case "$profile" in
  test | demo) ;;
  *) echo "usage: bash scripts/setup.sh [demo]" >&2; exit 2 ;;
esac

need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
if [ "$profile" = test ]; then
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
  command -v rsync >/dev/null || need+=(rsync)
  command -v htpasswd >/dev/null || need+=(apache2-utils)
  # Real clients that make and push the images of test/integration/real-clients.test.ts.
  for client in skopeo umoci buildah podman; do command -v "$client" >/dev/null || need+=("$client"); done
  # The container image test: buildah builds the Containerfile, podman runs it (with runc: crun refuses hybrid
  # cgroups), debootstrap makes the local base image (no image registry is reachable here).
  command -v runc >/dev/null || need+=(runc)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  [ -d /usr/lib/cni ] || need+=(containernetworking-plugins)
  # A real credential helper for the credential tests: docker-credential-pass over pass over a throw-away GPG key.
  command -v docker-credential-pass >/dev/null || need+=(golang-docker-credential-helpers)
  command -v pass >/dev/null || need+=(pass)
  command -v gpg >/dev/null || need+=(gnupg)
fi
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

[ "$profile" = test ] || exit 0
# Node 24 (the Action's runtime) and gitlab-ci-local, which needs Node 22+, kept apart from the project's Node.
if [ ! -x tools/node_modules/.bin/gitlab-ci-local ] || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  npm ci --prefix tools --no-audit --no-fund
fi
