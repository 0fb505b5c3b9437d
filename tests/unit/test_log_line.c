/*
 * Unit tests of what `tern log` reads: the RFC 3339 stamp (written and
 * parsed back), one line's parts (process, level, session or queue id),
 * its key=value fields, client, queued id and failure reason, the
 * filters, the table of groups, and the --since durations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/log_group.h"
#include "cli/log_line.h"
#include "cli/log_window.h"
#include "conf/conf.h"
#include "master/logger.h"
#include "util/log_stamp.h"

#define TS "2026-12-06T04:38:22.123+01:00 "

static void
test_stamp_round_trip(void **state)
{
	struct timespec ts = { 1796445502, 123456789 };
	char buf[LOG_STAMP_LEN + 1];
	time_t back;

	(void)state;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	assert_int_equal(log_stamp_format(&ts, buf, sizeof(buf)), LOG_STAMP_LEN);
	assert_int_equal(log_stamp_parse(buf, strlen(buf), &back), 0);
	assert_int_equal((long long)back, 1796445502LL);
	assert_string_equal(buf + 19, ".123+01:00");
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(log_stamp_format(&ts, buf, sizeof(buf)), LOG_STAMP_LEN);
	assert_string_equal(buf + 19, ".123+00:00");
	assert_int_equal(log_stamp_parse(buf, strlen(buf), &back), 0);
	assert_int_equal((long long)back, 1796445502LL);
	/* A buffer too small is refused. */
	assert_int_equal(log_stamp_format(&ts, buf, 10), -1);
}

static void
test_stamp_parse(void **state)
{
	static const struct {
		const char *s;
		long long want;         /* -1: refused */
	} cases[] = {
		{ "1970-01-01T00:00:00.000+00:00", 0 },
		{ "1970-01-01T01:00:00.000+01:00", 0 },
		{ "1969-12-31T19:00:00.000-05:00", 0 },
		{ "2000-03-01T00:00:00.000+00:00", 951868800 },
		{ "2024-02-29T12:00:00.999+00:00", 1709208000 },
		{ "2024-13-01T00:00:00.000+00:00", -1 },
		{ "2024-02-29 12:00:00.000+00:00", -1 },
		{ "2024-02-29T12:00:00.000Z", -1 },
		{ "2024-02-29T12:0x:00.000+00:00", -1 },
		{ "smtpd[1]: hello", -1 },
	};
	time_t when;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = log_stamp_parse(cases[i].s, strlen(cases[i].s), &when);
		if (cases[i].want < 0 ? r != -1 : r != 0 || when != cases[i].want)
			fail_msg("%s: got %d/%lld, want %lld", cases[i].s, r,
			    (long long)when, cases[i].want);
	}
	/* Bounded by len, not by a NUL. */
	assert_int_equal(log_stamp_parse(cases[0].s, 28, &when), -1);
}

static void
parse(const char *s, struct log_line *l)
{
	log_line_parse(s, strlen(s), l);
}

static void
test_parse_parts(void **state)
{
	struct log_line l;

	(void)state;
	parse(TS "smtpd[812]: 9Q3F2KABCDEF: connect from [127.0.0.2]:4321 port=smtp", &l);
	assert_int_equal(l.kind, LOG_KIND_SESSION);
	assert_int_equal(l.proc_len, 5);
	assert_memory_equal(l.pid, "812", 3);
	assert_int_equal(l.id_len, 12);
	assert_memory_equal(l.id, "9Q3F2KABCDEF", 12);
	assert_string_equal(l.level, "info");
	assert_memory_equal(l.msg, "connect from", 12);

	parse(TS "queue[9]: warn: ABCDEFGH2345: to=<a@b> status=deferred", &l);
	assert_int_equal(l.kind, LOG_KIND_QUEUE);
	assert_string_equal(l.level, "warn");
	assert_memory_equal(l.id, "ABCDEFGH2345", 12);

	/* Not ids: a lower-case word, too short, no ": ". */
	parse(TS "smtpd[812]: stopping: 0 sessions open", &l);
	assert_int_equal(l.kind, LOG_KIND_OTHER);
	assert_null(l.id);
	parse(TS "smtpd[812]: ABC: x", &l);
	assert_int_equal(l.kind, LOG_KIND_OTHER);
	parse(TS "smtpd[812]: ABCDEFGHJK", &l);
	assert_int_equal(l.kind, LOG_KIND_OTHER);

	/* lookup's lines carry no id; a line without a prefix is all message. */
	parse(TS "lookup[7]: auth failed login=bob reason=unknown client=[::1] proto=imap", &l);
	assert_int_equal(l.kind, LOG_KIND_OTHER);
	assert_memory_equal(l.proc, "lookup", 6);
	parse("garbage [ without prefix", &l);
	assert_null(l.proc);
	assert_int_equal(l.msg_len, strlen("garbage [ without prefix"));
	/* Without a stamp (stderr's form) it parses alike. */
	parse("error: smtpd[812]: x", &l);
	assert_null(l.proc);
	parse("smtpd[812]: error: 9Q3F2KABCDEF: cannot queue", &l);
	assert_int_equal(l.kind, LOG_KIND_SESSION);
	assert_string_equal(l.level, "error");
}

