/*
 * One milter connection of one session: connect (TCP or unix), the bytes
 * both ways on a bufferevent, and the clock of each awaited reply.  A
 * reply is framed by milter_proto.c before anything looks at it; a
 * milter that closes, errs, sends a length past the bound or stays silent
 * past its timeout is failed (milter.c gives the default action).  The
 * clock is restarted only by a whole SMFIR_PROGRESS packet, never by a
 * byte, so that a trickling milter cannot stretch it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "plugin/milter_int.h"
#include "smtpd/smtpd.h"
#include "util/log.h"

static void milter_conn_readcb(struct bufferevent *bev, void *arg);

static void
milter_conn_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct milter_peer *p = arg;
	char why[128];

	(void)fd;
	(void)what;
	if (p->state == MILTER_CONNECTING || p->state == MILTER_NEGOTIATING)
		snprintf(why, sizeof(why), "did not %s within %us",
		    p->state == MILTER_CONNECTING ? "accept the connection" :
		    "negotiate", p->timeout);
	else
		snprintf(why, sizeof(why), "sent no reply to '%c' within %us",
		    p->awaiting_cmd, p->timeout);
	milter_peer_fail(p, why);
}

void
milter_conn_await(struct milter_peer *p, char cmd, unsigned timeout)
{
	struct timeval tv = { (time_t)timeout, 0 };

	p->awaiting = 1;
	p->awaiting_cmd = cmd;
	p->timeout = timeout;
	if (p->timer != NULL)
		evtimer_add(p->timer, &tv);
}

void
milter_conn_stop_clock(struct milter_peer *p)
{
	if (p->timer != NULL)
		evtimer_del(p->timer);
}

size_t
milter_conn_pending(const struct milter_peer *p)
{
	return p->bev != NULL ?
	    evbuffer_get_length(bufferevent_get_output(p->bev)) : 0;
}

int
milter_conn_send(struct milter_peer *p, struct buf *out)
{
	int rc = 0;

	if (p->bev == NULL ||
	    bufferevent_write(p->bev, out->data, out->len) != 0)
		rc = -1;
	buf_reset(out);
	return rc;
}

static void
milter_conn_optneg(struct milter_peer *p)
{
	struct buf out;
	size_t start;

	buf_init(&out, 64);
	if (milter_put_begin(&out, SMFIC_OPTNEG, &start) < 0 ||
	    milter_put_u32(&out, MILTER_VERSION) < 0 ||
	    milter_put_u32(&out, MILTER_ACTIONS) < 0 ||
	    milter_put_u32(&out, MILTER_PROTOCOL) < 0)
		bug("milter: OPTNEG does not fit 64 bytes");
	milter_put_end(&out, start);
	p->state = MILTER_NEGOTIATING;
	p->awaiting = 1;
	p->awaiting_cmd = SMFIC_OPTNEG;
	if (milter_conn_send(p, &out) < 0) {
		buf_free(&out);
		milter_peer_fail(p, "write failed in negotiation");
		return;
	}
	buf_free(&out);
}

static void
milter_conn_negotiated(struct milter_peer *p, const struct milter_pkt *pkt)
{
	struct milter_optneg o;
	char why[160];

	if (milter_optneg_parse(pkt, &o, why, sizeof(why)) < 0) {
		milter_peer_fail(p, why);
		return;
	}
	p->version = o.version;
	p->actions = o.actions;
	p->protocol = o.protocol;
	memcpy(p->has_list, o.has_list, sizeof(p->has_list));
	memcpy(p->list, o.list, sizeof(p->list));
	p->awaiting = 0;
	milter_conn_stop_clock(p);
	p->state = MILTER_READY;
	milter_peer_ready(p);
}

static void
milter_conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct milter_peer *p = arg;
	char why[160];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		milter_conn_optneg(p);
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "closed the connection%s",
		    p->awaiting ? " before its reply" : "");
	else
		snprintf(why, sizeof(why), "%s: %s",
		    p->state == MILTER_CONNECTING ? "connect failed" :
		    "connection error", strerror(errno));
	milter_peer_fail(p, why);
}

static void
milter_conn_writecb(struct bufferevent *bev, void *arg)
{
	struct milter_peer *p = arg;

	(void)bev;
	if (!p->draining)
		return;
	p->draining = 0;
	milter_peer_drained(p);
}

/* Every packet goes out at once: the milter answers none of the macro
 * packets, so with Nagle's algorithm the command written after one waited
 * for the milter's delayed ACK (40 ms), once or more per message. */
static void
milter_conn_nodelay(struct milter_peer *p)
{
	int one = 1, fd = (int)bufferevent_getfd(p->bev);

	if (p->ep->sa.ss_family != AF_INET && p->ep->sa.ss_family != AF_INET6)
		return;
	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) < 0)
		log_warn("milter %s: cannot set TCP_NODELAY: %s", p->ep->name,
		    strerror(errno));
}

