#!/usr/bin/env bash
# Host tools the VM end-to-end test needs (Tools/vm/build_image.sh, Tools/vm/run.sh), on Debian
# 12, installed like the project's own (Tools/setup.sh): only what is missing.
#   qemu-system-x86  the guest, with software emulation (-accel tcg) and 9p (-virtfs)
#   debootstrap      the guest's root file system from Debian's mirror
#   e2fsprogs        mkfs.ext4 -d: an ext4 image filled from a folder, no loop mount
set -euo pipefail
exec bash "$(dirname "$0")/../setup.sh" qemu-system-x86 debootstrap e2fsprogs
