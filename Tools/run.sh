#!/usr/bin/env bash
# The README's run command: lavitd on the shipped model, fed Fashion-MNIST test images instead of
# a camera, and lavit-client printing the labels it publishes. Runs the set-up first, builds in
# release, serves 40 images (4 of each class) at 10 frames per second, prints 40 results, stops.
#
#   bash Tools/run.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-40}"

bash Tools/setup.sh
swift build -c release --product lavitd
swift build -c release --product lavit-client
bin="$(swift build -c release --show-bin-path)"

images=.build/demo/fashion-test
if [ ! -f "$images/.complete" ]; then
    rm -rf "$images"
    /usr/bin/python3 Tools/fashion_data.py export --split test --out "$images" --limit 4 --per-class --check
    touch "$images/.complete"
fi

socket="${TMPDIR:-/tmp}/lavit-demo-$$.sock"
"$bin/lavitd" --model Tools/models/lavit-fashion.lvt --source "$images/*/*.png" --socket "$socket" \
    --socket-mode 0600 --fps 10 &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true' EXIT

# Connect as soon as the socket exists, so the client sees the stream from its start.
for _ in $(seq 200); do
    [ -S "$socket" ] && break
    kill -0 "$daemon" 2>/dev/null || { wait "$daemon"; exit 1; }
    sleep 0.05
done
"$bin/lavit-client" --socket "$socket" --count "$count"
