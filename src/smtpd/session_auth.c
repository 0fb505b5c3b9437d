/*
 * AUTH PLAIN and AUTH LOGIN (RFC 4954, RFC 4616), only inside TLS, on the
 * submission ports (and on port 25 when smtpd_auth_on_smtp = yes).  The
 * session only collects the login and password; lookup checks them, off
 * this loop.  Every failure answers the same 535, whatever the reason: the
 * reason goes to the log, for the postmaster alone.  The password is wiped
 * from memory as soon as it has been passed on.
 */
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lookup/lookup_proto.h"
#include "lookup/password.h"
#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "smtpd/smtpd.h"
#include "plugin/filter.h"
#include "util/base64.h"
#include "util/log.h"

/* A decoded response as long as the longest AUTH line allows: a field
 * too long is then refused for what it is, not as undecodable. */
#define AUTH_DECODED_MAX  (SMTPD_AUTH_LINE_MAX / 4 * 3)

int
session_auth_offered(const struct session *s)
{
	return s->kind != LISTEN_SMTP || s->sd->conf->smtpd_auth_on_smtp;
}

static void
session_auth_abort(struct session *s, const char *reply)
{
	s->auth_step = AUTH_NONE;
	explicit_bzero(s->auth_user, sizeof(s->auth_user));
	session_client_error(s, "%s", reply);
}

/* Hands login and password to lookup and waits for its verdict. */
static void
session_auth_check(struct session *s, const char *login, const char *password)
{
	struct buf req;

	s->auth_step = AUTH_NONE;
	snprintf(s->auth_user, sizeof(s->auth_user), "%s", login);
	session_lookup_request(s, &req);
	ipc_put_str(&req, login);
	ipc_put_str(&req, password);
	ipc_put_str(&req, s->client_ip);
	if (session_ask_lookup(s, IPC_LOOKUP_AUTH, &req, WAIT_AUTH) < 0) {
		log_warn("%s: lookup unavailable for AUTH", s->id);
		session_reply(s, "454 4.7.0 Temporary authentication failure");
	}
}

/* A password longer than any account can have (the same PASSWORD_MAX as
 * tern user add and the password check): refused as such, never cut
 * down to a prefix that might match. */
static void
session_auth_too_long(struct session *s, const char *login)
{
	char esc[3 * DIR_LOGIN_MAX], reply[64];

	log_info("%s: auth refused login=%s client=[%s] reason=password-too-long proto=smtp",
	    s->id, log_escape(esc, sizeof(esc), login, strlen(login)),
	    s->client_ip);
	snprintf(reply, sizeof(reply), "501 5.5.2 Error: password longer "
	    "than %d bytes", PASSWORD_MAX);
	session_auth_abort(s, reply);
}

/* Decodes one base64 response into out; "=" is the empty response. */
static long
session_auth_decode(struct session *s, const char *line, unsigned char *out,
    size_t outlen)
{
	long n;

	if (strcmp(line, "=") == 0)
		return 0;
	n = base64_decode(line, strlen(line), out, outlen - 1);
	if (n < 0) {
		session_auth_abort(s, "501 5.5.2 Error: cannot decode the AUTH response");
		return -1;
	}
	out[n] = '\0';
	return n;
}

/* PLAIN: [authzid] NUL authcid NUL password. */
static void
session_auth_plain(struct session *s, const char *response)
{
	unsigned char buf[AUTH_DECODED_MAX + 1];
	long n = session_auth_decode(s, response, buf, sizeof(buf));
	const char *authzid, *login, *password;

	if (n < 0)
		return;
	if (smtp_auth_plain_split((const char *)buf, (size_t)n, &authzid,
	    &login, &password) < 0 || strlen(login) >= DIR_LOGIN_MAX)
		goto bad;
	if (strlen(password) > PASSWORD_MAX) {
		session_auth_too_long(s, login);
		explicit_bzero(buf, sizeof(buf));
		return;
	}
	/* Acting for another identity is not offered. */
	if (*authzid != '\0' && strcmp(authzid, login) != 0) {
		log_info("%s: auth failed from [%s]: authorization identity differs reason=authzid proto=smtp",
		    s->id, s->client_ip);
		explicit_bzero(buf, sizeof(buf));
		session_auth_abort(s, "535 5.7.8 Error: authentication failed");
		return;
	}
	session_auth_check(s, login, password);
	explicit_bzero(buf, sizeof(buf));
	return;
bad:
	explicit_bzero(buf, sizeof(buf));
	session_auth_abort(s, "501 5.5.2 Error: malformed AUTH PLAIN response");
}

