#!/bin/sh
# Builds the libFuzzer harnesses with clang-14 (ASan + UBSan) and runs each
# for a number of seconds: tests/fuzz/run.sh [seconds] [harness...]
# Default 20 s each, all harnesses.  Work files (binaries, corpora, crash
# artifacts) go to $FUZZ_WORK, /tmp/tern-fuzz unless set.  Exits non-zero
# when a harness fails to build or finds a crash.
set -eu

cd "$(dirname "$0")/../.."
SECS=${1:-20}
[ $# -gt 0 ] && shift
WORK=${FUZZ_WORK:-/tmp/tern-fuzz}
CC=${FUZZ_CC:-clang-14}
CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Isrc -g -O1
 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
 -fno-omit-frame-pointer"

# The sources each harness needs, beside the harness itself.
srcs() {
	case $1 in
	fuzz_addr)        echo src/util/addr.c src/util/utf8.c ;;
	fuzz_smtp_parse)  echo src/smtpd/smtp_parse.c src/util/addr.c src/util/utf8.c ;;
	fuzz_data_reader) echo src/smtpd/data_reader.c ;;
	fuzz_header_from) echo src/smtpd/header_from.c src/util/addr.c src/util/utf8.c \
	    src/smtpd/header_name.c src/smtpd/encoded_word.c src/util/base64.c \
	    src/util/buf.c src/util/xmalloc.c src/util/log.c ;;
	fuzz_smtp_reply)  echo src/deliver/smtp_reply.c ;;
	fuzz_base64)      echo src/util/base64.c ;;
	fuzz_auth_plain)  echo src/smtpd/smtp_parse.c src/util/addr.c src/util/utf8.c \
	    src/util/base64.c ;;
	fuzz_smtp_line)   echo src/smtpd/smtp_line.c src/util/log.c -levent ;;
	fuzz_dns_mx)      echo src/net/dns.c src/net/hostport.c src/util/list_word.c src/util/addr.c \
	    src/util/utf8.c src/util/log.c \
	    src/util/xmalloc.c -lcares -levent ;;
	fuzz_dnsbl)       echo src/screen/dnsbl_site.c src/net/dns_a.c src/net/dns.c \
	    src/net/hostport.c src/util/list_word.c src/util/addr.c src/util/utf8.c src/util/log.c \
	    src/util/xmalloc.c -lcares -levent ;;
	fuzz_ipc)         echo src/net/ipc.c src/util/buf.c src/util/log.c \
	    src/util/xmalloc.c ;;
	fuzz_queue_env)   echo src/queue/queue_file.c src/queue/queue_spare.c \
	    src/util/durable.c src/util/buf.c src/util/log.c src/util/xmalloc.c ;;
	fuzz_screen)      echo src/screen/screen_proto.c src/net/ipc.c src/net/hostport.c src/util/list_word.c \
	    src/util/addr.c src/util/utf8.c src/util/buf.c src/util/log.c \
	    src/util/xmalloc.c ;;
	fuzz_smtp_forbidden) echo src/smtpd/smtp_forbidden.c ;;
	fuzz_screen_cache) echo src/screen/screen_cache.c src/util/siphash.c src/util/buf.c \
	    src/util/durable.c src/util/log.c src/util/xmalloc.c ;;
	fuzz_login_proto) echo src/mailbox/login_proto.c ;;
	fuzz_metrics_request) echo src/master/metrics_request.c ;;
	fuzz_milter)      echo src/plugin/milter_proto.c src/util/buf.c \
	    src/util/xmalloc.c src/util/log.c ;;
	fuzz_policy_reply) echo src/plugin/policy_proto.c src/util/buf.c \
	    src/util/log.c src/util/xmalloc.c ;;
	fuzz_msg_edit)    echo src/plugin/msg_edit.c src/queue/queue_file.c \
	    src/queue/queue_spare.c src/util/durable.c src/util/buf.c src/util/log.c \
	    src/util/xmalloc.c ;;
	fuzz_filter)      echo src/plugin/filter_proto.c src/util/buf.c \
	    src/util/log.c src/util/xmalloc.c ;;
	*) echo "unknown harness $1" >&2; exit 2 ;;
	esac
}