/* log_line_key finds what log_line_parse finds, on every kind of line. */
static void
test_key_agrees(void **state)
{
	static const char *const lines[] = {
		TS "smtpd[812]: 9Q3F2KABCDEF: connect from [127.0.0.2]:4321 port=smtp",
		TS "queue[9]: warn: ABCDEFGH2345: to=<a@b> status=deferred",
		TS "smtpd[9]: error: ABCDEFGH2345: cannot queue",
		TS "smtpd[812]: stopping: 0 sessions open",
		TS "smtpd[812]: ABC: x",
		TS "smtpd[812]: ABCDEFGHJK",
		TS "smtpd[812]: ABCDEFGHJK:",
		TS "smtpd[812]:ABCDEFGHJK: x",
		TS "smtpd[812",
		TS "lookup[7]: auth ok login=a client=[::1] proto=imap",
		TS "queue[1]: ABCDEFGHJKLMNPQRSTVWXYZ0123456789: too long",
		"smtpd[812]: 9Q3F2KABCDEF: without a stamp",
		"",
	};
	struct log_line l;
	const char *id = NULL;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		parse(lines[i], &l);
		enum log_kind k = log_line_key(lines[i], strlen(lines[i]), &id, &n);
		if (k != l.kind || (k != LOG_KIND_OTHER && (id != l.id ||
		    n != l.id_len)))
			fail_msg("%s: key says %d, parse %d", lines[i], (int)k,
			    (int)l.kind);
	}
}

