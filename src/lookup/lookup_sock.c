/*
 * auth.sock: the door of IMAP and POP3 logins into lookup.  For every
 * login Dovecot's Lua passdb (mailbox/dovecot_auth.lua) connects here,
 * sends one request line and reads one answer (mailbox/login_proto.h).  The decision is
 * lookup_login()'s, the very one SMTP AUTH gets; this file only carries
 * it, logs it as smtpd logs SMTP AUTH (with proto=imap or pop3) and adds
 * the account's Maildir.
 *
 * Trusts nothing of what it reads: the socket is mode 0660 and owned by
 * tern's user, but what Dovecot passes on came from the network.  Bounded
 * in every way: a request line of LOGIN_PROTO_REQUEST_MAX bytes, one per
 * connection, LOOKUP_SOCK_TIMEOUT seconds to send it, LOOKUP_SOCK_MAX
 * connections at once (one more is told tempfail and closed).  The
 * buffer that held a password is wiped once the request is parsed.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "deliver/maildir.h"
#include "lookup/lookup.h"
#include "lookup/lookup_sock.h"
#include "lookup/password.h"
#include "mailbox/login_proto.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* The protocol's bounds are the policy's own. */
_Static_assert(LOGIN_PROTO_LOGIN_MAX + 1 == DIR_LOGIN_MAX, "login bound");
_Static_assert(LOGIN_PROTO_PASSWORD_MAX == PASSWORD_MAX, "password bound");
_Static_assert(LOGIN_PROTO_CLIENT_MAX < LOOKUP_CLIENT_MAX, "client bound");
_Static_assert(LOGIN_PROTO_DELAY_MAX == LOOKUP_AUTH_DELAY_MAX, "delay bound");

#define LOOKUP_SOCK_NAME    "auth.sock"
#define LOOKUP_SOCK_MAX     128     /* connections at once */
#define LOOKUP_SOCK_TIMEOUT 10      /* seconds to send the request */

struct lookup_sock_conn {
	struct lookup_sock *ls;
	int fd;
	uint64_t serial;
	struct event *read_ev, *deadline_ev;
	size_t len;
	char proto[8];          /* the service, once the request is in */
	char login[LOGIN_PROTO_LOGIN_MAX + 1];
	char client[LOGIN_PROTO_CLIENT_MAX + 1];
	char buf[LOGIN_PROTO_REQUEST_MAX];
};

struct lookup_sock {
	struct lookup *lk;
	int fd;
	struct event *accept_ev;
	uint64_t next_serial;
	struct lookup_sock_conn *conns[LOOKUP_SOCK_MAX];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void
lookup_sock_close(struct lookup_sock_conn **cp)
{
	struct lookup_sock_conn *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; i < LOOKUP_SOCK_MAX; i++)
		if (c->ls->conns[i] == c)
			c->ls->conns[i] = NULL;
	if (c->read_ev != NULL)
		event_free(c->read_ev);
	if (c->deadline_ev != NULL)
		event_free(c->deadline_ev);
	close(c->fd);
	explicit_bzero(c, sizeof(*c));
	free(c);
	*cp = NULL;
}

/* One answer line; the socket is new and the line short, so one write
 * takes it or the asker is gone. */
static void
lookup_sock_send(struct lookup_sock_conn *c, const struct login_answer *a)
{
	char line[LOGIN_PROTO_ANSWER_MAX];
	long n = login_answer_format(a, line, sizeof(line));

	if (n < 0) {
		struct login_answer t = { .result = LOGIN_TEMPFAIL };
		n = login_answer_format(&t, line, sizeof(line));
	}
	if (n > 0 && write(c->fd, line, (size_t)n) != n)
		log_info("auth.sock: the asker left before its answer");
}

static struct lookup_sock_conn *
lookup_sock_find(struct lookup_sock *ls, uint64_t serial)
{
	for (size_t i = 0; i < LOOKUP_SOCK_MAX; i++)
		if (ls->conns[i] != NULL && ls->conns[i]->serial == serial)
			return ls->conns[i];
	return NULL;
}

