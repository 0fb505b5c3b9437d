/*
 * The filters as smtpd talks to them: one peer per item of the `filters`
 * setting, over the socket master hands over after each (re)start.  smtpd
 * owns the conversation: it says its version, reads the filter's version
 * and registrations, then writes report lines and hook lines and matches
 * each reply to its hook by token.  A filter is trusted no more than the
 * network: every line is bounded and parsed by filter_proto.c, every call
 * has a timer, and what it leaves unread is bounded.  A broken filter is
 * logged, its calls in flight get the default action, and master kills
 * and restarts it (IPC_CTL_FILTER_STOP); one that speaks another version
 * is refused for good, once, with one log line.
 */
#include "plugin/filter.h"
#include "plugin/filter_int.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "master/master_filter.h"
#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "smtpd/smtpd.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* One piece of output; fd (when >= 0) rides with its first byte. */
struct filter_out {
	struct filter_out *next;
	int fd;
	size_t len, off;
	char data[];
};

struct filter_call {
	struct filter_call *next, *prev;
	struct filter_peer *peer;
	uint64_t token;
	enum filter_hook hook;
	int sent;
	int failed;                     /* the filter went down: default */
	struct buf line;                /* until sent */
	int fd;                         /* until sent */
	struct event *timer;
	filter_call_fn *done;
	void *arg;
};

static void filter_peer_down(struct filter_peer *p, const char *why,
    int restart);

/* ---- the set ---- */

struct filter_set *
filter_set_get(struct smtpd *sd)
{
	struct filter_set *set;
	char why[256];

	if (sd->filters != NULL)
		return sd->filters;
	set = xcalloc(1, sizeof(*set));
	set->sd = sd;
	set->next_token = 1;
	/* conf checked it at load; a failure here is our bug. */
	if (filter_confs_parse(sd->conf->filters, &set->confs, why,
	    sizeof(why)) < 0)
		bug("filters: %s", why);
	for (size_t i = 0; i < set->confs.n; i++) {
		struct filter_peer *p = &set->peers[i];
		p->set = set;
		p->index = (uint32_t)i;
		p->fd = -1;
		snprintf(p->name, sizeof(p->name), "%s", set->confs.items[i].name);
		snprintf(p->who, sizeof(p->who), "filter %s", p->name);
	}
	set->n = set->confs.n;
	sd->filters = set;
	return set;
}

unsigned
filter_peer_timeout(const struct filter_peer *p)
{
	return filter_timeout_for(p->set->sd->conf->filter_timeout, p->name);
}

enum filter_default
filter_peer_default(const struct filter_peer *p)
{
	return filter_default_for(p->set->sd->conf->filter_default_action,
	    p->name);
}

/* ---- output ---- */