static void
test_values(void **state)
{
	struct log_line l;
	const char *v;
	size_t n;
	char ip[64];

	(void)state;
	parse(TS "smtpd[1]: AAAAAAAAAAAA: auth failed login=Bob reason=case-mismatch "
	    "existing=bob client=[2001:db8::1] proto=smtp", &l);
	assert_true(log_line_value(&l, "login", &v, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(v, "Bob", 3);
	assert_true(log_line_value(&l, "client", &v, &n));
	assert_int_equal(n, strlen("2001:db8::1"));
	assert_false(log_line_value(&l, "gin", &v, &n));   /* whole keys only */
	assert_false(log_line_value(&l, "missing", &v, &n));
	assert_true(log_line_client(&l, ip, sizeof(ip)));
	assert_string_equal(ip, "2001:db8::1");

	parse(TS "smtpd[1]: AAAAAAAAAAAA: connect from [127.0.0.2]:4321 port=smtp", &l);
	assert_true(log_line_client(&l, ip, sizeof(ip)));
	assert_string_equal(ip, "127.0.0.2");
	assert_false(log_line_client(&l, ip, 4));           /* does not fit */
	parse(TS "smtpd[1]: AAAAAAAAAAAA: queued id=BBBBBBBBBBBB from=<a@b.c> size=1", &l);
	assert_true(log_line_queued(&l, &v, &n));
	assert_memory_equal(v, "BBBBBBBBBBBB", 12);
	assert_true(log_line_value(&l, "from", &v, &n));
	assert_memory_equal(v, "a@b.c", 5);
	assert_false(log_line_ends_session(&l));
	parse(TS "smtpd[1]: AAAAAAAAAAAA: disconnect from [127.0.0.2]:4321 commands=1", &l);
	assert_true(log_line_ends_session(&l));
	assert_false(log_line_queued(&l, &v, &n));
}

static void
test_failures(void **state)
{
	static const struct {
		const char *msg;
		const char *reason;     /* NULL: not a failure */
	} cases[] = {
		{ "auth failed login=x reason=password client=[1.2.3.4] proto=smtp", "password" },
		{ "auth failed login=X reason=case-mismatch existing=x client=[1.2.3.4]", "case-mismatch" },
		{ "auth case-mismatch login=X existing=x client=[1.2.3.4] action=would-refuse", "case-mismatch" },
		{ "auth throttled login=x client=[1.2.3.4] reason=too-many-failures", "too-many-failures" },
		{ "auth refused login=x client=[1.2.3.4] reason=password-too-long", "password-too-long" },
		{ "sender outside binding login=x from=<a@b> client=[1.2.3.4] action=would-refuse", "sender-binding" },
		{ "reject MAIL: sender outside binding login=x from=<a@b> client=[1.2.3.4] action=refused", "sender-binding" },
		{ "header sender outside binding login=x address=<a@b> client=[1.2.3.4] action=refused field=From", "sender-binding" },
		{ "reject MAIL from [1.2.3.4]: unauthenticated local sender from=<a@b>", "unauthenticated-local-sender" },
		{ "reject DATA: header From outside binding login=x client=[1.2.3.4]", "header-sender" },
		{ "auth ok login=x method=PLAIN client=[1.2.3.4] proto=smtp", NULL },
		{ "reject RCPT from [1.2.3.4]: user unknown to=<a@b>", NULL },
		{ "connect from [1.2.3.4]:5 port=smtp", NULL },
	};
	char line[512], reason[64];
	struct log_line l;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), TS "smtpd[1]: AAAAAAAAAAAA: %s", cases[i].msg);
		parse(line, &l);
		int r = log_line_failure(&l, reason, sizeof(reason));
		if (r != (cases[i].reason != NULL) ||
		    (r && strcmp(reason, cases[i].reason) != 0))
			fail_msg("%s: got %d %s, want %s", cases[i].msg, r,
			    r ? reason : "-", cases[i].reason ? cases[i].reason : "-");
	}
}

static void
test_filters(void **state)
{
	struct log_filter f = { 0 };
	struct log_line l;
	char why[64];

	(void)state;
	f.login = "bob";
	assert_int_equal(cidr_parse("127.0.0.2/31", &f.client, why, sizeof(why)), 0);
	f.has_client = 1;
	f.address = "Alice@Example.ORG";
	f.id = "BBBBBBBBBBBB";
	assert_int_equal(log_filter_want(&f), LOG_F_LOGIN | LOG_F_CLIENT |
	    LOG_F_ADDRESS | LOG_F_ID);

	/* A login is exact; existing= counts (a miscased try at bob). */
	parse(TS "smtpd[1]: AAAAAAAAAAAA: auth failed login=Bob reason=case-mismatch "
	    "existing=bob client=[127.0.0.3]", &l);
	assert_int_equal(log_filter_hits(&f, &l), LOG_F_LOGIN | LOG_F_CLIENT);
	parse(TS "smtpd[1]: AAAAAAAAAAAA: auth ok login=bobby client=[127.0.0.4]", &l);
	assert_int_equal(log_filter_hits(&f, &l), 0);
	parse(TS "smtpd[1]: AAAAAAAAAAAA: auth ok login=BOB client=[127.0.0.1]", &l);
	assert_int_equal(log_filter_hits(&f, &l), 0);
	/* An address in any case, in from=, to=, orig_to=. */
	parse(TS "queue[1]: BBBBBBBBBBBB: to=<x@y> orig_to=<alice@example.org> status=sent", &l);
	assert_int_equal(log_filter_hits(&f, &l), LOG_F_ADDRESS | LOG_F_ID);
	parse(TS "smtpd[1]: AAAAAAAAAAAA: queued id=BBBBBBBBBBBB from=<ALICE@example.org>", &l);
	assert_int_equal(log_filter_hits(&f, &l), LOG_F_ADDRESS | LOG_F_ID);
	parse(TS "smtpd[1]: BBBBBBBBBBBB: connect from [::1]:5", &l);
	assert_int_equal(log_filter_hits(&f, &l), LOG_F_ID);
	f = (struct log_filter){ 0 };
	assert_int_equal(log_filter_want(&f), 0);
}

