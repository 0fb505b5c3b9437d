/*
 * lookup's counters for the metrics page and tern status: every login
 * decided, by the door it came through (smtp, imap, pop3) and its
 * result.  Counted in lookup_login_answer, which every answer of
 * lookup_login() passes, so each login on each door counts once.  They
 * start again at 0 when lookup restarts (a counter reset).
 */
#ifndef TERN_LOOKUP_COUNTS_H
#define TERN_LOOKUP_COUNTS_H

struct lookup_login_answer;
struct stats;

/* proto: "smtp", "imap" or "pop3" (anything else counts as smtp: the
 * doors pass only these). */
void lookup_count_login(const char *proto, const struct lookup_login_answer *a);
/* Appends the counters to a stats report (a stats_fill_fn). */
void lookup_counts_stats(void *arg, struct stats *st);

#endif
