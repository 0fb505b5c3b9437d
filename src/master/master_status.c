/*
 * tern status, master's side: see master_status.h.  The question is one
 * line, "status" or "status json"; the answer is text, one line per part
 * in the logs' key=value style, or one JSON object, and then the socket
 * closes.
 */
#include "master/master_status.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"

#define MASTER_STATUS_WAIT_MS 1000
#define MASTER_STATUS_LINE    64

static int
master_status_path(const struct conf *conf, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	int n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s",
	    conf->state_dir, MASTER_STATUS_SOCKET);
	return n < 0 || (size_t)n >= sizeof(sun->sun_path) ? -1 : 0;
}

int
master_status_listen(const struct conf *conf)
{
	struct sockaddr_un sun;
	int fd;

	if (master_status_path(conf, &sun) < 0) {
		log_warn("tern status: the path of the control socket is too "
		    "long under %s", conf->state_dir);
		return -1;
	}
	/* A server that stopped left it: the lock says no other runs. */
	if (unlink(sun.sun_path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", sun.sun_path, strerror(errno));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(sun.sun_path, 0600) < 0 || listen(fd, 8) < 0) {
		log_warn("tern status will not work: %s: %s", sun.sun_path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

void
master_status_close(const struct conf *conf, int lfd)
{
	struct sockaddr_un sun;

	if (lfd < 0)
		return;
	close(lfd);
	if (master_status_path(conf, &sun) == 0)
		unlink(sun.sun_path);
}

/* The question: 1 for JSON, 0 for text, -1 for none or another one. */
static int
master_status_question(int fd)
{
	char line[MASTER_STATUS_LINE];
	size_t len = 0;

	while (len < sizeof(line) - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, MASTER_STATUS_WAIT_MS) <= 0)
			return -1;
		ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		line[len] = '\0';
		if (strchr(line, '\n') != NULL)
			break;
	}
	if (strcmp(line, "status\n") == 0)
		return 0;
	if (strcmp(line, "status json\n") == 0)
		return 1;
	return -1;
}

static void
master_status_text(struct buf *b, const struct master_status *st)
{
	const struct master_stress *s = st->stress;
	char started[32];
	struct tm tm;

	gmtime_r(&st->started, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_appendf(b, "tern: running pid=%d since=%s\n", (int)st->pid, started);
	buf_appendf(b, "stress: %s", s->on ? "on" : "off");
	if (s->on)
		buf_appendf(b, " for=%llds entered_at sessions=%u/%u "
		    "screen=%u/%u", (long long)(st->now - s->since),
		    s->entered.sessions, s->entered.sessions_max,
		    s->entered.screen, s->entered.screen_max);
	buf_appendf(b, " mode=%s\n", st->conf->stress == CONF_STRESS_ON ? "on" :
	    st->conf->stress == CONF_STRESS_OFF ? "off" : "auto");
	for (size_t i = 0; i < st->nprocs; i++) {
		const struct master_status_proc *p = &st->procs[i];
		if (p->stats == NULL)
			continue;
		buf_appendf(b, "%s:", p->name);
		if (p->pid == 0)
			buf_appendf(b, " not running");
		for (size_t j = 0; p->pid != 0 && j < p->stats->n; j++)
			buf_appendf(b, " %s=%llu", p->stats->item[j].name,
			    (unsigned long long)p->stats->item[j].value);
		buf_appendf(b, "\n");
	}
}

static void
master_status_json(struct buf *b, const struct master_status *st)
{
	const struct master_stress *s = st->stress;

	buf_appendf(b, "{\"pid\": %d, \"started\": %lld, \"stress\": {\"on\": "
	    "%s, \"mode\": \"%s\"", (int)st->pid, (long long)st->started,
	    s->on ? "true" : "false", st->conf->stress == CONF_STRESS_ON ? "on" :
	    st->conf->stress == CONF_STRESS_OFF ? "off" : "auto");
	if (s->on)
		buf_appendf(b, ", \"seconds\": %lld, \"entered_at\": {"
		    "\"sessions\": %u, \"max_sessions\": %u, \"screen\": %u, "
		    "\"screen_max\": %u}", (long long)(st->now - s->since),
		    s->entered.sessions, s->entered.sessions_max,
		    s->entered.screen, s->entered.screen_max);
	buf_appendf(b, "}");
	for (size_t i = 0; i < st->nprocs; i++) {
		const struct master_status_proc *p = &st->procs[i];
		if (p->stats == NULL)
			continue;
		/* Names are [a-z0-9_] (stats_parse): no escaping needed. */
		buf_appendf(b, ", \"%s\": {\"running\": %s", p->name,
		    p->pid != 0 ? "true" : "false");
		for (size_t j = 0; p->pid != 0 && j < p->stats->n; j++)
			buf_appendf(b, ", \"%s\": %llu", p->stats->item[j].name,
			    (unsigned long long)p->stats->item[j].value);
		buf_appendf(b, "}");
	}
	buf_appendf(b, "}\n");
}

/* Writes all of b within the wait, or gives up. */
static void
master_status_write(int fd, const struct buf *b)
{
	size_t off = 0;

	while (off < b->len) {
		struct pollfd p = { fd, POLLOUT, 0 };
		if (poll(&p, 1, MASTER_STATUS_WAIT_MS) <= 0)
			return;
		ssize_t n = write(fd, b->data + off, b->len - off);
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

void
master_status_answer(int lfd, const struct master_status *st)
{
	struct buf b;
	int fd, json;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return;
	if ((json = master_status_question(fd)) < 0) {
		close(fd);
		return;
	}
	buf_init(&b, 2048);
	if (json)
		master_status_json(&b, st);
	else
		master_status_text(&b, st);
	master_status_write(fd, &b);
	buf_free(&b);
	close(fd);
}