static void
test_groups(void **state)
{
	struct log_groups gs;
	struct log_group *g;
	char id[16];

	(void)state;
	log_groups_init(&gs);
	assert_null(log_groups_get(&gs, LOG_KIND_SESSION, "AAAAAAAAAAAA", 12, 0));
	assert_null(log_groups_get(&gs, LOG_KIND_OTHER, "AAAAAAAAAAAA", 12, 1));
	g = log_groups_get(&gs, LOG_KIND_SESSION, "AAAAAAAAAAAA", 12, 1);
	assert_non_null(g);
	assert_int_equal(g->out, -1);
	g->mask = 3;
	/* One id, two kinds: two groups. */
	g = log_groups_get(&gs, LOG_KIND_QUEUE, "AAAAAAAAAAAA", 12, 1);
	assert_int_equal(g->mask, 0);
	/* Growing keeps every group. */
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "X%011d", i);
		g = log_groups_get(&gs, LOG_KIND_SESSION, id, 12, 1);
		g->closed = i % 2;
		g->mask = 1;
	}
	assert_int_equal(gs.n, 5002);
	assert_int_equal(log_groups_get(&gs, LOG_KIND_SESSION, "AAAAAAAAAAAA", 12, 0)->mask, 3);
	/* Pruning drops the groups that have ended, the others stay. */
	log_groups_prune(&gs);
	assert_int_equal(gs.n, 2502);
	assert_null(log_groups_get(&gs, LOG_KIND_SESSION, "X00000000001", 12, 0));
	assert_non_null(log_groups_get(&gs, LOG_KIND_SESSION, "X00000000000", 12, 0));
	assert_int_equal(log_groups_get(&gs, LOG_KIND_SESSION, "AAAAAAAAAAAA", 12, 0)->mask, 3);
	log_groups_free(&gs);
}

static void
test_since_durations(void **state)
{
	static const struct {
		const char *s;
		unsigned want;
	} cases[] = {
		{ "30s", 30 }, { "10m", 600 }, { "2h", 7200 }, { "1d", 86400 },
		{ "7d", 604800 },
	};
	unsigned secs;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(conf_parse_duration(cases[i].s, &secs), 0);
		assert_int_equal(secs, cases[i].want);
	}
	assert_int_equal(conf_parse_duration("soon", &secs), -1);
	assert_int_equal(conf_parse_duration("1w", &secs), -1);
}

/* Where the log file is, by log_file and by whether stderr is a
 * terminal; the names of its rotations. */