void
milter_conn_open(struct milter_peer *p)
{
	struct event_base *base = p->ms->s->sd->base;
	struct timeval tv;

	p->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	p->timer = evtimer_new(base, milter_conn_timeout, p);
	if (p->bev == NULL || p->timer == NULL) {
		milter_peer_fail(p, "out of memory for its connection");
		return;
	}
	bufferevent_setcb(p->bev, milter_conn_readcb, milter_conn_writecb,
	    milter_conn_eventcb, p);
	bufferevent_setwatermark(p->bev, EV_WRITE, MILTER_OUT_HIGH / 2, 0);
	bufferevent_setwatermark(p->bev, EV_READ, 0, MILTER_PKT_MAX + 8);
	p->state = MILTER_CONNECTING;
	p->timeout = p->ms->s->sd->conf->milter_connect_timeout;
	tv.tv_sec = (time_t)p->timeout;
	tv.tv_usec = 0;
	evtimer_add(p->timer, &tv);
	if (bufferevent_enable(p->bev, EV_READ | EV_WRITE) != 0 ||
	    bufferevent_socket_connect(p->bev, (struct sockaddr *)&p->ep->sa,
	    (int)p->ep->salen) != 0) {
		char why[160];
		snprintf(why, sizeof(why), "connect failed: %s",
		    strerror(errno));
		milter_peer_fail(p, why);
		return;
	}
	milter_conn_nodelay(p);
}

/* One whole packet: to the negotiation or to milter.c. */
static void
milter_conn_packet(struct milter_peer *p, const struct milter_pkt *pkt)
{
	char why[160];

	if (!p->awaiting) {
		snprintf(why, sizeof(why), "sent reply 0x%02x unasked",
		    (unsigned char)pkt->cmd);
		milter_peer_fail(p, why);
	} else if (p->state == MILTER_NEGOTIATING)
		milter_conn_negotiated(p, pkt);
	else
		milter_peer_reply(p, pkt);
}

/* Frames the next packet of the input, copies it out and hands it on:
 * 1 when one was handled, 0 when more bytes must come (or it failed). */
static int
milter_conn_next(struct milter_peer *p, struct evbuffer *in)
{
	struct milter_pkt pkt;
	size_t n = evbuffer_get_length(in), used;
	unsigned char *data;
	char why[160];
	int rc;

	if (n < 4)
		return 0;
	if ((data = evbuffer_pullup(in, 4)) == NULL)
		return 0;
	rc = milter_pkt_take(data, 4, &pkt, &used, why, sizeof(why));
	if (rc == MILTER_ERR) {
		milter_peer_fail(p, why);
		return 0;
	}
	/* The length is good: is the whole packet here? */
	used = 4 + (((size_t)data[0] << 24) | ((size_t)data[1] << 16) |
	    ((size_t)data[2] << 8) | (size_t)data[3]);
	if (n < used)
		return 0;
	buf_reset(&p->in);
	if (buf_append(&p->in, evbuffer_pullup(in, (ssize_t)used), used) < 0 ||
	    milter_pkt_take((const uint8_t *)p->in.data, used, &pkt, &used, why,
	    sizeof(why)) != MILTER_DONE) {
		milter_peer_fail(p, "packet could not be read");
		return 0;
	}
	evbuffer_drain(in, used);
	milter_conn_packet(p, &pkt);
	return 1;
}

/* Packets one after the other; after each, the peer may be closed or
 * the whole session gone (ms->alive tells). */
static void
milter_conn_readcb(struct bufferevent *bev, void *arg)
{
	struct milter_peer *p = arg;
	struct milter_sess *ms = p->ms;
	int alive = 1;

	ms->alive = &alive;
	while (milter_conn_next(p, bufferevent_get_input(bev)) == 1 &&
	    alive && p->bev == bev)
		;
	if (alive)
		ms->alive = NULL;
}

void
milter_conn_close(struct milter_peer *p, int quit)
{
	static const char quit_pkt[5] = { 0, 0, 0, 1, SMFIC_QUIT };

	if (p->bev != NULL && quit && p->state == MILTER_READY &&
	    milter_conn_pending(p) == 0) {
		/* Said at once: the bufferevent is freed below. */
		evutil_socket_t fd = bufferevent_getfd(p->bev);
		if (fd >= 0)
			(void)send(fd, quit_pkt, sizeof(quit_pkt),
			    MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	p->bev = NULL;
	if (p->timer != NULL)
		event_free(p->timer);
	p->timer = NULL;
	p->awaiting = 0;
}
