#!/usr/bin/env bash
# lavitd end to end on this machine, without a camera: the built lavitd serves Fashion-MNIST test
# images with the shipped model; lavit-client --json and socat read the same socket; every label
# published is checked against the Python integer reference (Tools/check_daemon_labels.py), which
# shares no code with lavitd.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --product lavitd
swift build --product lavit-client
bin="$(swift build --show-bin-path)"
work="$(mktemp -d)"
trap 'kill "${daemon:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

/usr/bin/python3 Tools/fashion_data.py export --split test --out "$work/images" --limit 3 --per-class >/dev/null
socket="$work/lavitd.sock"
"$bin/lavitd" --model Tools/models/lavit-fashion.lvt --source "$work/images/*/*.png" --socket "$socket" \
    --fps 20 2>"$work/lavitd.log" &
daemon=$!

"$bin/lavit-client" --socket "$socket" --follow --json --count 60 >"$work/client.ndjson"
timeout 10 socat -u "UNIX-CONNECT:$socket" - 2>/dev/null | head -n 4 >"$work/socat.ndjson" || true

# A user who may not reach the socket gets one clear line, not a hang or a trace.
if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
    chmod 0711 "$work"
    denied="$(runuser -u nobody -- "$bin/lavit-client" --socket "$socket" --once 2>&1 >/dev/null)" && { echo "nobody could read the socket"; exit 1; }
    case "$denied" in
        *"permission denied"*) echo "as nobody: $denied" ;;
        *) echo "as nobody, expected a permission-denied line, got: $denied"; exit 1 ;;
    esac
fi

# SIGHUP reloads: a connected client gets a second hello.
timeout 5 socat -u "UNIX-CONNECT:$socket" - >"$work/reload.ndjson" 2>/dev/null &
reader=$!
sleep 0.5
kill -HUP "$daemon"
sleep 1.5
kill "$reader" 2>/dev/null || true
hellos="$(grep -c '"class":"hello"' "$work/reload.ndjson" || true)"
[ "$hellos" -ge 2 ] || { echo "SIGHUP: the client saw $hellos hello lines, expected a second after the reload"; cat "$work/lavitd.log"; exit 1; }

# SIGTERM: lavitd exits 0 within a second.
start=$(date +%s%N)
kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -lt 1000 ] || { echo "lavitd took $elapsed_ms ms to exit on SIGTERM"; exit 1; }
echo "SIGHUP reload seen by a client; SIGTERM exit in $elapsed_ms ms"

grep -q '"class":"hello"' "$work/socat.ndjson" || { echo "socat saw no hello: $(cat "$work/socat.ndjson")"; exit 1; }
grep -q '"class":"result"' "$work/socat.ndjson" || { echo "socat saw no result"; exit 1; }
[ "$status" -eq 0 ] || { echo "lavitd exited $status on SIGTERM"; cat "$work/lavitd.log"; exit 1; }
/usr/bin/python3 Tools/check_daemon_labels.py Tools/models/lavit-fashion.lvt "$work/client.ndjson" --min 50
