/*
 * What a reload (SIGHUP) may not change: the settings whose running value
 * was used up at start.  master bound the listening sockets and read the
 * TLS key as root before it dropped to user; the queue set up its DNS
 * resolver; state_dir holds the lock, the queue and the directory.  A new
 * value of one of these takes effect only at a restart, so a reload keeps
 * the running one.  Trusts both configs: each was read by conf_load.
 */
#include "conf/conf.h"

#include <string.h>

#include "conf/conf_table.h"
#include "util/log.h"

static const char *const conf_restart_only[] = {
	"state_dir", "user",
	"listen_smtp", "listen_submission", "listen_submissions",
	"tls_cert", "tls_key",
	"dns_servers",
};

const char *
conf_restart_only_name(size_t i)
{
	return i < sizeof(conf_restart_only) / sizeof(conf_restart_only[0]) ?
	    conf_restart_only[i] : NULL;
}

/* The text field of key name in c; a name not in the table, or not a
 * text setting, is our own bug. */
static char **
conf_text_field(struct conf *c, const char *name)
{
	const struct conf_key *k = conf_key_find(name);

	if (k == NULL || (k->type != CONF_STRING && k->type != CONF_LISTEN &&
	    k->type != CONF_TEXT))
		bug("restart-only setting %s is not a text setting", name);
	return (char **)((char *)c + k->offset);
}

size_t
conf_keep_restart_only(struct conf *fresh, struct conf *running,
    conf_changed_fn *changed, void *arg)
{
	size_t n = 0;

	for (size_t i = 0; conf_restart_only_name(i) != NULL; i++) {
		const char *name = conf_restart_only_name(i);
		char **now = conf_text_field(fresh, name);
		char **was = conf_text_field(running, name);
		char *swap;

		if (strcmp(*now, *was) == 0)
			continue;
		n++;
		if (changed != NULL)
			changed(name, *was, *now, arg);
		/* Each keeps a value it owns: conf_free() of either frees
		 * what it holds. */
		swap = *now;
		*now = *was;
		*was = swap;
	}
	return n;
}
