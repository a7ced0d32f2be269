#!/bin/bash
# Self-test breakage "fixed-label": stands in for lavitd (the unit runs `fixed_label_lavitd.sh
# /usr/local/bin/lavitd`): it reports READY and serves the socket like lavitd, but every result
# carries the same label and no camera is ever opened. The e2e must fail on it.
sock=/run/lavitd/lavitd.sock
mkdir -p /run/lavitd
rm -f "$sock"
systemd-notify --ready --status="fixed label (self-test)"
# It keeps the watchdog fed, so the only thing wrong with it is the label.
(while sleep 1; do systemd-notify WATCHDOG=1; done) &
exec socat "UNIX-LISTEN:$sock,fork,mode=0666" SYSTEM:'echo "{\"class\":\"hello\",\"protocol\":1,\"model\":\"fixed\",\"labels\":[\"colorbar\"]}"; i=0; while sleep 0.2; do i=$((i+1)); echo "{\"class\":\"result\",\"seq\":$i,\"time\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)\",\"top\":[{\"label\":\"colorbar\",\"index\":0,\"score\":0.99}],\"grab_ms\":0,\"decode_ms\":0,\"infer_ms\":0,\"skipped\":0}"; done'
