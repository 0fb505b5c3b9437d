#!/bin/sh
# tern (bench/peer-tern.sh) asking one pass-through policy service
# (bench/pass_policy.py, always DUNNO) on 127.0.0.1:$PLUGIN_PORT at each
# RCPT on port 25 (policy_stages' default).
# Usage: peer-tern-policy.sh start|stop|pid|port|maildir
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PLUGIN_PORT=${POLICY_PORT:-10031}
. "$HERE/plugin_peer.sh"
case ${1:-} in
  start)
    plugin_start pass_policy /usr/bin/python3 "$HERE/pass_policy.py" "$PLUGIN_PORT"
    TERN_EXTRA_CONF="smtpd_policy_services = inet:127.0.0.1:$PLUGIN_PORT" \
      "$HERE/peer-tern.sh" start ;;
  stop) "$HERE/peer-tern.sh" stop; plugin_stop pass_policy ;;
  *) exec "$HERE/peer-tern.sh" "$@" ;;
esac
