#!/bin/sh
# make bench: tern beside Postfix in one run, with ../shared/bench.  Prints
# the figures (messages per second, memory); never fails a build on them.
# REPS (default 3) and SPECS override the scenarios, as in run-anchors.sh.
# The relay scenario goes through relayhost to smtp-sink (bench/peer-tern.sh).
# Then the submission scenario (bench/submission.py), tern alone.
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
export SPECS=${SPECS:-"inbound:REUSE=1 inbound:REUSE=0,MSGS=1000 latency:REUSE=1,MSGS=200 latency:REUSE=0,MSGS=200 relay:REUSE=1 idle: fsync:"}
"$SHARED/run-anchors.sh" postfix "$(pwd)/bench/peer-tern.sh" || echo "bench: a run failed (see above)"

# The flood (issue 9): legitimate senders among bots that pregreet, idle or
# are listed in a DNSBL, quiet first, against Postfix with postscreen; the
# peers set their screens up alike when started with FLOOD=1.  The third
# column (bench/peer-tern-busy.sh) is tern's quiet run with the CPU that
# the bots' own clients take burnt beside it: what the flood leaves the
# legitimate senders before tern has refused a single bot.
FLOOD_SPECS=${FLOOD_SPECS:-"flood:BOTS=0,DURATION=15 flood:BOTS=1000,DURATION=20"}
SPECS=$FLOOD_SPECS "$SHARED/run-anchors.sh" postfix-postscreen \
  "$(pwd)/bench/peer-tern.sh" "$(pwd)/bench/peer-tern-busy.sh" ||
  echo "bench: a flood run failed (see above)"

# Plugins (issue 11): the inbound scenario through one pass-through milter
# (bench/pass_milter.py, pymilter) and through one pass-through policy
# service (bench/pass_policy.py, DUNNO at each RCPT), beside tern without
# plugins and Postfix with the same milter (bench/peer-postfix-milter.sh
# adds smtpd_milters to the bench's Postfix peer); the ratios are against
# tern without plugins.
PLUGIN_SPECS=${PLUGIN_SPECS:-"inbound:REUSE=1"}
SHARED_BENCH=$SHARED SPECS=$PLUGIN_SPECS "$SHARED/run-anchors.sh" \
  "$(pwd)/bench/peer-tern.sh" "$(pwd)/bench/peer-tern-milter.sh" \
  "$(pwd)/bench/peer-tern-policy.sh" "$(pwd)/bench/peer-postfix-milter.sh" ||
  echo "bench: a plugin run failed (see above)"

# Submission (tern alone: the bench's Postfix has no SASL to compare with):
# authenticated TLS sessions per second and messages per second over TLS,
# REPS runs on a fresh server, medians printed.
PEER=$(pwd)/bench/peer-tern.sh
runs=$(mktemp)
for _ in $(seq "$REPS"); do
  "$PEER" start
  /usr/bin/python3 bench/submission.py 10465 sender@bench.test bench-password \
    sender@bench.test bench@bench.test 300 2000 8 | tee -a "$runs" || true
  "$PEER" stop
done
/usr/bin/python3 - "$runs" <<'PY'
import statistics, sys
rows = [dict(w.split("=", 1) for w in l.split() if "=" in w) for l in open(sys.argv[1])]
for key, label in (("auth_sessions_per_s", "authenticated TLS sessions/s"),
                   ("tls_msgs_per_s", "messages/s over TLS (8 sessions)")):
    vals = [float(r[key]) for r in rows if key in r]
    if vals:
        print("submission | %s | %.0f [%.0f-%.0f]" % (label, statistics.median(vals), min(vals), max(vals)))
PY
rm -f "$runs"

# Mailbox import (issue 10): a 10,000-message Maildir++ tree into a fresh
# account, REPS runs, medians; the second run (nothing to copy) after each;
# beside it `cp -a` and `doveadm import` of the same tree.
/usr/bin/python3 bench/import.py "$(pwd)/build/tern" 10000 "$REPS" ||
  echo "bench: the import run failed (see above)"

# Account import (issue 12): `tern import csv` of 10,000 accounts with
# {SHA512-CRYPT} hashes, an extra address and an alias each, into a fresh
# state_dir; wall time and peak RSS (/usr/bin/time -v), REPS runs,
# medians; and the rerun that finds nothing to change.
/usr/bin/python3 bench/account_import.py "$(pwd)/build/tern" 10000 "$REPS" ||
  echo "bench: the account import run failed (see above)"

# IMAP logins per second (issue 10): through tern's login path
# (the Lua passdb and auth.sock) beside Dovecot's own passwd-file on
# the same SHA-512-crypt and yescrypt hashes, same Dovecot, auth cache off
# on both; REPS runs each, medians printed.
/usr/bin/python3 bench/imap_login.py "$REPS" 300 8 40 || echo "bench: the IMAP login run failed (see above)"

# tern log (issue 12): `tern log --since 1d --login X` over a 1 GB log file
# made by bench/log.py (kept in /var/tmp/bench/log, made again when an hour
# old), REPS runs, median wall and CPU time, beside `grep -F -c`.
/usr/bin/python3 bench/log.py "$(pwd)/build/tern" "$REPS" 1024 ||
  echo "bench: the log run failed (see above)"
