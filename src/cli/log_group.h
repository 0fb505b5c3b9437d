/*
 * The sessions and messages `tern log` has seen, by id: which filters a
 * line of each has satisfied so far (a bit per filter: the group matches
 * when every bit is set), and where its lines go when it does.  An open
 * hash table keyed by kind and id; it grows as needed.
 */
#ifndef TERN_CLI_LOG_GROUP_H
#define TERN_CLI_LOG_GROUP_H

#include <stddef.h>

#include "cli/log_line.h"

struct log_group {
	char key[LOG_ID_MAX + 2];       /* 's' or 'q', then the id */
	unsigned char klen;
	unsigned char closed;           /* the session or message has ended */
	unsigned mask;                  /* the filters its lines satisfied */
	long out;                       /* its output group; -1: none yet */
	/* --follow: the lines kept until the group matches (copies). */
	char **pending;
	size_t npending;
};

struct log_groups {
	struct log_group *slots;
	size_t cap, n;
};

void log_groups_init(struct log_groups *gs);
void log_groups_free(struct log_groups *gs);
/* The group of kind (LOG_KIND_SESSION or _QUEUE) and id; created when
 * create is set, else NULL when unknown (or id too long). */
struct log_group *log_groups_get(struct log_groups *gs, enum log_kind kind,
    const char *id, size_t len, int create);
/* Drops every group that is closed (its session or message has ended),
 * with its lines: what --follow does to stay bounded. */
void log_groups_prune(struct log_groups *gs);

#endif