static void
filter_out_free(struct filter_peer *p)
{
	while (p->out != NULL) {
		struct filter_out *o = p->out;
		p->out = o->next;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	p->out_tail = NULL;
	p->out_bytes = 0;
}

/* Writes what the socket takes; the fd goes with the first byte of its
 * piece (SCM_RIGHTS).  0, or -1 when the filter is gone. */
static int
filter_flush(struct filter_peer *p)
{
	while (p->out != NULL) {
		struct filter_out *o = p->out;
		struct iovec iov = { o->data + o->off, o->len - o->off };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (o->fd >= 0) {
			struct cmsghdr *c;
			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof(u.buf);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &o->fd, sizeof(int));
		}
		n = sendmsg(p->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		if (o->fd >= 0) {
			close(o->fd);
			o->fd = -1;
		}
		o->off += (size_t)n;
		p->out_bytes -= (size_t)n;
		if (o->off < o->len)
			break;
		p->out = o->next;
		if (p->out == NULL)
			p->out_tail = NULL;
		free(o);
	}
	if (p->out != NULL)
		event_add(p->wev, NULL);
	return 0;
}

/* Queues a line (and fd, taken) and writes what it can.  A filter that
 * leaves FILTER_OUT_MAX unread is broken. */
static void
filter_write(struct filter_peer *p, const char *data, size_t len, int fd)
{
	struct filter_out *o;

	if (p->fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (p->out_bytes + len > FILTER_OUT_MAX) {
		if (fd >= 0)
			close(fd);
		filter_peer_down(p, "it does not read what tern writes", 1);
		return;
	}
	o = xmalloc(sizeof(*o) + len);
	o->next = NULL;
	o->fd = fd;
	o->len = len;
	o->off = 0;
	memcpy(o->data, data, len);
	if (p->out_tail != NULL)
		p->out_tail->next = o;
	else
		p->out = o;
	p->out_tail = o;
	p->out_bytes += len;
	if (filter_flush(p) < 0)
		filter_peer_down(p, "its socket is closed", 0);
}

static void
filter_writable(evutil_socket_t fd, short what, void *arg)
{
	struct filter_peer *p = arg;

	(void)fd;
	(void)what;
	if (filter_flush(p) < 0)
		filter_peer_down(p, "its socket is closed", 0);
}

/* ---- calls ---- */

static void
filter_call_unlink(struct filter_call *c)
{
	struct filter_peer *p = c->peer;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		p->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

static void
filter_call_free(struct filter_call *c)
{
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->fd >= 0)
		close(c->fd);
	buf_free(&c->line);
	free(c);
}

/* Answers c (reply NULL: the default action) and frees it. */
static void
filter_call_finish(struct filter_call *c, const struct filter_line *reply)
{
	filter_call_fn *done = c->done;
	void *arg = c->arg;
	struct filter_peer *p = c->peer;

	filter_call_unlink(c);
	filter_call_free(c);
	done(arg, p, reply);
}

void
filter_call_cancel(struct filter_call **cp)
{
	if (*cp == NULL)
		return;
	filter_call_unlink(*cp);
	filter_call_free(*cp);
	*cp = NULL;
}

static void
filter_call_send(struct filter_call *c)
{
	int fd = c->fd;

	c->fd = -1;
	c->sent = 1;
	filter_write(c->peer, c->line.data, c->line.len, fd);
}

static void
filter_call_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct filter_call *c = arg;
	struct filter_peer *p = c->peer;

	(void)fd;
	(void)what;
	if (c->failed)
		;               /* filter_peer_down said why */
	else if (p->state == FILTER_PEER_READY || c->sent)
		log_warn("%s: hook %s token=%llu: no reply within %us: "
		    "default action %s", p->who, filter_hook_name(c->hook),
		    (unsigned long long)c->token, filter_peer_timeout(p),
		    filter_default_name(filter_peer_default(p)));
	else
		log_warn("%s: hook %s: the filter is not running: default "
		    "action %s", p->who, filter_hook_name(c->hook),
		    filter_default_name(filter_peer_default(p)));
	filter_call_finish(c, NULL);
}

struct filter_call *
filter_call_start(struct filter_peer *p, enum filter_hook hook,
    const struct buf *fields, int fd, filter_call_fn *done, void *arg)
{
	struct filter_call *c;
	struct timeval tv = { 0, 0 };

	if (p->state == FILTER_PEER_REFUSED ||
	    ((p->known || p->state == FILTER_PEER_READY) &&
	    !(p->hooks & (1u << hook)))) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->peer = p;
	c->hook = hook;
	c->token = p->set->next_token++;
	c->fd = fd;
	c->done = done;
	c->arg = arg;
	buf_init(&c->line, FILTER_REPORT_LINE_MAX);
	if (buf_appendf(&c->line, "hook %llu %s", (unsigned long long)c->token,
	    filter_hook_name(hook)) < 0 ||
	    buf_append(&c->line, fields->data, fields->len) < 0 ||
	    buf_append(&c->line, "\n", 1) < 0)
		bug("filter hook line too long");
	c->timer = evtimer_new(p->set->sd->base, filter_call_timeout, c);
	if (c->timer == NULL)
		fatal("evtimer_new: out of memory");
	c->next = p->calls;
	if (p->calls != NULL)
		p->calls->prev = c;
	p->calls = c;
	/* A filter known to want this hook but down now: its default
	 * action, from the loop (never from inside the caller). */
	if (p->state == FILTER_PEER_READY) {
		tv.tv_sec = filter_peer_timeout(p);
		filter_call_send(c);
	} else if (p->state != FILTER_PEER_DOWN || !p->known) {
		/* Starting: the call waits for its handshake. */
		tv.tv_sec = filter_peer_timeout(p);
	}
	evtimer_add(c->timer, &tv);
	return c;
}

/* Every call of p gets the default action, from the loop: the peer may
 * go down while a caller starts a call (a write that fails), and an
 * answer never comes from inside the caller.  The count, for the log. */
static size_t
filter_calls_fail(struct filter_peer *p)
{
	struct timeval now = { 0, 0 };
	size_t n = 0;

	for (struct filter_call *c = p->calls; c != NULL; c = c->next) {
		if (c->failed)
			continue;
		c->failed = 1;
		evtimer_add(c->timer, &now);
		n++;
	}
	return n;
}

/* ---- the peer's life ---- */

static void
filter_tell_master(struct filter_peer *p, int restart)
{
	struct buf b;

	if (p->set->sd->ctl == NULL)
		return;
	buf_init(&b, 64);
	master_filter_stop_put(&b, p->index, p->gen, (uint32_t)restart);
	if (ipc_chan_send(p->set->sd->ctl, IPC_CTL_FILTER_STOP, b.data, b.len,
	    -1) < 0)
		log_warn("%s: cannot ask master to stop it", p->who);
	buf_free(&b);
}

static void
filter_peer_close(struct filter_peer *p)
{
	if (p->rev != NULL)
		event_free(p->rev);
	if (p->wev != NULL)
		event_free(p->wev);
	if (p->hs_ev != NULL)
		event_free(p->hs_ev);
	p->rev = p->wev = p->hs_ev = NULL;
	filter_out_free(p);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->inlen = 0;
}

/* The filter is broken or gone: logged, its socket closed, its calls in
 * flight answered with the default action.  restart: master kills it
 * (master restarts it, with back-off); a filter that closed its socket
 * is exiting, and master sees that by itself. */
static void
filter_peer_down(struct filter_peer *p, const char *why, int restart)
{
	size_t n;

	if (p->fd < 0)
		return;
	filter_peer_close(p);
	if (restart)
		filter_tell_master(p, 1);
	if (p->state != FILTER_PEER_REFUSED)
		p->state = FILTER_PEER_DOWN;
	n = filter_calls_fail(p);
	log_warn("%s: %s; calls in flight: %zu, given the default action %s%s",
	    p->who, why, n, filter_default_name(filter_peer_default(p)),
	    restart ? "; restarting it" : "");
}

/* A version or a handshake tern does not take: one log line, and master
 * leaves it stopped until tern restarts.  Its hooks are not asked. */
static void
filter_peer_refuse(struct filter_peer *p, const char *why)
{
	log_error("%s refused: %s; it is not restarted and its hooks are "
	    "not called until tern restarts", p->who, why);
	p->state = FILTER_PEER_REFUSED;
	filter_peer_close(p);
	filter_tell_master(p, 0);
	/* Calls that waited for its handshake: it is out of service. */
	while (p->calls != NULL) {
		struct filter_line proceed = { .kind = FILTER_LINE_REPLY,
		    .action = FILTER_PROCEED };
		filter_call_finish(p->calls, &proceed);
	}
}

static void
filter_mask_names(uint32_t mask, int hooks, char *out, size_t outlen)
{
	size_t n = hooks ? FILTER_HOOK_COUNT : FILTER_EV_COUNT, len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && len < outlen; i++) {
		if (!(mask & (1u << i)))
			continue;
		len += (size_t)snprintf(out + len, outlen - len, "%s%s",
		    len ? "," : "", hooks ? filter_hook_name((enum filter_hook)i) :
		    filter_event_name((enum filter_event)i));
	}
	if (out[0] == '\0')
		snprintf(out, outlen, "none");
}

