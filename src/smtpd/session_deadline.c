/*
 * Deadlines that a trickling client cannot stretch (issue 8, point 14).
 * smtpd_timeout is an idle timeout: every byte restarts it, so a client
 * sending one byte every few seconds holds a session for ever.  As
 * Postfix's smtpd_per_request_deadline and smtpd_min_data_rate, two more
 * limits do not restart:
 *
 *   - a command line must be complete smtpd_command_deadline after tern
 *     first saw a byte of it (reason=timeout);
 *   - DATA may take smtpd_command_deadline, plus one second for every
 *     smtpd_min_data_rate bytes the client has sent in it (reason=slow; or
 *     reason=timeout when it sent nothing at all).
 *
 * One timer per session, armed only while one of the two runs.  What it
 * trusts: the clock and the counts that session.c and session_data.c keep.
 */
#include <event2/event.h>
#include <stdint.h>
#include <time.h>

#include "smtpd/smtpd.h"
#include "util/log.h"

enum {
	DEADLINE_NONE,
	DEADLINE_LINE,          /* a command line is under way */
	DEADLINE_DATA,          /* the message is being read */
};

static double
deadline_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		fatal("clock_gettime: CLOCK_MONOTONIC unavailable");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* smtpd_command_deadline, or smtpd_timeout (its stress value under
 * stress) when it is 0. */
static unsigned
deadline_base(const struct session *s)
{
	const struct conf *conf = s->sd->conf;

	return conf->smtpd_command_deadline != 0 ?
	    conf->smtpd_command_deadline : conf_now(conf, smtpd_timeout);
}

static void
deadline_arm(struct session *s, double secs)
{
	struct timeval tv;

	if (secs < 0.01)
		secs = 0.01;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	if (evtimer_add(s->deadline_ev, &tv) < 0)
		fatal("cannot arm a session deadline");
}

/* Seconds DATA may have taken so far: its allowance grows with what the
 * client sent.  Negative when there is no DATA deadline. */
static double
deadline_data_allowed(const struct session *s)
{
	unsigned rate = s->sd->conf->smtpd_min_data_rate;

	if (rate == 0)
		return -1;
	return (double)deadline_base(s) + (double)s->deadline_bytes / rate;
}

static void
deadline_expired(struct session *s, const char *reason)
{
	log_info("%s: deadline exceeded from [%s] state=%d bytes=%llu "
	    "seconds=%.0f reason=%s", s->id, s->client_ip, (int)s->state,
	    (unsigned long long)s->deadline_bytes,
	    deadline_now() - s->deadline_start, reason);
	s->deadline_kind = DEADLINE_NONE;
	session_reply(s, "421 4.4.2 %s Error: timeout exceeded",
	    s->sd->conf->hostname);
	session_close_after_reply(s);
}

static void
deadline_fire(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	double elapsed, allowed;

	(void)fd;
	(void)what;
	if (s->state == SESSION_CLOSING || s->deadline_kind == DEADLINE_NONE)
		return;
	if (s->deadline_kind == DEADLINE_LINE) {
		deadline_expired(s, "timeout");
		return;
	}
	/* DATA: the bytes that came since the timer was set may have earned
	 * more time. */
	elapsed = deadline_now() - s->deadline_start;
	allowed = deadline_data_allowed(s);
	if (allowed >= 0 && elapsed < allowed) {
		deadline_arm(s, allowed - elapsed);
		return;
	}
	deadline_expired(s, s->deadline_bytes > 0 ? "slow" : "timeout");
}

void
session_deadline_init(struct session *s)
{
	s->deadline_ev = evtimer_new(s->sd->base, deadline_fire, s);
	if (s->deadline_ev == NULL)
		fatal("cannot create a session timer");
	s->deadline_kind = DEADLINE_NONE;
}

void
session_deadline_stop(struct session *s)
{
	s->deadline_kind = DEADLINE_NONE;
	if (s->deadline_ev != NULL)
		evtimer_del(s->deadline_ev);
}

void
session_deadline_free(struct session *s)
{
	if (s->deadline_ev != NULL)
		event_free(s->deadline_ev);
	s->deadline_ev = NULL;
}

/* After the session has taken every whole line it could: pending says
 * whether part of a line is still waiting for its end.  The clock of a
 * line starts when tern first sees it pending. */
void
session_deadline_line(struct session *s, int pending)
{
	if (s->deadline_kind == DEADLINE_DATA)
		return;
	if (!pending) {
		if (s->deadline_kind == DEADLINE_LINE)
			session_deadline_stop(s);
		return;
	}
	if (s->deadline_kind == DEADLINE_LINE)
		return;
	s->deadline_kind = DEADLINE_LINE;
	s->deadline_start = deadline_now();
	s->deadline_bytes = 0;
	deadline_arm(s, deadline_base(s));
}

/* A line was taken whole: its clock stops (the next one starts anew). */
void
session_deadline_line_done(struct session *s)
{
	if (s->deadline_kind == DEADLINE_LINE)
		session_deadline_stop(s);
}

void
session_deadline_data_begin(struct session *s)
{
	double allowed;

	session_deadline_stop(s);
	s->deadline_start = deadline_now();
	s->deadline_bytes = 0;
	if ((allowed = deadline_data_allowed(s)) < 0)
		return;
	s->deadline_kind = DEADLINE_DATA;
	deadline_arm(s, allowed);
}

void
session_deadline_data_bytes(struct session *s, size_t n)
{
	if (s->deadline_kind == DEADLINE_DATA && n <= UINT64_MAX - s->deadline_bytes)
		s->deadline_bytes += n;
}
