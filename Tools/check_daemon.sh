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
trap 'kill "${daemon:-}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

/usr/bin/python3 Tools/fashion_data.py export --split test --out "$work/images" --limit 3 --per-class >/dev/null
socket="$work/lavitd.sock"
"$bin/lavitd" --model Tools/models/lavit-fashion.lvt --source "$work/images/*/*.png" --socket "$socket" \
    --fps 20 2>"$work/lavitd.log" &
daemon=$!

"$bin/lavit-client" --socket "$socket" --follow --json --count 60 >"$work/client.ndjson"
timeout 10 socat -u "UNIX-CONNECT:$socket" - 2>/dev/null | head -n 4 >"$work/socat.ndjson" || true
kill -TERM "$daemon"
wait "$daemon"
status=$?

grep -q '"class":"hello"' "$work/socat.ndjson" || { echo "socat saw no hello: $(cat "$work/socat.ndjson")"; exit 1; }
grep -q '"class":"result"' "$work/socat.ndjson" || { echo "socat saw no result"; exit 1; }
[ "$status" -eq 0 ] || { echo "lavitd exited $status on SIGTERM"; cat "$work/lavitd.log"; exit 1; }
/usr/bin/python3 Tools/check_daemon_labels.py Tools/models/lavit-fashion.lvt "$work/client.ndjson" --min 50