static void
filter_peer_ready(struct filter_peer *p)
{
	char r[256], h[128];
	struct filter_call *c, *next;

	p->state = FILTER_PEER_READY;
	p->known = 1;
	p->reports = p->new_reports;
	p->hooks = p->new_hooks;
	if (p->hs_ev != NULL)
		event_del(p->hs_ev);
	filter_mask_names(p->reports, 0, r, sizeof(r));
	filter_mask_names(p->hooks, 1, h, sizeof(h));
	log_info("%s ready: reports=%s hooks=%s", p->who, r, h);
	/* The calls that waited for it: sent, or proceed for a hook it did
	 * not ask for. */
	for (c = p->calls; c != NULL; c = next) {
		next = c->next;
		if (c->sent || c->failed)
			continue;
		if (p->hooks & (1u << c->hook)) {
			struct timeval tv = { filter_peer_timeout(p), 0 };
			evtimer_add(c->timer, &tv);
			filter_call_send(c);
			if (p->state != FILTER_PEER_READY)
				return;         /* the write broke it */
		} else {
			struct filter_line proceed = { .kind = FILTER_LINE_REPLY,
			    .action = FILTER_PROCEED };
			filter_call_finish(c, &proceed);
		}
	}
}

static void
filter_reply(struct filter_peer *p, const struct filter_line *l,
    const char *esc)
{
	struct filter_call *c;
	char why[FILTER_LINE_MAX];

	for (c = p->calls; c != NULL; c = c->next)
		if (c->sent && c->token == l->token)
			break;
	if (c == NULL) {
		if (l->token < p->set->next_token) {
			/* One that timed out: it was answered already. */
			log_info("%s: late reply ignored: %s", p->who, esc);
			return;
		}
		snprintf(why, sizeof(why), "reply to a hook never asked: %s", esc);
		filter_peer_down(p, why, 1);
		return;
	}
	if ((l->action == FILTER_ADD_HEADER && c->hook != FILTER_HOOK_DATA_END) ||
	    (l->action == FILTER_HOLD && (c->hook == FILTER_HOOK_CONNECT ||
	    c->hook == FILTER_HOOK_HELO))) {
		log_warn("%s: %s is not a reply to hook %s: default action %s",
		    p->who, filter_action_name(l->action),
		    filter_hook_name(c->hook),
		    filter_default_name(filter_peer_default(p)));
		filter_call_finish(c, NULL);
		return;
	}
	filter_call_finish(c, l);
}

