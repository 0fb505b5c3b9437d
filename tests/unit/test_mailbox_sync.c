/*
 * Unit tests for mailbox/imap_url.c, mailbox/sync_list.c and the
 * configuration mailbox/mbsync.c writes: table-driven, each case names
 * what it checks, failures print got and want.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox/imap_url.h"
#include "mailbox/mbsync.h"
#include "mailbox/subscriptions.h"
#include "mailbox/sync_list.h"

struct url_case {
	const char *in;
	int want_rc;
	const char *want_host;
	unsigned want_port;
};

static const struct url_case url_cases[] = {
	{ "imaps://mail.example.org", 0, "mail.example.org", 993 },
	{ "imaps://mail.example.org/", 0, "mail.example.org", 993 },
	{ "imaps://localhost:10993", 0, "localhost", 10993 },
	{ "imaps://127.0.0.1:1", 0, "127.0.0.1", 1 },
	{ "imaps://[::1]:993", 0, "::1", 993 },
	{ "imaps://[2001:db8::1]", 0, "2001:db8::1", 993 },
	{ "imaps://a_b-c.example:65535/", 0, "a_b-c.example", 65535 },
	/* Another scheme: plain IMAP is not offered. */
	{ "imap://mail.example.org", -1, NULL, 0 },
	{ "IMAPS://mail.example.org", -1, NULL, 0 },
	{ "mail.example.org", -1, NULL, 0 },
	/* Host: empty, or bytes that would change mbsync's config. */
	{ "imaps://", -1, NULL, 0 },
	{ "imaps://:993", -1, NULL, 0 },
	{ "imaps://mail\".example", -1, NULL, 0 },
	{ "imaps://mail example", -1, NULL, 0 },
	{ "imaps://mail\n.example", -1, NULL, 0 },
	{ "imaps://user@mail.example", -1, NULL, 0 },
	{ "imaps://[::1", -1, NULL, 0 },
	{ "imaps://[mail.example]", -1, NULL, 0 },
	{ "imaps://[::g]", -1, NULL, 0 },
	/* Port: digits, 1..65535. */
	{ "imaps://mail.example:0", -1, NULL, 0 },
	{ "imaps://mail.example:65536", -1, NULL, 0 },
	{ "imaps://mail.example:", -1, NULL, 0 },
	{ "imaps://mail.example:99x", -1, NULL, 0 },
	{ "imaps://mail.example:-1", -1, NULL, 0 },
	{ "imaps://mail.example:0000993", -1, NULL, 0 },
	/* A path or query is not a source. */
	{ "imaps://mail.example/INBOX", -1, NULL, 0 },
	{ "imaps://mail.example:993/INBOX", -1, NULL, 0 },
	{ "imaps://mail.example?x", -1, NULL, 0 },
};

static void
test_imap_url_table(void **state)
{
	char long_host[300], err[256];
	struct imap_url u;
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *c = &url_cases[i];
		int rc = imap_url_parse(c->in, &u, err, sizeof(err));

		if (rc != c->want_rc || (rc == 0 &&
		    (strcmp(u.host, c->want_host) != 0 ||
		    u.port != c->want_port))) {
			print_error("url \"%s\": got %d %s:%u, want %d %s:%u\n",
			    c->in, rc, rc == 0 ? u.host : "-", u.port,
			    c->want_rc, c->want_host ? c->want_host : "-",
			    c->want_port);
			failed++;
		}
		if (rc < 0 && strstr(err, "bad URL") == NULL) {
			print_error("url \"%s\": error \"%s\"\n", c->in, err);
			failed++;
		}
	}
	/* 253 bytes of host fit, 254 do not. */
	memcpy(long_host, "imaps://", 8);
	memset(long_host + 8, 'a', 253);
	long_host[8 + 253] = '\0';
	assert_int_equal(imap_url_parse(long_host, &u, err, sizeof(err)), 0);
	long_host[8 + 253] = 'a';
	long_host[8 + 254] = '\0';
	assert_int_equal(imap_url_parse(long_host, &u, err, sizeof(err)), -1);
	assert_int_equal(failed, 0);
}

struct line_case {
	const char *in;
	int want_rc;
	const char *want[3];
};

static const struct line_case line_cases[] = {
	{ "alice@example.org alice /root/pw/alice", 1,
	    { "alice@example.org", "alice", "/root/pw/alice" } },
	{ "  a\tb \t c  ", 1, { "a", "b", "c" } },
	{ "a b c\r", 1, { "a", "b", "c" } },
	{ "a b c # moved on Monday", 1, { "a", "b", "c" } },
	{ "a b c#d", 1, { "a", "b", "c#d" } },
	{ "", 0, { NULL, NULL, NULL } },
	{ "   \t ", 0, { NULL, NULL, NULL } },
	{ "# a b c", 0, { NULL, NULL, NULL } },
	{ "   # comment", 0, { NULL, NULL, NULL } },
	{ "a b", -1, { NULL, NULL, NULL } },
	{ "a", -1, { NULL, NULL, NULL } },
	{ "a b c d", -1, { NULL, NULL, NULL } },
	{ "a b # c", -1, { NULL, NULL, NULL } },
};

