/*
 * DATA: the message is written to queue/tmp as it arrives (envelope, our
 * Received header, then the message as the DATA reader unstuffs it).  At
 * the final dot the file is synced and renamed into the queue, and the
 * session waits for the group commit: one sync of the queue folder for
 * every message that completed in the same turn of the event loop.  Only
 * then does the client hear 250.  A message with a bare LF, a bare CR or a
 * NUL, over the size limit, or whose first line is a continuation (it
 * would fold into our Received header), is read to its end and refused
 * whole.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "smtpd/header_from.h"
#include "smtpd/smtpd.h"
#include "util/durable.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Straight to the file; a failure is remembered for the final dot. */
static void
session_data_write(struct session *s, const void *p, size_t len)
{
	if (s->data_write_error || len == 0)
		return;
	if (durable_write_all(s->data_fd, p, len) < 0) {
		log_error("%s: cannot write %s: %s", s->id, s->data_tmp,
		    strerror(errno));
		s->data_write_error = 1;
	} else {
		s->data_len += (off_t)len;
	}
}

void
session_data_flush(struct session *s)
{
	session_data_write(s, s->data_out.data, s->data_out.len);
	buf_reset(&s->data_out);
}

static void
session_data_append(struct session *s, const char *p, size_t len)
{
	if (s->data_write_error || s->data_too_big)
		return;
	if (buf_append(&s->data_out, p, len) < 0) {
		session_data_flush(s);
		/* Larger than the buffer (the envelope of a message with many
		 * long recipients): no need to copy it first. */
		if (buf_append(&s->data_out, p, len) < 0)
			session_data_write(s, p, len);
	}
	if (s->data_out.len >= s->data_out.max / 2)
		session_data_flush(s);
}

static void
format_date(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(out, len, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 +0000");
}

/* The protocol keyword of RFC 3848: ESMTP, ESMTPS, ESMTPSA, UTF8SMTPSA... */
static void
session_protocol(const struct session *s, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s", s->mail.smtputf8 ? "UTF8SMTP" :
	    s->esmtp ? "ESMTP" : "SMTP", s->tls ? "S" : "",
	    s->authenticated ? "A" : "");
}

/* Our Received header: never the login or the password. */
static void
session_data_headers(struct session *s)
{
	const struct conf *conf = s->sd->conf;
	char date[64], proto[16];
	struct buf hdr;

	buf_init(&hdr, 512 * 1024 * 1024);
	queue_env_format(&s->env, &hdr);
	s->data_received_at = s->data_len + (off_t)(s->data_out.len + hdr.len);
	/* A policy service's PREPEND goes above our Received, as in
	 * Postfix. */
	if (buf_append(&hdr, s->prepend.data, s->prepend.len) < 0)
		bug("prepended headers larger than their buffer");
	format_date(date, sizeof(date));
	session_protocol(s, proto, sizeof(proto));
	buf_appendf(&hdr, "Received: from %s ([%s])\r\n", s->helo, s->client_ip);
	if (s->tls)
		buf_appendf(&hdr, "\t(using %s)\r\n", s->tls_desc);
	buf_appendf(&hdr, "\tby %s (Tern) with %s id %s", conf->hostname,
	    proto, s->env.id);
	if (s->env.nrcpt == 1)
		buf_appendf(&hdr, "\r\n\tfor <%s>", s->env.rcpts[0].orig);
	buf_appendf(&hdr, "; %s\r\n", date);
	session_data_append(s, hdr.data, hdr.len);
	s->data_message_at = s->data_len + (off_t)s->data_out.len;
	buf_free(&hdr);
}

