#!/bin/sh
# make run: a demo server (SMTP on 127.0.0.1:2525, submission on 2587
# (STARTTLS) and 2465 (TLS)) with domain example.test and account
# demo@example.test, then `tern serve` in the foreground.  Ctrl-C stops it.
#
# Where the demo lives: as root, in /var/lib/tern-demo (config and state),
# because the server drops to user tern, which must read the config and
# own the state, and a clone under /root is not reachable by tern; as an
# ordinary user, in run/ of this tree.  TERN_DEMO_DIR overrides both.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
TERN=$TOP/build/tern
if [ -n "${TERN_DEMO_DIR:-}" ]; then
	RUN=$TERN_DEMO_DIR
elif [ "$(id -u)" = 0 ]; then
	RUN=/var/lib/tern-demo
else
	RUN=$TOP/run
fi
CONF=$RUN/tern.conf

mkdir -p "$RUN"
# The server reads its config again on SIGHUP, after dropping to tern.
if [ "$(id -u)" = 0 ]; then
	chmod 0755 "$RUN"
fi
cat > "$CONF" <<CONF
# Written by make run (scripts/run-demo.sh); see docs/config.md.
hostname = mx.example.test
state_dir = $RUN/state
listen_smtp = 127.0.0.1:2525
listen_submission = 127.0.0.1:2587
listen_submissions = 127.0.0.1:2465
# IMAP and POP3 through Dovecot (docs/mailbox.md), on high ports.
listen_imap = 127.0.0.1:2143
listen_imaps = 127.0.0.1:2993
listen_pop3 = 127.0.0.1:2110
listen_pop3s = 127.0.0.1:2995
# Port 2525's screen would hold each new client 6 s: the demo's own
# clients come from this machine, let in at once.
screen_access = permit 127.0.0.1 ::1
CONF

# As root, the server runs as user tern, which must reach the demo's folder.
if [ "$(id -u)" = 0 ] && ! runuser -u tern -- test -r "$CONF"; then
	echo "make run: user tern cannot read $CONF; set TERN_DEMO_DIR to a folder it can reach" >&2
	exit 1
fi

"$TERN" -c "$CONF" domain list | grep -qx example.test ||
	"$TERN" -c "$CONF" domain add example.test
PASSWORD=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
if "$TERN" -c "$CONF" user list | cut -f1 | grep -qx demo@example.test; then
	printf '%s\n' "$PASSWORD" | "$TERN" -c "$CONF" user passwd demo@example.test --password-stdin
else
	printf '%s\n' "$PASSWORD" | "$TERN" -c "$CONF" user add demo@example.test --password-stdin
fi

cat <<MSG

Tern demo
  config:    $CONF
  account:   demo@example.test
  password:  $PASSWORD
  mailbox:   $RUN/state/mail/example.test/demo/new/

Try it from another terminal: mail from another server (port 25's role)
  swaks --server 127.0.0.1:2525 --from someone@elsewhere.test --to demo@example.test
  ls $RUN/state/mail/example.test/demo/new/
and as the user, over submission with STARTTLS, then with implicit TLS
(the certificate is self-signed: swaks does not check it)
  swaks --server 127.0.0.1:2587 --tls --auth PLAIN --auth-user demo@example.test \\
        --auth-password '$PASSWORD' --from demo@example.test --to demo@example.test
  swaks --server 127.0.0.1:2465 --tlsc --auth PLAIN --auth-user demo@example.test \\
        --auth-password '$PASSWORD' --from demo@example.test --to demo@example.test

Admin commands take the same config:
  $TERN -c $CONF alias add @example.test demo@example.test
  $TERN -c $CONF queue list

Serving in the foreground; Ctrl-C stops.
MSG
exec "$TERN" -c "$CONF" serve
