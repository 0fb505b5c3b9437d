#!/bin/sh
# tern (bench/peer-tern.sh) on a machine as busy as the flood makes it,
# without the flood: when started for a run without bots (BOTS=0), it
# starts BUSY_PROCS (2) processes of bench/cpu_load.py, each busy
# BUSY_DUTY (0.2) of every millisecond.  That is the CPU the bench's
# 1000 bot clients took on a 2-vCPU machine (41% of one CPU over both
# processes, measured with /proc/PID/stat); the load runs in the caller's
# session, beside the bench's own clients, as the bots do.  With bots it
# adds nothing: its flood column is tern's again.
# Usage: peer-tern-busy.sh start|stop|pid|port|maildir
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PIDS=${BENCH_DIR:-/var/tmp/bench}/cpu_load.pids

load_stop() {
  [ -f "$PIDS" ] || return 0
  for p in $(cat "$PIDS"); do kill -TERM "$p" 2>/dev/null || true; done
  rm -f "$PIDS"
}

case ${1:-} in
  start)
    load_stop
    "$HERE/peer-tern.sh" start
    if [ "${BOTS:-1}" = 0 ]; then
      for _ in $(seq "${BUSY_PROCS:-2}"); do
        /usr/bin/python3 "$HERE/cpu_load.py" "${BUSY_DUTY:-0.2}" 600 \
          </dev/null >/dev/null 2>&1 &
        echo $! >> "$PIDS"
      done
    fi ;;
  stop) load_stop; "$HERE/peer-tern.sh" stop ;;
  *) exec "$HERE/peer-tern.sh" "$@" ;;
esac
