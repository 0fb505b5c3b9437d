/*
 * Unit tests for smtpd/smtp_parse.c: the verb split, MAIL FROM and RCPT
 * TO, table-driven with got/want in every failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtpd/smtp_parse.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct cmd_case {
	const char *line;
	enum smtp_verb verb;
	const char *arg;
};

static const struct cmd_case cmd_cases[] = {
	{ "HELO example.org", SMTP_HELO, "example.org" },
	{ "ehlo example.org", SMTP_EHLO, "example.org" },
	{ "EhLo x", SMTP_EHLO, "x" },
	{ "MAIL FROM:<a@b>", SMTP_MAIL, "FROM:<a@b>" },
	{ "mail from:<a@b>", SMTP_MAIL, "from:<a@b>" },
	{ "RCPT TO:<a@b>", SMTP_RCPT, "TO:<a@b>" },
	{ "DATA", SMTP_DATA, "" },
	{ "data", SMTP_DATA, "" },
	{ "RSET", SMTP_RSET, "" },
	{ "NOOP", SMTP_NOOP, "" },
	{ "NOOP hello there", SMTP_NOOP, "hello there" },
	{ "QUIT", SMTP_QUIT, "" },
	{ "HELP", SMTP_HELP, "" },
	{ "VRFY x", SMTP_VRFY, "x" },
	{ "EXPN x", SMTP_EXPN, "x" },
	{ "STARTTLS", SMTP_STARTTLS, "" },
	{ "starttls", SMTP_STARTTLS, "" },
	{ "AUTH PLAIN", SMTP_AUTH, "PLAIN" },
	{ "BDAT 10 LAST", SMTP_BDAT, "10 LAST" },
	{ "DATA ", SMTP_DATA, "" },
	{ "NOOP  x", SMTP_NOOP, " x" },         /* one space eaten only */
	{ "", SMTP_UNKNOWN, "" },
	{ " DATA", SMTP_UNKNOWN, "" },
	{ "DATAX", SMTP_UNKNOWN, "" },
	{ "DAT", SMTP_UNKNOWN, "" },
	{ "DATA\t", SMTP_UNKNOWN, "" },
	{ "MAIL:FROM:<a@b>", SMTP_UNKNOWN, "" },
	{ "MAILFROM:<a@b>", SMTP_UNKNOWN, "" },
	{ "STARTTLSX", SMTP_UNKNOWN, "" },
	{ "XYZZY", SMTP_UNKNOWN, "" },
	{ "GET / HTTP/1.0", SMTP_UNKNOWN, "" },
	{ "\xc3\xa9HLO x", SMTP_UNKNOWN, "" },
};

