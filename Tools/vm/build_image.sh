#!/usr/bin/env bash
# Builds the Debian 12 guest of the VM end-to-end test from nothing, into a cache folder:
#
#   DIR/image.ext4   the root file system (debootstrap minbase + systemd + the lavit runtime
#                    packages + linux-image-amd64 + v4l2loopback built by dkms), booted read-only
#                    by Tools/vm/run.sh (qemu -snapshot), so one build serves every run
#   DIR/vmlinuz, DIR/initrd.img   the guest's kernel and its small initramfs
#   DIR/recipe       the hash of this script; a different hash rebuilds everything
#
#   bash Tools/vm/build_image.sh [DIR]        (default .build/vm/image; needs root)
#
# lavit itself is not in the image: Tools/vm/run.sh installs it at every run with the project's
# install script (DESTDIR), so the image is rebuilt only when this recipe changes.
# The mirror is read from the host's apt configuration, never hard-coded.
set -euo pipefail
cd "$(dirname "$0")/../.."

out="${1:-.build/vm/image}"
recipe="$(sha256sum Tools/vm/build_image.sh | cut -c1-16)"
if [ -f "$out/recipe" ] && [ "$(cat "$out/recipe")" = "$recipe" ] \
    && [ -f "$out/image.ext4" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
    echo "vm image: $out is up to date (recipe $recipe)"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "vm image: debootstrap and chroot need root" >&2; exit 1; }
bash Tools/vm/setup.sh

suite=bookworm
# Every Debian repository apt uses here: the mirror for debootstrap is the one serving the
# release itself; the guest gets them all (the kernel comes from bookworm-security).
mapfile -t repos < <(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
    'Created-By: Packages' 'Architecture: amd64' | awk -v s="$suite" '$2 ~ "^" s' | sort -u)
mirror="$(printf '%s\n' "${repos[@]}" | awk -v s="$suite" '$2 == s { print $1; exit }')"
[ -n "$mirror" ] || { echo "vm image: no '$suite' repository in the host's apt sources" >&2; exit 1; }

start=$SECONDS
mkdir -p "$(dirname "$out")"
work="$(mktemp -d "$(dirname "$out")/build.XXXXXX")"
root="$work/root"
unmount_all() {
    for m in dev/pts dev proc sys; do
        mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
    done
    return 0
}
cleanup() {
    unmount_all
    # Never delete through a mount left behind.
    if ! grep -q " $(realpath "$work")" /proc/mounts; then rm -rf "$work"; fi
}
trap cleanup EXIT
step() { echo "vm image: [$((SECONDS - start)) s] $*"; }

step "debootstrap $suite minbase from $mirror"
debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,udev,kmod,dbus,v4l-utils,libturbojpeg0,libv4l-0,libpng16-16,socat,initramfs-tools,procps \
    "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log"; exit 1; }

printf 'deb %s %s %s\n' $(printf '%s\n' "${repos[@]}") >"$root/etc/apt/sources.list"
# Nothing starts services inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# A small initramfs: only what finds the root disk and the share.
cat >"$root/etc/initramfs-tools/conf.d/lavit-vm.conf" <<'EOF'
MODULES=list
COMPRESS=gzip
EOF
printf '%s\n' virtio_pci virtio_blk ext4 9p 9pnet_virtio >"$root/etc/initramfs-tools/modules"

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
in_root() { LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"; }

step "kernel, headers and v4l2loopback-dkms"
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends linux-image-amd64 linux-headers-amd64 \
    >"$work/kernel.log" 2>&1 || { tail -30 "$work/kernel.log"; exit 1; }
kver="$(basename "$(ls -d "$root"/lib/modules/*-amd64 | sort -V | tail -1)")"
in_root apt-get install -y -qq --no-install-recommends v4l2loopback-dkms \
    >"$work/dkms.log" 2>&1 || { tail -30 "$work/dkms.log"; exit 1; }
# The package's postinst builds for the running kernel; make sure it is built for the guest's.
if ! ls "$root/lib/modules/$kver/updates/dkms/"v4l2loopback.ko* >/dev/null 2>&1; then
    in_root dkms autoinstall -k "$kver" >>"$work/dkms.log" 2>&1 || { tail -30 "$work/dkms.log"; exit 1; }
fi
ls "$root/lib/modules/$kver/updates/dkms/"v4l2loopback.ko* >/dev/null \
    || { echo "vm image: v4l2loopback was not built for $kver" >&2; tail -30 "$work/dkms.log"; exit 1; }
step "v4l2loopback built for $kver"
# The compiler and headers are needed only for that build: take them out again and keep the module.
cp "$root/lib/modules/$kver/updates/dkms/"v4l2loopback.ko* "$work/"
in_root apt-get purge -y -qq --autoremove v4l2loopback-dkms dkms \
    $(in_root dpkg-query -W -f '${Package}\n' 'linux-headers-*') \
    >"$work/purge.log" 2>&1 || { tail -30 "$work/purge.log"; exit 1; }
mkdir -p "$root/lib/modules/$kver/updates/dkms"
cp "$work/"v4l2loopback.ko* "$root/lib/modules/$kver/updates/dkms/"
in_root depmod "$kver"
in_root apt-get clean
unmount_all

step "guest configuration"
echo lavit-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 lavit-vm\n' >"$root/etc/hosts"
cat >"$root/etc/fstab" <<'EOF'
/dev/vda  /          ext4  rw,errors=remount-ro  0 1
share     /mnt/share 9p    trans=virtio,version=9p2000.L,msize=262144,nofail  0 0
EOF
mkdir -p "$root/mnt/share"
chroot "$root" passwd -qd root   # a root shell on the serial console, for debugging by hand
rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
: >"$root/etc/machine-id"        # systemd writes a fresh one at first boot (the disk is a snapshot)
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
    e2scrub_reap.service systemd-timesyncd.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# The test driver: Type=simple (Type=oneshot would hold `is-system-running --wait` forever),
# run from the share, so changing the checks never rebuilds the image. The machine powers off
# when it ends, whatever the outcome.
cat >"$root/etc/systemd/system/lavit-e2e.service" <<'EOF'
[Unit]
Description=lavit end-to-end test driver (from the 9p share)
After=multi-user.target
RequiresMountsFor=/mnt/share
ConditionPathExists=/mnt/share/in/driver.sh
SuccessAction=poweroff
FailureAction=poweroff

[Service]
Type=simple
ExecStart=/bin/bash /mnt/share/in/driver.sh
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/lavit-e2e.service "$root/etc/systemd/system/multi-user.target.wants/lavit-e2e.service"
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/locale" "$root/var/cache/apt/"*.bin

step "kernel and initramfs out, ext4 image"
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$work/initrd.img"
size_mb=$(($(du -sm "$root" | cut -f1) * 5 / 4 + 256))
mkfs.ext4 -q -F -L lavit-root -d "$root" "$work/image.ext4" "${size_mb}M"
rm -rf "$root"
echo "$recipe" >"$work/recipe"
echo "$kver" >"$work/kernel"
rm -rf "$out"
mkdir "$out"
mv "$work/image.ext4" "$work/vmlinuz" "$work/initrd.img" "$work/kernel" "$work/recipe" "$out/"
step "done: $out (kernel $kver, initrd $(du -h "$out/initrd.img" | cut -f1), image ${size_mb} MB, $(du -sh "$out/image.ext4" | cut -f1) on disk)"
