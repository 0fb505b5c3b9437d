/*
 * TLS in a session: STARTTLS on ports 25 and 587 (RFC 3207), TLS from the
 * first byte on 465 (RFC 8314).  After STARTTLS the session starts over:
 * whatever the client pipelined behind the command is thrown away, never
 * read inside TLS (CVE-2011-0411), and the client must say EHLO again.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "net/tls.h"
#include "smtpd/smtpd.h"
#include "plugin/filter.h"
#include "util/log.h"

static SSL *
session_tls_new(struct session *s)
{
	SSL *ssl = SSL_new(s->sd->tls);

	if (ssl == NULL)
		log_error("%s: cannot start TLS: out of memory", s->id);
	return ssl;
}

/* Port 465: the connection is TLS from its first byte. */
int
session_tls_accept(struct session *s, int fd)
{
	SSL *ssl;

	if (s->sd->tls == NULL || (ssl = session_tls_new(s)) == NULL)
		return -1;
	s->bev = bufferevent_openssl_socket_new(s->sd->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	session_wait_for(s, WAIT_TLS);
	s->tls_first_command = 1;
	return 0;
}

void
session_cmd_starttls(struct session *s, const char *arg)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct bufferevent *tls;
	size_t pipelined;
	SSL *ssl;

	if (*arg != '\0') {
		session_client_error(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->sd->tls == NULL || (ssl = session_tls_new(s)) == NULL) {
		session_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	session_reply(s, "220 2.0.0 Ready to start TLS");
	if ((pipelined = evbuffer_get_length(in)) > 0) {
		log_info("%s: discarded %zu bytes pipelined after STARTTLS from [%s]",
		    s->id, pipelined, s->client_ip);
		evbuffer_drain(in, pipelined);
	}
	/* The 220 is still in the plain bufferevent's output and goes out
	 * first; the filter writes the handshake behind it. */
	tls = bufferevent_openssl_filter_new(s->sd->base, s->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		log_error("%s: cannot start TLS", s->id);
		session_close_after_reply(s);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	s->bev = tls;
	session_wait_for(s, WAIT_TLS);
	session_reset_transaction(s);
	session_enter_state(s, SESSION_INIT);
	s->esmtp = 0;
	s->helo[0] = '\0';
	s->tls_first_command = 1;
	session_watch(s);
}

/* The handshake is done: say so in the log, once. */
static void
session_tls_established(struct session *s, SSL *ssl)
{
	s->tls = 1;
	session_wait_for(s, WAIT_NONE);
	tls_describe(ssl, s->tls_desc, sizeof(s->tls_desc));
	log_info("%s: TLS established from [%s]: %s", s->id, s->client_ip,
	    s->tls_desc);
	filter_report_tls(s);
}

/* The handshake is done: greet on 465, carry on after STARTTLS. */
void
session_tls_ready(struct session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	if (s->wait != WAIT_TLS || ssl == NULL)
		return;
	session_tls_established(s, ssl);
	if (s->kind == LISTEN_SUBMISSIONS)
		session_greet(s);
	session_resume(s);
}

/*
 * A client that closes right behind its Finished (a probe, s_client with
 * no input): libevent reads on as soon as the handshake completes and
 * reports the close before it reports the handshake.  Such a handshake did
 * succeed; it is logged as one before the close is handled.
 */
int
session_tls_finished(struct session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	if (s->wait != WAIT_TLS || ssl == NULL || !SSL_is_init_finished(ssl))
		return 0;
	session_tls_established(s, ssl);
	return 1;
}

void
session_tls_failed(struct session *s)
{
	unsigned long e = bufferevent_get_openssl_error(s->bev);
	char why[256] = "connection closed";

	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	log_info("%s: TLS handshake failed from [%s]: %s", s->id,
	    s->client_ip, why);
}