/* One line during the handshake. */
static void
filter_handshake_line(struct filter_peer *p, const struct filter_line *l,
    const char *esc)
{
	char why[FILTER_LINE_MAX];

	if (p->state == FILTER_PEER_HELLO) {
		if (l->kind != FILTER_LINE_VERSION) {
			snprintf(why, sizeof(why), "it did not answer with its "
			    "version (tern-filter N) but: %s", esc);
			filter_peer_refuse(p, why);
		} else if (l->version != FILTER_PROTO_VERSION) {
			snprintf(why, sizeof(why), "it speaks tern-filter %u, "
			    "tern speaks tern-filter %d", l->version,
			    FILTER_PROTO_VERSION);
			filter_peer_refuse(p, why);
		} else {
			p->state = FILTER_PEER_REGISTER;
		}
		return;
	}
	switch (l->kind) {
	case FILTER_LINE_REPORT:
		p->new_reports |= 1u << l->which;
		break;
	case FILTER_LINE_HOOK:
		p->new_hooks |= 1u << l->which;
		break;
	case FILTER_LINE_READY:
		filter_peer_ready(p);
		break;
	default:
		snprintf(why, sizeof(why), "unexpected line in its handshake: "
		    "%s", esc);
		filter_peer_refuse(p, why);
		break;
	}
}

static void
filter_line(struct filter_peer *p, const char *line, size_t len)
{
	struct filter_line l;
	char err[256], esc[512], why[1024];

	log_escape(esc, sizeof(esc), line, len);
	if (filter_line_parse(line, len, &l, err, sizeof(err)) < 0) {
		snprintf(why, sizeof(why), "protocol error (%s): %s", err, esc);
		if (p->state == FILTER_PEER_READY)
			filter_peer_down(p, why, 1);
		else
			filter_peer_refuse(p, why);
		return;
	}
	if (p->state != FILTER_PEER_READY) {
		filter_handshake_line(p, &l, esc);
		return;
	}
	if (l.kind != FILTER_LINE_REPLY) {
		snprintf(why, sizeof(why), "protocol error (not a reply): %s", esc);
		filter_peer_down(p, why, 1);
		return;
	}
	filter_reply(p, &l, esc);
}