/* The same lines as smtpd's for SMTP AUTH (session_auth.c), with the
 * protocol. */
static void
lookup_sock_log(const struct lookup_sock_conn *c,
    const struct lookup_login_answer *a)
{
	char login[3 * DIR_LOGIN_MAX], ex[3 * DIR_LOGIN_MAX];
	const char *repeat = a->flags & LOOKUP_AUTH_REPEAT ? " repeat=yes" : "";

	log_escape(login, sizeof(login), c->login, strlen(c->login));
	log_escape(ex, sizeof(ex), a->existing, strlen(a->existing));
	if (a->delay > 0 && a->res != LOOKUP_AUTH_THROTTLED &&
	    a->res != LOOKUP_AUTH_TEMPFAIL)
		log_info("auth slowed login=%s client=[%s] delay=%ums "
		    "reason=earlier-failures proto=%s", login, c->client,
		    a->delay * 1000, c->proto);
	switch (a->res) {
	case LOOKUP_AUTH_OK:
		if (a->st == DIR_AUTH_CASE_MISMATCH)
			log_info("auth case-mismatch login=%s existing=%s "
			    "client=[%s] action=would-refuse proto=%s", login,
			    ex, c->client, c->proto);
		log_info("auth ok login=%s client=[%s] proto=%s",
		    a->st == DIR_AUTH_CASE_MISMATCH ? ex : login, c->client,
		    c->proto);
		break;
	case LOOKUP_AUTH_FAIL:
	case LOOKUP_AUTH_THROTTLED:
		if (a->st == DIR_AUTH_CASE_MISMATCH)
			log_info("auth failed login=%s reason=case-mismatch "
			    "existing=%s client=[%s]%s proto=%s", login, ex,
			    c->client, repeat, c->proto);
		else if (a->st != DIR_AUTH_TEMPFAIL && a->st != DIR_AUTH_OK)
			log_info("auth failed login=%s reason=%s client=[%s]%s "
			    "proto=%s", login, dir_auth_reason(a->st),
			    c->client, repeat, c->proto);
		if (a->res == LOOKUP_AUTH_THROTTLED)
			log_info("auth throttled login=%s client=[%s] "
			    "reason=too-many-failures proto=%s", login,
			    c->client, c->proto);
		break;
	default:
		log_warn("auth tempfail login=%s client=[%s] proto=%s", login,
		    c->client, c->proto);
		break;
	}
}

/* The Maildir of the account logged in to (or looked up): 0, or -1 when
 * the directory or the path failed (logged). */
static int
lookup_sock_maildir(struct lookup *lk, const char *login, char *out,
    size_t outlen)
{
	char mailbox[ADDR_BUF];

	if (dir_account_mailbox(lk->dir, login, mailbox) != 1)
		return -1;
	if (maildir_path(lk->conf->state_dir, mailbox, out, outlen) < 0) {
		log_warn("auth.sock: the Maildir path of %s is too long",
		    mailbox);
		return -1;
	}
	return 0;
}

/* lookup_login's answer, for a connection that may have gone meanwhile. */
static void
lookup_sock_done(struct lookup *lk, uint64_t ref, uint32_t id,
    const struct lookup_login_answer *a)
{
	struct lookup_sock_conn *c = lk->sock != NULL ?
	    lookup_sock_find(lk->sock, ref) : NULL;
	struct login_answer out = { .result = LOGIN_TEMPFAIL };

	(void)id;
	if (c == NULL)
		return;
	lookup_sock_log(c, a);
	out.delay = a->delay > LOGIN_PROTO_DELAY_MAX ? LOGIN_PROTO_DELAY_MAX :
	    a->delay;
	if (a->res == LOOKUP_AUTH_FAIL || a->res == LOOKUP_AUTH_THROTTLED) {
		/* The brake's refusal looks like any failure to the client. */
		out.result = LOGIN_FAIL;
	} else if (a->res == LOOKUP_AUTH_OK &&
	    strlen(a->login) <= LOGIN_PROTO_LOGIN_MAX &&
	    lookup_sock_maildir(lk, a->login, out.maildir,
	    sizeof(out.maildir)) == 0) {
		out.result = LOGIN_OK;
		memcpy(out.login, a->login, strlen(a->login) + 1);
	}
	lookup_sock_send(c, &out);
	lookup_sock_close(&c);
}

