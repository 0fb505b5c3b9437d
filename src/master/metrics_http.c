/*
 * The metrics page's HTTP side: see metrics_http.h.  One request per
 * connection (Connection: close); the answer goes out as the socket
 * takes it, then the write side is shut and what the client still sends
 * is read and dropped until it closes, so that the close does not reset
 * the connection under an answer not yet read.
 */
#include "master/metrics_http.h"
#include "master/metrics_request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "master/master_int.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Seconds between two log lines about one refused address. */
#define METRICS_HTTP_LOG_EVERY 60

void
metrics_http_init(struct metrics_http *mh)
{
	memset(mh, 0, sizeof(*mh));
	for (size_t i = 0; i < METRICS_HTTP_CONNS; i++)
		mh->conns[i].fd = -1;
}

int
metrics_http_listen(struct metrics_http *mh, const char *list)
{
	return master_listen(list, mh->listeners, METRICS_HTTP_LISTENERS,
	    &mh->nlisteners);
}

static void
metrics_conn_end(struct metrics_conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	buf_free(&c->out);
}

void
metrics_http_close(struct metrics_http *mh)
{
	for (size_t i = 0; i < mh->nlisteners; i++)
		close(mh->listeners[i]);
	mh->nlisteners = 0;
	for (size_t i = 0; i < METRICS_HTTP_CONNS; i++)
		metrics_conn_end(&mh->conns[i]);
}

/* Monotonic milliseconds: deadlines must not jump with the wall clock. */
static uint64_t
metrics_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		fatal("clock_gettime: %s", strerror(errno));
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct metrics_conn *
metrics_free_conn(struct metrics_http *mh)
{
	for (size_t i = 0; i < METRICS_HTTP_CONNS; i++)
		if (mh->conns[i].fd < 0)
			return &mh->conns[i];
	return NULL;
}

size_t
metrics_http_pollfds(const struct metrics_http *mh, struct pollfd *fds)
{
	size_t n = 0;
	int room = 0;

	for (size_t i = 0; i < METRICS_HTTP_CONNS; i++) {
		const struct metrics_conn *c = &mh->conns[i];
		if (c->fd < 0) {
			room = 1;
			continue;
		}
		fds[n++] = (struct pollfd){ c->fd,
		    c->state == METRICS_WRITE ? POLLOUT : POLLIN, 0 };
	}
	/* All taken: new clients wait in the backlog for a free one. */
	for (size_t i = 0; room && i < mh->nlisteners; i++)
		fds[n++] = (struct pollfd){ mh->listeners[i], POLLIN, 0 };
	return n;
}

/* ---- the answer ---- */

static const char *
metrics_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

/* The whole answer into c->out: the page for 200, a line otherwise. */
static void
metrics_answer(struct metrics_conn *c, int status, metrics_render_fn *render,
    void *arg)
{
	struct buf body;
	int ok;

	buf_init(&body, METRICS_HTTP_ANSWER_MAX - 512);
	if (status == 200 && render(&body, arg) < 0) {
		log_warn("metrics: the page is larger than %d bytes",
		    METRICS_HTTP_ANSWER_MAX - 512);
		status = 500;
	}
	if (status != 200) {
		buf_reset(&body);
		(void)buf_appendf(&body, "%s\n", metrics_reason(status));
	}
	buf_init(&c->out, METRICS_HTTP_ANSWER_MAX);
	ok = buf_appendf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
	    metrics_reason(status), status == 200 ?
	    "text/plain; version=0.0.4; charset=utf-8" : "text/plain",
	    body.len, status == 405 ? "Allow: GET\r\n" : "") == 0 &&
	    buf_append(&c->out, body.data, body.len) == 0;
	buf_free(&body);
	if (!ok)
		bug("metrics: an answer larger than its buffer");
	c->off = 0;
	c->state = METRICS_WRITE;
}

/* ---- the connection ---- */

static void
metrics_read(struct metrics_conn *c, metrics_render_fn *render, void *arg)
{
	char drop[512];
	ssize_t n;
	int status;

	if (c->state == METRICS_DRAIN) {
		/* Until the client closes; the deadline bounds it. */
		n = read(c->fd, drop, sizeof(drop));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			metrics_conn_end(c);
		return;
	}
	n = read(c->fd, c->req + c->reqlen, sizeof(c->req) - c->reqlen);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		metrics_conn_end(c);
		return;
	}
	if (n < 0)
		return;
	c->reqlen += (size_t)n;
	if ((status = metrics_request_status(c->req, c->reqlen)) != 0)
		metrics_answer(c, status, render, arg);
}