# A few seeds so the first seconds are not spent finding '@' and CRLF.
seed() {
	d=$WORK/corpus/$1
	mkdir -p "$d"
	case $1 in
	fuzz_addr)
		printf 'user@example.org' >"$d/s1"
		printf '"a b"@[IPv6:2001:db8::1]' >"$d/s2"
		printf 'j\303\266rg@b\303\274cher.example' >"$d/s3"
		printf 'a@[192.0.2.1]' >"$d/s4" ;;
	fuzz_smtp_parse)
		printf 'MAIL FROM:<a@b.org> SIZE=10 BODY=8BITMIME SMTPUTF8' >"$d/s1"
		printf 'RCPT TO:<@x.org,@y.org:postmaster>' >"$d/s2"
		printf 'MAIL FROM:<"a>\\\\b"@[IPv6:::1]>' >"$d/s3"
		printf 'EHLO example.org' >"$d/s4" ;;
	fuzz_data_reader)
		printf 'Subject: x\r\n\r\n..body\r\n.\r\nQUIT\r\n' >"$d/s1"
		printf 'a\n.\nMAIL FROM:<x@y>\r\n.\r\n' >"$d/s2"
		printf '.\r\n' >"$d/s3"
		printf 'a\r.\r\n\0.\r\r\n.\r\n' >"$d/s4" ;;
	fuzz_header_from)
		printf 'From: "Doe, J" <j@d.test> (x (y))\r\nSender: s@d.test\r\n\r\nbody\r\n' >"$d/s1"
		printf 'from : g: a@b.test,\r\n\t<@r.test:c@[192.0.2.1]>;, ,\r\n' >"$d/s2"
		printf 'Subject: x\r\nFROM:J\303\266rg <j\303\266rg@b\303\274cher.example>\r\n\r\n' >"$d/s3"
		printf 'From: <>\r\nFrom: "a\\"b"@c.test\r\n' >"$d/s4" ;;
	fuzz_smtp_reply)
		printf '250-mx.example.org\n250-PIPELINING\n250-SIZE 1000\n250 AUTH LOGIN PLAIN\n' >"$d/s1"
		printf '550 5.1.1 <x@y>: no\n421\n354 go\n' >"$d/s2" ;;
	fuzz_auth_plain)
		printf 'AGFsaWNlAHNlY3JldA==' >"$d/s1"
		printf 'YWxpY2UAYWxpY2UAc2VjcmV0' >"$d/s2" ;;
	fuzz_smtp_line)
		printf '\003EHLO x\r\nNOOP\nMAIL FROM:<a@b>\r\n' >"$d/s1"
		printf '\001AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\0\r\n' >"$d/s2" ;;
	fuzz_base64)
		printf 'AGFsaWNlAHNlY3JldA==' >"$d/s1"
		printf 'YWxpY2U=' >"$d/s2"
		printf '=' >"$d/s3" ;;
	fuzz_dns_mx)
		# b.test MX 10 mx.b.test, MX 20 MX2.B.test. (made by dnslib)
		printf '\055\001\205\200\000\001\000\002\000\000\000\000\001b\004test\000\000\017\000\001\300\014\000\017\000\001\000\000\000\074\000\007\000\012\002mx\300\014\300\014\000\017\000\001\000\000\000\074\000\012\000\024\003MX2\001B\300\016' >"$d/s1" ;;
	fuzz_dnsbl)
		# sites, NUL, then the answer to 2.0.0.127.bl.test A: 127.0.0.2
		# and 127.0.0.4 (made by dnslib), then an NXDOMAIN with the SOA
		# of bl.test (TTL 50, minimum 40) in its authority section.
		printf 'bl.test*2, wl.test=127.0.[0..255].[1;2;3]*-2\000\022\064\205\200\000\001\000\002\000\000\000\000\0012\0010\0010\003127\002bl\004test\000\000\001\000\001\300\014\000\001\000\001\000\000\001\054\000\004\177\000\000\002\300\014\000\001\000\001\000\000\001\054\000\004\177\000\000\004' >"$d/s1"
		printf 'bl.test=127.0.0.[2..11]\000\022\064\205\203\000\001\000\000\000\001\000\000\0012\0010\0010\003127\002bl\004test\000\000\001\000\001\300\026\000\006\000\001\000\000\000\062\000\046\002ns\300\026\002hm\300\026\000\000\000\001\000\000\016\020\000\000\002\130\000\001\121\200\000\000\000\050' >"$d/s2" ;;
	fuzz_ipc)
		printf '\005\014\000\000\000\020\000\000\000\007\000\000\000\004\000\000\000abcd' >"$d/s1" ;;
	fuzz_queue_env)
		printf 'tern-queue 1\nid\tFZZ2345BCDFG\ncreated\t1700000000\nsender\ta@b.test\nclient\t127.0.0.1\nrcpt\tx@y.test\tx@y.test\t0\n\nSubject: x\r\n\r\nbody\r\n\0000\tdeferred\t1700000100\t2\t451 4.0.0 later\n' >"$d/s1" ;;
	fuzz_screen)
		printf '\001EHLO bot\r\n\033[31m\303\251\377' >"$d/s1"
		# a hand-over: ip, port, verdict, reason, score, zone, flags, ms, gen
		printf '\000\011\000\000\000127.0.0.2\221\061\000\000\003\000\000\000\010\000\000\000pregreet\000\000\000\000\000\000\000\000\001\000\000\000\020\000\000\000\007\000\000\000' >"$d/s2" ;;
	fuzz_smtp_forbidden)
		printf 'GET / HTTP/1.0\r\n' >"$d/s1"
		printf 'Subject: x' >"$d/s2"
		printf 'MAIL FROM:<a@b>' >"$d/s3" ;;
	fuzz_screen_cache)
		printf 'tern-screen-cache 1\n192.0.2.1 PASS 1800003600\n2001:db8::1 FAIL 1800000600 pregreet\n' >"$d/s1"
		printf 'tern-screen-cache 1\n::ffff:192.0.2.1 FAIL 1800000600 bare-lf\n192.0.2.1 PASS 99999999999\n\n' >"$d/s2" ;;
	fuzz_login_proto)
		printf 'auth\timap\t192.0.2.1\talice@x.test\tp\\tw\\\\\n' >"$d/s1"
		printf 'user\tdoveadm\t\ta+b@x.test\n' >"$d/s2"
		printf 'ok\t2\talice@x.test\t/var/lib/tern/mail/x.test/alice\n' >"$d/s3"
		printf 'fail\t15\n' >"$d/s4" ;;
	fuzz_metrics_request)
		printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >"$d/s1"
		printf 'POST /metrics?a=b HTTP/1.0\n\n' >"$d/s2"
		printf 'GET /metrics HTTP/2.0\r\n' >"$d/s3" ;;
	fuzz_milter)
		# an OPTNEG reply with a macro list, then y, h, i, then p
		printf '\000\000\000\040O\000\000\000\006\000\000\001\377\000\000\000\000\000\000\000\001{auth_type} j\000\000\000\000\026y550-5.7.1 a\r\n550 5.7.1 b\000\000\000\000\007hX-A\000v\000\000\000\000\013i\000\000\000\000X\000v\000\000\000\000\001p' >"$d/s1" ;;
	fuzz_policy_reply)
		printf 'action=DEFER_IF_PERMIT 4.2.0 Greylisted, see x\n\n' >"$d/s1"
		printf 'x=1\naction=550 5.1.1 gone\n\naction=PREPEND X-A: b\n\n' >"$d/s2"
		printf 'action=421 4.7.0 bye\n\naction=REJECT\n\n' >"$d/s3" ;;
	fuzz_filter)
		printf 'reply 12 reject 550 5.7.1 no thanks' >"$d/s1"
		printf 'reply 3 add-header X-Spam-Score 4.5\r' >"$d/s2"
		printf 'register hook data-end' >"$d/s3"
		printf 'tern-filter 1' >"$d/s4" ;;
	esac
}

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "run.sh: $CC not found (apt-get install -y clang-14" \
	    "libclang-rt-14-dev)" >&2
	exit 2
fi

HARNESSES=${*:-fuzz_addr fuzz_smtp_parse fuzz_data_reader fuzz_header_from \
fuzz_smtp_reply fuzz_base64 fuzz_auth_plain fuzz_smtp_line fuzz_dns_mx \
fuzz_ipc fuzz_queue_env fuzz_screen fuzz_screen_cache fuzz_smtp_forbidden \
fuzz_dnsbl fuzz_login_proto fuzz_milter fuzz_msg_edit fuzz_policy_reply \
fuzz_filter fuzz_metrics_request}
mkdir -p "$WORK/bin" "$WORK/crashes"
status=0
for h in $HARNESSES; do
	echo "== $h: build"
	# shellcheck disable=SC2046,SC2086
	$CC $CFLAGS -o "$WORK/bin/$h" "tests/fuzz/$h.c" $(srcs "$h")
	seed "$h"
	echo "== $h: run ${SECS}s"
	if ! "$WORK/bin/$h" -max_len=4096 -max_total_time="$SECS" \
	    -print_final_stats=1 -artifact_prefix="$WORK/crashes/$h-" \
	    "$WORK/corpus/$h"; then
		echo "== $h: FAILED (artifacts in $WORK/crashes)" >&2
		status=1
	fi
done
exit $status
