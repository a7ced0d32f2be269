#!/bin/bash
# The guest side of the VM end-to-end test, run by lavit-e2e.service (Type=simple) from the 9p
# share. It does what a user does and records raw evidence under /mnt/share/out: what lavitd
# published (NDJSON from its socket), when each camera change was made, what systemd says about
# the unit. It judges nothing: Tools/vm/judge.py does, on the host. The machine powers off when
# this script ends (SuccessAction/FailureAction of the unit).
#
# /mnt/share/in/mode: "e2e" (the checks) or "capture" (vivid test-pattern frames for training).
# /mnt/share/in/break: optional, a deliberate breakage for the self-test (Tools/vm/run.sh --self-test).
set -uo pipefail
in=/mnt/share/in
out=/mnt/share/out
mkdir -p "$out"
exec > >(tee -a "$out/driver.log") 2>&1
t0=$(date +%s)
log() { echo "e2e: [$(($(date +%s) - t0)) s] $*"; }
fact() { printf '%s\t%s\n' "$1" "$2" >>"$out/facts.tsv"; }
now() { date +%s.%N; }
event() { printf '%s\t%s\n' "$(now)" "$*" >>"$out/events.tsv"; }
mode="$(cat "$in/mode" 2>/dev/null || echo e2e)"
brk="$(cat "$in/break" 2>/dev/null || true)"
sock=/run/lavitd/lavitd.sock
models=/usr/local/share/lavit/models

systemctl is-system-running --wait >/dev/null
fact system_state "$(systemctl is-system-running)"
fact boot_time "$(systemd-analyze time 2>/dev/null | head -1)"
fact kernel "$(uname -r)"
fact cpu_flags "$(grep -o -w -E 'avx2|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')"
log "up: $(systemd-analyze time 2>/dev/null | head -1)"

# lavit, as Tools/install.sh put it under DESTDIR on the host.
cp -a "$in/root/." /
systemctl daemon-reload
systemd-sysusers >/dev/null 2>&1 || true
systemd-tmpfiles --create >/dev/null 2>&1 || true
export PATH=/usr/local/bin:$PATH
fact lavitd_binary "$(sha256sum /usr/local/bin/lavitd | cut -c1-12)"

# ---- vivid --------------------------------------------------------------------------------