static void
metrics_write(struct metrics_conn *c)
{
	ssize_t n = write(c->fd, c->out.data + c->off, c->out.len - c->off);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		metrics_conn_end(c);
		return;
	}
	c->off += (size_t)n;
	if (c->off < c->out.len)
		return;
	if (shutdown(c->fd, SHUT_WR) < 0) {
		metrics_conn_end(c);
		return;
	}
	c->state = METRICS_DRAIN;
}

/* A client outside allow: closed, and logged unless it was this last
 * minute. */
static void
metrics_refuse(struct metrics_http *mh, int fd, const char *ip)
{
	struct metrics_refused *slot = &mh->refused[0];
	time_t now = time(NULL);

	close(fd);
	for (size_t i = 0; i < METRICS_HTTP_REFUSED; i++) {
		struct metrics_refused *r = &mh->refused[i];
		if (r->logged != 0 && strcmp(r->ip, ip) == 0) {
			if (now - r->logged < METRICS_HTTP_LOG_EVERY)
				return;
			slot = r;
			break;
		}
		if (r->logged < slot->logged)
			slot = r;       /* the oldest, or a free one */
	}
	log_warn("metrics: refused [%s]: not in metrics_allow", ip);
	snprintf(slot->ip, sizeof(slot->ip), "%s", ip);
	slot->logged = now;
}

/* The client's address as inet_ntop writes it; "" when unknown. */
static void
metrics_peer(const struct sockaddr_storage *ss, char *ip, size_t len)
{
	const void *a = ss->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if ((ss->ss_family != AF_INET && ss->ss_family != AF_INET6) ||
	    inet_ntop(ss->ss_family, a, ip, (socklen_t)len) == NULL)
		snprintf(ip, len, "%s", "");
}

static int
metrics_allowed(const char *allow, const char *ip)
{
	static struct cidr_list nets;   /* 6 KB: not on master's stack */
	char why[128];

	/* Parsed at each client: a reload may have changed it, and the
	 * config check has already passed it. */
	if (cidr_list_parse(allow, &nets, why, sizeof(why)) < 0) {
		log_warn("metrics: metrics_allow: %s", why);
		return 0;
	}
	return *ip != '\0' && cidr_list_match(&nets, ip);
}

static void
metrics_accept(struct metrics_http *mh, int lfd, const char *allow)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct metrics_conn *c = metrics_free_conn(mh);
	char ip[64];
	int fd;

	if (c == NULL)
		return;
	fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("metrics: accept: %s", strerror(errno));
		return;
	}
	metrics_peer(&ss, ip, sizeof(ip));
	if (!metrics_allowed(allow, ip)) {
		metrics_refuse(mh, fd, *ip ? ip : "?");
		return;
	}
	c->fd = fd;
	c->state = METRICS_READ;
	c->reqlen = 0;
	c->deadline = metrics_now_ms() + METRICS_HTTP_DEADLINE_MS;
	buf_init(&c->out, METRICS_HTTP_ANSWER_MAX);
}

static struct metrics_conn *
metrics_conn_of(struct metrics_http *mh, int fd)
{
	for (size_t i = 0; i < METRICS_HTTP_CONNS; i++)
		if (mh->conns[i].fd == fd)
			return &mh->conns[i];
	return NULL;
}

static int
metrics_is_listener(const struct metrics_http *mh, int fd)
{
	for (size_t i = 0; i < mh->nlisteners; i++)
		if (mh->listeners[i] == fd)
			return 1;
	return 0;
}

void
metrics_http_run(struct metrics_http *mh, const struct pollfd *fds,
    size_t n, const char *allow, metrics_render_fn *render, void *arg)
{
	uint64_t now;

	for (size_t i = 0; i < n; i++) {
		struct metrics_conn *c;
		if (fds[i].revents == 0)
			continue;
		if (metrics_is_listener(mh, fds[i].fd)) {
			metrics_accept(mh, fds[i].fd, allow);
			continue;
		}
		/* Ended meanwhile, or its slot taken by a new client. */
		if ((c = metrics_conn_of(mh, fds[i].fd)) == NULL)
			continue;
		if (c->state == METRICS_WRITE)
			metrics_write(c);
		else
			metrics_read(c, render, arg);
	}
	now = metrics_now_ms();
	for (size_t i = 0; i < METRICS_HTTP_CONNS; i++)
		if (mh->conns[i].fd >= 0 && now >= mh->conns[i].deadline)
			metrics_conn_end(&mh->conns[i]);
}