static void
test_cmd_parse_table(void **state)
{
	struct smtp_cmd cmd;
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < N(cmd_cases); i++) {
		const struct cmd_case *c = &cmd_cases[i];

		smtp_cmd_parse(c->line, &cmd);
		if (cmd.verb != c->verb || strcmp(cmd.arg, c->arg) != 0) {
			print_error("\"%s\": got verb %d arg \"%s\", want "
			    "verb %d arg \"%s\"\n", c->line, cmd.verb, cmd.arg,
			    c->verb, c->arg);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

#define SYNTAX  "501 5.5.4 Syntax: MAIL FROM:<address>"
#define TOOLONG "501 5.5.4 Path too long"
#define BADSIZE "501 5.5.4 Bad SIZE parameter"
#define BADBODY "501 5.5.4 Bad BODY parameter"
#define BADUTF8 "501 5.5.4 Bad SMTPUTF8 parameter"
#define DUP     "501 5.5.4 Duplicate MAIL parameter"
#define UNSUPP  "555 5.5.4 Unsupported MAIL parameter"
#define BADADDR "553 5.1.7 Bad sender address syntax"

struct mail_case {
	const char *arg;
	const char *want_reply;         /* NULL: success */
	const char *want_addr;
	int null_path, has_size;
	uint64_t size;
	int body_8bit, smtputf8;
};

static char long_path_ok[300], long_path_bad[300];

static const struct mail_case mail_cases[] = {
	{ "FROM:<a@b.org>", NULL, "a@b.org", 0, 0, 0, 0, 0 },
	{ "from:<a@B.ORG>", NULL, "a@b.org", 0, 0, 0, 0, 0 },
	{ "FROM: <a@b.org>", NULL, "a@b.org", 0, 0, 0, 0, 0 },
	{ "FROM:<>", NULL, "", 1, 0, 0, 0, 0 },
	{ "FROM: <>", NULL, "", 1, 0, 0, 0, 0 },
	{ "FROM:<> SIZE=0", NULL, "", 1, 1, 0, 0, 0 },
	{ "FROM:<@x.org,@y.org:a@b.org>", NULL, "a@b.org", 0, 0, 0, 0, 0 },
	{ "FROM:<@x.org:a@b.org>", NULL, "a@b.org", 0, 0, 0, 0, 0 },
	{ "FROM:<\"a>b\"@b.org>", NULL, "\"a>b\"@b.org", 0, 0, 0, 0, 0 },
	{ "FROM:<\"a\\\"> x\"@b.org>", NULL, "\"a\\\"> x\"@b.org", 0, 0, 0, 0,
	    0 },
	{ "FROM:<a@b.org> SIZE=12345", NULL, "a@b.org", 0, 1, 12345, 0, 0 },
	{ "FROM:<a@b.org> size=18446744073709551615", NULL, "a@b.org", 0, 1,
	    UINT64_MAX, 0, 0 },
	{ "FROM:<a@b.org> BODY=8BITMIME", NULL, "a@b.org", 0, 0, 0, 1, 0 },
	{ "FROM:<a@b.org> body=8bitmime", NULL, "a@b.org", 0, 0, 0, 1, 0 },
	{ "FROM:<a@b.org> BODY=7bit", NULL, "a@b.org", 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SMTPUTF8", NULL, "a@b.org", 0, 0, 0, 0, 1 },
	{ "FROM:<a@b.org> SIZE=1 BODY=8BITMIME SMTPUTF8", NULL, "a@b.org", 0,
	    1, 1, 1, 1 },
	{ "FROM:<j\xc3\xb6rg@b.org> SMTPUTF8", NULL, "j\xc3\xb6rg@b.org", 0,
	    0, 0, 0, 1 },
	{ "FROM:<a@b\xc3\xbc.org> smtputf8", NULL, "a@b\xc3\xbc.org", 0, 0, 0,
	    0, 1 },
	{ long_path_ok, NULL, NULL, 0, 0, 0, 0, 0 },
	/* Syntax. */
	{ "", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:a@b.org", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:a@b.org>", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:  <a@b.org>", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM :<a@b.org>", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ " FROM:<a@b.org>", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "TO:<a@b.org>", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org>SIZE=1", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org>  SIZE=1", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> ", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SIZE=1 ", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<\"a@b.org>", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<\"a\\>", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org>>", SYNTAX, NULL, 0, 0, 0, 0, 0 },
	{ long_path_bad, TOOLONG, NULL, 0, 0, 0, 0, 0 },
	/* Parameters. */
	{ "FROM:<a@b.org> SIZE", BADSIZE, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SIZE=", BADSIZE, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SIZE=-1", BADSIZE, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SIZE=+1", BADSIZE, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SIZE=1k", BADSIZE, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SIZE=0x10", BADSIZE, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SIZE=18446744073709551616", BADSIZE, NULL, 0, 0, 0,
	    0, 0 },
	{ "FROM:<a@b.org> SIZE=99999999999999999999", BADSIZE, NULL, 0, 0, 0,
	    0, 0 },
	{ "FROM:<a@b.org> SIZE=000000000000000000001", BADSIZE, NULL, 0, 0, 0,
	    0, 0 },
	{ "FROM:<a@b.org> SIZE=1 SIZE=2", DUP, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> BODY=8BITMIME BODY=7BIT", DUP, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SMTPUTF8 SMTPUTF8", DUP, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> BODY", BADBODY, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> BODY=", BADBODY, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> BODY=BINARYMIME", BADBODY, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> BODY=8BIT", BADBODY, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SMTPUTF8=yes", BADUTF8, NULL, 0, 0, 0, 0, 0 },
	/* RFC 4954 5: AUTH= is parsed and discarded. */
	{ "FROM:<a@b.org> AUTH=<>", NULL, "a@b.org", 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> AUTH=alice+40example.org", NULL, "a@b.org", 0, 0,
	    0, 0, 0 },
	{ "FROM:<a@b.org> AUTH=", "501 5.5.4 Bad AUTH parameter", NULL, 0, 0,
	    0, 0, 0 },
	{ "FROM:<a@b.org> AUTH=a+4", "501 5.5.4 Bad AUTH parameter", NULL, 0,
	    0, 0, 0, 0 },
	{ "FROM:<a@b.org> AUTH=<> AUTH=<>", DUP, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> RET=HDRS", UNSUPP, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> SIZES=1", UNSUPP, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> =1", UNSUPP, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b.org> \x1b[31m", UNSUPP, NULL, 0, 0, 0, 0, 0 },
	/* Addresses. */
	{ "FROM:<a>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a b@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:< a@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a..b@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<j\xc3\xb6rg@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<a@b\xc3\xbc.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<j\xc3\xb6rg@b.org> SIZE=1", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<\xc0\xaf@b.org> SMTPUTF8", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<@x.org:>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<@x.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<@x.org,a@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<@:a@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<@x..org:a@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<@x.org,:a@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<@[1.2.3.4]:a@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<x.org:a@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	/* CVE-2020-7247 shape: must never become an accepted address. */
	{ "FROM:<;sleep 66;>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	{ "FROM:<;sleep 66;@b.org>", BADADDR, NULL, 0, 0, 0, 0, 0 },
	/* A bad parameter is reported before a bad address. */
	{ "FROM:<a b> FOO=1", UNSUPP, NULL, 0, 0, 0, 0, 0 },
};

/* Paths of exactly 256 octets (accepted) and 257 octets (refused),
 * brackets included, built from 64 + 1 + 189/190 octet addresses. */
static int
setup_paths(void **state)
{
	static const size_t dom[2] = { 189, 190 };
	char *bufs[2] = { long_path_ok, long_path_bad };

	(void)state;
	for (int k = 0; k < 2; k++) {
		char *p = bufs[k];

		memcpy(p, "FROM:<", 6);
		p += 6;
		memset(p, 'l', 64);
		p[64] = '@';
		p += 65;
		for (size_t i = 0; i < dom[k]; i++)
			p[i] = (i % 60 == 59) ? '.' : 'd';
		p += dom[k];
		memcpy(p, ">", 2);
	}
	return 0;
}

static int
check_path(const char *label, int rc, const struct smtp_path *got,
    const struct smtp_parse_error *err, const char *want_reply,
    const char *want_addr, const struct mail_case *m)
{
	if (want_reply != NULL) {
		if (rc != -1 || strcmp(err->reply, want_reply) != 0) {
			print_error("%s: got rc %d reply \"%s\", want \"%s\"\n",
			    label, rc, rc == -1 ? err->reply : "-", want_reply);
			return 1;
		}
		return 0;
	}
	if (rc != 0) {
		print_error("%s: got rc %d reply \"%s\", want success\n", label,
		    rc, err->reply);
		return 1;
	}
	if (want_addr != NULL && strcmp(got->addr, want_addr) != 0) {
		print_error("%s: got addr \"%s\", want \"%s\"\n", label,
		    got->addr, want_addr);
		return 1;
	}
	if (m != NULL && (got->null_path != m->null_path ||
	    got->has_size != m->has_size || got->size != m->size ||
	    got->body_8bit != m->body_8bit || got->smtputf8 != m->smtputf8)) {
		print_error("%s: got null=%d has_size=%d size=%ju 8bit=%d "
		    "utf8=%d, want %d %d %ju %d %d\n", label, got->null_path,
		    got->has_size, (uintmax_t)got->size, got->body_8bit,
		    got->smtputf8, m->null_path, m->has_size,
		    (uintmax_t)m->size, m->body_8bit, m->smtputf8);
		return 1;
	}
	return 0;
}

static void
test_mail_table(void **state)
{
	struct smtp_path path;
	struct smtp_parse_error err;
	char label[96];
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < N(mail_cases); i++) {
		const struct mail_case *c = &mail_cases[i];
		int rc;

		snprintf(label, sizeof(label), "MAIL case %zu (%.50s)", i,
		    c->arg);
		memset(&path, 0xa5, sizeof(path));
		err.reply = NULL;
		rc = smtp_parse_mail(c->arg, &path, &err);
		failed += check_path(label, rc, &path, &err, c->want_reply,
		    c->want_addr, c);
	}
	assert_int_equal(failed, 0);
}

#define RSYNTAX "501 5.5.4 Syntax: RCPT TO:<address>"
#define RUNSUPP "555 5.5.4 Unsupported RCPT parameter"
#define RBAD    "553 5.1.3 Bad recipient address syntax"

struct rcpt_case {
	const char *arg;
	int utf8;
	const char *want_reply;
	const char *want_addr;
};

static const struct rcpt_case rcpt_cases[] = {
	{ "TO:<a@b.org>", 0, NULL, "a@b.org" },
	{ "to:<A@B.Org>", 0, NULL, "A@b.org" },
	{ "TO: <a@b.org>", 0, NULL, "a@b.org" },
	{ "TO:<postmaster>", 0, NULL, "postmaster" },
	{ "TO:<PostMaster>", 0, NULL, "postmaster" },
	{ "TO:<Postmaster@B.org>", 0, NULL, "Postmaster@b.org" },
	{ "TO:<@x.org:postmaster>", 0, NULL, "postmaster" },
	{ "TO:<@x.org,@y.org:a@b.org>", 0, NULL, "a@b.org" },
	{ "TO:<j\xc3\xb6rg@b.org>", 1, NULL, "j\xc3\xb6rg@b.org" },
	{ "TO:<j\xc3\xb6rg@b.org>", 0, RBAD, NULL },
	{ "TO:<a@[192.0.2.1]>", 0, NULL, "a@[192.0.2.1]" },
	{ "TO:<>", 0, RBAD, NULL },
	{ "TO:<postmaster2>", 0, RBAD, NULL },
	{ "TO:<postmaste>", 0, RBAD, NULL },
	{ "TO:<a>", 0, RBAD, NULL },
	{ "TO:<a@b.org.>", 0, RBAD, NULL },
	{ "TO:<\"a\"@>", 0, RBAD, NULL },
	/* Issue 8, point 18: quotes nothing needs go. */
	{ "TO:<\"alice\"@Example.Test>", 0, NULL, "alice@example.test" },
	{ "TO:<\"al ice\"@b.org>", 0, NULL, "\"al ice\"@b.org" },
	{ "TO:<@x.org>", 0, RBAD, NULL },
	{ "TO:<a@b.org> NOTIFY=NEVER", 0, RUNSUPP, NULL },
	{ "TO:<a@b.org> ORCPT=rfc822;a@b.org", 0, RUNSUPP, NULL },
	{ "TO:<a@b.org> ", 0, RSYNTAX, NULL },
	{ "TO:<a@b.org>  X", 0, RSYNTAX, NULL },
	{ "TO:<a@b.org>X", 0, RSYNTAX, NULL },
	{ "TO:a@b.org", 0, RSYNTAX, NULL },
	{ "TO:<a@b.org", 0, RSYNTAX, NULL },
	{ "TO:", 0, RSYNTAX, NULL },
	{ "", 0, RSYNTAX, NULL },
	{ "FROM:<a@b.org>", 0, RSYNTAX, NULL },
	{ "TO :<a@b.org>", 0, RSYNTAX, NULL },
	{ "TO:  <a@b.org>", 0, RSYNTAX, NULL },
};

static void
test_rcpt_table(void **state)
{
	struct smtp_path path;
	struct smtp_parse_error err;
	char label[96];
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < N(rcpt_cases); i++) {
		const struct rcpt_case *c = &rcpt_cases[i];
		int rc;

		snprintf(label, sizeof(label), "RCPT case %zu (%.50s) utf8=%d",
		    i, c->arg, c->utf8);
		memset(&path, 0xa5, sizeof(path));
		err.reply = NULL;
		rc = smtp_parse_rcpt(c->arg, c->utf8, &path, &err);
		failed += check_path(label, rc, &path, &err, c->want_reply,
		    c->want_addr, NULL);
	}
	assert_int_equal(failed, 0);
}

static void
test_rcpt_path_length(void **state)
{
	struct smtp_path path;
	struct smtp_parse_error err;
	char arg[300];

	(void)state;
	assert_int_equal(strlen(long_path_ok), 5 + 256);
	assert_int_equal(strlen(long_path_bad), 5 + 257);
	/* "TO:" + the 257-octet path from the MAIL case. */
	snprintf(arg, sizeof(arg), "TO:%s", long_path_bad + 5);
	assert_int_equal(smtp_parse_rcpt(arg, 0, &path, &err), -1);
	assert_string_equal(err.reply, TOOLONG);
	snprintf(arg, sizeof(arg), "TO:%s", long_path_ok + 5);
	assert_int_equal(smtp_parse_rcpt(arg, 0, &path, &err), 0);
}

/* Output is written only on success: a failed parse leaves it alone. */
static void
test_output_untouched_on_error(void **state)
{
	struct smtp_path path, before;
	struct smtp_parse_error err;

	(void)state;
	memset(&path, 0x5a, sizeof(path));
	before = path;
	assert_int_equal(smtp_parse_mail("FROM:<a@b.org> SIZE=x", &path, &err),
	    -1);
	assert_memory_equal(&path, &before, sizeof(path));
	assert_int_equal(smtp_parse_rcpt("TO:<a@@b>", 0, &path, &err), -1);
	assert_memory_equal(&path, &before, sizeof(path));
}

static void
test_auth_plain_split(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		int rc;
		const char *authzid, *login, *password;
	} sc[] = {
		{ "\0alice\0secret", 13, 0, "", "alice", "secret" },
		{ "alice\0alice\0secret", 18, 0, "alice", "alice", "secret" },
		{ "\0alice\0", 7, 0, "", "alice", "" },
		{ "\0\0secret", 8, -1, NULL, NULL, NULL },      /* no login */
		{ "alice\0secret", 12, -1, NULL, NULL, NULL },   /* one NUL */
		{ "alice", 5, -1, NULL, NULL, NULL },
		{ "", 0, -1, NULL, NULL, NULL },
		{ "\0", 1, -1, NULL, NULL, NULL },
		{ "\0alice", 6, -1, NULL, NULL, NULL },
		{ "\0alice\0sec\0ret", 14, -1, NULL, NULL, NULL }, /* extra NUL */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		char buf[64];
		const char *z = NULL, *l = NULL, *p = NULL;

		memcpy(buf, sc[i].in, sc[i].n);
		buf[sc[i].n] = '\0';
		int rc = smtp_auth_plain_split(buf, sc[i].n, &z, &l, &p);
		if (rc != sc[i].rc)
			fail_msg("case %zu: got %d, want %d", i, rc, sc[i].rc);
		if (rc == 0 && (strcmp(z, sc[i].authzid) != 0 ||
		    strcmp(l, sc[i].login) != 0 || strcmp(p, sc[i].password) != 0))
			fail_msg("case %zu: got \"%s\" \"%s\" \"%s\"", i, z, l, p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_parse_table),
		cmocka_unit_test(test_mail_table),
		cmocka_unit_test(test_rcpt_table),
		cmocka_unit_test(test_rcpt_path_length),
		cmocka_unit_test(test_output_untouched_on_error),
		cmocka_unit_test(test_auth_plain_split),
	};

	return cmocka_run_group_tests(tests, setup_paths, NULL);
}