# name<TAB>vivid menu text, from Tools/vm/patterns.tsv
declare -A pattern_index=()
patterns=()
load_vivid() {
    modprobe vivid n_devs=1 node_types=0x1 || { fact vivid_modprobe failed; return 1; }
    for _ in $(seq 50); do [ -e /dev/video0 ] && break; sleep 0.1; done
    local menu
    menu="$(v4l2-ctl -d /dev/video0 -L 2>/dev/null | sed -n '/test_pattern/,/^[^\t ]/p')"
    printf '%s\n' "$menu" >"$out/vivid-test-pattern-menu.txt"
    patterns=()
    while IFS=$'\t' read -r name text; do
        [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
        local idx
        idx="$(printf '%s\n' "$menu" | awk -v t="$text" -F': ' '{ gsub(/^[ \t]+/, "", $1) } $2 == t { print $1; exit }')"
        [ -n "$idx" ] || { fact vivid_pattern_missing "$name ($text)"; continue; }
        pattern_index[$name]=$idx
        patterns+=("$name")
    done <"$in/patterns.tsv"
}
vivid_defaults() { # OSD text off (it would be read as part of the pattern), 25 fps
    v4l2-ctl -d /dev/video0 -c osd_text_mode=2 >/dev/null 2>&1
    v4l2-ctl -d /dev/video0 --set-parm=25 >/dev/null 2>&1
}
set_pattern() { v4l2-ctl -d /dev/video0 -c test_pattern="${pattern_index[$1]}"; }
switch_pattern() { # times before and after v4l2-ctl (whose start alone takes a few 100 ms here)
    local t
    t=$(now)
    set_pattern "$1" && printf '%s\tpattern %s\t%s\n' "$t" "$1" "$(now)" >>"$out/events.tsv"
}

if [ "$mode" = capture ]; then
    # Training frames: every pattern under a few picture settings (rounds), so the frames of a
    # label differ and the training script's held-out tail (the last rounds) is a setting it
    # never saw. Captured at 640x480, the size lavitd is told to use for this model.
    load_vivid
    vivid_defaults
    per_round="$(cat "$in/per_round" 2>/dev/null || echo 10)"
    rounds=("128 128 128 0 3" "100 150 100 0 2" "150 110 160 10 4" "120 140 90 -20 1" "140 120 128 25 5")
    r=0
    for setting in "${rounds[@]}"; do
        r=$((r + 1))
        read -r b c s h mv <<<"$setting"
        for name in "${patterns[@]}"; do
            v4l2-ctl -d /dev/video0 -c brightness="$b",contrast="$c",saturation="$s",hue="$h" \
                -c horizontal_movement="$mv" -c test_pattern="${pattern_index[$name]}" 2>/dev/null
            lavit-capture /dev/video0 "$out/frames" --label "$name" --count "$per_round" \
                --width 640 --height 480 --interval-ms 120 >/dev/null || fact capture_failed "$name round $r"
        done
        log "capture round $r/${#rounds[@]} ($setting) done"
    done
    fact captured "$(find "$out/frames" -name '*.jpg' | wc -l)"
    log "captured $(find "$out/frames" -name '*.jpg' | wc -l) frames"
    exit 0
fi

# ---- lavitd under systemd -------------------------------------------------------------------

# The packaged units, as Tools/install.sh installed them; a self-test breakage goes in as a
# drop-in. The phases run in this order; /mnt/share/in/phases names the ones to run (all by
# default; a self-test runs only the phase whose check must catch its breakage, to fail fast).
all_phases="patterns identity clients unplug memory reload watchdog mjpeg"
phases="$(cat "$in/phases" 2>/dev/null || echo "$all_phases")"
fact phases "$phases"
want() { [[ " $phases " == *" $1 "* ]]; }
phase() { log "phase $1"; event "phase $1"; }
if ! systemctl cat lavitd.service >/dev/null 2>&1; then
    fact unit_kind none
    log "no lavitd.service installed"
    touch "$out/done"
    exit 0
fi
fact unit_kind packaged
execstart=/usr/local/bin/lavitd\ --config\ /etc/lavitd/lavitd.conf
dropin() { # unit text: a drop-in under /run (gone at power-off)
    mkdir -p "/run/systemd/system/$1.d"
    printf '%s\n' "$2" >"/run/systemd/system/$1.d/self-test.conf"
}
case "$brk" in
    "" | wrong-model) ;;
    fixed-label) dropin lavitd.service "$(printf '[Service]\nNotifyAccess=all\nExecStart=\nExecStart=/bin/bash %s' "$in/broken/fixed_label_lavitd.sh")" ;;
    no-watchdog) dropin lavitd.service "$(printf '[Service]\nExecStart=\nExecStart=/usr/bin/env -u WATCHDOG_USEC -u WATCHDOG_PID %s' "$execstart")" ;;
    as-root) dropin lavitd.service "$(printf '[Service]\nUser=root\nGroup=root')" ;;
    no-reload) dropin lavitd.service "$(printf '[Service]\nExecReload=\nExecReload=/bin/true')" ;;
    open-socket) dropin lavitd.socket "$(printf '[Socket]\nSocketMode=0666')" ;;
    *) fact unknown_breakage "$brk" ;;
esac
[ -n "$brk" ] && systemctl daemon-reload

