/*
 * Load reports to master: see load_report.h.
 */
#include "net/load_report.h"

#include <event2/event.h>

#include "conf/conf.h"
#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "util/buf.h"
#include "util/log.h"

#define LOAD_REPORT_INTERVAL 1  /* seconds between reports of small changes */

/* 0 below stress_low_water, 2 at or above stress_high_water, 1 between. */
static int
load_report_band(const struct load_report *lr, size_t n)
{
	uint64_t pct = (uint64_t)n * 100;

	if (pct >= (uint64_t)lr->conf->stress_high_water * lr->max)
		return 2;
	if (pct < (uint64_t)lr->conf->stress_low_water * lr->max)
		return 0;
	return 1;
}

static void
load_report_send(struct load_report *lr)
{
	struct buf b;

	if (*lr->ctl == NULL)
		return;
	buf_init(&b, 16);
	ipc_ctl_load_put(&b, lr->what, (uint32_t)lr->n, (uint32_t)lr->max);
	if (ipc_chan_send(*lr->ctl, IPC_CTL_LOAD, b.data, b.len, -1) < 0)
		log_warn("cannot report the load to master");
	buf_free(&b);
	lr->sent = lr->n;
}

static void
load_report_tick(evutil_socket_t fd, short what, void *arg)
{
	struct load_report *lr = arg;

	(void)fd;
	(void)what;
	lr->pending = 0;
	if (lr->n != lr->sent)
		load_report_send(lr);
}

void
load_report_init(struct load_report *lr, struct event_base *base,
    const struct conf *conf, struct ipc_chan **ctl, uint32_t what, size_t max)
{
	lr->conf = conf;
	lr->ctl = ctl;
	lr->what = what;
	lr->n = 0;
	lr->max = max;
	lr->pending = 0;
	lr->ev = evtimer_new(base, load_report_tick, lr);
	if (lr->ev == NULL)
		fatal("cannot create the load report timer");
	/* master learns the limit before the first client. */
	load_report_send(lr);
}

void
load_report_set(struct load_report *lr, size_t n)
{
	struct timeval tv = { LOAD_REPORT_INTERVAL, 0 };

	lr->n = n;
	if (lr->ev == NULL)
		return;
	if (load_report_band(lr, n) != load_report_band(lr, lr->sent)) {
		load_report_send(lr);
		return;
	}
	if (lr->pending || n == lr->sent)
		return;
	if (evtimer_add(lr->ev, &tv) < 0)
		fatal("cannot arm the load report timer");
	lr->pending = 1;
}

void
load_report_free(struct load_report *lr)
{
	if (lr->ev != NULL)
		event_free(lr->ev);
	lr->ev = NULL;
}
