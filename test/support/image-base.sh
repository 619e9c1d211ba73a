#!/usr/bin/env bash
# Makes the base image the container test builds the Containerfile on, in place of node:24-slim (this machine reaches
# no image registry): a minimal Debian root from debootstrap, from the mirror apt already uses, plus the Node 24
# binary the project installs under tools/. Kept in the test's own container storage, so later runs on this machine
# find it there; the caller names it by Debian release and Node version, and holds a lock while this runs.
#
# usage: image-base.sh <image name> <node binary> -- <podman storage options...>
set -euo pipefail
ref="$1" node="$2"
shift 3
storage=("$@")

if podman "${storage[@]}" image exists "$ref"; then exit 0; fi

# The mirror and release apt uses: deb822 sources first, then the one-line format.
codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
mirror="$(
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { print $2 }'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }'
  } | grep -v -- '-security' | head -n 1
)" || true
[ -n "$mirror" ] || { echo "image-base.sh: no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/registry-prune-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# minbase: dpkg, apt, passwd (useradd) and the C++ runtime Node links against; nothing else.
debootstrap --variant=minbase "$codename" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2
  exit 1
}
install -m 0755 "$node" "$work/root/usr/local/bin/node"
# What no test reads; smaller is faster here, since the vfs driver copies the whole root for every container.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* "$work/root/var/log/"* \
  "$work/root/usr/share/doc/"* "$work/root/usr/share/man/"* "$work/root/usr/share/info/"* "$work/root/usr/share/locale/"*
tar --numeric-owner -C "$work/root" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$work/root.tar" .
podman "${storage[@]}" import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$work/root.tar" "$ref" >/dev/null

# Bases of another release, Node version or recipe are not used again on this machine: keep the cache to one.
repository="${ref%:*}"
podman "${storage[@]}" images --format '{{.Repository}}:{{.Tag}}' | { grep -Fx -v "$ref" || true; } | while read -r old; do
  if [ "${old%:*}" = "$repository" ]; then podman "${storage[@]}" rmi --force "$old" >/dev/null || true; fi
done
