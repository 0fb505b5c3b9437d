/*
 * The metrics page's request check: see metrics_request.h.
 */
#include "master/metrics_request.h"

#include <string.h>

/* The request line's three parts, with the line's end (before CR LF). */
struct metrics_line {
	size_t method_end, target, target_end, version, end;
};

/* The bytes of the line so far are all request-line bytes: printable
 * ASCII and at most two single spaces; a CR only just before the LF.
 * Fills l's space positions.  0, or -1. */
static int
metrics_line_bytes(const char *req, size_t end, int complete,
    struct metrics_line *l)
{
	size_t nsp = 0;

	for (size_t i = 0; i < end; i++) {
		unsigned char ch = (unsigned char)req[i];
		if (ch == ' ') {
			if (nsp == 2 || i == 0 || req[i - 1] == ' ')
				return -1;
			if (nsp++ == 0)
				l->method_end = i;
			else
				l->target_end = i;
			continue;
		}
		if (ch == '\r' && i + 1 == end)
			continue;
		if (ch < 0x21 || ch > 0x7e)
			return -1;
		if (nsp == 0 && (ch < 'A' || ch > 'Z'))
			return -1;      /* a method is a word in capitals */
	}
	if (complete && nsp != 2)
		return -1;
	return 0;
}

static int
metrics_version_status(const char *v, size_t len)
{
	if (len == 8 && (memcmp(v, "HTTP/1.0", 8) == 0 ||
	    memcmp(v, "HTTP/1.1", 8) == 0))
		return 200;
	if (len == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' &&
	    v[5] <= '9' && v[6] == '.' && v[7] >= '0' && v[7] <= '9')
		return 505;
	return 400;
}

int
metrics_request_status(const char *req, size_t len)
{
	const char *nl = memchr(req, '\n', len);
	struct metrics_line l = { 0, 0, 0, 0, 0 };
	size_t plen;
	int st;

	l.end = nl != NULL ? (size_t)(nl - req) : len;
	if (metrics_line_bytes(req, l.end, nl != NULL, &l) < 0)
		return 400;
	if (nl == NULL)
		return len >= METRICS_REQUEST_MAX ? 431 : 0;
	if (l.end > 0 && req[l.end - 1] == '\r')
		l.end--;
	l.target = l.method_end + 1;
	l.version = l.target_end + 1;
	if (l.version >= l.end)
		return 400;
	if ((st = metrics_version_status(req + l.version,
	    l.end - l.version)) != 200)
		return st;
	/* The path, without a query string. */
	plen = strcspn(req + l.target, "? ");
	if (plen != strlen(METRICS_REQUEST_PATH) ||
	    memcmp(req + l.target, METRICS_REQUEST_PATH, plen) != 0)
		return 404;
	if (l.method_end != 3 || memcmp(req, "GET", 3) != 0)
		return 405;
	return 200;
}
