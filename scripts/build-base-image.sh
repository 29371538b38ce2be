#!/usr/bin/env bash
# Build the systemd test/demo base image from Debian's own packages.
# There is no container registry here, so the image is debootstrapped
# locally (recipe in shared/DESIGN.md). Skipped when the image exists.
set -euo pipefail

IMAGE="${COURSEHUB_BASE_IMAGE:-coursehub-base:bookworm}"
SUITE="${COURSEHUB_BASE_SUITE:-bookworm}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base image $IMAGE exists; skipping build"
    exit 0
fi

# The mirror the host already uses, from deb822 or one-line sources.
mirror="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)"
if [ -z "$mirror" ]; then
    mirror="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '{print $2}' | grep -E 'debian/?$' | head -1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

rootfs="$(mktemp -d /var/tmp/coursehub-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "debootstrapping $SUITE from $mirror into $rootfs"
debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,python3,python3-apt,sudo,ca-certificates,iproute2 \
    "$SUITE" "$rootfs" "$mirror" >/var/tmp/coursehub-debootstrap.log 2>&1 \
    || { tail -30 /var/tmp/coursehub-debootstrap.log; exit 1; }

# Same package sources as the host (Debian ones only), so apt inside
# the instance reaches the same mirror.
rm -f "$rootfs/etc/apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/debian.sources; do
    [ -f "$f" ] && cp "$f" "$rootfs$f"
done
# Units that make no sense in a container and slow its boot.
for unit in systemd-remount-fs.service systemd-firstboot.service getty.target console-getty.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

tar -C "$rootfs" -c . | docker import -c 'CMD ["/lib/systemd/systemd"]' - "$IMAGE" >/dev/null
echo "built $IMAGE"