static void
test_logger_path(void **state)
{
	struct conf c = { 0 };
	char p[64];

	(void)state;
	c.state_dir = "/var/lib/tern";
	c.log_file = "auto";
	assert_int_equal(logger_path(&c, 0, p, sizeof(p)), 1);
	assert_string_equal(p, "/var/lib/tern/log/tern.log");
	assert_int_equal(logger_path(&c, 1, p, sizeof(p)), 0);
	c.log_file = "";
	assert_int_equal(logger_path(&c, 0, p, sizeof(p)), 0);
	c.log_file = "/var/log/tern/mail.log";
	assert_int_equal(logger_path(&c, 1, p, sizeof(p)), 1);
	assert_string_equal(p, "/var/log/tern/mail.log");
	c.log_file = "logs/t.log";
	assert_int_equal(logger_path(&c, 0, p, sizeof(p)), 1);
	assert_string_equal(p, "/var/lib/tern/logs/t.log");
	assert_int_equal(logger_path(&c, 0, p, 10), -1);
	assert_int_equal(logger_rotation_name("/x/tern.log", 10, p, sizeof(p)), 0);
	assert_string_equal(p, "/x/tern.log.10");
	assert_int_equal(logger_rotation_name("/x/tern.log", 10, p, 12), -1);

	char why[128];
	static const char *const ok[] = { "auto", "", "/var/log/tern.log",
	    "log/tern.log", "a..b/x", "..x/y", "x/y..", "/x/.../y" };
	static const char *const bad[] = { "..", "../x", "log/../../etc/x",
	    "/var/log/..", "a\nb" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (logger_file_check(ok[i], why, sizeof(why)) != 0)
			fail_msg("%s refused: %s", ok[i], why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (logger_file_check(bad[i], why, sizeof(why)) != -1)
			fail_msg("%s taken", bad[i]);
}

/* The span of a session and its message among other sessions' lines. */
static void
test_window(void **state)
{
	static const char buf[] =
	    TS "smtpd[1]: BBBBBBBBBBBB: connect from [192.0.2.2]:2 port=smtp\n"
	    TS "smtpd[1]: AAAAAAAAAAAA: connect from [192.0.2.1]:1 port=smtp\n"
	    TS "smtpd[1]: BBBBBBBBBBBB: disconnect from [192.0.2.2]:2\n"
	    TS "smtpd[1]: AAAAAAAAAAAA: auth ok login=a client=[192.0.2.1]\n"
	    TS "smtpd[1]: AAAAAAAAAAAA: queued id=QQQQQQQQQQQQ from=<a@b> size=1\n"
	    TS "smtpd[1]: AAAAAAAAAAAA: disconnect from [192.0.2.1]:1\n"
	    TS "smtpd[1]: CCCCCCCCCCCC: connect from [192.0.2.3]:3 port=smtp\n"
	    TS "queue[2]: QQQQQQQQQQQQ: to=<c@d> status=sent\n"
	    TS "queue[2]: QQQQQQQQQQQQ: removed\n"
	    TS "master[3]: after\n";
	size_t size = sizeof(buf) - 1, s, e;
	const char *hit = strstr(buf, TS "smtpd[1]: AAAAAAAAAAAA: auth ok");
	const char *conn = strstr(buf, TS "smtpd[1]: AAAAAAAAAAAA: connect");
	const char *after = strstr(buf, TS "master[3]");

	(void)state;
	assert_int_equal(log_window(buf, 0, size, (size_t)(hit - buf), &s, &e), 0);
	assert_int_equal(s, (size_t)(conn - buf));
	assert_int_equal(e, (size_t)(after - buf));
	/* From the connect line itself: the same. */
	assert_int_equal(log_window(buf, 0, size, (size_t)(conn - buf), &s, &e), 0);
	assert_int_equal(s, (size_t)(conn - buf));
	/* --since cut the session: it starts at lo. */
	const char *lo = strstr(buf, TS "smtpd[1]: BBBBBBBBBBBB: disconnect");
	assert_int_equal(log_window(buf, (size_t)(lo - buf), size,
	    (size_t)(hit - buf), &s, &e), 0);
	assert_int_equal(s, (size_t)(lo - buf));
	/* A session still open at the end of the file: not told. */
	const char *c = strstr(buf, TS "smtpd[1]: CCCCCCCCCCCC");
	assert_int_equal(log_window(buf, 0, size, (size_t)(c - buf), &s, &e), -1);
	/* The message not yet removed: not told. */
	assert_int_equal(log_window(buf, 0, (size_t)(strstr(buf, TS "queue[2]: QQQQQQQQQQQQ: removed") - buf),
	    (size_t)(hit - buf), &s, &e), -1);
	/* Not a session's line. */
	assert_int_equal(log_window(buf, 0, size, (size_t)(after - buf), &s, &e), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp_round_trip),
		cmocka_unit_test(test_stamp_parse),
		cmocka_unit_test(test_parse_parts),
		cmocka_unit_test(test_key_agrees),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_since_durations),
		cmocka_unit_test(test_logger_path),
		cmocka_unit_test(test_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
