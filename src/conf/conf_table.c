/*
 * Every setting of tern, declared once: name (the same as its field in
 * struct conf), type, default, bounds and one line of help.  Adding a key
 * is one row here and one field in struct conf; docs/config.md lists the
 * same rows.  Trusts gethostname() for the one computed default.
 */
#include "conf/conf_table.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "util/xmalloc.h"

/*
 * A row whose type does not match its field would make conf.c write past
 * the field, so the match is checked when this file compiles.
 */
#define CONF_FIELD_FITS(field, type) _Generic(((struct conf *)0)->field, \
	char *:   (type) == CONF_STRING || (type) == CONF_LISTEN,        \
	unsigned: (type) == CONF_DURATION || (type) == CONF_UINT,        \
	uint64_t: (type) == CONF_SIZE,                                   \
	int:      (type) == CONF_LOG_LEVEL)

#define CONF_OFFSET(field, type) (offsetof(struct conf, field) +         \
	0 * sizeof(struct { int unused; _Static_assert(                   \
	    CONF_FIELD_FITS(field, type),                                 \
	    #field ": type does not match its field in struct conf"); }))

#define KEY(field, type, def, min, max, help)                             \
	{ #field, type, CONF_OFFSET(field, type), def, NULL, min, max, help }
#define KEY_COMPUTED(field, type, compute, help)                          \
	{ #field, type, CONF_OFFSET(field, type), "", compute, 0, 0, help }

static char *conf_default_hostname(void);

const struct conf_key conf_keys[] = {
	KEY_COMPUTED(hostname, CONF_STRING, conf_default_hostname,
	    "name the server gives itself in greetings and headers"),
	KEY(state_dir, CONF_STRING, "/var/lib/tern", 0, 0,
	    "directory holding tern.db, the queue and the mailboxes"),
	KEY(user, CONF_STRING, "tern", 0, 0,
	    "system account the server's processes run as when started "
	    "by root"),
	KEY(listen_smtp, CONF_LISTEN, "0.0.0.0:25", 0, 0,
	    "addresses for SMTP from other servers, host:port, [v6]:port; "
	    "empty disables"),
	KEY(max_message_size, CONF_SIZE, "50M", 1024, CONF_NOMAX,
	    "largest message accepted, in bytes"),
	KEY(max_recipients, CONF_UINT, "1000", 1, 100000,
	    "most recipients accepted for one message"),
	KEY(smtpd_timeout, CONF_DURATION, "300s", 1, 3600,
	    "how long an SMTP client may stay silent"),
	KEY(log_level, CONF_LOG_LEVEL, "info", 0, 0,
	    "least severe messages logged: debug, info, warn or error"),
};

const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

const struct conf_key *
conf_key_find(const char *name)
{
	for (size_t i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* This machine's name; "localhost" rather than failing to start. */
static char *
conf_default_hostname(void)
{
	char name[HOST_NAME_MAX + 1];

	if (gethostname(name, sizeof(name)) < 0)
		return xstrdup("localhost");
	name[sizeof(name) - 1] = '\0';
	if (name[0] == '\0')
		return xstrdup("localhost");
	return xstrdup(name);
}
