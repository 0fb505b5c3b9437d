/*
 * What a reload (SIGHUP) may not change: the settings whose running value
 * was used up at start.  master bound the listening sockets and read the
 * TLS key as root before it dropped to user; the queue set up its DNS
 * resolver; state_dir holds the lock, the queue and the directory;
 * smtpd sized its table of sessions by max_sessions and set up its
 * policy services (smtpd_policy_services, submission_...); Dovecot's
 * configuration (mailbox_server, listen_imap...) was written and read at
 * start, and Dovecot's master, root where tern started as root, is not
 * told again; the logger took its file, sizes and syslog at its start.  A new
 * value of one of these takes effect only at a restart, so a reload keeps
 * the running one.  Trusts both configs: each was read by conf_load.
 */
#include "conf/conf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf_table.h"
#include "util/log.h"

static const char *const conf_restart_only[] = {
	"state_dir", "user",
	"listen_smtp", "listen_submission", "listen_submissions",
	"tls_cert", "tls_key",
	"dns_servers", "max_sessions",
	"mailbox_server", "listen_imap", "listen_imaps", "listen_pop3",
	"listen_pop3s", "dovecot_extra_config", "mailbox_max_connections",
	"metrics_listen",
	"smtpd_milters", "submission_milters",
	"smtpd_policy_services", "submission_policy_services",
	"log_file", "log_file_size", "log_file_keep", "syslog",
	"filters",
};

const char *
conf_restart_only_name(size_t i)
{
	return i < sizeof(conf_restart_only) / sizeof(conf_restart_only[0]) ?
	    conf_restart_only[i] : NULL;
}

/* The key of a restart-only name; a name not in the table, or neither a
 * text setting, a number nor a word, is our own bug. */
static const struct conf_key *
conf_restart_key(const char *name)
{
	const struct conf_key *k = conf_key_find(name);

	if (k == NULL || (k->type != CONF_STRING && k->type != CONF_LISTEN &&
	    k->type != CONF_TEXT && k->type != CONF_UINT &&
	    k->type != CONF_SIZE && k->type != CONF_ENUM))
		bug("restart-only setting %s is not text or a number", name);
	return k;
}

/* A number (CONF_UINT, or CONF_SIZE's bytes) keeps running's value the
 * same way as text. */
static int
conf_keep_number(const struct conf_key *k, struct conf *fresh,
    struct conf *running, conf_changed_fn *changed, void *arg)
{
	void *now = (char *)fresh + k->offset;
	void *was = (char *)running + k->offset;
	unsigned long long a, b;
	char as[24], bs[24];

	if (k->type == CONF_SIZE) {
		a = *(uint64_t *)was;
		b = *(uint64_t *)now;
		*(uint64_t *)now = *(uint64_t *)was;
	} else {
		a = *(unsigned *)was;
		b = *(unsigned *)now;
		*(unsigned *)now = *(unsigned *)was;
	}
	if (a == b)
		return 0;
	snprintf(as, sizeof(as), "%llu", a);
	snprintf(bs, sizeof(bs), "%llu", b);
	if (changed != NULL)
		changed(k->name, as, bs, arg);
	return 1;
}

/* A word (CONF_ENUM) keeps running's value, named by its word. */
static int
conf_keep_word(const struct conf_key *k, struct conf *fresh,
    struct conf *running, conf_changed_fn *changed, void *arg)
{
	int *now = (int *)((char *)fresh + k->offset);
	int *was = (int *)((char *)running + k->offset);

	if (*now == *was)
		return 0;
	if (changed != NULL)
		changed(k->name, k->words[*was], k->words[*now], arg);
	*now = *was;
	return 1;
}

size_t
conf_keep_restart_only(struct conf *fresh, struct conf *running,
    conf_changed_fn *changed, void *arg)
{
	size_t n = 0;

	for (size_t i = 0; conf_restart_only_name(i) != NULL; i++) {
		const struct conf_key *k = conf_restart_key(
		    conf_restart_only_name(i));
		char **now, **was, *swap;

		if (k->type == CONF_UINT || k->type == CONF_SIZE) {
			n += (size_t)conf_keep_number(k, fresh, running,
			    changed, arg);
			continue;
		}
		if (k->type == CONF_ENUM) {
			n += (size_t)conf_keep_word(k, fresh, running,
			    changed, arg);
			continue;
		}
		now = (char **)((char *)fresh + k->offset);
		was = (char **)((char *)running + k->offset);
		if (strcmp(*now, *was) == 0)
			continue;
		n++;
		if (changed != NULL)
			changed(k->name, *was, *now, arg);
		/* Each keeps a value it owns: conf_free() of either frees
		 * what it holds. */
		swap = *now;
		*now = *was;
		*was = swap;
	}
	return n;
}