write_conf() { # source model [width height]
    mkdir -p /etc/lavitd
    {
        echo "source = $1"
        echo "model = $2"
        echo "width = ${3:-0}"
        echo "height = ${4:-0}"
        echo "fps = 25"
    } >/etc/lavitd/lavitd.conf
}
start_lavitd() {
    local t rc
    t=$(now)
    systemctl start lavitd
    rc=$?
    fact "start_${1}_rc" "$rc"
    fact "start_${1}_seconds" "$(awk "BEGIN { print $(now) - $t }")"
    return $rc
}
stop_lavitd() {
    local t
    t=$(now)
    systemctl stop lavitd
    fact "stop_${1}_seconds" "$(awk "BEGIN { print $(now) - $t }")"
    fact "stop_${1}_result" "$(systemctl show -p Result --value lavitd 2>/dev/null)"
}
show() { systemctl show -p "$1" --value lavitd; }
status_line() { # one status object, asked for on a fresh connection
    printf '?status\n' | timeout 5 socat -t 3 - "UNIX-CONNECT:$sock" 2>/dev/null | grep -m1 '"class":"status"'
}
recorder=
record_start() { # everything lavitd publishes, to $out/$1.ndjson
    for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
    socat -u "UNIX-CONNECT:$sock" STDOUT >"$out/$1.ndjson" 2>/dev/null &
    recorder=$!
}
record_stop() { kill "$recorder" 2>/dev/null; wait "$recorder" 2>/dev/null; recorder=; }
count() { grep -c "$2" "$out/$1.ndjson" 2>/dev/null; }
wait_results() { # file count timeout_s: until the file holds count results after now
    local start
    start=$(count "$1" '"class":"result"')
    for _ in $(seq $((${3} * 10))); do
        [ "$(($(count "$1" '"class":"result"') - start))" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
memory_sampler() {
    while sleep 2; do
        printf '%s\t%s\t%s\n' "$(now)" "$(show MainPID)" "$(show MemoryCurrent)" >>"$out/memory.tsv"
    done
}

# Start: vivid (YUYV 640x480) with the vivid-pattern model; one recorder (the healthy client)
# from here to the watchdog check.
log "start: lavitd on vivid"
load_vivid
vivid_defaults
set_pattern "${patterns[0]}"
model_vivid="$models/vivid-patterns.lvt"
[ "$brk" = wrong-model ] && model_vivid="$models/lavit-fashion.lvt"
write_conf /dev/video0 "$model_vivid" 640 480
event "pattern ${patterns[0]}"
start_lavitd vivid
fact nrestarts_start "$(show NRestarts)"
memory_sampler &
sampler=$!
t_start=$(date +%s)
record_start vivid
wait_results vivid 3 60 || log "no results from lavitd on vivid"
status_line >"$out/status-vivid-before.json"

# Labels follow test_pattern.
if want patterns; then
    phase patterns
    order=("${patterns[@]:1}" "${patterns[0]}" "${patterns[@]}")
    for name in "${order[@]}"; do
        switch_pattern "$name"
        sleep 3
    done
    status_line >"$out/status-vivid-after.json"
fi

# Who lavitd runs as, what systemd says of its sandbox, who may connect.
if want identity; then
    phase identity
    systemd-analyze security lavitd --no-pager >"$out/security.txt" 2>&1
    fact security_score "$(grep -o 'Overall exposure level for lavitd.service: [0-9.]*' "$out/security.txt" | awk '{ print $NF }')"
    pid=$(show MainPID)
    grep -E '^(Uid|Gid|Groups):' "/proc/$pid/status" >"$out/main-status.txt" 2>&1
    fact main_comm "$(cat "/proc/$pid/comm" 2>/dev/null)"
    fact lavitd_uid "$(id -u lavitd 2>/dev/null)"
    fact video_gid "$(getent group video | cut -d: -f3)"
    useradd -M nobody-e2e 2>/dev/null
    su -s /bin/sh nobody-e2e -c "printf '?ping\n' | timeout 3 socat -t 2 - UNIX-CONNECT:$sock" >"$out/outsider.txt" 2>&1
    fact outsider_rc $?
    ls -l "$sock" >>"$out/outsider.txt" 2>&1
fi

# A stalled client (connects, asks for a lot, never reads) and one that sends garbage, beside
# the healthy recorder: its rate before they come and while they are there.
garbage() { # $1 s of garbage lines, one every 0.2 s, into /run/e2e-garbage.txt (made before the
    # windows: forks are dear under emulation, and the harness must not be what slows lavitd)
    local i
    for i in $(seq $(($1 * 5))); do
        case $((i % 6)) in
            0) printf 'hello lavitd %d\n' "$i" ;;
            1) printf '?top=999\n' ;;
            2) printf '{"class":"result","seq":%d}\n' "$i" ;;
            3) head -c 200 /dev/urandom | tr -d '\n\r' | tr '\0' x; echo ;;
            4) printf '?rate=-1\n' ;;
            5) printf '?status?status\n' ;;
        esac
        if [ "$i" = 10 ] || [ "$i" = 60 ]; then head -c 100000 /dev/zero | tr '\0' g; echo; fi
    done >/run/e2e-garbage.txt
    fact garbage_lines "$(wc -l </run/e2e-garbage.txt)"
}
paced() { perl -e '$| = 1; while (<STDIN>) { print; select(undef, undef, undef, 0.2) }'; }
stalled() { # connects, asks for 2000 hellos, never reads a byte
    perl -MIO::Socket::UNIX -e '
        my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!";
        print $s "?hello\n" x 2000;
        sleep 600;' "$sock"
}
if want clients; then
    phase clients
    garbage 30
    event "rate window before"
    sleep 10
    status_line >"$out/status-clients-before.json"
    sleep 15
    event "bad clients connect"
    stalled 2>"$out/stalled.err" &
    stalled_pid=$!
    paced </run/e2e-garbage.txt | socat -t 3 - "UNIX-CONNECT:$sock" >"$out/garbage.ndjson" 2>"$out/garbage.err" &
    garbage_pid=$!
    sleep 10
    status_line >"$out/status-clients-10s.json"
    sleep 20
    event "bad clients leave"
    status_line >"$out/status-clients-30s.json"
    wait "$garbage_pid"
    kill "$stalled_pid" 2>/dev/null
    wait "$stalled_pid" 2>/dev/null
