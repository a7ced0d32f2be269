#!/usr/bin/env bash
# lavit end to end in a Debian 12 VM: a real V4L2 driver (vivid, v4l2loopback), systemd as PID 1.
#
#   bash Tools/vm/run.sh                  the checks; a summary table; exit 1 on any miss
#   bash Tools/vm/run.sh --self-test      the checks against deliberately broken lavitd
#                                         behaviour (Tools/vm/README.md): each run must fail
#   bash Tools/vm/run.sh --capture DIR [PER_ROUND]
#                                         vivid test-pattern frames for training, into DIR/<pattern>/
#
# Builds (or reuses) the guest image (Tools/vm/build_image.sh), installs lavit into a staging
# root with `DESTDIR=... PREFIX=/usr/local bash Tools/install.sh` (until that script exists: the
# static release binaries and models copied by hand), boots qemu with software emulation and a 9p
# share (.build/vm/share: in/ for the guest, out/ for its evidence), and judges the evidence with
# Tools/vm/judge.py. The guest's serial console is in .build/vm/share/out/console.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"

mode=e2e
case "${1:-}" in
    --self-test) mode=self-test ;;
    --capture)
        mode=capture
        capture_dir="${2:?--capture needs a directory}"
        per_round="${3:-10}"
        ;;
    "") ;;
    *) echo "usage: $0 [--self-test | --capture DIR [PER_ROUND]]" >&2; exit 2 ;;
esac

start=$SECONDS
bash Tools/vm/setup.sh >/dev/null
bash Tools/vm/build_image.sh
image=.build/vm/image
echo "vm: image ready [$((SECONDS - start)) s]"

share="$repo/.build/vm/share"
rm -rf "$share"
mkdir -p "$share/in/root" "$share/in/photos/bad" "$share/in/broken" "$share/out"

# lavit into the staging root, as a user installs it.
if [ -f Tools/install.sh ]; then
    DESTDIR="$share/in/root" PREFIX=/usr/local bash Tools/install.sh >"$share/install.log" 2>&1 \
        || { tail -20 "$share/install.log"; echo "vm: Tools/install.sh failed" >&2; exit 1; }
    echo "vm: installed with Tools/install.sh [$((SECONDS - start)) s]"
else
    for p in lavitd lavit-client lavit-capture lavit-quantize; do
        swift build -c release --static-swift-stdlib --product "$p" >"$share/build.log" 2>&1 \
            || { tail -20 "$share/build.log"; exit 1; }
    done
    bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"
    install -D -t "$share/in/root/usr/local/bin" "$bin"/lavitd "$bin"/lavit-client "$bin"/lavit-capture "$bin"/lavit-quantize
    install -D -m 644 -t "$share/in/root/usr/local/share/lavit/models" Tools/models/lavit-fashion.lvt
    echo "vm: no Tools/install.sh yet (issue 8): release binaries copied by hand [$((SECONDS - start)) s]"
fi
# The vivid-pattern model is the test's, not the package's.
install -D -m 644 -t "$share/in/root/usr/local/share/lavit/models" Tools/models/vivid-patterns.lvt 2>/dev/null \
    || [ "$mode" = capture ] || { echo "vm: Tools/models/vivid-patterns.lvt missing" >&2; exit 1; }

# The score `systemd-analyze security lavitd` must give in the VM: the installed unit file, offline.
if [ -f "$share/in/root/usr/local/lib/systemd/system/lavitd.service" ]; then
    systemd-analyze security --offline=true --no-pager "$share/in/root/usr/local/lib/systemd/system/lavitd.service" 2>&1 \
        | grep -o 'Overall exposure level for lavitd.service: [0-9.]*' | awk '{ print $NF }' >"$share/offline-security.txt" || true
fi

cp Tools/vm/guest/driver.sh Tools/vm/patterns.tsv "$share/in/"
cp Tools/vm/guest/broken/* "$share/in/broken/"
cc -O2 -o "$share/in/feeder" Tools/vm/guest/feeder.c
cp Tests/Fixtures/photos/*.jpg "$share/in/photos/"
/usr/bin/python3 Tools/vm/judge.py prepare "$share/in" >/dev/null

boot() { # name: one VM run with the share as prepared; evidence in $share/out
    rm -rf "$share/out"
    mkdir -p "$share/out"
    local t=$SECONDS limit=${VM_TIMEOUT:-600}
    timeout "$limit" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 -nic none \
        -display none -no-reboot -monitor none \
        -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 quiet panic=-1 systemd.show_status=error" \
        -drive "file=$image/image.ext4,format=raw,if=virtio,snapshot=on" \
        -virtfs "local,path=$share,mount_tag=share,security_model=none,id=share" \
        -serial "file:$share/out/console.log" || echo "vm: qemu exited $? (timeout $limit s?)"
    echo "vm: $1: boot, checks and power-off took $((SECONDS - t)) s"
    echo "$((SECONDS - t))" >"$share/out/vm_seconds"
}

case "$mode" in
    capture)
        echo capture >"$share/in/mode"
        echo "$per_round" >"$share/in/per_round"
        boot capture
        [ -d "$share/out/frames" ] || { tail -30 "$share/out/console.log"; echo "vm: no frames came back" >&2; exit 1; }
        mkdir -p "$capture_dir"
        cp -r "$share/out/frames/." "$capture_dir/"
        echo "vm: $(find "$capture_dir" -name '*.jpg' | wc -l) frames in $capture_dir [$((SECONDS - start)) s]"
        ;;
    e2e)
        echo e2e >"$share/in/mode"
        boot e2e
        rc=0
        /usr/bin/python3 Tools/vm/judge.py judge "$share" || rc=$?
        echo "vm: total $((SECONDS - start)) s"
        exit "$rc"
        ;;
    self-test)
        echo e2e >"$share/in/mode"
        failed=0
        summary=()
        # breakage<TAB>the check that must catch it<TAB>the driver phases to run (fail fast)
        while IFS=$'\t' read -r brk must run_phases; do
            [ -z "$brk" ] || [ "${brk:0:1}" = "#" ] && continue
            echo "$brk" >"$share/in/break"
            echo "$run_phases" >"$share/in/phases"
            t=$SECONDS
            boot "self-test $brk"
            verdict="$(/usr/bin/python3 Tools/vm/judge.py judge "$share" --expect-fail "$must")" && caught=1 || caught=0
            printf '%s\n' "$verdict"
            failing="$(printf '%s\n' "$verdict" | sed -n 's/^vm self-test: failed checks: //p')"
            if [ "$caught" = 1 ]; then
                summary+=("caught    $brk: by '$must' (all failed checks: $failing) [$((SECONDS - t)) s]")
            else
                summary+=("MISSED    $brk: '$must' did not fail (failed checks: $failing) [$((SECONDS - t)) s]")
                failed=1
            fi
        done <Tools/vm/self_test.tsv
        rm -f "$share/in/break" "$share/in/phases"
        echo "vm self-test summary:"
        printf '  %s\n' "${summary[@]}"
        echo "vm: self-test $([ "$failed" = 0 ] && echo passed: every breakage was caught || echo FAILED) [total $((SECONDS - start)) s]"
        exit "$failed"
        ;;
esac