static void
filter_readable(evutil_socket_t fd, short what, void *arg)
{
	struct filter_peer *p = arg;
	ssize_t n;
	size_t start = 0;

	(void)what;
	n = read(fd, p->in + p->inlen, sizeof(p->in) - p->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		filter_peer_down(p, n == 0 ? "it closed its socket (exited?)" :
		    "cannot read its socket", 0);
		return;
	}
	p->inlen += (size_t)n;
	/* Each complete line; the peer may go down on any of them. */
	for (size_t i = 0; i < p->inlen && p->fd == fd; i++) {
		if (p->in[i] != '\n')
			continue;
		filter_line(p, p->in + start, i - start);
		start = i + 1;
	}
	if (p->fd != fd)
		return;
	memmove(p->in, p->in + start, p->inlen - start);
	p->inlen -= start;
	if (p->inlen == sizeof(p->in))
		filter_peer_down(p, "protocol error: a line longer than 4096 "
		    "bytes", 1);
}

static void
filter_handshake_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct filter_peer *p = arg;
	char why[128];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why), "no handshake within %us",
	    filter_peer_timeout(p));
	filter_peer_down(p, why, 1);
}

/* A (re)started filter's socket: the handshake begins. */
static void
filter_peer_start(struct filter_peer *p, int fd, uint32_t gen)
{
	struct event_base *base = p->set->sd->base;
	struct timeval tv = { filter_peer_timeout(p), 0 };
	char hello[32];
	int n;

	if (p->fd >= 0)
		filter_peer_down(p, "replaced by a new instance", 0);
	if (p->state == FILTER_PEER_REFUSED) {
		close(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	p->fd = fd;
	p->gen = gen;
	p->state = FILTER_PEER_HELLO;
	p->new_reports = p->new_hooks = 0;
	p->rev = event_new(base, fd, EV_READ | EV_PERSIST, filter_readable, p);
	p->wev = event_new(base, fd, EV_WRITE, filter_writable, p);
	p->hs_ev = evtimer_new(base, filter_handshake_timeout, p);
	if (p->rev == NULL || p->wev == NULL || p->hs_ev == NULL)
		fatal("event_new: out of memory");
	event_add(p->rev, NULL);
	evtimer_add(p->hs_ev, &tv);
	n = snprintf(hello, sizeof(hello), "tern-filter %d\n",
	    FILTER_PROTO_VERSION);
	filter_write(p, hello, (size_t)n, -1);
}

void
filter_channel_msg(struct smtpd *sd, const struct ipc_msg *msg)
{
	struct filter_set *set = filter_set_get(sd);
	uint32_t index, gen;

	if (master_filter_parse(msg, &index, &gen) < 0 || index >= set->n) {
		log_warn("malformed filter message from master");
		if (msg->fd >= 0)
			close(msg->fd);
		return;
	}
	filter_peer_start(&set->peers[index], msg->fd, gen);
}

void
filter_set_free(struct smtpd *sd)
{
	struct filter_set *set = sd->filters;

	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		struct filter_peer *p = &set->peers[i];
		filter_peer_close(p);
		while (p->calls != NULL) {
			struct filter_call *c = p->calls;
			filter_call_unlink(c);
			filter_call_free(c);
		}
	}
	filter_confs_free(&set->confs);
	free(set);
	sd->filters = NULL;
}

int
filter_report_wanted(struct filter_set *set, enum filter_event ev)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->peers[i].state == FILTER_PEER_READY &&
		    (set->peers[i].reports & (1u << ev)))
			return 1;
	return 0;
}

void
filter_report_send(struct filter_set *set, enum filter_event ev,
    const struct buf *line)
{
	for (size_t i = 0; i < set->n; i++) {
		struct filter_peer *p = &set->peers[i];
		if (p->state == FILTER_PEER_READY && (p->reports & (1u << ev)))
			filter_write(p, line->data, line->len, -1);
	}
}
