/*
 * smtpd's side of the screen: sockets handed over from port 25's front
 * door, the sessions of clients that failed a test with action enforce,
 * and the reports of clients caught by the protocol tests inside a
 * session, which the screen remembers.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "screen/screen_proto.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_counts.h"
#include "util/log.h"

static void
smtpd_screen_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct smtpd *sd = arg;
	struct screen_handoff h;
	char ip[64];
	unsigned port;

	(void)chan;
	if (msg->type != IPC_SCREEN_CLIENT || msg->fd < 0 ||
	    screen_handoff_parse(msg, ip, sizeof(ip), &port, &h) < 0) {
		log_warn("bad message %u from the screen", msg->type);
		if (msg->fd >= 0)
			close(msg->fd);
		return;
	}
	smtpd_accept_socket(sd, msg->fd, ip, port, LISTEN_SMTP, &h);
}

static void
smtpd_screen_closed(struct ipc_chan *chan, void *arg)
{
	struct smtpd *sd = arg;

	(void)chan;
	log_warn("screen channel closed; waiting for a new one");
	ipc_chan_free(&sd->screen);
}

void
smtpd_screen_set(struct smtpd *sd, int fd)
{
	ipc_chan_free(&sd->screen);
	sd->screen = ipc_chan_new(sd->base, fd, smtpd_screen_msg,
	    smtpd_screen_closed, sd);
}

void
smtpd_screen_report(struct session *s, const char *reason)
{
	struct buf b;

	if (s->kind != LISTEN_SMTP || s->sd->screen == NULL)
		return;
	log_debug("%s: screen: report [%s] reason=%s", s->id, s->client_ip,
	    reason);
	buf_init(&b, 64);
	ipc_put_str(&b, s->client_ip);
	ipc_put_str(&b, reason);
	if (ipc_chan_send(s->sd->screen, IPC_SCREEN_REPORT, b.data, b.len, -1) < 0)
		log_warn("%s: cannot report [%s] to the screen", s->id,
		    s->client_ip);
	buf_free(&b);
}

void
smtpd_screen_done(struct smtpd *sd, const char *ip,
    const struct screen_handoff *h)
{
	struct buf b;

	if (h == NULL || h->count_gen == 0 || sd->screen == NULL)
		return;
	buf_init(&b, 64);
	ipc_put_str(&b, ip);
	ipc_put_u32(&b, h->count_gen);
	if (ipc_chan_send(sd->screen, IPC_SCREEN_CLOSED, b.data, b.len, -1) < 0)
		log_warn("cannot tell the screen that [%s] has gone", ip);
	buf_free(&b);
}

/* The connect line's account of the screen: " screen=pass-new waited=6.0s"
 * or " screen=enforce reason=pregreet"; "" for a client that came
 * another way. */
void
smtpd_screen_describe(const struct screen_handoff *h, char *out, size_t outlen)
{
	int n;

	out[0] = '\0';
	if (h == NULL)
		return;
	n = snprintf(out, outlen, " screen=%s", screen_verdict_name(h->verdict));
	if (n > 0 && (size_t)n < outlen && h->reason[0] != '\0')
		n += snprintf(out + n, outlen - (size_t)n, " reason=%s", h->reason);
	if (n > 0 && (size_t)n < outlen && h->dnsbl_score != 0)
		n += snprintf(out + n, outlen - (size_t)n, " dnsbl=%d", h->dnsbl_score);
	if (n > 0 && (size_t)n < outlen && (h->flags & SCREEN_TEASER))
		snprintf(out + n, outlen - (size_t)n, " waited=%u.%03us",
		    h->waited_ms / 1000, h->waited_ms % 1000);
}

/*
 * A client the screen enforced: it may talk, and the log shows whom it
 * meant to mail, but every recipient is refused, and the session ends
 * with its transaction.  1 when the command was answered here.
 */
int
smtpd_screen_enforce(struct session *s, const struct smtp_cmd *cmd)
{
	const struct screen_handoff *h = &s->screen;
	struct smtp_parse_error err;
	struct smtp_path path;

	if (!s->screened || h->verdict != SCREEN_ENFORCE)
		return 0;
	/* A recipient that does not parse hears the usual syntax error. */
	if (cmd->verb == SMTP_RCPT && (s->state == SESSION_MAIL ||
	    s->state == SESSION_RCPT) &&
	    smtp_parse_rcpt(cmd->arg, s->mail.smtputf8, &path, &err) == 0) {
		log_info("%s: screen enforce: from=<%s> to=<%s> reason=%s",
		    s->id, s->mail.addr, path.addr, h->reason);
		smtpd_count_reject(SMTPD_REJECT_SCREEN);
		/* A remembered listing has no zone: the screen asked no list. */
		if (strcmp(h->reason, "dnsbl") == 0)
			session_client_error(s, "550 5.7.1 Service unavailable; "
			    "client [%s] blocked using %s", s->client_ip,
			    h->dnsbl_zone[0] != '\0' ? h->dnsbl_zone :
			    "a DNS blocklist");
		else
			session_client_error(s, "550 5.5.1 Protocol error");
		return 1;
	}
	if (cmd->verb == SMTP_DATA && s->state == SESSION_MAIL) {
		session_reply(s, "554 5.5.1 Error: no valid recipients");
		session_close_after_reply(s);
		return 1;
	}
	return 0;
}