fi

# Unplug and replug, no restart.
if want unplug; then
    phase unplug
    fact nrestarts_before_unplug "$(show NRestarts)"
    echo vivid.0 >/sys/bus/platform/drivers/vivid/unbind && event unplug
    sleep 4
    status_line >"$out/status-unplugged.json"
    echo vivid.0 >/sys/bus/platform/drivers/vivid/bind && event replug
    for _ in $(seq 50); do [ -e /dev/video0 ] && break; sleep 0.1; done
    vivid_defaults
    wait_results vivid 5 30 && event "results after replug"
    fact nrestarts_after_replug "$(show NRestarts)"
fi

# Memory: the same lavitd streams at least 3 minutes in all before the reload.
if want memory; then
    phase memory
    while [ $(($(date +%s) - t_start)) -lt 180 ]; do sleep 2; done
fi
event "memory window ends"
record_stop

# systemctl reload with a new model (clients see a new hello), then with a corrupt one (the
# old model keeps serving, the status says why). Model files where the sandboxed lavitd can
# read them (PrivateTmp hides /tmp).
if want reload; then
    phase reload
    record_start reload
    wait_results reload 3 60
    fact nrestarts_before_reload "$(show NRestarts)"
    cp "$models/lavit-fashion.lvt" "$models/e2e-new.lvt"
    sed -i "s|^model = .*|model = $models/e2e-new.lvt|" /etc/lavitd/lavitd.conf
    systemctl reload lavitd; event "reload new rc=$?"
    for _ in $(seq 300); do [ "$(count reload '"class":"hello"')" -ge 2 ] && break; sleep 0.1; done
    event "second hello"
    wait_results reload 5 60
    status_line >"$out/status-reload-new.json"
    # The vivid model with 64 bytes overwritten in the middle of its tensors.
    cp "$models/vivid-patterns.lvt" "$models/e2e-corrupt.lvt"
    printf '%064d' 7 | dd of="$models/e2e-corrupt.lvt" bs=1 seek=100000 conv=notrunc status=none
    sed -i "s|^model = .*|model = $models/e2e-corrupt.lvt|" /etc/lavitd/lavitd.conf
    systemctl reload lavitd; event "reload corrupt rc=$?"
    sleep 2
    wait_results reload 10 60
    status_line >"$out/status-reload-corrupt.json"
    fact nrestarts_after_reload "$(show NRestarts)"
    event "reload checks end"
    record_stop
    sed -i "s|^model = .*|model = $model_vivid|" /etc/lavitd/lavitd.conf
fi

# kill -STOP: the watchdog restarts lavitd; labels resume.
if want watchdog; then
    phase watchdog
    fact watchdog_usec "$(show WatchdogUSec)"
    before=$(show NRestarts)
    fact nrestarts_before_watchdog "$before"
    pid=$(show MainPID)
    kill -STOP "$pid" && event "stopped $pid"
    for _ in $(seq 300); do [ "$(show NRestarts)" != "$before" ] && break; sleep 0.1; done
    event "nrestarts $(show NRestarts)"
    record_start vivid-after-watchdog
    wait_results vivid-after-watchdog 3 60 && event "results after watchdog"
    fact nrestarts_after_watchdog "$(show NRestarts)"
    record_stop
fi
kill "$sampler" 2>/dev/null
stop_lavitd vivid

# MJPEG from v4l2loopback, photographs at 1280x720 with a truncated and a corrupt frame; the
# default model, each label compared with lavit-quantize classify on the same file.
if want mjpeg; then
    phase mjpeg
    modprobe v4l2loopback video_nr=10 card_label=lavit-feeder exclusive_caps=1 || fact loopback_modprobe failed
    for _ in $(seq 50); do [ -e /dev/video10 ] && break; sleep 0.1; done
    model_photos="$models/lavit-fashion.lvt"
    "$in/feeder" /dev/video10 1280 720 10 "$in/playlist.txt" >"$out/feeder.tsv" 2>"$out/feeder.err" &
    feeder=$!
    sleep 1
    write_conf /dev/video10 "$model_photos"
    start_lavitd mjpeg
    record_start mjpeg
    wait "$feeder"
    status_line >"$out/status-mjpeg.json"
    record_stop
    stop_lavitd mjpeg
    lavit-quantize classify -k 5 "$model_photos" "$in"/photos/*.jpg "$in"/photos/bad/*.jpg >"$out/classify.txt" 2>"$out/classify.err"
    fact classify_rc $?
fi
journalctl -u lavitd --no-pager -o short-monotonic >"$out/lavitd.journal" 2>&1
log "done"
touch "$out/done"
