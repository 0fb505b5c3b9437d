/*
 * lookup's login counters: see lookup_counts.h.  Plain integers: lookup
 * counts on its loop only (the crypt threads hand their results back to
 * it before an answer is made).
 */
#include "lookup/lookup_counts.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lookup/lookup.h"
#include "net/stats.h"

enum { COUNT_SMTP, COUNT_IMAP, COUNT_POP3, COUNT_PROTOS };
enum { COUNT_OK, COUNT_UNKNOWN, COUNT_PASSWORD, COUNT_CASE_MISMATCH,
    COUNT_THROTTLED, COUNT_TEMPFAIL, COUNT_RESULTS };

static const char *const count_protos[COUNT_PROTOS] = { "smtp", "imap",
    "pop3" };
static const char *const count_results[COUNT_RESULTS] = { "ok", "unknown",
    "password", "case_mismatch", "throttled", "tempfail" };

static uint64_t count_logins[COUNT_PROTOS][COUNT_RESULTS];
/* Miscased logins that login_case = warn let in (counted as ok too). */
static uint64_t count_case_warn[COUNT_PROTOS];

static int
count_proto(const char *proto)
{
	for (int i = 0; i < COUNT_PROTOS; i++)
		if (strcmp(proto, count_protos[i]) == 0)
			return i;
	return COUNT_SMTP;
}

static int
count_result(const struct lookup_login_answer *a)
{
	switch (a->res) {
	case LOOKUP_AUTH_OK:
		return COUNT_OK;
	case LOOKUP_AUTH_THROTTLED:
		return COUNT_THROTTLED;
	case LOOKUP_AUTH_FAIL:
		break;
	default:
		return COUNT_TEMPFAIL;
	}
	switch (a->st) {
	case DIR_AUTH_UNKNOWN:
		return COUNT_UNKNOWN;
	case DIR_AUTH_CASE_MISMATCH:
		return COUNT_CASE_MISMATCH;
	case DIR_AUTH_PASSWORD:
		return COUNT_PASSWORD;
	default:
		return COUNT_TEMPFAIL;
	}
}

void
lookup_count_login(const char *proto, const struct lookup_login_answer *a)
{
	int p = count_proto(proto), r = count_result(a);

	count_logins[p][r]++;
	if (r == COUNT_OK && a->st == DIR_AUTH_CASE_MISMATCH)
		count_case_warn[p]++;
}

void
lookup_counts_stats(void *arg, struct stats *st)
{
	char name[STATS_NAME_MAX];

	(void)arg;
	/* login_PROTO_RESULT: the metrics page splits them into labels. */
	for (int p = 0; p < COUNT_PROTOS; p++) {
		for (int r = 0; r < COUNT_RESULTS; r++) {
			snprintf(name, sizeof(name), "login_%s_%s",
			    count_protos[p], count_results[r]);
			stats_add(st, name, count_logins[p][r]);
		}
		snprintf(name, sizeof(name), "login_%s_case_warn",
		    count_protos[p]);
		stats_add(st, name, count_case_warn[p]);
	}
}
