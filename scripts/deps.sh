#!/bin/sh
# Installs what tern needs to build, test and run, on Debian 12.  Idempotent:
# it asks apt only for packages that are missing, and creates the system user
# `tern` (the user the server's children run as) when run as root.
set -eu

# --no-install-recommends below: a package that only a recommendation brings
# is named here, or it is missing on a fresh machine.  swaks needs
# libnet-ssleay-perl for --tls, libio-socket-inet6-perl for IPv6 and
# libnet-dns-perl for MX lookups (its recommendations); postfix brings the
# tests' smtp-sink (docs/testing.md says why that package).  Dovecot serves
# IMAP and POP3 (docs/mailbox.md), its logins through a Lua passdb
# (dovecot-auth-lua, with lua-socket to reach tern's auth.sock; the tests
# run the same script under lua5.4); isync's mbsync and libsasl2-modules (a
# recommendation of libsasl2-2, for its LOGIN/PLAIN mechanisms) pull mail
# from an old server in `tern mailbox sync`.  The plugin tests run real
# peers (docs/plugins.md): OpenDKIM (opendkim-tools for its keys), rspamd,
# postgrey and policyd-rate-limit, a pymilter test milter (python3-milter)
# and python3-dkim to check signatures.  The tests start their own copies
# on high ports; a copy Debian starts as a service is left alone.
# python3-prometheus-client parses the metrics page in its test.
PACKAGES="gcc make pkg-config libevent-dev libsqlite3-dev libssl-dev \
libc-ares-dev libcrypt-dev libcmocka-dev python3 python3-pytest python3-dnslib \
swaks libnet-ssleay-perl libio-socket-inet6-perl libnet-dns-perl \
openssl sqlite3 clang-14 libclang-rt-14-dev postfix \
dovecot-core dovecot-imapd dovecot-pop3d dovecot-auth-lua lua-socket lua5.4 \
isync libsasl2-modules \
opendkim opendkim-tools rspamd postgrey policyd-rate-limit python3-milter \
python3-dkim python3-prometheus-client"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: missing packages:$missing (run as root or install them)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Postfix installed for its smtp-sink only: no main.cf, never a
	# system mail server on port 25.
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

if [ "$(id -u)" = 0 ] && ! getent passwd tern >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin tern
fi
exit 0
