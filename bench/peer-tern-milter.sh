#!/bin/sh
# tern (bench/peer-tern.sh) with one pass-through milter
# (bench/pass_milter.py, pymilter) on 127.0.0.1:$PLUGIN_PORT for port 25.
# Usage: peer-tern-milter.sh start|stop|pid|port|maildir
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PLUGIN_PORT=${MILTER_PORT:-10030}
. "$HERE/plugin_peer.sh"
case ${1:-} in
  start)
    plugin_start pass_milter /usr/bin/python3 "$HERE/pass_milter.py" "$PLUGIN_PORT"
    TERN_EXTRA_CONF="smtpd_milters = inet:127.0.0.1:$PLUGIN_PORT" \
      "$HERE/peer-tern.sh" start ;;
  stop) "$HERE/peer-tern.sh" stop; plugin_stop pass_milter ;;
  *) exec "$HERE/peer-tern.sh" "$@" ;;
esac