/* LOGIN: the name, then the password, each its own response. */
static void
session_auth_login(struct session *s, const char *response)
{
	unsigned char buf[AUTH_DECODED_MAX + 1];
	long n = session_auth_decode(s, response, buf, sizeof(buf));

	if (n < 0)
		return;
	if (strlen((char *)buf) != (size_t)n) {
		explicit_bzero(buf, sizeof(buf));
		session_auth_abort(s, "501 5.5.2 Error: malformed AUTH LOGIN response");
		return;
	}
	if (s->auth_step == AUTH_LOGIN_USER || s->auth_step == AUTH_NONE) {
		if (n == 0 || n >= DIR_LOGIN_MAX) {
			session_auth_abort(s, "501 5.5.2 Error: malformed AUTH LOGIN response");
			return;
		}
		memcpy(s->auth_user, buf, (size_t)n + 1);
		s->auth_step = AUTH_LOGIN_PASS;
		session_reply(s, "334 UGFzc3dvcmQ6");      /* "Password:" */
		return;
	}
	if (n > PASSWORD_MAX) {
		explicit_bzero(buf, sizeof(buf));
		session_auth_too_long(s, s->auth_user);
		return;
	}
	char login[DIR_LOGIN_MAX];
	memcpy(login, s->auth_user, sizeof(login));
	session_auth_check(s, login, (char *)buf);
	explicit_bzero(buf, sizeof(buf));
}