void
session_data_begin(struct session *s)
{
	struct smtpd *sd = s->sd;
	int n;

	if (s->env.id[0] == '\0')
		queue_id_new(s->env.id);
	s->env.created = time(NULL);
	snprintf(s->env.client, sizeof(s->env.client), "%s", s->client_ip);
	/* What MAIL declared goes with the message, so that the SMTP client
	 * can declare it again (RFC 6152, RFC 6531) or refuse to relay it. */
	s->env.body_8bit = s->mail.body_8bit;
	s->env.smtputf8 = s->mail.smtputf8;
	n = snprintf(s->data_tmp, sizeof(s->data_tmp), "%s/%s", sd->queue_tmp,
	    s->env.id);
	s->data_len = 0;
	s->data_reused = 0;
	if (n >= 0 && (size_t)n < sizeof(s->data_tmp))
		s->data_reused = (s->data_fd = queue_spare_take(&sd->spares,
		    s->data_tmp)) >= 0;
	if (n < 0 || (size_t)n >= sizeof(s->data_tmp) || (!s->data_reused &&
	    (s->data_fd = open(s->data_tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) < 0)) {
		log_error("%s: cannot create %s: %s", s->id, s->data_tmp,
		    strerror(errno));
		session_reply(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	data_reader_init(&s->dr);
	if (s->authenticated) {
		s->hf = xcalloc(1, sizeof(*s->hf));
		header_from_init(s->hf);
	}
	s->data_too_big = s->data_write_error = s->data_folded_start = 0;
	buf_reset(&s->data_out);
	session_data_headers(s);
	session_deadline_data_begin(s);
	session_enter_state(s, SESSION_DATA);
	session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* Closes and removes the temporary file of an unfinished message. */
void
session_data_abort(struct session *s)
{
	session_deadline_stop(s);
	if (s->hf != NULL) {
		header_from_free(s->hf);
		free(s->hf);
		s->hf = NULL;
	}
	if (s->data_fd < 0)
		return;
	close(s->data_fd);
	s->data_fd = -1;
	if (unlink(s->data_tmp) < 0 && errno != ENOENT)
		log_warn("%s: cannot remove %s: %s", s->id, s->data_tmp,
		    strerror(errno));
}

static void
session_data_refuse(struct session *s, const char *reply, const char *why)
{
	log_info("%s: reject DATA from [%s] from=<%s> size=%llu reason=%s",
	    s->id, s->client_ip, s->env.sender,
	    (unsigned long long)s->dr.size, why);
	session_data_abort(s);
	session_reset_transaction(s);
	session_client_error(s, "%s", reply);
}

/* The final dot was read: refuse, or sync and wait for the group commit. */
static void
session_data_end(struct session *s)
{
	/* The client is done; what follows is tern's own time. */
	session_deadline_stop(s);
	if (s->dr.flags & DATA_BARE_LF) {
		session_data_refuse(s, "550 5.6.11 Error: bare <LF> in message data (SMTP smuggling)",
		    "bare-lf");
		return;
	}
	if (s->dr.flags & DATA_BARE_CR) {
		session_data_refuse(s, "550 5.6.11 Error: bare <CR> in message data (SMTP smuggling)",
		    "bare-cr");
		return;
	}
	if (s->dr.flags & DATA_NUL) {
		session_data_refuse(s, "550 5.6.0 Error: NUL byte in message data", "nul");
		return;
	}
	if (s->data_too_big) {
		session_data_refuse(s, "552 5.3.4 Error: message too big", "size");
		return;
	}
	if (s->data_folded_start) {
		session_data_refuse(s, "550 5.6.0 Error: message header starts with a continuation line",
		    "header-continuation");
		return;
	}
	switch (session_header_check(s)) {
	case 0:
		session_data_ready(s);
		return;
	case 1:
		return;         /* lookup answers; session_data_ready then */
	default:
		session_data_abort(s);
		session_reset_transaction(s);
		return;
	}
}

void
session_data_feed(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	char out[4096 + DATA_READER_SLACK];
	int done = 0;

	while (!done && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, 4096, NULL, &v, 1) < 1)
			break;
		size_t len = v.iov_len < 4096 ? v.iov_len : 4096, outlen;
		int first = s->dr.size == 0;
		size_t used = data_reader_feed(&s->dr, v.iov_base, len, out,
		    &outlen, &done);
		/* A first line that is a continuation would fold into our
		 * Received header, written just before it. */
		if (first && outlen > 0 && (out[0] == ' ' || out[0] == '\t'))
			s->data_folded_start = 1;
		evbuffer_drain(in, used);
		session_deadline_data_bytes(s, used);
		if (s->dr.size > s->sd->conf->max_message_size)
			s->data_too_big = 1;
		session_data_append(s, out, outlen);
		if (s->hf != NULL)
			header_from_feed(s->hf, out, outlen);
		/* An oversized message is read to its end so the client hears
		 * why, but not without bound: past twice the limit the
		 * session ends. */
		if (s->data_too_big &&
		    s->dr.size / 2 > s->sd->conf->max_message_size) {
			log_info("%s: message from [%s] far over the size limit; closing",
			    s->id, s->client_ip);
			session_reply(s, "552 5.3.4 Error: message too big");
			session_close_after_reply(s);
			return;
		}
	}
	if (done)
		session_data_end(s);
}
