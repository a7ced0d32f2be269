#!/bin/bash
# Self-test breakage "fixed-label": stands in for lavitd (a drop-in makes the unit run this
# script instead): it reports READY, keeps the watchdog fed and serves the socket lavitd.socket
# hands it (fd 3) like lavitd, as the same user, but every result carries the same label and no
# camera is ever opened. The label is the only thing wrong with it; the e2e must fail on it.
systemd-notify --ready --status="fixed label (self-test)"
(while sleep 1; do systemd-notify WATCHDOG=1; done) &
exec perl -e '
use POSIX qw(strftime);
$SIG{CHLD} = "IGNORE";
open(my $listener, "+<&=", 3) or die "no socket from lavitd.socket (fd 3): $!";
while (1) {
    accept(my $c, $listener) or next;
    next if fork();
    select($c); $| = 1;
    print "{\"class\":\"hello\",\"protocol\":1,\"model\":\"fixed\",\"model_sha256\":\"0\",\"labels\":[\"colorbar\"]}\n";
    for (my $i = 1; ; $i++) {
        my $t = strftime("%Y-%m-%dT%H:%M:%S.000Z", gmtime);
        print "{\"class\":\"result\",\"seq\":$i,\"time\":\"$t\",\"top\":[{\"label\":\"colorbar\",\"index\":0,\"score\":0.99}],\"grab_ms\":0,\"decode_ms\":0,\"infer_ms\":0,\"skipped\":0}\n" or exit 0;
        select(undef, undef, undef, 0.2);
    }
}'
