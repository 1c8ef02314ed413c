#!/bin/bash
# The README's promise on a fresh machine: a minimal Debian 12 (debootstrap's minbase,
# plus make) that holds nothing but a clone of this repository's HEAD runs
# `make setup && make test` as root, in a mount namespace pivoted into it.
#
#   sudo .ci/fresh-debian.sh [WORKDIR] [MAKE TARGETS...]   (default: setup test)
#
# WORKDIR (default /var/tmp/fedostree-fresh) keeps the bootstrapped base system as
# minbase.tar.gz (remove it to bootstrap again) and the log of the last run; its root/ is
# made afresh from that tarball on every run. Needs root, debootstrap (installed if
# missing) and the network (deb.debian.org, and PyPI for .venv). Only the host's network
# settings go in beside the clone: resolv.conf, and the CA bundle and pip configuration
# when the host has them (a host behind a TLS-inspecting proxy needs them to reach PyPI).
set -euo pipefail

work=$(realpath -m "${1:-/var/tmp/fedostree-fresh}")
shift $(($# > 0 ? 1 : 0))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(setup test)
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
commit=$(git -C "$top" rev-parse HEAD)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$work/root
base=$work/minbase.tar.gz

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
mkdir -p "$work"

if [ ! -f "$base" ]; then
    command -v debootstrap >/dev/null || make -C "$(dirname "$0")/.." setup >/dev/null  # installs it
    rm -rf "$work/bootstrap"
    debootstrap --variant=minbase --include=make bookworm "$work/bootstrap" "$mirror"
    tar -C "$work/bootstrap" -czf "$base.tmp" . && mv "$base.tmp" "$base"
    rm -rf "$work/bootstrap"
fi

if findmnt -R "$root" >/dev/null 2>&1; then
    umount -R "$root"
fi
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xzf "$base"

# The clone: HEAD of this checkout, nothing uncommitted, nothing beside it.
git clone -q --no-local "$top" "$root/src/fedostree"
git -C "$root/src/fedostree" checkout -q --detach "$commit"

cp /etc/resolv.conf "$root/etc/resolv.conf"
env_pass=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/fedostree-host-ca"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/fedostree-host-ca/ca.crt"
    env_pass+=(PIP_CERT=/etc/fedostree-host-ca/ca.crt)
fi

# Not a bare chroot: the kernel refuses new user namespaces (bubblewrap's sandboxes) to a
# process whose root is not its mount namespace's root. So: a private mount namespace
# whose root is pivoted to $root, the host's root detached; its mounts vanish with it.
enter() {
    unshare --mount --propagation private -- /bin/bash -euc '
        root=$1; shift
        mount --bind "$root" "$root"
        mount -t proc proc "$root/proc"
        mount --rbind /sys "$root/sys"
        mount --rbind /dev "$root/dev"
        mkdir -p "$root/.host"
        cd "$root"
        pivot_root . .host
        umount -l /.host
        rmdir /.host
        cd /
        exec /usr/bin/env -i "$@"' enter "$root" "$@"
}

echo "fresh Debian 12 in $root: $commit, make ${targets[*]}"
start=$(date +%s)
set +e
enter HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${env_pass[@]}" \
    /bin/bash -c 'cd /src/fedostree && for t in "$@"; do make "$t" || exit; done' \
    make "${targets[@]}" 2>&1 | tee "$work/log"
rc=${PIPESTATUS[0]}
set -e
echo "make ${targets[*]}: exit $rc after $(($(date +%s) - start)) s (log: $work/log)"
exit "$rc"
