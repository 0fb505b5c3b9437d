/*
 * smtpd's counters for the metrics page and tern status: messages
 * queued, and refusals by reason.  Counted where the log says "reject"
 * (or closes a session for a protocol fault), one call at each place, so
 * that a count and its log line cannot drift apart.  They live in this
 * process and start again at 0 when smtpd restarts (a counter reset,
 * which Prometheus expects).
 */
#ifndef TERN_SMTPD_COUNTS_H
#define TERN_SMTPD_COUNTS_H

struct stats;

/* The reasons, as the metrics page names them (docs/operations.md). */
enum smtpd_reject {
	SMTPD_REJECT_RELAY,             /* RCPT: relay access denied */
	SMTPD_REJECT_UNKNOWN_RCPT,      /* RCPT: user unknown */
	SMTPD_REJECT_SENDER,            /* MAIL or header From/Sender refused */
	SMTPD_REJECT_DATA,              /* the message: size, bare LF, ... */
	SMTPD_REJECT_PROTOCOL,          /* session ended: a protocol fault */
	SMTPD_REJECT_PLUGIN,            /* a milter, policy service or filter */
	SMTPD_REJECT_SCREEN,            /* RCPT of a client screen enforced */
	SMTPD_REJECT_COUNT
};

void smtpd_count_reject(enum smtpd_reject why);
/* One message queued (its 250 sent or not: it is in the queue). */
void smtpd_count_accepted(void);
/* Appends the counters to a stats report. */
void smtpd_counts_stats(struct stats *st);

#endif
