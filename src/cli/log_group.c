/*
 * The table of groups: see log_group.h.  Linear probing over FNV-1a;
 * the ids are random (queue_id_new), so a cheap hash spreads them well.
 */
#include "cli/log_group.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

void
log_groups_init(struct log_groups *gs)
{
	gs->cap = 1024;
	gs->n = 0;
	gs->slots = xcalloc(gs->cap, sizeof(*gs->slots));
}

static void
log_group_drop_pending(struct log_group *g)
{
	for (size_t i = 0; i < g->npending; i++)
		free(g->pending[i]);
	free(g->pending);
	g->pending = NULL;
	g->npending = 0;
}

void
log_groups_free(struct log_groups *gs)
{
	for (size_t i = 0; i < gs->cap; i++)
		log_group_drop_pending(&gs->slots[i]);
	free(gs->slots);
	gs->slots = NULL;
	gs->cap = gs->n = 0;
}

static uint64_t
log_group_hash(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
	return h;
}

static struct log_group *
log_groups_slot(struct log_groups *gs, const char *key, size_t klen)
{
	size_t i = (size_t)log_group_hash(key, klen) & (gs->cap - 1);

	while (gs->slots[i].klen != 0 && (gs->slots[i].klen != klen ||
	    memcmp(gs->slots[i].key, key, klen) != 0))
		i = (i + 1) & (gs->cap - 1);
	return &gs->slots[i];
}

/* Moves the groups to a new table of cap slots; prune: not the closed. */
static void
log_groups_rehash(struct log_groups *gs, size_t cap, int prune)
{
	struct log_group *old = gs->slots;
	size_t oldcap = gs->cap;

	gs->slots = xcalloc(cap, sizeof(*gs->slots));
	gs->cap = cap;
	gs->n = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].klen == 0)
			continue;
		if (prune && old[i].closed) {
			log_group_drop_pending(&old[i]);
			continue;
		}
		*log_groups_slot(gs, old[i].key, old[i].klen) = old[i];
		gs->n++;
	}
	free(old);
}

struct log_group *
log_groups_get(struct log_groups *gs, enum log_kind kind, const char *id,
    size_t len, int create)
{
	char key[LOG_ID_MAX + 2];
	struct log_group *g;

	if (len == 0 || len > LOG_ID_MAX || kind == LOG_KIND_OTHER)
		return NULL;
	key[0] = kind == LOG_KIND_SESSION ? 's' : 'q';
	memcpy(key + 1, id, len);
	g = log_groups_slot(gs, key, len + 1);
	if (g->klen != 0 || !create)
		return g->klen != 0 ? g : NULL;
	if ((gs->n + 1) * 2 > gs->cap) {
		log_groups_rehash(gs, gs->cap * 2, 0);
		g = log_groups_slot(gs, key, len + 1);
	}
	memcpy(g->key, key, len + 1);
	g->klen = (unsigned char)(len + 1);
	g->out = -1;
	gs->n++;
	return g;
}

void
log_groups_prune(struct log_groups *gs)
{
	log_groups_rehash(gs, gs->cap, 1);
}