/* A userdb lookup (doveadm and the like, never a client's login): the
 * exact login only, no password, so neither the brake nor the audit. */
static void
lookup_sock_user(struct lookup_sock_conn *c, const struct login_request *r)
{
	struct login_answer out = { .result = LOGIN_UNKNOWN };
	char mailbox[ADDR_BUF];
	int rc = dir_account_mailbox(c->ls->lk->dir, r->login, mailbox);

	if (rc < 0)
		out.result = LOGIN_TEMPFAIL;
	else if (rc == 1 && maildir_path(c->ls->lk->conf->state_dir, mailbox,
	    out.maildir, sizeof(out.maildir)) < 0)
		out.result = LOGIN_TEMPFAIL;
	else if (rc == 1) {
		out.result = LOGIN_OK;
		memcpy(out.login, r->login, strlen(r->login) + 1);
	}
	lookup_sock_send(c, &out);
	lookup_sock_close(&c);
}

/* A whole request line is in. */
static void
lookup_sock_request(struct lookup_sock_conn *c)
{
	struct login_request r;
	struct lookup_login_req req;
	int rc = login_request_parse(c->buf, c->len, &r);

	explicit_bzero(c->buf, sizeof(c->buf));
	event_del(c->read_ev);
	event_del(c->deadline_ev);
	if (rc < 0) {
		struct login_answer t = { .result = LOGIN_TEMPFAIL };
		log_warn("auth.sock: malformed request refused");
		lookup_sock_send(c, &t);
		lookup_sock_close(&c);
		return;
	}
	if (r.verb == LOGIN_USER) {
		lookup_sock_user(c, &r);
		explicit_bzero(&r, sizeof(r));
		return;
	}
	/* Static strings: the audit keeps only these words. */
	req.proto = strcmp(r.service, "imap") == 0 ? "imap" : "pop3";
	snprintf(c->proto, sizeof(c->proto), "%s", req.proto);
	memcpy(c->login, r.login, sizeof(c->login));
	memcpy(c->client, r.client, sizeof(c->client));
	req.login = r.login;
	req.password = r.password;
	req.client = r.client;
	lookup_login(c->ls->lk, &req, lookup_sock_done, c->serial, 0);
	explicit_bzero(&r, sizeof(r));
}

static void
lookup_sock_readable(evutil_socket_t fd, short what, void *arg)
{
	struct lookup_sock_conn *c = arg;
	ssize_t n;

	(void)what;
	n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		lookup_sock_close(&c);
		return;
	}
	c->len += (size_t)n;
	if (memchr(c->buf + c->len - (size_t)n, '\n', (size_t)n) != NULL) {
		if (c->buf[c->len - 1] != '\n') {
			/* Bytes after the line: one request per connection. */
			c->len = sizeof(c->buf) + 1;
		} else {
			lookup_sock_request(c);
			return;
		}
	}
	if (c->len >= sizeof(c->buf)) {
		log_warn("auth.sock: request too long or not one line; "
		    "dropped");
		lookup_sock_close(&c);
	}
}

static void
lookup_sock_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct lookup_sock_conn *c = arg;

	(void)fd;
	(void)what;
	log_warn("auth.sock: no request within %d seconds; dropped "
	    "reason=timeout", LOOKUP_SOCK_TIMEOUT);
	lookup_sock_close(&c);
}

