#!/usr/bin/env bash
# lavitd's systemd side, offline: installs into a DESTDIR with Tools/install.sh (the debug
# binaries stand in for release ones: the units only need them to exist), then
#   - the installed tree is the one the README describes,
#   - `systemd-analyze verify --root` passes for every unit (the root gets this machine's own
#     system units and /usr/bin/kill, which the units refer to),
#   - `systemd-analyze security --offline=true` scores 1.5 or lower for lavitd.service and an
#     instance of lavitd@.service,
#   - sysusers and tmpfiles entries apply to a root,
#   - each check can fail: a misspelt directive fails verify, an unhardened unit scores high,
#   - uninstall removes every file, and keeps a configuration the administrator edited.
set -euo pipefail
cd "$(dirname "$0")/.."
for product in lavitd lavit-client lavit-capture lavit-quantize; do swift build --product "$product" >/dev/null; done
bin="$(swift build --show-bin-path)"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
fail() { echo "check_units: $*" >&2; exit 1; }

DESTDIR="$root" bash Tools/install.sh --bin-dir "$bin" >/dev/null
expected="etc/lavitd/lavitd.conf
usr/local/bin/lavit-capture
usr/local/bin/lavit-client
usr/local/bin/lavit-quantize
usr/local/bin/lavitd
usr/local/lib/systemd/system/lavitd.service
usr/local/lib/systemd/system/lavitd.socket
usr/local/lib/systemd/system/lavitd@.service
usr/local/lib/systemd/system/lavitd@.socket
usr/local/lib/sysusers.d/lavitd.conf
usr/local/lib/tmpfiles.d/lavitd.conf
usr/local/share/doc/lavit/PROTOCOL.md
usr/local/share/doc/lavit/README.md
usr/local/share/lavit/install-manifest
usr/local/share/lavit/models/lavit-fashion.labels.txt
usr/local/share/lavit/models/lavit-fashion.lvt"
actual="$(cd "$root" && find . -type f | sed 's|^\./||' | sort)"
[ "$actual" = "$expected" ] || fail "installed tree differs: $(diff <(echo "$expected") <(echo "$actual"))"
grep -q "^ExecStart=/usr/local/bin/lavitd --config /etc/lavitd/lavitd.conf$" "$root/usr/local/lib/systemd/system/lavitd.service" \
    || fail "lavitd.service's ExecStart does not name the installed paths"
grep -q "^model = /usr/local/share/lavit/models/lavit-fashion.lvt$" "$root/etc/lavitd/lavitd.conf" \
    || fail "the installed configuration does not point at the installed model"
"$root/usr/local/bin/lavitd" --check --config "$root/etc/lavitd/lavitd.conf" \
    --model "$root/usr/local/share/lavit/models/lavit-fashion.lvt" --source Tests/Fixtures/images >/dev/null \
    || fail "the installed lavitd does not accept the installed configuration and model"

# A root systemd can load the units in: this machine's system units and the kill ExecReload uses.
mkdir -p "$root/usr/lib/systemd" "$root/usr/bin"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp /usr/bin/kill "$root/usr/bin/"
ln -sfn usr/bin "$root/bin"
ln -sfn usr/lib "$root/lib"
units=/usr/local/lib/systemd/system
verify() { systemd-analyze verify --root="$root" "$@" 2>&1; }
# systemd/'s top level holds unit files only (systemd-analyze verify systemd/* must make sense),
# real ones for the default prefix: installing for /usr/local copies them unchanged.
for f in systemd/*; do
    [ -d "$f" ] && continue
    case "$f" in *.service | *.socket) ;; *) fail "$f is not a unit file; keep other files in systemd/'s subfolders" ;; esac
    cmp -s "$f" "$root$units/$(basename "$f")" || fail "$f differs from the unit installed for PREFIX=/usr/local"
done
out="$(verify $units/lavitd.service $units/lavitd.socket $units/lavitd@video1.service $units/lavitd@video1.socket)" \
    || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warned: $out"
echo "systemd-analyze verify: lavitd.service, lavitd.socket, lavitd@video1.service, lavitd@video1.socket: ok"

score() { # score UNIT: the overall exposure systemd-analyze security gives it
    systemd-analyze security --offline=true --root="$root" "$1" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p'
}
for unit in lavitd.service lavitd@video1.service; do
    s="$(score $unit)"
    [ -n "$s" ] || fail "no security score for $unit"
    awk "BEGIN { exit !($s <= 1.5) }" || fail "$unit scores $s, above 1.5"
    echo "systemd-analyze security --offline=true $unit: $s (at most 1.5)"
done

# The checks can fail: a misspelt directive, and a unit with the hardening taken out.
sed 's/^NoNewPrivileges=yes/NoNewPriviledges=yes/' "$root$units/lavitd.service" >"$root$units/broken.service"
verify $units/broken.service | grep -q "Unknown key 'NoNewPriviledges'" || fail "verify did not catch a misspelt directive"
grep -v -E '^(Protect|Private|Restrict|SystemCall|Capability|NoNewPrivileges|MemoryDeny|LockPersonality|IPAddressDeny|UMask|DevicePolicy|DeviceAllow)' \
    "$root$units/lavitd.service" >"$root$units/soft.service"
s="$(score soft.service)"
awk "BEGIN { exit !($s > 5) }" || fail "an unhardened unit scored $s; the score check could not fail"
rm "$root$units/broken.service" "$root$units/soft.service"

# sysusers and tmpfiles, applied to a root with this machine's users.
mkdir -p "$root/etc"
cp /etc/passwd /etc/group "$root/etc/"
systemd-sysusers --root="$root" "$root/usr/local/lib/sysusers.d/lavitd.conf" 2>/dev/null
grep -q '^lavitd:' "$root/etc/passwd" && grep -q '^lavitd:' "$root/etc/group" || fail "sysusers made no lavitd user and group"
systemd-tmpfiles --root="$root" --create "$root/usr/local/lib/tmpfiles.d/lavitd.conf"
[ "$(stat -c %a "$root/run/lavitd")" = 755 ] || fail "tmpfiles did not make /run/lavitd 0755"
rm -rf "$root/run" "$root/usr/lib/systemd/system" "$root/usr/bin/kill" "$root/bin" "$root/lib"
rm -f "$root"/etc/{passwd,group,shadow,gshadow,passwd-,group-,.pwd.lock}

# Uninstall: everything goes, except a configuration the administrator edited.
DESTDIR="$root" bash Tools/install.sh --uninstall >/dev/null
left="$(cd "$root" && find . -type f)"
[ -z "$left" ] || fail "uninstall left: $left"
DESTDIR="$root" bash Tools/install.sh --bin-dir "$bin" >/dev/null
echo "top_k = 5" >>"$root/etc/lavitd/lavitd.conf"
DESTDIR="$root" bash Tools/install.sh --uninstall >/dev/null
left="$(cd "$root" && find . -type f | sed 's|^\./||')"
[ "$left" = "etc/lavitd/lavitd.conf" ] || fail "uninstall after an edit left: $left"
echo "install.sh: DESTDIR tree as documented; uninstall removes it and keeps an edited configuration: ok"
