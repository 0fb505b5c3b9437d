/*
 * Unit tests of Dovecot's generated configuration (mailbox/dovecot_conf.c)
 * and of its version check (dovecot_version.c): the lines each setting
 * gives, a disabled listener, a short base_dir for a long state_dir, and
 * paths Dovecot's syntax would misread refused.  Config files are written
 * with mkstemp under /tmp and removed again.
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

#include "conf/conf.h"
#include "mailbox/dovecot.h"

static void
load(const char *text, struct conf *c)
{
	char path[64], err[512];
	int fd;

	snprintf(path, sizeof(path), "/tmp/tern-test-dovecot.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	if (conf_load(c, path, err, sizeof(err)) < 0)
		fail_msg("conf_load: %s", err);
	assert_int_equal(unlink(path), 0);
}

/* The generated text for a config; NULL with err when refused. */
static char *
text_of(const char *conf_text, struct dovecot_paths *p, char *err, size_t errlen)
{
	struct conf c;
	char *text;
	size_t len;

	/* user is the current one: as root privsep_ids looks it up. */
	load(conf_text, &c);
	if (dovecot_paths_init(&c, p, err, errlen) < 0)
		fail_msg("dovecot_paths_init: %s", err);
	if (dovecot_conf_text(&c, p, &text, &len, err, errlen) < 0)
		text = NULL;
	else
		assert_int_equal(strlen(text), len);
	conf_free(&c);
	return text;
}

static void
want_line(const char *text, const char *line)
{
	const char *at = strstr(text, line);

	if (at == NULL || (at != text && at[-1] != '\n') ||
	    (at[strlen(line)] != '\n'))
		fail_msg("line '%s' missing from:\n%s", line, text);
}

static const char *const base =
    "state_dir = /var/lib/tern-unit\nuser = root\n";

static void
test_settings_become_lines(void **state)
{
	struct dovecot_paths p;
	char err[512], conf_text[1024], *text;

	(void)state;
	snprintf(conf_text, sizeof(conf_text), "%slisten_imap = 127.0.0.1:1143\n"
	    "listen_imaps = 127.0.0.1:1993, [::1]:1993\nlisten_pop3 =\n"
	    "listen_pop3s = 127.0.0.1:1995\nmailbox_max_connections = 7\n"
	    "dovecot_extra_config = /etc/tern/dovecot-extra.conf\n", base);
	text = text_of(conf_text, &p, err, sizeof(err));
	assert_non_null(text);
	assert_true(strncmp(text, "# Written by tern serve", 23) == 0);
	want_line(text, "protocols = imap pop3");
	want_line(text, "  inet_listener imap {");
	want_line(text, "    address = 127.0.0.1");
	want_line(text, "    port = 1143");
	want_line(text, "  inet_listener imaps_2 {");
	want_line(text, "    address = ::1");
	want_line(text, "    ssl = yes");
	/* listen_pop3 empty: Dovecot's built-in pop3 listener is off. */
	assert_non_null(strstr(text, "  inet_listener pop3 {\n    port = 0\n  }\n"));
	want_line(text, "ssl_min_protocol = TLSv1.2");
	want_line(text, "disable_plaintext_auth = yes");
	want_line(text, "ssl_cert = </var/lib/tern-unit/tls/cert.pem");
	want_line(text, "auth_username_format = %u");
	want_line(text, "pop3_uidl_format = %08Xu%08Xv");
	want_line(text, "  mail_max_userip_connections = 7");
	want_line(text, "mail_location = maildir:~");
	want_line(text, "    special_use = \\Archive");
	want_line(text, "  driver = lua");
	want_line(text, "  args = file=/var/lib/tern-unit/dovecot/auth.lua blocking=yes");
	want_line(text, "auth_worker_max_count = 128");
	/* The postmaster's lines come last. */
	assert_non_null(strstr(text, "\n!include_try /etc/tern/dovecot-extra.conf\n"));
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_null(strstr(strstr(text, "!include_try"), "service"));
	free(text);
}

static void
test_pop3_off_when_both_empty(void **state)
{
	struct dovecot_paths p;
	char err[512], conf_text[512], *text;

	(void)state;
	snprintf(conf_text, sizeof(conf_text), "%slisten_pop3 =\nlisten_pop3s =\n", base);
	text = text_of(conf_text, &p, err, sizeof(err));
	assert_non_null(text);
	want_line(text, "protocols = imap");
	free(text);
}

static void
test_base_dir_short_for_long_state_dir(void **state)
{
	struct dovecot_paths p, q;
	char err[512], conf_text[1024], *text;
	char longdir[300];

	(void)state;
	memset(longdir, 'd', sizeof(longdir));
	memcpy(longdir, "/tmp/", 5);
	longdir[sizeof(longdir) - 1] = '\0';
	snprintf(conf_text, sizeof(conf_text), "state_dir = %s\n", longdir);
	text = text_of(conf_text, &p, err, sizeof(err));
	assert_non_null(text);
	assert_true(strlen(p.base_dir) <= DOVECOT_BASE_DIR_MAX);
	free(text);
	/* Another state_dir, another base_dir. */
	longdir[10] = 'e';
	snprintf(conf_text, sizeof(conf_text), "state_dir = %s\n", longdir);
	text = text_of(conf_text, &q, err, sizeof(err));
	assert_non_null(text);
	assert_string_not_equal(p.base_dir, q.base_dir);
	free(text);
}

static void
test_misread_paths_refused(void **state)
{
	static const char *const bad[] = {
		"dovecot_extra_config = /etc/tern/my extra.conf\n",
		"dovecot_extra_config = /etc/tern/%u.conf\n",
		"tls_cert = /etc/ssl/$cert.pem\ntls_key = /etc/ssl/key.pem\n",
	};
	struct dovecot_paths p;
	char err[512], conf_text[512], *text;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(conf_text, sizeof(conf_text), "%s%s", base, bad[i]);
		text = text_of(conf_text, &p, err, sizeof(err));
		if (text != NULL)
			fail_msg("%s: accepted", bad[i]);
		assert_non_null(strstr(err, "cannot be written"));
	}
}

static void
test_version_parse(void **state)
{
	unsigned major, minor;

	(void)state;
	assert_int_equal(dovecot_version_parse("2.3.19.1 (9b53102964)\n",
	    &major, &minor), 0);
	assert_int_equal(major, 2);
	assert_int_equal(minor, 3);
	assert_int_equal(dovecot_version_parse("2.4.1-4 (7d8c0e5759)", &major,
	    &minor), 0);
	assert_int_equal(minor, 4);
	assert_int_equal(dovecot_version_parse("dovecot 2.3", &major, &minor), -1);
	assert_int_equal(dovecot_version_parse("2", &major, &minor), -1);
	assert_int_equal(dovecot_version_parse("", &major, &minor), -1);
}

static void
test_version_check_refuses_missing(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(dovecot_version_check("/nonexistent/dovecot", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "mailbox_server = none"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_become_lines),
		cmocka_unit_test(test_pop3_off_when_both_empty),
		cmocka_unit_test(test_base_dir_short_for_long_state_dir),
		cmocka_unit_test(test_misread_paths_refused),
		cmocka_unit_test(test_version_parse),
		cmocka_unit_test(test_version_check_refuses_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
