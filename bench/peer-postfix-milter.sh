#!/bin/sh
# The bench's Postfix peer (../shared/bench/peers/postfix.sh, whose
# main.cf has no hook for a milter) with the same pass-through milter as
# peer-tern-milter.sh: it is started as the bench starts it, stopped,
# given `smtpd_milters = inet:127.0.0.1:$PLUGIN_PORT` with postconf, and
# started again.
# Usage: peer-postfix-milter.sh start|stop|pid|port|maildir
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED_BENCH:-$HERE/../../shared/bench}
PEER=$SHARED/peers/postfix.sh
R=${BENCH_DIR:-/var/tmp/bench}/postfix
PLUGIN_PORT=${MILTER_PORT:-10030}
. "$HERE/plugin_peer.sh"
case ${1:-} in
  start)
    plugin_start pass_milter /usr/bin/python3 "$HERE/pass_milter.py" "$PLUGIN_PORT"
    "$PEER" start
    "$PEER" stop
    postconf -c "$R/etc" -e "smtpd_milters = inet:127.0.0.1:$PLUGIN_PORT" \
      "milter_default_action = tempfail"
    postfix -c "$R/etc" start ;;
  stop) "$PEER" stop; plugin_stop pass_milter ;;
  *) exec "$PEER" "$@" ;;
esac
