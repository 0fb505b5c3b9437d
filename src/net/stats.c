/*
 * A child's figures for tern status: see stats.h.
 */
#include "net/stats.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define STATS_INTERVAL 1        /* seconds between reports */

struct stats_report {
	struct ipc_chan **ctl;
	stats_fill_fn *fill;
	void *arg;
	struct stats sent;
	int have_sent;
	struct event *ev;
};

void
stats_add(struct stats *st, const char *name, uint64_t value)
{
	if (st->n == STATS_MAX || strlen(name) >= STATS_NAME_MAX)
		bug("stats: no room for %s", name);
	snprintf(st->item[st->n].name, STATS_NAME_MAX, "%s", name);
	st->item[st->n++].value = value;
}

void
stats_put(struct buf *b, const struct stats *st)
{
	ipc_put_u32(b, (uint32_t)st->n);
	for (size_t i = 0; i < st->n; i++) {
		ipc_put_str(b, st->item[i].name);
		ipc_put_u32(b, (uint32_t)(st->item[i].value >> 32));
		ipc_put_u32(b, (uint32_t)st->item[i].value);
	}
}

static int
stats_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return 0;
	return 1;
}

int
stats_parse(const struct ipc_msg *msg, struct stats *st)
{
	struct ipc_reader r;
	uint32_t n;

	if (msg->type != IPC_CTL_STATS || msg->fd >= 0)
		return -1;
	ipc_reader_init(&r, msg);
	n = ipc_get_u32(&r);
	if (r.error || n > STATS_MAX)
		return -1;
	st->n = 0;
	for (uint32_t i = 0; i < n && !r.error; i++) {
		struct stats_item *it = &st->item[i];
		ipc_get_str(&r, it->name, sizeof(it->name));
		uint64_t hi = ipc_get_u32(&r);
		it->value = hi << 32 | ipc_get_u32(&r);
		if (!r.error && !stats_name_ok(it->name))
			return -1;
		st->n = i + 1;
	}
	return ipc_reader_end(&r);
}

static int
stats_same(const struct stats *a, const struct stats *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->item[i].value != b->item[i].value ||
		    strcmp(a->item[i].name, b->item[i].name) != 0)
			return 0;
	return 1;
}

static void
stats_tick(evutil_socket_t fd, short what, void *arg)
{
	struct stats_report *sr = arg;
	struct stats now;
	struct buf b;

	(void)fd;
	(void)what;
	memset(&now, 0, sizeof(now));
	sr->fill(sr->arg, &now);
	if (*sr->ctl == NULL || (sr->have_sent && stats_same(&now, &sr->sent)))
		return;
	buf_init(&b, IPC_MAX_PAYLOAD);     /* STATS_MAX names fit well within */
	stats_put(&b, &now);
	if (ipc_chan_send(*sr->ctl, IPC_CTL_STATS, b.data, b.len, -1) < 0)
		log_warn("cannot send figures to master");
	buf_free(&b);
	sr->sent = now;
	sr->have_sent = 1;
}

struct stats_report *
stats_report_start(struct event_base *base, struct ipc_chan **ctl,
    stats_fill_fn *fill, void *arg)
{
	struct stats_report *sr = xcalloc(1, sizeof(*sr));
	struct timeval tv = { STATS_INTERVAL, 0 };

	sr->ctl = ctl;
	sr->fill = fill;
	sr->arg = arg;
	sr->ev = event_new(base, -1, EV_PERSIST, stats_tick, sr);
	if (sr->ev == NULL || event_add(sr->ev, &tv) < 0)
		fatal("cannot start the figures' timer");
	stats_tick(-1, 0, sr);
	return sr;
}

void
stats_report_free(struct stats_report **srp)
{
	if (*srp == NULL)
		return;
	event_free((*srp)->ev);
	free(*srp);
	*srp = NULL;
}
