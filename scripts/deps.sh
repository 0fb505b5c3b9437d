#!/bin/sh
# Installs what tern needs to build, test and run, on Debian 12.  Idempotent:
# it asks apt only for packages that are missing, and creates the system user
# `tern` (the user the server's children run as) when run as root.
set -eu

PACKAGES="gcc make pkg-config libevent-dev libsqlite3-dev libssl-dev \
libc-ares-dev libcrypt-dev libcmocka-dev python3 python3-pytest python3-dnslib \
swaks openssl sqlite3 clang-14 libclang-rt-14-dev"

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
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

if [ "$(id -u)" = 0 ] && ! getent passwd tern >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin tern
fi
exit 0
