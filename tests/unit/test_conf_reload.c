/*
 * Unit tests of conf_keep_restart_only (conf_reload.c): a reload keeps the
 * running value of every setting only a restart can change, names each one
 * that changed, and takes every other setting from the file.  Config files
 * are written with mkstemp under /tmp and removed again.
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
#include "conf/conf_table.h"

static void
load(const char *text, struct conf *c)
{
	char path[64], err[512];
	int fd;

	snprintf(path, sizeof(path), "/tmp/tern-test-reload.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	if (conf_load(c, path, err, sizeof(err)) < 0)
		fail_msg("conf_load: %s", err);
	assert_int_equal(unlink(path), 0);
}

struct seen {
	char names[512];
	size_t n;
};

static void
record(const char *name, const char *running, const char *file, void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(s->names);

	snprintf(s->names + len, sizeof(s->names) - len, "%s%s=%s>%s",
	    s->n++ ? " " : "", name, running, file);
}

/* Every name in the list is a text, number or word setting of the table
 * (conf_reload.c calls bug() otherwise, at the first reload). */
static const char *const restart_only_known[] = {
	"state_dir", "user", "listen_smtp", "max_sessions", "mailbox_server",
	"smtpd_milters", "submission_milters", "smtpd_policy_services",
	"submission_policy_services", "filters", "metrics_listen",
	"log_file_size",
};

static void
test_names_are_settings(void **state)
{
	(void)state;
	size_t i;

	for (i = 0; conf_restart_only_name(i) != NULL; i++) {
		const struct conf_key *k = conf_key_find(conf_restart_only_name(i));
		if (k == NULL)
			fail_msg("restart-only %s: not in the table",
			    conf_restart_only_name(i));
		assert_true(k->type == CONF_STRING || k->type == CONF_LISTEN ||
		    k->type == CONF_TEXT || k->type == CONF_UINT ||
		    k->type == CONF_SIZE || k->type == CONF_ENUM);
	}
	/* Not a count, which every new restart-only setting would change:
	 * settings known to need a restart are in the list. */
	for (size_t w = 0; w < sizeof(restart_only_known) /
	    sizeof(restart_only_known[0]); w++) {
		size_t j;
		for (j = 0; j < i; j++)
			if (strcmp(conf_restart_only_name(j),
			    restart_only_known[w]) == 0)
				break;
		if (j == i)
			fail_msg("%s should be restart-only",
			    restart_only_known[w]);
	}
}

static void
test_changed_are_kept_and_named(void **state)
{
	struct conf running, fresh;
	struct seen seen = { "", 0 };

	(void)state;
	load("listen_smtp = 127.0.0.1:2525\nmax_recipients = 3\n"
	    "tls_cert = /a.pem\ntls_key = /a.key\nlisten_submission =\n",
	    &running);
	load("listen_smtp = 127.0.0.1:2626\nmax_recipients = 2\n"
	    "tls_cert = /b.pem\ntls_key = /a.key\nlisten_submission =\n"
	    "dns_servers = 127.0.0.1:53\nmax_sessions = 10\n"
	    "smtpd_timeout_stress = 5s\nlog_file_size = 1M\n", &fresh);
	assert_int_equal(conf_keep_restart_only(&fresh, &running, record, &seen), 5);
	assert_string_equal(seen.names,
	    "listen_smtp=127.0.0.1:2525>127.0.0.1:2626 "
	    "tls_cert=/a.pem>/b.pem dns_servers=>127.0.0.1:53 "
	    "max_sessions=4096>10 log_file_size=104857600>1048576");
	/* max_sessions sized smtpd's table: the running one stays. */
	assert_int_equal(fresh.max_sessions, 4096);
	/* The logger took its size at its start. */
	assert_true(fresh.log_file_size == 100 * 1024 * 1024);
	/* A stress value may change while running. */
	assert_int_equal(fresh.smtpd_timeout_stress, 5);
	/* fresh, which replaces running, holds the running values... */
	assert_string_equal(fresh.listen_smtp, "127.0.0.1:2525");
	assert_string_equal(fresh.tls_cert, "/a.pem");
	assert_string_equal(fresh.dns_servers, "");
	assert_string_equal(fresh.tls_key, "/a.key");
	/* ...and every other setting from the file. */
	assert_int_equal(fresh.max_recipients, 2);
	/* Each frees what it holds (ASan: nothing twice, nothing lost). */
	conf_free(&running);
	conf_free(&fresh);
}

static void
test_nothing_changed(void **state)
{
	struct conf running, fresh;

	(void)state;
	load("hostname = a.test\n", &running);
	load("hostname = b.test\n", &fresh);
	assert_int_equal(conf_keep_restart_only(&fresh, &running, NULL, NULL), 0);
	assert_string_equal(fresh.hostname, "b.test");
	conf_free(&running);
	conf_free(&fresh);
}

/* Dovecot's settings were written into its config at start: kept, and a
 * word is named by its word. */
static void
test_mailbox_settings_kept(void **state)
{
	struct conf running, fresh;
	struct seen seen = { "", 0 };

	(void)state;
	load("mailbox_server = none\n", &running);
	load("mailbox_server = dovecot\nlisten_imap = 127.0.0.1:1143\n"
	    "mailbox_max_connections = 5\n", &fresh);
	assert_int_equal(conf_keep_restart_only(&fresh, &running, record, &seen), 3);
	assert_string_equal(seen.names, "mailbox_server=none>dovecot "
	    "listen_imap=0.0.0.0:143>127.0.0.1:1143 "
	    "mailbox_max_connections=20>5");
	assert_int_equal(fresh.mailbox_server, CONF_MAILBOX_NONE);
	assert_string_equal(fresh.listen_imap, "0.0.0.0:143");
	assert_int_equal(fresh.mailbox_max_connections, 20);
	conf_free(&running);
	conf_free(&fresh);
}

/* master started the filters of the file it read first: a reload keeps
 * them, so that smtpd and master agree on which filter is which. */
static void
test_filters_kept(void **state)
{
	struct conf running, fresh;
	struct seen seen = { "", 0 };

	(void)state;
	load("filters = a /bin/cat\nfilter_timeout = 5s\n", &running);
	load("filters = b /bin/cat\nfilter_timeout = 7s\n", &fresh);
	assert_int_equal(conf_keep_restart_only(&fresh, &running, record, &seen), 1);
	assert_string_equal(fresh.filters, "a /bin/cat");
	/* The timeout and default action are read at each call: they change. */
	assert_string_equal(fresh.filter_timeout, "7s");
	conf_free(&running);
	conf_free(&fresh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters_kept),
		cmocka_unit_test(test_names_are_settings),
		cmocka_unit_test(test_changed_are_kept_and_named),
		cmocka_unit_test(test_nothing_changed),
		cmocka_unit_test(test_mailbox_settings_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
