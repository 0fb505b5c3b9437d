#!/bin/sh
# tern as a peer of ../shared/bench (same contract as its peers/postfix.sh):
# a fresh state under $BENCH_DIR/tern, SMTP on 127.0.0.1:10028, domain
# bench.test with mailboxes bench@, u1@, u2@, u3@.
# TERN_EXTRA_CONF: lines added to its config (the plugin peers: a milter,
# a policy service).
# Usage: peer-tern.sh start|stop|pid|port|maildir
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TERN=${TERN_BIN:-$HERE/../build/tern}
R=${BENCH_DIR:-/var/tmp/bench}/tern
PORT=${TERN_PORT:-10028}
SUBMISSIONS_PORT=${TERN_SUBMISSIONS_PORT:-10465}
SINK=${SINK_PORT:-10099}
CONF=$R/tern.conf
GREET_WAIT=${GREET_WAIT:-2}
DNS=${DNS:-127.0.0.1:53}

# FLOOD=1 (the flood scenario): the screen set up as the bench's
# postfix-postscreen peer is, so that the two compare: a greet wait of
# GREET_WAIT s, pregreeters and bl.bench.test*2 (threshold 2) dropped,
# passes remembered, only 127.0.0.1 unscreened; DNS from $DNS.  Otherwise
# 127.0.0.0/8 relays and passes the screen at once (smtp-source).
screen_conf() {
  if [ "${FLOOD:-0}" = 1 ]; then
    cat <<CONF
relay_networks = 127.0.0.1/32
dns_servers = $DNS
screen_greet_wait = ${GREET_WAIT}s
screen_pregreet_action = drop
screen_dnsbl_sites = bl.bench.test*2
screen_dnsbl_threshold = 2
screen_dnsbl_action = drop
# postscreen_pre_queue_limit = default_process_limit in the Postfix peer
screen_max_clients = 1100
# Each legitimate sender sends from one address, many connections a
# second: Postfix's peer has no connection rate limit (anvil's default is
# off), and neither does this one.
client_connection_rate = 0
CONF
  else
    echo "relay_networks = 127.0.0.0/8"
  fi
}

start() {
  rm -rf "$R" && mkdir -p "$R" && chmod 755 "$R"
  cat > "$CONF" <<CONF
hostname = tern.bench.localdomain
state_dir = $R/state
listen_smtp = 127.0.0.1:$PORT
listen_submission =
listen_submissions = 127.0.0.1:$SUBMISSIONS_PORT
max_recipients = 1000
# SMTP only: no Dovecot on 143, 993, 110, 995.
mailbox_server = none
# the relay scenario: smtp-source is in 127.0.0.0/8 and cannot AUTH;
# everything remote goes to smtp-sink.
relayhost = [127.0.0.1]:$SINK
$(screen_conf)
${TERN_EXTRA_CONF:-}
CONF
  "$TERN" -c "$CONF" domain add bench.test >/dev/null
  for u in bench u1 u2 u3; do
    "$TERN" -c "$CONF" user add "$u@bench.test" >/dev/null
  done
  # The account bench/submission.py logs in with.
  echo "bench-password" | "$TERN" -c "$CONF" user add sender@bench.test \
    --password-stdin >/dev/null
  setsid "$TERN" -c "$CONF" serve > "$R/serve.log" 2>&1 &
  for _ in $(seq 100); do
    if [ -s "$R/state/tern.pid" ] && ss -ltn "sport = :$PORT" | grep -q LISTEN; then
      return 0
    fi
    sleep 0.1
  done
  echo "tern did not start; see $R/serve.log" >&2
  return 1
}

pid() { tr -d ' \n' < "$R/state/tern.pid"; }

# CPU seconds (user+system, every thread) of the tree of pid $1, for the
# figure "tern's CPU per message": appended to $CPU_LOG at each stop.
tree_cpu() {
  /usr/bin/python3 - "$1" <<'PY'
import os, sys
kids = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kids.setdefault(int(f[1]), []).append((int(d), int(f[11]) + int(f[12])))
tick, total, todo = os.sysconf("SC_CLK_TCK"), 0, [int(sys.argv[1])]
while todo:
    for pid, t in kids.get(todo.pop(), []):
        total += t
        todo.append(pid)
try:
    f = open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split()
    total += int(f[11]) + int(f[12])
except OSError:
    pass
print("%.2f" % (total / tick))
PY
}
CPU_LOG=${BENCH_DIR:-/var/tmp/bench}/tern-cpu.log

stop() {
  [ -f "$R/state/tern.pid" ] || return 0
  p=$(pid)
  echo "$(date +%s) tern_cpu_s=$(tree_cpu "$p")" >> "$CPU_LOG" || true
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  echo "tern master $p still running" >&2; return 1
}

case ${1:-} in
  start) start ;; stop) stop ;; pid) pid ;; port) echo "$PORT" ;;
  maildir) echo "$R/state/mail" ;;
  *) echo "usage: $0 start|stop|pid|port|maildir" >&2; exit 2 ;;
esac
