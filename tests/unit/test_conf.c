/*
 * Unit tests of the config: value parsers (durations, sizes, host:port),
 * the file format and its errors, the defaults, conf_print round trips,
 * and that docs/config.md lists every key of the table.  Config files are
 * written with mkstemp under /tmp and removed again.
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
#include <limits.h>

#include "conf/conf.h"
#include "conf/conf_table.h"
#include "net/hostport.h"
#include "util/log.h"

#define ERR_MAX 512

/* Writes len bytes of data to a new file under /tmp; path_r gets its name. */
static void
write_tmp(char path_r[64], const char *data, size_t len)
{
	int fd;

	snprintf(path_r, 64, "/tmp/tern-test-conf.XXXXXX");
	fd = mkstemp(path_r);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Loads text as a config file; err gets "file:line: ..." minus the file. */
static int
load_text(const char *text, size_t len, struct conf *c, char *err)
{
	char path[64], full[ERR_MAX];
	size_t plen;
	int rc;

	write_tmp(path, text, len);
	full[0] = '\0';
	rc = conf_load(c, path, full, sizeof(full));
	assert_int_equal(unlink(path), 0);
	plen = strlen(path);
	if (rc < 0 && strncmp(full, path, plen) != 0)
		fail_msg("error does not start with the file name: '%s'", full);
	snprintf(err, ERR_MAX, "%s", rc < 0 ? full + plen : "");
	return rc;
}

/* conf_print into a string the caller frees. */
static char *
print_conf(const struct conf *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	conf_print(c, f);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void
test_durations(void **state)
{
	static const struct {
		const char *in;
		int rc;
		unsigned want;
	} cases[] = {
		{ "30s", 0, 30 }, { "5m", 0, 300 }, { "2h", 0, 7200 },
		{ "1d", 0, 86400 }, { "300", 0, 300 }, { "0", 0, 0 },
		{ "4294967295", 0, 4294967295u },
		{ "4294967295s", 0, 4294967295u },
		{ "49710d", 0, 49710u * 86400 },
		{ "4294967296", -1, 0 }, { "49711d", -1, 0 },
		{ "99999999999999999999", -1, 0 },
		{ "", -1, 0 }, { "s", -1, 0 }, { "ten", -1, 0 },
		{ "5 m", -1, 0 }, { " 5m", -1, 0 }, { "5m ", -1, 0 },
		{ "-5", -1, 0 }, { "+5", -1, 0 }, { "5ms", -1, 0 },
		{ "5M", -1, 0 }, { "5w", -1, 0 }, { "1.5h", -1, 0 },
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned got = 12345;
		int rc = conf_parse_duration(cases[i].in, &got);

		if (rc != cases[i].rc || (rc == 0 && got != cases[i].want)) {
			print_error("duration '%s': got rc %d value %u, "
			    "want rc %d value %u\n", cases[i].in, rc, got,
			    cases[i].rc, cases[i].want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void
test_sizes(void **state)
{
	static const struct {
		const char *in;
		int rc;
		uint64_t want;
	} cases[] = {
		{ "0", 0, 0 }, { "100", 0, 100 }, { "10k", 0, 10240 },
		{ "10K", 0, 10240 }, { "50M", 0, 50ULL << 20 },
		{ "50m", 0, 50ULL << 20 }, { "1G", 0, 1ULL << 30 },
		{ "2g", 0, 2ULL << 30 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },
		{ "17179869183G", 0, 17179869183ULL << 30 },
		{ "17179869184G", -1, 0 },
		{ "", -1, 0 }, { "ten", -1, 0 }, { "M", -1, 0 },
		{ "10 k", -1, 0 },
		{ "10kb", -1, 0 }, { "10T", -1, 0 }, { "-1", -1, 0 },
		{ "1.5M", -1, 0 }, { "0x10", -1, 0 },
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t got = 12345;
		int rc = conf_parse_size(cases[i].in, &got);

		if (rc != cases[i].rc || (rc == 0 && got != cases[i].want)) {
			print_error("size '%s': got rc %d value %llu, "
			    "want rc %d value %llu\n", cases[i].in, rc,
			    (unsigned long long)got, cases[i].rc,
			    (unsigned long long)cases[i].want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void
test_hostport(void **state)
{
	static const struct {
		const char *in;
		const char *host;       /* NULL: must fail */
		unsigned port;
	} cases[] = {
		{ "127.0.0.1:2525", "127.0.0.1", 2525 },
		{ "[::1]:25", "::1", 25 },
		{ "0.0.0.0:25", "0.0.0.0", 25 },
		{ "*:25", "0.0.0.0", 25 },
		{ "[::]:587", "::", 587 },
		{ "[2001:db8::5]:65535", "2001:db8::5", 65535 },
		{ "127.0.0.1:1", "127.0.0.1", 1 },
		{ "127.0.0.1:0", NULL, 0 }, { "127.0.0.1:65536", NULL, 0 },
		{ "127.0.0.1:99999999999", NULL, 0 },
		{ "127.0.0.1:abc", NULL, 0 }, { "127.0.0.1:+25", NULL, 0 },
		{ "127.0.0.1: 25", NULL, 0 }, { "127.0.0.1:25 ", NULL, 0 },
		{ "127.0.0.1", NULL, 0 }, { "127.0.0.1:", NULL, 0 },
		{ "[::1]", NULL, 0 }, { "[::1]:", NULL, 0 },
		{ "[::1]25", NULL, 0 },
		{ "[::1:25", NULL, 0 }, { "::1:25", NULL, 0 },
		{ "[127.0.0.1]:25", NULL, 0 }, { "[]:25", NULL, 0 },
		{ "mx.example.org:25", NULL, 0 }, { "localhost:25", NULL, 0 },
		{ ":25", NULL, 0 }, { "", NULL, 0 },
		{ "256.0.0.1:25", NULL, 0 },
		{ "**:25", NULL, 0 }, { "[fe80::1%eth0]:25", NULL, 0 },
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[HOSTPORT_HOST_MAX] = "";
		const char *why = NULL;
		unsigned port = 0;
		int rc = hostport_parse(cases[i].in, host, &port, &why);

		if (cases[i].host == NULL && rc == 0) {
			print_error("hostport '%s': got %s port %u, want an "
			    "error\n", cases[i].in, host, port);
			failures++;
		} else if (cases[i].host == NULL && why == NULL) {
			print_error("hostport '%s': failed without a reason\n",
			    cases[i].in);
			failures++;
		} else if (cases[i].host != NULL && (rc != 0 ||
		    strcmp(host, cases[i].host) != 0 ||
		    port != cases[i].port)) {
			print_error("hostport '%s': got rc %d %s port %u (%s), "
			    "want %s port %u\n", cases[i].in, rc, host, port,
			    rc ? why : "", cases[i].host, cases[i].port);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void
test_hostport_reasons(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "127.0.0.1", "missing port" },
		{ "[::1]", "missing port" },
		{ "127.0.0.1:0", "port out of range 1..65535" },
		{ "127.0.0.1:abc", "port is not a number" },
		{ "mx.example.org:25",
		    "not an IP address (names are not looked up)" },
		{ "::1:25", "an IPv6 address needs brackets, e.g. [::1]:25" },
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[HOSTPORT_HOST_MAX];
		const char *why = "";
		unsigned port;

		if (hostport_parse(cases[i].in, host, &port, &why) == 0 ||
		    strcmp(why, cases[i].want) != 0) {
			print_error("hostport '%s': got '%s', want '%s'\n",
			    cases[i].in, why, cases[i].want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void
test_defaults(void **state)
{
	char err[ERR_MAX], host[HOST_NAME_MAX + 1] = "";
	struct conf c;

	(void)state;
	assert_int_equal(load_text("", 0, &c, err), 0);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(c.hostname, host[0] ? host : "localhost");
	assert_string_equal(c.state_dir, "/var/lib/tern");
	assert_string_equal(c.user, "tern");
	assert_string_equal(c.listen_smtp, "0.0.0.0:25");
	assert_true(c.max_message_size == 50ULL << 20);
	assert_int_equal(c.max_recipients, 1000);
	assert_int_equal(c.smtpd_timeout, 300);
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
	assert_non_null(c.path);
	conf_free(&c);
	assert_null(c.path);
	assert_null(c.hostname);
}

/* Every key has a name, help and a unique name; the table is all that
 * conf.c knows, so a gap here is a gap everywhere. */
static void
test_table(void **state)
{
	(void)state;
	assert_true(conf_nkeys > 0);
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		assert_true(k->name[0] != '\0');
		assert_true(k->help[0] != '\0');
		assert_true(strspn(k->name, "abcdefghijklmnopqrstuvwxyz_"
		    "0123456789") == strlen(k->name));
		assert_ptr_equal(conf_key_find(k->name), k);
		if (k->type == CONF_INT)
			assert_true((int64_t)k->min <= (int64_t)k->max);
		else
			assert_true(k->min <= k->max);
		assert_true(k->compute == NULL || k->def[0] == '\0');
	}
	assert_null(conf_key_find("no_such_key"));
}

static void
test_comments_whitespace(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "   # an indented comment\n"
	    "\tmax_recipients\t=\t42   # trailing comment\n"
	    "user=a#b\n"
	    "  state_dir   =   /srv/tern  \r\n"
	    "hostname = mx.example.org#1 # not part of it\n"
	    "listen_smtp = 127.0.0.1:2525, [::1]:2525\t*:26\n"
	    "max_message_size = 10k\n"
	    "smtpd_timeout = 2m\n"
	    "log_level = DEBUG";            /* no newline at the end */
	char err[ERR_MAX];
	struct conf c;

	(void)state;
	if (load_text(text, strlen(text), &c, err) < 0)
		fail_msg("got error '%s', want none", err);
	assert_int_equal(c.max_recipients, 42);
	assert_string_equal(c.user, "a#b");
	assert_string_equal(c.state_dir, "/srv/tern");
	assert_string_equal(c.hostname, "mx.example.org#1");
	assert_string_equal(c.listen_smtp, "127.0.0.1:2525, [::1]:2525\t*:26");
	assert_true(c.max_message_size == 10240);
	assert_int_equal(c.smtpd_timeout, 120);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	conf_free(&c);
}

static void
test_listen_empty_disables(void **state)
{
	char err[ERR_MAX];
	struct conf c;

	(void)state;
	assert_int_equal(load_text("listen_smtp =\n", 14, &c, err), 0);
	assert_string_equal(c.listen_smtp, "");
	conf_free(&c);
	assert_int_equal(load_text("listen_smtp = # off\n", 20, &c, err), 0);
	assert_string_equal(c.listen_smtp, "");
	conf_free(&c);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;       /* the error after the file name */
	} cases[] = {
		{ "max_recipient = 3\n", ":1: unknown key 'max_recipient'" },
		{ "# one\n\n# three\n\n\n\nmax_recipient = 3\n",
		    ":7: unknown key 'max_recipient'" },
		{ "Max_Recipients = 3\n", ":1: unknown key 'Max_Recipients'" },
		{ "ma\001x = 1\n", ":1: unknown key 'ma\\x01x'" },
		{ "\n\nmax_message_size = ten\n",
		    ":3: max_message_size: bad size 'ten' "
		    "(use e.g. 10k, 50M)" },
		{ "max_message_size = 99999999999999G\n",
		    ":1: max_message_size: bad size '99999999999999G' "
		    "(use e.g. 10k, 50M)" },
		{ "max_message_size = 100\n",
		    ":1: max_message_size: '100' is below the minimum 1K" },
		{ "\n\n\nhostname\n", ":4: line without '='" },
		{ "= 5\n", ":1: missing key before '='" },
		{ "user = a\n# x\nuser = b\n",
		    ":3: duplicate key 'user' (first set on line 1)" },
		{ "hostname =\n", ":1: hostname: may not be empty" },
		{ "state_dir = # nothing\n",
		    ":1: state_dir: may not be empty" },
		{ "max_recipients = 0\n",
		    ":1: max_recipients: '0' is below the minimum 1" },
		{ "\nscreen_dnsbl_sites = a.test, b.test=127.0.0.[3..2]\n",
		    ":2: screen_dnsbl_sites: bad filter '127.0.0.[3..2]' (use "
		    "e.g. 127.0.0.[2..11] or 127.0.[0..255].[1;2])" },
		{ "max_recipients = 100001\n",
		    ":1: max_recipients: '100001' is above the maximum "
		    "100000" },
		{ "max_recipients = 5k\n",
		    ":1: max_recipients: bad number '5k'" },
		{ "max_recipients = -1\n",
		    ":1: max_recipients: bad number '-1'" },
		{ "max_recipients = 4294967296\n",
		    ":1: max_recipients: bad number '4294967296'" },
		{ "smtpd_timeout = 0\n",
		    ":1: smtpd_timeout: '0' is below the minimum 1s" },
		{ "smtpd_timeout = 2h\n",
		    ":1: smtpd_timeout: '2h' is above the maximum 3600s" },
		{ "smtpd_timeout = 5 minutes\n",
		    ":1: smtpd_timeout: bad duration '5 minutes' "
		    "(use e.g. 30s, 5m, 2h, 1d)" },
		{ "log_level = loud\n", ":1: log_level: bad value 'loud' "
		    "(use debug, info, warn or error)" },
		{ "listen_smtp = 127.0.0.1\n",
		    ":1: listen_smtp: bad address '127.0.0.1': missing port" },
		{ "listen_smtp = 127.0.0.1:25, mx.example.org:25\n",
		    ":1: listen_smtp: bad address 'mx.example.org:25': "
		    "not an IP address (names are not looked up)" },
		{ "listen_smtp = [::1]:0\n",
		    ":1: listen_smtp: bad address '[::1]:0': "
		    "port out of range 1..65535" },
		{ "listen_smtp = , ,\n",
		    ":1: listen_smtp: no address in ', ,'" },
		{ "user = a\nlog_level = info\0\n", ":2: NUL byte in line" },
		{ "password_min_length = 257\n",
		    ":1: password_min_length: '257' is above the maximum 256" },
		{ "dns_servers = 127.0.0.1, 127.0.0.2, 127.0.0.3, 127.0.0.4, "
		    "127.0.0.5, 127.0.0.6, 127.0.0.7, 127.0.0.8, 127.0.0.9, "
		    "127.0.0.10, 127.0.0.11, 127.0.0.12, 127.0.0.13, "
		    "127.0.0.14, 127.0.0.15, 127.0.0.16, 127.0.0.17\n",
		    ":1: dns_servers: more than 16 servers" },
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *text = cases[i].text;
		size_t len = strlen(text);
		char err[ERR_MAX], shown[128];
		struct conf c;

		/* The NUL case: take the bytes past the NUL too. */
		if (strstr(cases[i].want, "NUL") != NULL)
			len += 1 + strlen(text + len + 1);
		log_escape(shown, sizeof(shown), text, len);
		if (load_text(text, len, &c, err) == 0) {
			print_error("'%s': loaded, want error '%s'\n", shown,
			    cases[i].want);
			conf_free(&c);
			failures++;
		} else if (strcmp(err, cases[i].want) != 0) {
			print_error("'%s': got error '%s', want '%s'\n", shown,
			    err, cases[i].want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void
test_line_length(void **state)
{
	char text[4200], err[ERR_MAX];
	struct conf c;
	size_t n;

	(void)state;
	/* A line of exactly 4096 bytes is fine, one byte more is not. */
	n = (size_t)snprintf(text, sizeof(text), "user = ");
	memset(text + n, 'a', 4096 - n);
	text[4096] = '\n';
	assert_int_equal(load_text(text, 4097, &c, err), 0);
	assert_int_equal(strlen(c.user), 4096 - n);
	conf_free(&c);
	assert_int_equal(load_text(text, 4096, &c, err), 0);
	conf_free(&c);

	memset(text + n, 'a', 4097 - n);
	text[4097] = '\n';
	assert_int_equal(load_text(text, 4098, &c, err), -1);
	assert_string_equal(err, ":1: line longer than 4096 bytes");
	assert_int_equal(load_text(text, 4097, &c, err), -1);
	assert_string_equal(err, ":1: line longer than 4096 bytes");
}

static void
test_missing_file(void **state)
{
	char err[ERR_MAX];
	struct conf c;

	(void)state;
	assert_int_equal(conf_load(&c, "/tmp/tern-no-such-dir/tern.conf",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp/tern-no-such-dir/tern.conf: "
	    "cannot open: No such file or directory");
	assert_null(c.path);
	assert_null(c.hostname);
}

/* A directory opens but cannot be read. */
static void
test_read_error(void **state)
{
	char err[ERR_MAX];
	struct conf c;

	(void)state;
	assert_int_equal(conf_load(&c, "/tmp", err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp: read error: Is a directory");
}

static void
test_print_defaults(void **state)
{
	static const char *const want[] = {
		"state_dir = /var/lib/tern\n", "user = tern\n",
		"listen_smtp = 0.0.0.0:25\n", "max_message_size = 50M\n",
		"max_recipients = 1000\n", "smtpd_timeout = 300s\n",
		"log_level = info\n",
	};
	char err[ERR_MAX];
	const char *prev;
	struct conf c;
	char *text;

	(void)state;
	assert_int_equal(load_text("", 0, &c, err), 0);
	text = print_conf(&c);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(text, want[i]) == NULL)
			fail_msg("got:\n%s\nwant a line '%s'", text, want[i]);
	/* Every key, in table order, each a line "key =" of its own. */
	prev = text;
	for (size_t i = 0; i < conf_nkeys; i++) {
		char line[128];
		const char *at;

		snprintf(line, sizeof(line), "%s%s =", i == 0 ? "" : "\n",
		    conf_keys[i].name);
		at = strstr(prev, line);
		if (at == NULL || (i == 0 && at != text))
			fail_msg("got:\n%s\nwant %s next", text,
			    conf_keys[i].name);
		prev = at;
	}
	free(text);
	conf_free(&c);
}

static void
test_print_sizes(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "1024", "1K" }, { "1536k", "1536K" }, { "2048K", "2M" },
		{ "1025", "1025" }, { "3G", "3G" }, { "4096M", "4G" },
		{ "1073741825", "1073741825" },
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[128], err[ERR_MAX], want[128];
		struct conf c;
		char *out;

		snprintf(text, sizeof(text), "max_message_size = %s\n",
		    cases[i].in);
		snprintf(want, sizeof(want), "max_message_size = %s\n",
		    cases[i].want);
		assert_int_equal(load_text(text, strlen(text), &c, err), 0);
		out = print_conf(&c);
		if (strstr(out, want) == NULL) {
			print_error("size %s: got\n%swant a line %s",
			    cases[i].in, out, want);
			failures++;
		}
		free(out);
		conf_free(&c);
	}
	assert_int_equal(failures, 0);
}

/* Printing, then loading what was printed, prints the same again. */
static void
test_print_round_trip(void **state)
{
	static const char *const texts[] = {
		"",
		"hostname = mx.example.org\nstate_dir = /srv/tern\n"
		"user = mail\n"
		"listen_smtp = 127.0.0.1:2525, [::1]:2525\n"
		"max_message_size = 1536k\nmax_recipients = 7\n"
		"smtpd_timeout = 1h\nlog_level = warn\n",
		"listen_smtp =\nmax_message_size = 1025\nsmtpd_timeout = 90\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char err[ERR_MAX];
		struct conf c1, c2;
		char *out1, *out2;

		assert_int_equal(load_text(texts[i], strlen(texts[i]), &c1,
		    err), 0);
		out1 = print_conf(&c1);
		if (load_text(out1, strlen(out1), &c2, err) < 0)
			fail_msg("printed:\n%s\ndoes not load: %s", out1, err);
		out2 = print_conf(&c2);
		if (strcmp(out1, out2) != 0)
			fail_msg("got:\n%s\nwant:\n%s", out2, out1);
		free(out1);
		free(out2);
		conf_free(&c1);
		conf_free(&c2);
	}
}

/* Signed settings (CONF_INT): a sign, bounds below zero, and the errors
 * naming the signed bound. */
static void
test_signed(void **state)
{
	static const struct {
		const char *text;
		int rc;
		int threshold, allow;
		const char *want;
	} cases[] = {
		{ "", 0, 1, 0, "" },
		{ "screen_dnsbl_allowlist_threshold = -1\n", 0, 1, -1, "" },
		{ "screen_dnsbl_allowlist_threshold = +0\n"
		    "screen_dnsbl_threshold = 7\n", 0, 7, 0, "" },
		{ "screen_dnsbl_allowlist_threshold = -32000\n", 0, 1, -32000,
		    "" },
		{ "screen_dnsbl_allowlist_threshold = -32001\n", -1, 0, 0,
		    ":1: screen_dnsbl_allowlist_threshold: '-32001' is below "
		    "the minimum -32000" },
		{ "screen_dnsbl_allowlist_threshold = 1\n", -1, 0, 0,
		    ":1: screen_dnsbl_allowlist_threshold: '1' is above the "
		    "maximum 0" },
		{ "screen_dnsbl_threshold = 0\n", -1, 0, 0,
		    ":1: screen_dnsbl_threshold: '0' is below the minimum 1" },
		{ "screen_dnsbl_threshold = -\n", -1, 0, 0,
		    ":1: screen_dnsbl_threshold: bad number '-'" },
		{ "screen_dnsbl_threshold = 1x\n", -1, 0, 0,
		    ":1: screen_dnsbl_threshold: bad number '1x'" },
		{ "screen_dnsbl_threshold = --1\n", -1, 0, 0,
		    ":1: screen_dnsbl_threshold: bad number '--1'" },
		{ "screen_dnsbl_allowlist_threshold = -99999999999999999999\n",
		    -1, 0, 0, ":1: screen_dnsbl_allowlist_threshold: bad "
		    "number '-99999999999999999999'" },
		{ "screen_dnsbl_allowlist_threshold = -2147483648\n", -1, 0, 0,
		    ":1: screen_dnsbl_allowlist_threshold: bad number "
		    "'-2147483648'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[ERR_MAX];
		struct conf c;
		int rc = load_text(cases[i].text, strlen(cases[i].text), &c,
		    err);

		if (rc != cases[i].rc || strcmp(err, cases[i].want) != 0)
			fail_msg("'%s': got %d '%s', want %d '%s'",
			    cases[i].text, rc, err, cases[i].rc, cases[i].want);
		if (rc == 0) {
			char *out = print_conf(&c);
			char line[128];

			assert_int_equal(c.screen_dnsbl_threshold,
			    cases[i].threshold);
			assert_int_equal(c.screen_dnsbl_allowlist_threshold,
			    cases[i].allow);
			snprintf(line, sizeof(line), "\nscreen_dnsbl_allowlist_"
			    "threshold = %d\n", cases[i].allow);
			assert_non_null(strstr(out, line));
			free(out);
			conf_free(&c);
		}
	}
}

/* A KEY_STRESS row: its second value has a default, its own key
 * (NAME_stress), the same bounds, and conf_now() reads it in stress mode. */
static void
test_stress_values(void **state)
{
	static const char text[] =
	    "smtpd_timeout = 60s\n"
	    "smtpd_timeout_stress = 2s\n"
	    "smtpd_hard_error_limit = 7\n";
	char err[ERR_MAX];
	struct conf c;
	char *out;

	(void)state;
	assert_int_equal(load_text("", 0, &c, err), 0);
	assert_int_equal(c.smtpd_timeout, 300);
	assert_int_equal(c.smtpd_timeout_stress, 10);
	assert_int_equal(c.smtpd_starttls_timeout, 300);
	assert_int_equal(c.smtpd_starttls_timeout_stress, 10);
	assert_int_equal(c.smtpd_hard_error_limit, 20);
	assert_int_equal(c.smtpd_hard_error_limit_stress, 1);
	assert_int_equal(c.smtpd_junk_command_limit, 100);
	assert_int_equal(c.smtpd_junk_command_limit_stress, 1);
	assert_int_equal(c.max_sessions, 4096);
	assert_int_equal(c.stress, CONF_STRESS_AUTO);
	assert_int_equal(c.stress_high_water, 80);
	assert_int_equal(c.stress_low_water, 60);
	assert_int_equal(c.stress_hold_time, 60);
	conf_free(&c);

	if (load_text(text, strlen(text), &c, err) < 0)
		fail_msg("got error '%s', want none", err);
	assert_int_equal(c.smtpd_timeout, 60);
	assert_int_equal(c.smtpd_timeout_stress, 2);
	assert_int_equal(c.smtpd_hard_error_limit_stress, 1);
	assert_false(conf_stress_active());
	assert_int_equal(conf_now(&c, smtpd_timeout), 60);
	assert_int_equal(conf_now(&c, smtpd_hard_error_limit), 7);
	conf_stress_set(1);
	assert_int_equal(conf_now(&c, smtpd_timeout), 2);
	assert_int_equal(conf_now(&c, smtpd_hard_error_limit), 1);
	conf_stress_set(0);
	assert_int_equal(conf_now(&c, smtpd_timeout), 60);
	/* Both printed, the stress value right after its setting. */
	out = print_conf(&c);
	if (strstr(out, "\nsmtpd_timeout = 60s\nsmtpd_timeout_stress = 2s\n")
	    == NULL)
		fail_msg("got:\n%s\nwant smtpd_timeout and its stress value",
		    out);
	if (strstr(out, "\nsmtpd_hard_error_limit = 7\n"
	    "smtpd_hard_error_limit_stress = 1\n") == NULL)
		fail_msg("got:\n%s\nwant the error limit's two values", out);
	assert_null(strstr(out, "max_recipients_stress"));
	free(out);
	conf_free(&c);
}

static void
test_stress_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "smtpd_timeout_stress = 0\n",
		    ":1: smtpd_timeout_stress: '0' is below the minimum 1s" },
		{ "smtpd_timeout_stress = 2h\n",
		    ":1: smtpd_timeout_stress: '2h' is above the maximum 3600s" },
		{ "smtpd_timeout_stress = soon\n",
		    ":1: smtpd_timeout_stress: bad duration 'soon' "
		    "(use e.g. 30s, 5m, 2h, 1d)" },
		{ "smtpd_timeout_stress = 5s\nsmtpd_timeout_stress = 6s\n",
		    ":2: duplicate key 'smtpd_timeout_stress' "
		    "(first set on line 1)" },
		/* A setting without a stress value has no such key. */
		{ "max_recipients_stress = 5\n",
		    ":1: unknown key 'max_recipients_stress'" },
		{ "_stress = 5\n", ":1: unknown key '_stress'" },
		{ "stress = maybe\n",
		    ":1: stress: bad value 'maybe' (use auto, on or off)" },
		{ "max_sessions = 65537\n",
		    ":1: max_sessions: '65537' is above the maximum 65536" },
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[ERR_MAX];
		struct conf c;

		if (load_text(cases[i].text, strlen(cases[i].text), &c,
		    err) == 0) {
			print_error("'%s': loaded, want '%s'\n", cases[i].text,
			    cases[i].want);
			conf_free(&c);
			failures++;
		} else if (strcmp(err, cases[i].want) != 0) {
			print_error("'%s': got '%s', want '%s'\n",
			    cases[i].text, err, cases[i].want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* A setting and its stress value are both given and may differ. */
static void
test_stress_same_key_twice_ok(void **state)
{
	static const char text[] =
	    "smtpd_junk_command_limit_stress = 3\n"
	    "smtpd_junk_command_limit = 3\n"
	    "stress = ON\n";
	char err[ERR_MAX];
	struct conf c;

	(void)state;
	if (load_text(text, strlen(text), &c, err) < 0)
		fail_msg("got error '%s', want none", err);
	assert_int_equal(c.smtpd_junk_command_limit, 3);
	assert_int_equal(c.smtpd_junk_command_limit_stress, 3);
	assert_int_equal(c.stress, CONF_STRESS_ON);
	conf_free(&c);
}

/* docs/config.md has a row "| `key` | `default` |" for every key (found
 * from the top of the tree, where make runs the tests). */
static void
test_docs_list_every_key(void **state)
{
	char line[1024], row[256], def[256];
	FILE *f = fopen("docs/config.md", "r");

	(void)state;
	if (f == NULL)
		skip();
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		int found = 0;

		snprintf(row, sizeof(row), "| `%s` | ", k->name);
		/* An empty default reads "empty" in the table. */
		if (k->def[0] == '\0' && k->compute == NULL)
			snprintf(def, sizeof(def), "empty");
		else
			snprintf(def, sizeof(def), "`%s`", k->def);
		rewind(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, row, strlen(row)) != 0)
				continue;
			found = 1;
			if (k->compute == NULL &&
			    strncmp(line + strlen(row), def, strlen(def)) != 0)
				fail_msg("docs/config.md: %s: got '%s', want "
				    "default %s", k->name, line, def);
			/* "`300s`; stress `10s` (`smtpd_timeout_stress`)" */
			snprintf(def, sizeof(def), "stress `%s` (`%s%s`)",
			    k->stress_def ? k->stress_def : "",
			    k->name, CONF_STRESS_SUFFIX);
			if (k->stress_def != NULL && strstr(line, def) == NULL)
				fail_msg("docs/config.md: %s: got '%s', want "
				    "%s", k->name, line, def);
		}
		if (!found)
			fail_msg("docs/config.md: no row for %s", k->name);
	}
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_hostport_reasons),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_comments_whitespace),
		cmocka_unit_test(test_listen_empty_disables),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_print_defaults),
		cmocka_unit_test(test_print_sizes),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_docs_list_every_key),
		cmocka_unit_test(test_stress_values),
		cmocka_unit_test(test_stress_errors),
		cmocka_unit_test(test_stress_same_key_twice_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
