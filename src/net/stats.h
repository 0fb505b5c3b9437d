/*
 * A child's figures for `tern status`: a few named counters (sessions per
 * port, the screen's verdicts since start, the queue's size) that each
 * child sends master on its control channel once a second while they
 * change (IPC_CTL_STATS).  master keeps the last of each child and
 * answers tern status from them: the command never waits on a child.
 */
#ifndef TERN_STATS_H
#define TERN_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_MAX       32      /* counters of one child */
#define STATS_NAME_MAX  32      /* a name, [a-z0-9_], with its NUL */

struct stats {
	size_t n;
	struct stats_item {
		char name[STATS_NAME_MAX];
		uint64_t value;
	} item[STATS_MAX];
};

struct buf;
struct event_base;
struct ipc_chan;
struct ipc_msg;

/* Appends a counter; the names are the caller's constants. */
void stats_add(struct stats *st, const char *name, uint64_t value);
/* IPC_CTL_STATS's payload: u32 n, then n times str name, u32 high, u32 low. */
void stats_put(struct buf *b, const struct stats *st);
/* 0, or -1 for a message that is not one (bad name, too many). */
int stats_parse(const struct ipc_msg *msg, struct stats *st);

/* Fills st with the child's counters now. */
typedef void stats_fill_fn(void *arg, struct stats *st);

/* Sends the counters on *ctl once a second when they changed (and once
 * at start). */
struct stats_report;
struct stats_report *stats_report_start(struct event_base *base,
    struct ipc_chan **ctl, stats_fill_fn *fill, void *arg);
void stats_report_free(struct stats_report **sr);

#endif
