/*
 * The metrics page's body: see metrics_text.h.  Counters end in _total
 * and reset when the child that counts them restarts; each series comes
 * from one child only, so that a restart resets it whole.
 */
#include "master/metrics_text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A label value and the child's figure it shows. */
struct metrics_label {
	const char *value;
	const char *stat;
};

static const struct metrics_label metrics_ports[] = {
	{ "smtp", "smtp" }, { "submission", "submission" },
	{ "submissions", "submissions" },
};

static const struct metrics_label metrics_rejects[] = {
	{ "relay", "rejected_relay" },
	{ "unknown-recipient", "rejected_unknown_recipient" },
	{ "sender", "rejected_sender" },
	{ "data", "rejected_data" },
	{ "protocol", "rejected_protocol" },
	{ "plugin", "rejected_plugin" },
	{ "screen", "rejected_screen" },
};

static const char *const metrics_protocols[] = { "smtp", "imap", "pop3" };
static const struct metrics_label metrics_results[] = {
	{ "ok", "ok" }, { "unknown", "unknown" }, { "password", "password" },
	{ "case-mismatch", "case_mismatch" }, { "throttled", "throttled" },
	{ "tempfail", "tempfail" },
};

static const struct metrics_label metrics_screen_events[] = {
	{ "pass_new", "pass_new" }, { "pass_old", "pass_old" },
	{ "permitted", "permitted" }, { "rejected", "rejected" },
	{ "pregreet", "pregreet" }, { "dnsbl_listed", "dnsbl_listed" },
	{ "dnsbl_allowed", "dnsbl_allowed" }, { "fail_old", "fail_old" },
	{ "reported_by_smtpd", "reported_by_smtpd" },
	{ "refused_screen_full", "refused_screen_full" },
	{ "refused_server_busy", "refused_server_busy" },
	{ "refused_per_client", "refused_per_client" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The figure stat of the running child proc: 1 with it in v_r, else 0. */
static int
metrics_stat(const struct master_status *st, const char *proc,
    const char *stat, uint64_t *v_r)
{
	for (size_t i = 0; i < st->nprocs; i++) {
		const struct master_status_proc *p = &st->procs[i];
		if (strcmp(p->name, proc) != 0)
			continue;
		if (p->pid == 0 || p->stats == NULL)
			return 0;
		for (size_t j = 0; j < p->stats->n; j++) {
			if (strcmp(p->stats->item[j].name, stat) == 0) {
				*v_r = p->stats->item[j].value;
				return 1;
			}
		}
		return 0;
	}
	return 0;
}

static int
metrics_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	return buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* One sample of a child's figure, if it has it; labels may be "". */
static int
metrics_sample(struct buf *b, const struct master_status *st,
    const char *name, const char *labels, const char *proc, const char *stat)
{
	uint64_t v;

	if (!metrics_stat(st, proc, stat, &v))
		return 0;
	return buf_appendf(b, "%s%s%s%s %llu\n", name, *labels ? "{" : "",
	    labels, *labels ? "}" : "", (unsigned long long)v);
}

/* A family with one unlabelled sample. */
static int
metrics_one(struct buf *b, const struct master_status *st, const char *name,
    const char *type, const char *help, const char *proc, const char *stat)
{
	if (metrics_family(b, name, type, help) < 0)
		return -1;
	return metrics_sample(b, st, name, "", proc, stat);
}

/* A family with one label, one sample per value. */
static int
metrics_labelled(struct buf *b, const struct master_status *st,
    const char *name, const char *type, const char *help, const char *label,
    const struct metrics_label *vals, size_t n, const char *proc)
{
	char labels[96];

	if (metrics_family(b, name, type, help) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "%s=\"%s\"", label,
		    vals[i].value);
		if (metrics_sample(b, st, name, labels, proc, vals[i].stat) < 0)
			return -1;
	}
	return 0;
}

static int
metrics_master(struct buf *b, const struct master_status *st)
{
	if (metrics_family(b, "tern_start_time_seconds", "gauge",
	    "When the server started, in seconds since the epoch.") < 0 ||
	    buf_appendf(b, "tern_start_time_seconds %lld\n",
	    (long long)st->started) < 0)
		return -1;
	if (metrics_family(b, "tern_stress_mode", "gauge",
	    "1 while the server is in stress mode, else 0.") < 0 ||
	    buf_appendf(b, "tern_stress_mode %d\n", st->stress->on ? 1 : 0) < 0)
		return -1;
	if (metrics_family(b, "tern_process_up", "gauge",
	    "1 while the child process is running, else 0.") < 0)
		return -1;
	for (size_t i = 0; i < st->nprocs; i++)
		if (buf_appendf(b, "tern_process_up{process=\"%s\"} %d\n",
		    st->procs[i].name, st->procs[i].pid != 0) < 0)
			return -1;
	return 0;
}

static int
metrics_smtpd(struct buf *b, const struct master_status *st)
{
	if (metrics_labelled(b, st, "tern_sessions", "gauge",
	    "SMTP sessions open now, by the port's kind.", "port",
	    metrics_ports, NELEM(metrics_ports), "smtpd") < 0 ||
	    metrics_one(b, st, "tern_sessions_max", "gauge",
	    "Most SMTP sessions at once (max_sessions).", "smtpd",
	    "max_sessions") < 0 ||
	    metrics_one(b, st, "tern_messages_accepted_total", "counter",
	    "Messages accepted over SMTP and queued.", "smtpd",
	    "accepted") < 0)
		return -1;
	return metrics_labelled(b, st, "tern_rejected_total", "counter",
	    "Refusals by smtpd, by reason (see docs/operations.md).", "reason",
	    metrics_rejects, NELEM(metrics_rejects), "smtpd");
}

static int
metrics_queue(struct buf *b, const struct master_status *st)
{
	if (metrics_one(b, st, "tern_queue_messages", "gauge",
	    "Messages in the queue.", "queue", "messages") < 0 ||
	    metrics_one(b, st, "tern_queue_oldest_message_age_seconds",
	    "gauge", "Age of the oldest message in the queue (0: empty).",
	    "queue", "oldest_age") < 0 ||
	    metrics_one(b, st, "tern_recipients_delivered_total", "counter",
	    "Recipients delivered (to a mailbox or a remote server).",
	    "queue", "delivered") < 0 ||
	    metrics_one(b, st, "tern_recipients_deferred_total", "counter",
	    "Delivery attempts to one recipient that failed temporarily.",
	    "queue", "deferred") < 0)
		return -1;
	return metrics_one(b, st, "tern_recipients_bounced_total", "counter",
	    "Recipients that failed for good (a bounce is sent).", "queue",
	    "bounced");
}

static int
metrics_logins(struct buf *b, const struct master_status *st)
{
	char labels[96], stat[STATS_NAME_MAX];

	if (metrics_family(b, "tern_logins_total", "counter",
	    "Logins decided, by protocol and result.") < 0)
		return -1;
	for (size_t p = 0; p < NELEM(metrics_protocols); p++) {
		for (size_t r = 0; r < NELEM(metrics_results); r++) {
			snprintf(labels, sizeof(labels), "protocol=\"%s\","
			    "result=\"%s\"", metrics_protocols[p],
			    metrics_results[r].value);
			snprintf(stat, sizeof(stat), "login_%s_%s",
			    metrics_protocols[p], metrics_results[r].stat);
			if (metrics_sample(b, st, "tern_logins_total", labels,
			    "lookup", stat) < 0)
				return -1;
		}
	}
	if (metrics_family(b, "tern_logins_case_warn_total", "counter",
	    "Miscased logins let in by login_case = warn (also counted as "
	    "ok).") < 0)
		return -1;
	for (size_t p = 0; p < NELEM(metrics_protocols); p++) {
		snprintf(labels, sizeof(labels), "protocol=\"%s\"",
		    metrics_protocols[p]);
		snprintf(stat, sizeof(stat), "login_%s_case_warn",
		    metrics_protocols[p]);
		if (metrics_sample(b, st, "tern_logins_case_warn_total",
		    labels, "lookup", stat) < 0)
			return -1;
	}
	return 0;
}

static int
metrics_screen(struct buf *b, const struct master_status *st)
{
	if (metrics_one(b, st, "tern_screen_waiting", "gauge",
	    "Clients waiting in the screen now.", "screen", "waiting") < 0 ||
	    metrics_one(b, st, "tern_screen_remembered", "gauge",
	    "Clients the screen remembers as having passed.", "screen",
	    "remembered") < 0)
		return -1;
	return metrics_labelled(b, st, "tern_screen_events_total", "counter",
	    "The screen's verdicts and refusals on port 25, by event.",
	    "event", metrics_screen_events, NELEM(metrics_screen_events),
	    "screen");
}

int
metrics_text_render(struct buf *b, const struct master_status *st)
{
	if (metrics_master(b, st) < 0 || metrics_smtpd(b, st) < 0 ||
	    metrics_queue(b, st) < 0 || metrics_logins(b, st) < 0 ||
	    metrics_screen(b, st) < 0)
		return -1;
	return 0;
}
