/*
 * The metrics page: Prometheus's text format over HTTP at /metrics, on
 * metrics_listen, served by master from its children's last reports
 * (metrics_text.c renders them).  master, not a child, because it holds
 * every child's last report already (for tern status): a child serving
 * the page would need them all sent on to it again, and one more channel
 * to keep alive across restarts.  master runs a poll loop, not an event
 * library, and must never wait on a client: every socket here is
 * non-blocking and polled in master's loop, at most METRICS_HTTP_CONNS
 * connections at once (the listeners are not polled while all are
 * taken), each with a bounded request, a bounded answer and a deadline
 * for the whole exchange.  It trusts nothing the client sends: the
 * request line is checked byte by byte and the rest of the head read
 * only to find its end.  Only clients in metrics_allow are served; the
 * others are closed at once, and logged at most once a minute each.
 */
#ifndef TERN_METRICS_HTTP_H
#define TERN_METRICS_HTTP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "master/metrics_request.h"
#include "util/buf.h"

#define METRICS_HTTP_LISTENERS   4
#define METRICS_HTTP_CONNS       4
#define METRICS_HTTP_ANSWER_MAX  (256 * 1024)
#define METRICS_HTTP_DEADLINE_MS 5000   /* the whole exchange */
#define METRICS_HTTP_REFUSED     16     /* refused addresses remembered */
#define METRICS_HTTP_POLLFDS     (METRICS_HTTP_LISTENERS + METRICS_HTTP_CONNS)

/* Writes the page into b (bounded by b's max): 0, or -1 when it does
 * not fit. */
typedef int metrics_render_fn(struct buf *b, void *arg);

struct metrics_http {
	int listeners[METRICS_HTTP_LISTENERS];
	size_t nlisteners;
	struct metrics_conn {
		int fd;                 /* -1: free */
		enum { METRICS_READ, METRICS_WRITE, METRICS_DRAIN } state;
		uint64_t deadline;      /* monotonic ms */
		char req[METRICS_REQUEST_MAX];
		size_t reqlen;
		struct buf out;
		size_t off;             /* of out, written */
	} conns[METRICS_HTTP_CONNS];
	struct metrics_refused {
		char ip[64];
		time_t logged;          /* 0: free */
	} refused[METRICS_HTTP_REFUSED];
};

/* Sets mh up with nothing open. */
void metrics_http_init(struct metrics_http *mh);
/* Binds every address of list (metrics_listen; "" binds none), as root
 * where the port needs it.  0, or -1 (logged). */
int metrics_http_listen(struct metrics_http *mh, const char *list);
/* Closes every socket and frees the buffers; in a forked child, so
 * that it holds none of master's. */
void metrics_http_close(struct metrics_http *mh);

/* Adds what to poll to fds (room for METRICS_HTTP_POLLFDS); returns
 * how many were added. */
size_t metrics_http_pollfds(const struct metrics_http *mh, struct pollfd *fds);
/* After poll: serves what the n entries from metrics_http_pollfds say,
 * and ends the exchanges past their deadline.  allow is metrics_allow. */
void metrics_http_run(struct metrics_http *mh, const struct pollfd *fds,
    size_t n, const char *allow, metrics_render_fn *render, void *arg);

#endif
