#!/usr/bin/env bash
# Installs lavit: binaries, systemd units, configuration, sysusers/tmpfiles entries and the
# default model, to standard paths; or removes them again.
#
#   bash Tools/install.sh                  build in release and install on this machine
#   DESTDIR=/mnt/image bash Tools/install.sh   install into another root (an image, a package)
#   PREFIX=/usr bash Tools/install.sh      binaries, model and units under /usr (default /usr/local)
#   bash Tools/install.sh --uninstall      remove what an install put there (same DESTDIR, PREFIX)
#
# Options: --no-build (use binaries already built), --bin-dir DIR (take binaries from DIR).
# Binaries are built with the Swift standard library linked statically, so the target needs no
# Swift toolchain, only these Debian packages, which are installed when DESTDIR is empty:
runtime_packages=(libturbojpeg0 libv4l-0 libpng16-16 systemd)
set -euo pipefail
cd "$(dirname "$0")/.."

prefix="${PREFIX:-/usr/local}"
destdir="${DESTDIR:-}"
build=1
bin_dir=""
uninstall=0
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        --bin-dir) bin_dir="$2"; build=0; shift ;;
        --uninstall) uninstall=1 ;;
        *) echo "install.sh: unknown option $1 (see the comment at the top)" >&2; exit 2 ;;
    esac
    shift
done

bindir="$prefix/bin"
datadir="$prefix/share/lavit"
docdir="$prefix/share/doc/lavit"
sysconfdir=/etc
# /usr/local/lib/systemd/system is on systemd's unit path; /usr/lib for PREFIX=/usr.
unitdir="$prefix/lib/systemd/system"
sysusersdir="$prefix/lib/sysusers.d"
tmpfilesdir="$prefix/lib/tmpfiles.d"
manifest="$datadir/install-manifest"
binaries=(lavitd lavit-client lavit-capture lavit-quantize)
units=(lavitd.service lavitd.socket lavitd@.service lavitd@.socket)

on_target() { [ -z "$destdir" ]; }
run_if_target() { if on_target && command -v "$1" >/dev/null; then "$@"; fi; }

if [ "$uninstall" -eq 1 ]; then
    [ -f "$destdir$manifest" ] || { echo "install.sh: nothing to uninstall ($destdir$manifest is missing)" >&2; exit 1; }
    if on_target && command -v systemctl >/dev/null; then
        systemctl disable --now lavitd.socket lavitd.service 2>/dev/null || true
    fi
    while read -r path; do
        if [ "$path" = "$sysconfdir/lavitd/lavitd.conf" ] && [ "$(grep -v '^model = ' "$destdir$path" | md5sum)" != "$(grep -v '^#model = ' systemd/config/lavitd.conf | md5sum)" ]; then
            echo "install.sh: keeping $destdir$path (edited since install)"
            continue
        fi
        rm -f "$destdir$path"
    done <"$destdir$manifest"
    rm -f "$destdir$manifest"
    for dir in "$datadir/models" "$datadir" "$docdir" "$sysconfdir/lavitd"; do
        rmdir "$destdir$dir" 2>/dev/null || true
    done
    run_if_target systemctl daemon-reload
    echo "install.sh: removed lavit from ${destdir:-/}"
    exit 0
fi

if [ "$build" -eq 1 ]; then
    bash Tools/setup.sh
    for product in "${binaries[@]}"; do
        swift build -c release --static-swift-stdlib --product "$product"
    done
    bin_dir="$(swift build -c release --show-bin-path)"
fi
bin_dir="${bin_dir:-$(swift build -c release --show-bin-path)}"

installed=()
put() { # put MODE SOURCE DESTINATION
    install -D -m "$1" "$2" "$destdir$3"
    installed+=("$3")
}
substitute() { # substitute SOURCE DESTINATION: a unit with its /usr/local paths moved to PREFIX
    local tmp
    tmp="$(mktemp)"
    sed -e "s|/usr/local/bin/|$bindir/|g; s|/usr/local/share/doc/lavit|$docdir|g" "$1" >"$tmp"
    put 0644 "$tmp" "$2"
    rm -f "$tmp"
}

for binary in "${binaries[@]}"; do
    [ -x "$bin_dir/$binary" ] || { echo "install.sh: $bin_dir/$binary is not built" >&2; exit 1; }
    put 0755 "$bin_dir/$binary" "$bindir/$binary"
done
for unit in "${units[@]}"; do substitute "systemd/$unit" "$unitdir/$unit"; done
put 0644 systemd/sysusers.d/lavitd.conf "$sysusersdir/lavitd.conf"
put 0644 systemd/tmpfiles.d/lavitd.conf "$tmpfilesdir/lavitd.conf"
put 0644 Tools/models/lavit-fashion.lvt "$datadir/models/lavit-fashion.lvt"
put 0644 Tools/models/labels.txt "$datadir/models/lavit-fashion.labels.txt"
put 0644 README.md "$docdir/README.md"
put 0644 Tools/PROTOCOL.md "$docdir/PROTOCOL.md"
# The configuration is the administrator's once installed: never overwritten.
if [ -e "$destdir$sysconfdir/lavitd/lavitd.conf" ]; then
    echo "install.sh: keeping the existing $destdir$sysconfdir/lavitd/lavitd.conf"
else
    # The shipped file with the model set to where this install put it.
    conf_tmp="$(mktemp)"
    sed -e "s|^#model = .*|model = $datadir/models/lavit-fashion.lvt|" systemd/config/lavitd.conf >"$conf_tmp"
    put 0644 "$conf_tmp" "$sysconfdir/lavitd/lavitd.conf"
    rm -f "$conf_tmp"
fi
printf '%s\n' "${installed[@]}" >"$destdir$manifest"

if on_target; then
    missing=()
    for p in "${runtime_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    run_if_target systemd-sysusers "$sysusersdir/lavitd.conf"
    run_if_target systemd-tmpfiles --create "$tmpfilesdir/lavitd.conf"
    run_if_target systemctl daemon-reload
fi
echo "install.sh: installed lavit into ${destdir:-/} (prefix $prefix); runtime packages: ${runtime_packages[*]}"
echo "install.sh: start it with: systemctl enable --now lavitd.socket lavitd; then: lavit-client"
