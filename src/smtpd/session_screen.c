/*
 * smtpd's own share of the port-25 screen (issue 9, point 5): the tests
 * postscreen runs in a dummy SMTP engine after the greeting, which make
 * every new sender hang up and come back, run here inside the real
 * session instead.  A client that sends a forbidden or header-shaped
 * command, or that pipelines behind HELO/EHLO before it could have read
 * the reply, is refused and the session ends; a bare LF is refused in
 * session.c.  Each failure on port 25 is reported to the screen, which
 * remembers it for screen_fail_ttl.  A client that behaves never notices:
 * it is not made to reconnect.  Everything here comes from the network and
 * is logged only escaped and cut short.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <string.h>

#include "smtpd/smtp_forbidden.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_counts.h"
#include "util/log.h"

#define SESSION_SCREEN_QUOTE 80        /* client bytes quoted in the log */

/* The reply, the end of the session once it is out, and the report. */
static void
session_screen_refuse(struct session *s, const char *reply,
    const char *reason)
{
	smtpd_count_reject(SMTPD_REJECT_PROTOCOL);
	session_reply(s, "%s", reply);
	s->errors++;
	session_close_after_reply(s);
	smtpd_screen_report(s, reason);
}

int
session_screen_command(struct session *s, const char *line)
{
	char quoted[SESSION_SCREEN_QUOTE];

	if (smtp_forbidden_line(line, s->sd->conf->screen_forbidden_commands) ==
	    SMTP_FORBIDDEN_NONE)
		return 0;
	log_info("%s: non-SMTP command from [%s]: %s", s->id, s->client_ip,
	    log_escape(quoted, sizeof(quoted), line, strlen(line)));
	/* postscreen's words: the client is told plainly why it is cut off. */
	session_screen_refuse(s, "521 5.7.0 Error: I can break rules, too. "
	    "Goodbye.", "non-smtp-command");
	return 1;
}

/*
 * Bytes already waiting behind HELO/EHLO were sent before the client could
 * read the reply, so before it knew PIPELINING was offered (RFC 2920: EHLO
 * ends a group).  Only what is already read is judged: bytes still on the
 * way cannot be told apart from a fast but polite client.  STARTTLS throws
 * its own pipelined bytes away (session_tls.c); that is no failure here.
 */
int
session_screen_pipelined(struct session *s, const char *verb)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	char quoted[SESSION_SCREEN_QUOTE], peek[SESSION_SCREEN_QUOTE];
	size_t waiting = evbuffer_get_length(in);
	ev_ssize_t n;

	if (waiting == 0)
		return 0;
	n = evbuffer_copyout(in, peek, sizeof(peek));
	log_info("%s: improper command pipelining after %s from [%s]: %s",
	    s->id, verb, s->client_ip, log_escape(quoted, sizeof(quoted), peek,
	    n > 0 ? (size_t)n : 0));
	session_screen_refuse(s, "554 5.5.0 Error: SMTP protocol "
	    "synchronization", "pipelining");
	return 1;
}
