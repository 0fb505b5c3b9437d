/*
 * The span of one session and its messages: see log_window.h.  Reads
 * lines backward to the session's connect line and forward to its
 * disconnect line and each message's removal, looking only at each line's
 * kind and id (log_line_key) but for the few lines of the session itself.
 */
#include "cli/log_window.h"

#include <string.h>

#include "cli/log_line.h"

struct log_win_id {
	const char *p;
	size_t n;
};

static int
log_win_same(const char *id, size_t n, const struct log_win_id *w)
{
	return n == w->n && memcmp(id, w->p, n) == 0;
}

static int
log_win_starts(const char *p, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(p, word, n) == 0;
}

/* The start of the session's connect line, at or before hit (lo and
 * hit are line starts). */
static int
log_win_back(const char *buf, size_t lo, size_t size, size_t hit,
    const struct log_win_id *sid, size_t *start_r)
{
	size_t s = hit;

	for (;;) {
		const char *e = memchr(buf + s, '\n', size - s);
		size_t len = e ? (size_t)(e - (buf + s)) : size - s;
		const char *id, *nl;
		size_t n;
		struct log_line l;

		if (log_line_key(buf + s, len, &id, &n) == LOG_KIND_SESSION &&
		    log_win_same(id, n, sid)) {
			log_line_parse(buf + s, len, &l);
			if (log_win_starts(l.msg, l.msg_len, "connect from ")) {
				*start_r = s;
				return 0;
			}
		}
		if (s <= lo) {
			*start_r = lo;  /* begun before --since */
			return 0;
		}
		if (hit - s > LOG_WINDOW_MAX)
			return -1;
		/* buf[s - 1] ends the line before; the newline before that
		 * one, if any, is where it starts. */
		nl = s - 1 > lo ? memrchr(buf + lo, '\n', s - 1 - lo) : NULL;
		s = nl ? (size_t)(nl - buf) + 1 : lo;
	}
}

/* The end of the session's disconnect line, or of the last removal of a
 * message it queued, whichever is later. */
static int
log_win_forward(const char *buf, size_t size, size_t hit,
    const struct log_win_id *sid, size_t *end_r)
{
	struct log_win_id queued[LOG_WINDOW_QUEUED];
	size_t nq = 0, p = hit;
	int open = 1;

	while (p < size) {
		const char *e = memchr(buf + p, '\n', size - p);
		size_t len = e ? (size_t)(e - (buf + p)) : size - p;
		const char *id, *q;
		size_t n, qn;
		enum log_kind k = log_line_key(buf + p, len, &id, &n);
		struct log_line l;

		if (p - hit > LOG_WINDOW_MAX)
			return -1;
		if (k == LOG_KIND_SESSION && log_win_same(id, n, sid)) {
			log_line_parse(buf + p, len, &l);
			if (log_line_queued(&l, &q, &qn)) {
				if (nq == LOG_WINDOW_QUEUED)
					return -1;
				queued[nq++] = (struct log_win_id){ q, qn };
			}
			if (log_line_ends_session(&l))
				open = 0;
		} else if (k == LOG_KIND_QUEUE) {
			for (size_t i = 0; i < nq; i++) {
				if (!log_win_same(id, n, &queued[i]))
					continue;
				log_line_parse(buf + p, len, &l);
				if (log_win_starts(l.msg, l.msg_len, "removed"))
					queued[i] = queued[--nq];
				break;
			}
		}
		p += len + (e != NULL);
		if (!open && nq == 0) {
			*end_r = p;
			return 0;
		}
	}
	return -1;              /* goes on in the next file, or never ends */
}

int
log_window(const char *buf, size_t lo, size_t size, size_t hit,
    size_t *start_r, size_t *end_r)
{
	const char *e = memchr(buf + hit, '\n', size - hit);
	size_t len = e ? (size_t)(e - (buf + hit)) : size - hit;
	struct log_win_id sid;

	if (log_line_key(buf + hit, len, &sid.p, &sid.n) != LOG_KIND_SESSION)
		return -1;
	if (log_win_back(buf, lo, size, hit, &sid, start_r) < 0)
		return -1;
	return log_win_forward(buf, size, hit, &sid, end_r);
}
