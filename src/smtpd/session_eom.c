/*
 * The end of a message, once tern's own checks passed: the plugins' end of
 * message stage, then their changes (recipients they added resolved by
 * lookup like an RCPT, the queue file written anew and renamed over the
 * old one), then the group commit.  A plugin's refusal, or a change that
 * cannot be made, leaves nothing queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lookup/directory.h"
#include "lookup/lookup_proto.h"
#include "net/ipc.h"
#include "plugin/msg_edit.h"
#include "smtpd/smtpd.h"
#include "util/log.h"

static void
session_eom_fail(struct session *s, const char *reply)
{
	session_data_abort(s);
	session_reset_transaction(s);
	session_reply(s, "%s", reply);
}

/* Every recipient gone (a plugin deleted them): nothing to deliver. */
static void
session_eom_discard(struct session *s, const char *why)
{
	log_info("%s: discarded id=%s from=<%s> size=%llu reason=%s", s->id,
	    s->env.id, s->env.sender, (unsigned long long)s->dr.size, why);
	session_reply(s, "250 2.0.0 Ok: queued as %s", s->env.id);
	session_data_abort(s);
	session_reset_transaction(s);
}

/* The file is written anew beside the old one and renamed over it, so
 * that the commit finds either the message as it came or as changed. */
static void
session_eom_rewrite(struct session *s)
{
	char tmp[sizeof(s->data_tmp) + 8];
	int in = -1, out = -1, n;

	n = snprintf(tmp, sizeof(tmp), "%s.edit", s->data_tmp);
	if (n < 0 || (size_t)n >= sizeof(tmp) ||
	    (in = open(s->data_tmp, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 ||
	    msg_edits_apply(s->edits, &s->env, in, s->data_received_at,
	    s->nprepend, out, s->sd->conf->max_message_size) < 0 ||
	    rename(tmp, s->data_tmp) < 0) {
		log_error("%s: cannot apply the plugins' changes to %s: %s",
		    s->id, s->env.id, strerror(errno));
		if (in >= 0)
			close(in);
		if (out >= 0) {
			close(out);
			(void)unlink(tmp);
		}
		session_eom_fail(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	close(in);
	close(s->data_fd);
	s->data_fd = out;
	s->data_reused = 0;
	if ((s->data_len = lseek(out, 0, SEEK_END)) < 0) {
		log_error("%s: cannot size %s: %s", s->id, s->data_tmp,
		    strerror(errno));
		s->data_write_error = 1;        /* the commit refuses it */
	}
	log_info("%s: %zu changes by plugins applied to id=%s", s->id,
	    msg_edits_count(s->edits), s->env.id);
	if (s->env.nrcpt == 0) {
		session_eom_discard(s, "no recipient left");
		return;
	}
	session_data_commit(s);
}

/* Asks lookup about the next recipient a plugin added, or rewrites. */
static void
session_eom_resolve_next(struct session *s)
{
	const char *addr = msg_edits_rcpt_added(s->edits, &s->edit_next);
	struct buf req;

	if (addr == NULL) {
		session_eom_rewrite(s);
		return;
	}
	session_lookup_request(s, &req);
	ipc_put_str(&req, addr);
	if (session_ask_lookup(s, IPC_LOOKUP_RESOLVE, &req, WAIT_EDIT) < 0) {
		log_warn("%s: lookup unavailable for an added recipient", s->id);
		session_eom_fail(s, "451 4.3.0 Error: temporary lookup failure");
	}
}

void
session_edit_reply(struct session *s, struct ipc_reader *r)
{
	uint32_t status = ipc_get_u32(r), n = ipc_get_u32(r);
	char addrs[DIR_RESOLVE_MAX][ADDR_BUF];
	const char *ptrs[DIR_RESOLVE_MAX];
	int remote[DIR_RESOLVE_MAX];
	size_t got = 0, i = s->edit_next;
	const char *added = msg_edits_rcpt_added(s->edits, &i);

	session_wait_for(s, WAIT_NONE);
	for (uint32_t k = 0; k < n && k < DIR_RESOLVE_MAX && !r->error; k++) {
		remote[got] = (int)ipc_get_u32(r);
		ipc_get_str(r, addrs[got], sizeof(addrs[got]));
		ptrs[got] = addrs[got];
		got++;
	}
	if (n > DIR_RESOLVE_MAX || ipc_reader_end(r) < 0 || added == NULL) {
		log_warn("%s: malformed lookup reply", s->id);
		status = DIR_RESOLVE_TEMPFAIL;
	}
	switch (status) {
	case DIR_RESOLVE_OK:
		msg_edits_resolved(s->edits, s->edit_next, (int)status, ptrs,
		    remote, got);
		break;
	case DIR_RESOLVE_NOT_LOCAL:
		/* A plugin may send a copy anywhere (Postfix relays it too). */
		remote[0] = 1;
		ptrs[0] = added;
		msg_edits_resolved(s->edits, s->edit_next, (int)status, ptrs,
		    remote, 1);
		break;
	case DIR_RESOLVE_UNKNOWN:
	case DIR_RESOLVE_LOOP:
		log_warn("%s: recipient added by a plugin is %s; dropped to=<%s>",
		    s->id, status == DIR_RESOLVE_UNKNOWN ? "unknown" :
		    "an alias loop", added);
		msg_edits_resolved(s->edits, s->edit_next, (int)status, NULL,
		    NULL, 0);
		break;
	default:
		log_warn("%s: lookup failed for an added recipient to=<%s>",
		    s->id, added != NULL ? added : "?");
		session_eom_fail(s, "451 4.3.0 Error: temporary lookup failure");
		session_resume(s);
		return;
	}
	s->edit_next++;
	session_eom_resolve_next(s);
	session_resume(s);
}

/* lookup went away while it resolved an added recipient. */
void
session_edit_failed(struct session *s)
{
	log_warn("%s: lookup went away while resolving an added recipient",
	    s->id);
	session_eom_fail(s, "451 4.3.0 Error: temporary lookup failure");
}

static void
session_eom_done(struct session *s, const struct plugin_verdict *v)
{
	if (v != NULL) {
		session_data_abort(s);
		session_reset_transaction(s);
		session_plugin_refuse(s, v, "END-OF-MESSAGE");
		return;
	}
	if (s->plugin_discard) {
		session_eom_discard(s, "plugin");
		return;
	}
	if (msg_edits_count(s->edits) == 0) {
		session_data_commit(s);
		return;
	}
	s->edit_next = 0;
	session_eom_resolve_next(s);
}

void
session_data_ready(struct session *s)
{
	/* Plugins read the message from the file: all of it must be
	 * there. */
	session_data_flush(s);
	if (s->data_write_error) {
		session_data_commit(s);         /* which says so */
		return;
	}
	msg_edits_free(s->edits);
	s->edits = msg_edits_new(s->sd->conf->max_message_size);
	session_plugin_run(s, PLUGIN_EOM, session_eom_done);
}
