#!/usr/bin/env bash
# Host tools the VM end-to-end test needs (Tools/vm/build_image.sh, Tools/vm/run.sh), on Debian
# 12. Idempotent: installs only what is missing, so it is quick when everything is there.
set -euo pipefail

packages=(
    qemu-system-x86   # the guest, with software emulation (-accel tcg) and 9p (-virtfs)
    debootstrap       # the guest's root file system from Debian's mirror
    e2fsprogs         # mkfs.ext4 -d: an ext4 image filled from a folder, no loop mount
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "vm setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "vm setup: ok"