static void
test_sync_list_lines(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];
		char line[128], *w[3] = { NULL, NULL, NULL };
		int rc;

		snprintf(line, sizeof(line), "%s", c->in);
		rc = sync_list_parse_line(line, w);
		if (rc != c->want_rc) {
			print_error("line \"%s\": got %d, want %d\n", c->in, rc,
			    c->want_rc);
			failed++;
			continue;
		}
		for (int k = 0; rc == 1 && k < 3; k++) {
			if (strcmp(w[k], c->want[k]) != 0) {
				print_error("line \"%s\" word %d: got \"%s\", "
				    "want \"%s\"\n", c->in, k, w[k], c->want[k]);
				failed++;
			}
		}
	}
	assert_int_equal(failed, 0);
}

static void
test_mbsync_config(void **state)
{
	struct mbsync_job job = {
		.host = "mail.example.org", .port = 993, .user = "Old \"User\"",
		.password = "p\\a\"ss word", .ca_file = NULL,
		.maildir = "/var/lib/tern/mail/example.org/alice",
		.state = "/var/lib/tern/sync/alice",
	};
	char out[8192];

	(void)state;
	assert_int_equal(mbsync_config(&job, out, sizeof(out)), 0);
	/* Values quoted, '"' and '\' escaped: the way mbsync reads them. */
	assert_non_null(strstr(out, "\nUser \"Old \\\"User\\\"\"\n"));
	assert_non_null(strstr(out, "\nPass \"p\\\\a\\\"ss word\"\n"));
	assert_non_null(strstr(out,
	    "\nInbox \"/var/lib/tern/mail/example.org/alice\"\n"));
	assert_non_null(strstr(out, "\nSyncState \"/var/lib/tern/sync/alice/\"\n"));
	/* Pull only; certificate checked (no CertificateFile without one). */
	assert_non_null(strstr(out, "\nSync Pull New Flags\n"));
	assert_non_null(strstr(out, "\nSSLType IMAPS\n"));
	assert_null(strstr(out, "CertificateFile"));
	assert_null(strstr(out, "Push"));
	job.ca_file = "/etc/old-ca.pem";
	assert_int_equal(mbsync_config(&job, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\nCertificateFile \"/etc/old-ca.pem\"\n"));
	/* A control byte would end the line: refused, anywhere. */
	job.password = "pass\nChannel evil";
	assert_int_equal(mbsync_config(&job, out, sizeof(out)), -1);
	job.password = "ok";
	job.user = "a\rb";
	assert_int_equal(mbsync_config(&job, out, sizeof(out)), -1);
	job.user = "a";
	job.maildir = "/x\x7f";
	assert_int_equal(mbsync_config(&job, out, sizeof(out)), -1);
	/* Too small a buffer is an error, not a cut. */
	job.maildir = "/x";
	assert_int_equal(mbsync_config(&job, out, 100), -1);
}

static void
read_file(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void
test_subscriptions(void **state)
{
	char dir[] = "/tmp/tern-subs-XXXXXX", path[256], got[512], err[256];
	const char *first[] = { "Work", "Work\tSub" };
	const char *second[] = { "Work", "Later", "bad\nname", "Sent" };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/subscriptions", dir);
	/* No list yet: one is written, version 2. */
	assert_int_equal(subs_add(dir, first, 2, err, sizeof(err)), 0);
	read_file(path, got, sizeof(got));
	assert_string_equal(got, "V\t2\n\nWork\nWork\tSub\n");
	/* Dovecot's own lines stay; a name there is not added twice; a
	 * control byte is not taken. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("V\t2\n\nSent\nWork\n", f);
	fclose(f);
	assert_int_equal(subs_add(dir, second, 4, err, sizeof(err)), 0);
	read_file(path, got, sizeof(got));
	assert_string_equal(got, "V\t2\n\nSent\nWork\nLater\n");
	/* A version 1 list (bare names) becomes version 2. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("Sent\n", f);
	fclose(f);
	assert_int_equal(subs_add(dir, first, 1, err, sizeof(err)), 0);
	read_file(path, got, sizeof(got));
	assert_string_equal(got, "V\t2\n\nSent\nWork\n");
	snprintf(got, sizeof(got), "%s/subscriptions.lock", dir);
	assert_int_equal(access(got, F_OK), -1);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imap_url_table),
		cmocka_unit_test(test_sync_list_lines),
		cmocka_unit_test(test_mbsync_config),
		cmocka_unit_test(test_subscriptions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
