/*
 * smtpd's counters: see smtpd_counts.h.  Kept in this file rather than
 * in struct smtpd because they are counted from places deep in the
 * session code that the session reaches only through several pointers;
 * smtpd is one process with one loop, so plain integers suffice.
 */
#include "smtpd/smtpd_counts.h"

#include <stdint.h>

#include "net/stats.h"
#include "util/log.h"

static uint64_t smtpd_accepted;
static uint64_t smtpd_rejects[SMTPD_REJECT_COUNT];

/* The names in tern status; the metrics page turns rejected_X into
 * tern_rejected_total{reason="X"} (with - for _). */
static const char *const smtpd_reject_names[SMTPD_REJECT_COUNT] = {
	"rejected_relay", "rejected_unknown_recipient", "rejected_sender",
	"rejected_data", "rejected_protocol", "rejected_plugin",
	"rejected_screen",
};

void
smtpd_count_reject(enum smtpd_reject why)
{
	if ((unsigned)why >= SMTPD_REJECT_COUNT)
		bug("smtpd_count_reject: reason %d", (int)why);
	smtpd_rejects[why]++;
}

void
smtpd_count_accepted(void)
{
	smtpd_accepted++;
}

void
smtpd_counts_stats(struct stats *st)
{
	stats_add(st, "accepted", smtpd_accepted);
	for (int i = 0; i < SMTPD_REJECT_COUNT; i++)
		stats_add(st, smtpd_reject_names[i], smtpd_rejects[i]);
}
