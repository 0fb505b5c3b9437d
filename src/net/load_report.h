/*
 * A child's load, told to master for its stress decision: how many of
 * its limit are in use (smtpd's sessions of max_sessions, the screen's
 * waiting clients of screen_max_clients), as an IPC_CTL_LOAD on the
 * control channel.  Sent at once when the count crosses a water mark
 * (stress_low_water, stress_high_water), otherwise at most once a second
 * while it changes, so that a flood of connections is not a flood of
 * messages.
 */
#ifndef TERN_LOAD_REPORT_H
#define TERN_LOAD_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct event;
struct event_base;
struct ipc_chan;

struct load_report {
	const struct conf *conf;        /* the water marks */
	struct ipc_chan **ctl;          /* where master listens */
	uint32_t what;                  /* IPC_LOAD_SESSIONS or _SCREEN */
	size_t n, max;                  /* the count now, and its limit */
	size_t sent;                    /* the count master heard last */
	int pending;                    /* the timer is armed */
	struct event *ev;
};

/* Starts reporting and tells master max at once (n = 0). */
void load_report_init(struct load_report *lr, struct event_base *base,
    const struct conf *conf, struct ipc_chan **ctl, uint32_t what, size_t max);
/* The count changed to n. */
void load_report_set(struct load_report *lr, size_t n);
void load_report_free(struct load_report *lr);

#endif