/* A free slot for one more connection, or -1. */
static int
lookup_sock_slot(const struct lookup_sock *ls)
{
	for (int i = 0; i < LOOKUP_SOCK_MAX; i++)
		if (ls->conns[i] == NULL)
			return i;
	return -1;
}

static void
lookup_sock_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct lookup_sock *ls = arg;
	struct timeval tv = { LOOKUP_SOCK_TIMEOUT, 0 };
	struct lookup_sock_conn *c;
	int fd, slot;

	(void)what;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("auth.sock: accept: %s", strerror(errno));
		return;
	}
	if ((slot = lookup_sock_slot(ls)) < 0) {
		static const char busy[] = "tempfail\n";
		log_warn("auth.sock: %d logins under way; one more told to "
		    "try later", LOOKUP_SOCK_MAX);
		if (write(fd, busy, sizeof(busy) - 1) < 0)
			log_debug("auth.sock: %s", strerror(errno));
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ls = ls;
	c->fd = fd;
	c->serial = ++ls->next_serial;
	c->read_ev = event_new(ls->lk->base, fd, EV_READ | EV_PERSIST,
	    lookup_sock_readable, c);
	c->deadline_ev = evtimer_new(ls->lk->base, lookup_sock_timeout, c);
	ls->conns[slot] = c;
	if (c->read_ev == NULL || c->deadline_ev == NULL ||
	    event_add(c->read_ev, NULL) < 0 ||
	    evtimer_add(c->deadline_ev, &tv) < 0) {
		log_warn("auth.sock: cannot watch a connection");
		lookup_sock_close(&c);
	}
}

/* Binds path afresh, mode 0660 from the start (the umask covers the
 * moment between bind and chmod).  The socket is bound and listening
 * under a temporary name and then renamed into place: a client never
 * finds auth.sock refusing connections because listen() has not run
 * yet. */
static int
lookup_sock_bind(struct lookup_sock *ls)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int rc, n;

	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s.new", ls->path);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		return -1;
	if (unlink(sun.sun_path) < 0 && errno != ENOENT)
		return -1;
	ls->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ls->fd < 0)
		return -1;
	old = umask(0117);
	rc = bind(ls->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || chmod(sun.sun_path, 0660) < 0 ||
	    listen(ls->fd, 128) < 0 || rename(sun.sun_path, ls->path) < 0)
		return -1;
	return 0;
}

struct lookup_sock *
lookup_sock_open(struct lookup *lk)
{
	struct lookup_sock *ls = xcalloc(1, sizeof(*ls));
	int n;

	ls->lk = lk;
	ls->fd = -1;
	n = snprintf(ls->path, sizeof(ls->path), "%s/%s", lk->conf->state_dir,
	    LOOKUP_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(ls->path) ||
	    lookup_sock_bind(ls) < 0) {
		log_warn("IMAP and POP3 logins will fail: cannot listen on "
		    "%s/%s: %s", lk->conf->state_dir, LOOKUP_SOCK_NAME,
		    strerror(errno));
		lookup_sock_free(&ls);
		return NULL;
	}
	ls->accept_ev = event_new(lk->base, ls->fd, EV_READ | EV_PERSIST,
	    lookup_sock_accept, ls);
	if (ls->accept_ev == NULL || event_add(ls->accept_ev, NULL) < 0)
		fatal("auth.sock: cannot watch the socket");
	return ls;
}

void
lookup_sock_free(struct lookup_sock **lsp)
{
	struct lookup_sock *ls = *lsp;

	if (ls == NULL)
		return;
	for (size_t i = 0; i < LOOKUP_SOCK_MAX; i++)
		lookup_sock_close(&ls->conns[i]);
	if (ls->accept_ev != NULL)
		event_free(ls->accept_ev);
	if (ls->fd >= 0)
		close(ls->fd);
	free(ls);
	*lsp = NULL;
}