void
session_cmd_auth(struct session *s, const char *arg)
{
	char mech[16];
	const char *ir;
	size_t len = strcspn(arg, " ");

	if (len == 0 || len >= sizeof(mech)) {
		session_client_error(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	memcpy(mech, arg, len);
	mech[len] = '\0';
	ir = arg[len] == ' ' ? arg + len + 1 : NULL;
	if (strcasecmp(mech, "PLAIN") == 0) {
		snprintf(s->auth_mech, sizeof(s->auth_mech), "PLAIN");
		if (ir != NULL) {
			session_auth_plain(s, ir);
			return;
		}
		s->auth_step = AUTH_PLAIN;
		session_reply(s, "334 ");
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		snprintf(s->auth_mech, sizeof(s->auth_mech), "LOGIN");
		s->auth_step = AUTH_LOGIN_USER;
		if (ir != NULL) {
			session_auth_login(s, ir);
			return;
		}
		session_reply(s, "334 VXNlcm5hbWU6");      /* "Username:" */
	} else {
		session_client_error(s, "504 5.5.4 Error: unrecognized authentication type");
	}
}

/* A response line while an AUTH exchange is open. */
void
session_auth_line(struct session *s, const char *line)
{
	if (strcmp(line, "*") == 0) {
		session_auth_abort(s, "501 5.7.0 Error: authentication aborted");
		return;
	}
	if (s->auth_step == AUTH_PLAIN)
		session_auth_plain(s, line);
	else
		session_auth_login(s, line);
}

/* The verdict, once any delay lookup asked for has passed. */
static void
session_auth_finish(struct session *s)
{
	struct session_auth_verdict *v = &s->auth_verdict;
	char login[3 * DIR_LOGIN_MAX], ex[3 * DIR_LOGIN_MAX];
	const char *repeat = v->flags & LOOKUP_AUTH_REPEAT ? " repeat=yes" : "";

	log_escape(login, sizeof(login), s->auth_user, strlen(s->auth_user));
	log_escape(ex, sizeof(ex), v->existing, strlen(v->existing));
	filter_report_auth(s, v->res, v->st);
	switch (v->res) {
	case LOOKUP_AUTH_OK:
		s->authenticated = 1;
		/* In warn mode a miscased login acts as the account it names. */
		snprintf(s->auth_login, sizeof(s->auth_login), "%s",
		    v->st == DIR_AUTH_CASE_MISMATCH ? v->existing : s->auth_user);
		if (v->st == DIR_AUTH_CASE_MISMATCH)
			log_info("%s: auth case-mismatch login=%s existing=%s client=[%s] action=would-refuse proto=smtp",
			    s->id, login, ex, s->client_ip);
		log_info("%s: auth ok login=%s method=%s client=[%s] proto=smtp", s->id,
		    v->st == DIR_AUTH_CASE_MISMATCH ? ex : login, s->auth_mech,
		    s->client_ip);
		session_reply(s, "235 2.7.0 Authentication successful");
		break;
	case LOOKUP_AUTH_FAIL:
	case LOOKUP_AUTH_THROTTLED:
		/* A throttled login that was checked and failed still says
		 * why it failed. */
		if (v->st == DIR_AUTH_CASE_MISMATCH)
			log_info("%s: auth failed login=%s reason=case-mismatch existing=%s client=[%s]%s proto=smtp",
			    s->id, login, ex, s->client_ip, repeat);
		else if (v->st != DIR_AUTH_TEMPFAIL && v->st != DIR_AUTH_OK)
			log_info("%s: auth failed login=%s reason=%s client=[%s]%s proto=smtp",
			    s->id, login, dir_auth_reason((enum dir_auth_status)v->st), s->client_ip,
			    repeat);
		if (v->res == LOOKUP_AUTH_FAIL) {
			session_client_error(s, "535 5.7.8 Error: authentication failed");
			break;
		}
		log_info("%s: auth throttled login=%s client=[%s] reason=too-many-failures proto=smtp",
		    s->id, login, s->client_ip);
		session_client_error(s, "454 4.7.0 Error: too many failed logins, try again later");
		break;
	default:
		log_warn("%s: auth tempfail login=%s client=[%s] proto=smtp", s->id, login,
		    s->client_ip);
		session_reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	}
	explicit_bzero(s->auth_user, sizeof(s->auth_user));
	explicit_bzero(v, sizeof(*v));
	session_resume(s);
}

static void
session_auth_delayed(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	session_wait_for(s, WAIT_NONE);
	session_auth_finish(s);
}

/* Holds the answer for delay_ms on the session's timer (the loop goes on
 * serving every other session).  0, or -1 when no timer could be set. */
static int
session_auth_hold(struct session *s, uint32_t delay_ms)
{
	char login[3 * DIR_LOGIN_MAX];
	struct timeval tv;

	if (delay_ms > LOOKUP_AUTH_DELAY_MAX * 1000)
		delay_ms = LOOKUP_AUTH_DELAY_MAX * 1000;
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	if (s->delay_ev == NULL)
		s->delay_ev = evtimer_new(s->sd->base, session_auth_delayed, s);
	if (s->delay_ev == NULL || evtimer_add(s->delay_ev, &tv) < 0)
		return -1;
	if (s->auth_verdict.res != LOOKUP_AUTH_THROTTLED) {
		log_escape(login, sizeof(login), s->auth_user,
		    strlen(s->auth_user));
		log_info("%s: auth slowed login=%s client=[%s] delay=%ums reason=earlier-failures proto=smtp",
		    s->id, login, s->client_ip, delay_ms);
	}
	session_wait_for(s, WAIT_DELAY);
	return 0;
}

void
session_auth_reply(struct session *s, struct ipc_reader *r)
{
	struct session_auth_verdict *v = &s->auth_verdict;
	uint32_t delay_ms;

	v->res = ipc_get_u32(r);
	v->st = ipc_get_u32(r);
	ipc_get_str(r, v->existing, sizeof(v->existing));
	delay_ms = ipc_get_u32(r);
	v->flags = ipc_get_u32(r);
	session_wait_for(s, WAIT_NONE);
	if (ipc_reader_end(r) < 0) {
		log_warn("%s: malformed AUTH reply from lookup", s->id);
		v->res = LOOKUP_AUTH_TEMPFAIL;
		delay_ms = 0;
	}
	if (delay_ms > 0 && v->res != LOOKUP_AUTH_TEMPFAIL &&
	    session_auth_hold(s, delay_ms) == 0)
		return;
	session_auth_finish(s);
}
