/*
 * Reading one line of the log file: see log_line.h.  Every search is
 * bounded by the line's own length (memmem, memchr), never by a NUL.
 */
#include "cli/log_line.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/log_stamp.h"

static int
log_is_id_char(char c)
{
	/* Session and queue ids are upper-case base32 (queue_id_new):
	 * "stopping: ..." is a message, not an id. */
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

static int
log_starts(const char *p, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(p, word, n) == 0;
}

/* "proc[pid]: " at p: its length, or 0. */
static size_t
log_line_prefix(const char *p, size_t len, struct log_line *l)
{
	const char *br = memchr(p, '[', len < 64 ? len : 64);
	const char *end;

	if (br == NULL || br == p)
		return 0;
	end = memchr(br, ']', len - (size_t)(br - p));
	if (end == NULL || (size_t)(end - p) + 2 >= len || end[1] != ':' ||
	    end[2] != ' ')
		return 0;
	for (const char *c = p; c < br; c++)
		if (*c == ' ')
			return 0;
	l->proc = p;
	l->proc_len = (size_t)(br - p);
	l->pid = br + 1;
	l->pid_len = (size_t)(end - br - 1);
	return (size_t)(end - p) + 3;
}

void
log_line_parse(const char *p, size_t len, struct log_line *l)
{
	size_t off = 0, n;

	memset(l, 0, sizeof(*l));
	l->text = p;
	l->len = len;
	l->level = "info";
	if (len > LOG_STAMP_LEN && p[LOG_STAMP_LEN] == ' ' && p[10] == 'T')
		off = LOG_STAMP_LEN + 1;
	n = log_line_prefix(p + off, len - off, l);
	off += n;
	if (log_starts(p + off, len - off, "warn: ")) {
		l->level = "warn";
		off += 6;
	} else if (log_starts(p + off, len - off, "error: ")) {
		l->level = "error";
		off += 7;
	}
	l->msg = p + off;
	l->msg_len = len - off;
	if (n == 0)
		return;
	if (l->proc_len == 5 && memcmp(l->proc, "smtpd", 5) == 0)
		l->kind = LOG_KIND_SESSION;
	else if (l->proc_len == 5 && memcmp(l->proc, "queue", 5) == 0)
		l->kind = LOG_KIND_QUEUE;
	else
		return;
	/* "ID: " right after the prefix: up to LOG_ID_MAX letters and digits. */
	for (n = 0; n < l->msg_len && n <= LOG_ID_MAX && log_is_id_char(l->msg[n]); n++)
		;
	if (n < LOG_ID_MIN || n > LOG_ID_MAX || n + 1 >= l->msg_len ||
	    l->msg[n] != ':' || l->msg[n + 1] != ' ') {
		l->kind = LOG_KIND_OTHER;
		return;
	}
	l->id = l->msg;
	l->id_len = n;
	l->msg += n + 2;
	l->msg_len -= n + 2;
}

enum log_kind
log_line_key(const char *p, size_t len, const char **id_r, size_t *len_r)
{
	size_t off = 0, n;
	enum log_kind kind;

	if (len > LOG_STAMP_LEN && p[LOG_STAMP_LEN] == ' ' && p[10] == 'T')
		off = LOG_STAMP_LEN + 1;
	if (log_starts(p + off, len - off, "smtpd["))
		kind = LOG_KIND_SESSION;
	else if (log_starts(p + off, len - off, "queue["))
		kind = LOG_KIND_QUEUE;
	else
		return LOG_KIND_OTHER;
	/* The rest as log_line_parse does it, without filling a line. */
	const char *end = p + len, *q = memchr(p + off + 6, ']', len - off - 6);
	if (q == NULL || end - q < 3 || q[1] != ':' || q[2] != ' ')
		return LOG_KIND_OTHER;
	q += 3;
	if (log_starts(q, (size_t)(end - q), "warn: "))
		q += 6;
	else if (log_starts(q, (size_t)(end - q), "error: "))
		q += 7;
	for (n = 0; q + n < end && n <= LOG_ID_MAX && log_is_id_char(q[n]); n++)
		;
	if (n < LOG_ID_MIN || n > LOG_ID_MAX || end - (q + n) < 2 ||
	    q[n] != ':' || q[n + 1] != ' ')
		return LOG_KIND_OTHER;
	*id_r = q;
	*len_r = n;
	return kind;
}

int
log_line_time(const struct log_line *l, time_t *when_r)
{
	return log_stamp_parse(l->text, l->len, when_r);
}

int
log_line_value(const struct log_line *l, const char *key, const char **v_r,
    size_t *len_r)
{
	size_t klen = strlen(key);
	const char *p = l->msg, *end = l->msg + l->msg_len;

	while (p < end && (p = memmem(p, (size_t)(end - p), key, klen)) != NULL) {
		const char *v = p + klen;
		if ((p == l->msg || p[-1] == ' ') && v < end && *v == '=') {
			const char *e;
			v++;
			e = memchr(v, ' ', (size_t)(end - v));
			e = e ? e : end;
			if (e - v >= 2 && ((*v == '<' && e[-1] == '>') ||
			    (*v == '[' && e[-1] == ']'))) {
				v++;
				e--;
			}
			*v_r = v;
			*len_r = (size_t)(e - v);
			return 1;
		}
		p += klen;
	}
	return 0;
}

int
log_line_client(const struct log_line *l, char *ip, size_t len)
{
	const char *v, *end = l->msg + l->msg_len;
	size_t n;

	if (!log_line_value(l, "client", &v, &n)) {
		const char *p = memmem(l->msg, l->msg_len, "from [", 6);
		const char *e;
		if (p == NULL)
			return 0;
		v = p + 6;
		if ((e = memchr(v, ']', (size_t)(end - v))) == NULL)
			return 0;
		n = (size_t)(e - v);
	}
	if (n == 0 || n >= len)
		return 0;
	memcpy(ip, v, n);
	ip[n] = '\0';
	return 1;
}

int
log_line_queued(const struct log_line *l, const char **qid_r, size_t *len_r)
{
	if (l->kind != LOG_KIND_SESSION || !log_starts(l->msg, l->msg_len, "queued "))
		return 0;
	return log_line_value(l, "id", qid_r, len_r) && *len_r > 0 &&
	    *len_r <= LOG_ID_MAX;
}

int
log_line_ends_session(const struct log_line *l)
{
	return l->kind == LOG_KIND_SESSION &&
	    log_starts(l->msg, l->msg_len, "disconnect from ");
}

static void
log_reason(const struct log_line *l, const char *fallback, char *reason,
    size_t len)
{
	const char *v;
	size_t n;

	if (log_line_value(l, "reason", &v, &n))
		snprintf(reason, len, "%.*s", (int)n, v);
	else
		snprintf(reason, len, "%s", fallback);
}

int
log_line_failure(const struct log_line *l, char *reason, size_t len)
{
	const char *m = l->msg;
	size_t n = l->msg_len;

	if (log_starts(m, n, "auth failed ")) {
		log_reason(l, "failed", reason, len);
	} else if (log_starts(m, n, "auth throttled ") ||
	    log_starts(m, n, "auth refused ")) {
		log_reason(l, "refused", reason, len);
	} else if (log_starts(m, n, "auth case-mismatch ")) {
		snprintf(reason, len, "case-mismatch");
	} else if (memmem(m, n, "sender outside binding ", 23) != NULL) {
		snprintf(reason, len, "sender-binding");
	} else if (log_starts(m, n, "reject MAIL from [") &&
	    memmem(m, n, "unauthenticated local sender", 28) != NULL) {
		snprintf(reason, len, "unauthenticated-local-sender");
	} else if (log_starts(m, n, "reject DATA: ") &&
	    memmem(m, n, " login=", 7) != NULL) {
		snprintf(reason, len, "header-sender");
	} else {
		return 0;
	}
	return 1;
}

unsigned
log_filter_want(const struct log_filter *f)
{
	return (f->login ? LOG_F_LOGIN : 0) | (f->has_client ? LOG_F_CLIENT : 0) |
	    (f->address ? LOG_F_ADDRESS : 0) | (f->id ? LOG_F_ID : 0);
}

static int
log_value_is(const struct log_line *l, const char *key, const char *want,
    int any_case)
{
	const char *v;
	size_t n, wn = strlen(want);
	const char *p = l->msg, *end = l->msg + l->msg_len;
	struct log_line rest = *l;

	/* The key may come more than once (to= on several lines is one
	 * each, but existing= and login= share a line): look at each. */
	while (p < end) {
		rest.msg = p;
		rest.msg_len = (size_t)(end - p);
		if (!log_line_value(&rest, key, &v, &n))
			return 0;
		if (n == wn && (any_case ? strncasecmp(v, want, n) == 0 :
		    memcmp(v, want, n) == 0))
			return 1;
		p = v + n;
	}
	return 0;
}

static int
log_client_in(const struct log_filter *f, const struct log_line *l)
{
	char ip[64];
	int family;
	unsigned char addr[16];

	return log_line_client(l, ip, sizeof(ip)) &&
	    cidr_addr_from_ip(ip, &family, addr) == 0 &&
	    cidr_contains(&f->client, family, addr);
}

unsigned
log_filter_hits(const struct log_filter *f, const struct log_line *l)
{
	unsigned hits = 0;

	if (f->login && (log_value_is(l, "login", f->login, 0) ||
	    log_value_is(l, "existing", f->login, 0)))
		hits |= LOG_F_LOGIN;
	if (f->has_client && log_client_in(f, l))
		hits |= LOG_F_CLIENT;
	if (f->address) {
		static const char *const keys[] = { "from", "to", "orig_to", "address" };
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (log_value_is(l, keys[i], f->address, 1)) {
				hits |= LOG_F_ADDRESS;
				break;
			}
	}
	if (f->id && ((l->id != NULL && l->id_len == strlen(f->id) &&
	    memcmp(l->id, f->id, l->id_len) == 0) ||
	    log_value_is(l, "id", f->id, 0)))
		hits |= LOG_F_ID;
	return hits;
}
