/*
 * smtpd's side of stress mode.  master decides it from the session count,
 * which smtpd reports on its control channel as an IPC_CTL_LOAD: at once
 * when the count crosses a water mark (stress_high_water,
 * stress_low_water of max_sessions), otherwise at most once a second while
 * it changes, so that a flood of connections is not a flood of messages.
 * master's IPC_CTL_STRESS sets the process's flag, which conf_now() reads;
 * the sessions already open take the new timeouts at once.  Trusts master
 * as far as ipc_ctl_stress_parse checks its message.
 */
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdint.h>

#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "smtpd/smtpd.h"
#include "util/buf.h"
#include "util/log.h"

#define SMTPD_LOAD_INTERVAL 1   /* seconds between reports of small changes */

/* 0 below stress_low_water, 2 at or above stress_high_water, 1 between. */
static int
smtpd_load_band(const struct smtpd *sd, size_t n)
{
	const struct conf *conf = sd->conf;
	uint64_t pct = (uint64_t)n * 100;

	if (pct >= (uint64_t)conf->stress_high_water * sd->nslots)
		return 2;
	if (pct < (uint64_t)conf->stress_low_water * sd->nslots)
		return 0;
	return 1;
}

static void
smtpd_load_send(struct smtpd *sd)
{
	struct buf b;

	if (sd->ctl == NULL)
		return;
	buf_init(&b, 16);
	ipc_ctl_load_put(&b, IPC_LOAD_SESSIONS, (uint32_t)sd->nsessions,
	    (uint32_t)sd->nslots);
	if (ipc_chan_send(sd->ctl, IPC_CTL_LOAD, b.data, b.len, -1) < 0)
		log_warn("cannot report the session count to master");
	buf_free(&b);
	sd->load.sent = sd->nsessions;
}

static void
smtpd_load_tick(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd *sd = arg;

	(void)fd;
	(void)what;
	sd->load.pending = 0;
	if (sd->nsessions != sd->load.sent)
		smtpd_load_send(sd);
}

void
smtpd_load_init(struct smtpd *sd)
{
	sd->load.ev = evtimer_new(sd->base, smtpd_load_tick, sd);
	if (sd->load.ev == NULL)
		fatal("cannot create the load report timer");
	/* master learns max_sessions before the first session. */
	smtpd_load_send(sd);
}

void
smtpd_load_changed(struct smtpd *sd)
{
	struct timeval tv = { SMTPD_LOAD_INTERVAL, 0 };

	if (sd->load.ev == NULL)
		return;
	if (smtpd_load_band(sd, sd->nsessions) !=
	    smtpd_load_band(sd, sd->load.sent)) {
		smtpd_load_send(sd);
		return;
	}
	if (sd->load.pending || sd->nsessions == sd->load.sent)
		return;
	if (evtimer_add(sd->load.ev, &tv) < 0)
		fatal("cannot arm the load report timer");
	sd->load.pending = 1;
}

void
smtpd_load_free(struct smtpd *sd)
{
	if (sd->load.ev != NULL)
		event_free(sd->load.ev);
	sd->load.ev = NULL;
}

void
smtpd_stress_msg(struct smtpd *sd, const struct ipc_msg *msg)
{
	int on;

	if (ipc_ctl_stress_parse(msg, &on) < 0) {
		log_warn("malformed stress message from master");
		return;
	}
	if (on == conf_stress_active())
		return;
	conf_stress_set(on);
	log_info("stress mode %s: sessions=%zu/%zu", on ? "on" : "off",
	    sd->nsessions, sd->nslots);
	for (size_t i = 0; i < sd->nslots; i++) {
		struct session *s = sd->slots[i];
		if (s != NULL && s->state != SESSION_CLOSING)
			session_set_timeouts(s);
	}
}
