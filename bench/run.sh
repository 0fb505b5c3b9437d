#!/bin/sh
# make bench: tern beside Postfix in one run, with ../shared/bench.  Prints
# the figures (messages per second, memory); never fails a build on them.
# REPS (default 3) and SPECS override the scenarios, as in run-anchors.sh.
# The relay scenario waits for outbound delivery (the next issue).
set -eu
cd "$(dirname "$0")/.."
SHARED=${SHARED_BENCH:-../shared/bench}
if [ ! -x "$SHARED/run-anchors.sh" ]; then
  echo "bench: $SHARED not found; nothing measured" >&2
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "bench: run as root (the bench peers need it)" >&2; exit 0; }
"$SHARED/peers/install.sh" >/dev/null
export REPS=${REPS:-3}
export SPECS=${SPECS:-"inbound:REUSE=1 inbound:REUSE=0,MSGS=1000 latency:REUSE=1,MSGS=200 latency:REUSE=0,MSGS=200 idle: fsync:"}
"$SHARED/run-anchors.sh" postfix "$(pwd)/bench/peer-tern.sh" || echo "bench: a run failed (see above)"
