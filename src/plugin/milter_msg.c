/*
 * The message at end of DATA, as a milter sees it under Postfix: the
 * client's header fields one by one (tern's own Received header is not
 * shown), end of header, the body in chunks of at most 65,535 bytes with
 * CRLF line ends, end of message.  Then the changes the milter asks for,
 * kept raw in the peer until its final reply, and only then written into
 * s->edits, so that a milter that breaks half-way commits nothing.
 * Trusts the queue file (tern wrote it); trusts no byte of the milter's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/milter_int.h"
#include "plugin/milter_macros.h"
#include "plugin/msg_edit.h"
#include "smtpd/smtpd.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Where the header section of [p, p+n) ends: after the CRLF of its last
 * field, before the empty line; *body_r is where the body starts. */
static size_t
milter_hdr_end(const char *p, size_t n, size_t *body_r)
{
	size_t last = 0;

	if (n >= 2 && p[0] == '\r' && p[1] == '\n') {
		*body_r = 2;
		return 0;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '\r' || p[i + 1] != '\n')
			continue;
		last = i + 2;
		if (i + 3 < n && p[i + 2] == '\r' && p[i + 3] == '\n') {
			*body_r = i + 4;
			return i + 2;
		}
	}
	/* No empty line: all header (a short message), or cut at the bound
	 * after the last whole line. */
	*body_r = n < MILTER_HDR_MAX ? n : last;
	return *body_r;
}

int
milter_msg_load(struct milter_sess *ms, char *why, size_t whylen)
{
	off_t received_at, message_at;
	struct stat st;
	char *buf;
	ssize_t n;
	size_t body;

	milter_msg_free(ms);
	ms->msg_fd = session_plugin_message(ms->s, &received_at, &message_at);
	if (ms->msg_fd < 0) {
		snprintf(why, whylen, "the message could not be read");
		return -1;
	}
	if (fstat(ms->msg_fd, &st) < 0) {
		snprintf(why, whylen, "fstat of the message: %m");
		return -1;
	}
	ms->msg_end = st.st_size;
	buf = xmalloc(MILTER_HDR_MAX);
	n = pread(ms->msg_fd, buf, MILTER_HDR_MAX, message_at);
	if (n < 0) {
		snprintf(why, whylen, "reading the message: %m");
		free(buf);
		return -1;
	}
	ms->hdr_len = milter_hdr_end(buf, (size_t)n, &body);
	ms->hdr = buf;
	ms->body_at = message_at + (off_t)body;
	return 0;
}

void
milter_msg_free(struct milter_sess *ms)
{
	if (ms->msg_fd >= 0)
		close(ms->msg_fd);
	ms->msg_fd = -1;
	free(ms->hdr);
	ms->hdr = NULL;
	ms->hdr_len = 0;
}

/* The next header field from ms->hdr at *pos: name and value as Postfix
 * sends them (folds as LF, one space after the colon eaten unless the
 * milter asked for SMFIP_HDR_LEADSPC).  0 at the end. */
static int
milter_next_header(struct milter_peer *p, struct buf *name,
    struct buf *value)
{
	const char *h = p->ms->hdr;
	size_t end = p->ms->hdr_len, i = p->hdr_pos, stop, colon;

	for (;;) {
		if (i >= end)
			return 0;
		/* the field runs to a CRLF not followed by SP or HTAB */
		for (stop = i; stop + 1 < end; stop++)
			if (h[stop] == '\r' && h[stop + 1] == '\n' &&
			    (stop + 2 >= end || (h[stop + 2] != ' ' &&
			    h[stop + 2] != '\t')))
				break;
		p->hdr_pos = stop + 2;
		for (colon = i; colon < stop && h[colon] != ':'; colon++)
			;
		if (colon < stop && colon > i)
			break;
		i = p->hdr_pos;         /* no name: not a field, skipped */
	}
	buf_reset(name);
	buf_reset(value);
	size_t nend = colon;
	while (nend > i && (h[nend - 1] == ' ' || h[nend - 1] == '\t'))
		nend--;
	(void)buf_append(name, h + i, nend - i);
	i = colon + 1;
	if (!(p->protocol & SMFIP_HDR_LEADSPC) && i < stop && h[i] == ' ')
		i++;
	for (; i < stop; i++) {
		if (h[i] == '\r' && i + 1 < stop && h[i + 1] == '\n')
			continue;       /* a fold: sent as LF, as Postfix does */
		if (buf_append(value, h + i, 1) < 0)
			break;          /* past MSG_EDIT_FIELD_MAX: cut */
	}
	return 1;
}

static const char *
milter_list(const struct milter_peer *p, enum milter_macro_class cls)
{
	return p->has_list[cls] ? p->list[cls] :
	    milter_macro_conf_list(p->ms->s, cls);
}

/* Sends macros then command cmd with data; awaits a reply unless
 * no_reply.  1: waiting (a reply or a drain), 0: go on, -1: failed. */
static int
milter_msg_send(struct milter_peer *p, char cmd, enum milter_macro_class cls,
    const void *data, size_t len, int no_reply)
{
	struct buf out;
	size_t start;
	int rc;

	buf_init(&out, MILTER_CHUNK_MAX + 2 * MSG_EDIT_FIELD_MAX + 4096);
	rc = milter_macros_put(&out, p->ms->s, cmd, milter_list(p, cls));
	if (rc == 0)
		rc = milter_put_begin(&out, cmd, &start);
	if (rc == 0)
		rc = milter_put_bytes(&out, data, len);
	if (rc == 0) {
		milter_put_end(&out, start);
		rc = milter_conn_send(p, &out);
	}
	buf_free(&out);
	if (rc < 0) {
		milter_peer_fail(p, "could not be written to");
		return -1;
	}
	if (!no_reply) {
		milter_conn_await(p, cmd,
		    p->ms->s->sd->conf->milter_content_timeout);
		return 1;
	}
	if (milter_conn_pending(p) > MILTER_OUT_HIGH) {
		p->draining = 1;
		return 1;
	}
	return 0;
}

static int
milter_msg_header(struct milter_peer *p)
{
	struct buf name, value, data;
	int rc;

	buf_init(&name, MSG_EDIT_FIELD_MAX);
	buf_init(&value, MSG_EDIT_FIELD_MAX);
	buf_init(&data, 2 * MSG_EDIT_FIELD_MAX + 2);
	if (!milter_next_header(p, &name, &value)) {
		p->phase = MSG_EOH;
		rc = 0;
	} else {
		(void)buf_append(&data, name.data, name.len + 1);
		(void)buf_append(&data, value.data, value.len + 1);
		rc = milter_msg_send(p, SMFIC_HEADER, SMFIM_EOH, data.data,
		    data.len, (p->protocol & SMFIP_NR_HDR) != 0);
	}
	buf_free(&name);
	buf_free(&value);
	buf_free(&data);
	return rc;
}

static int
milter_msg_body(struct milter_peer *p)
{
	char *chunk;
	ssize_t n;
	int rc;

	if (p->body_pos >= p->ms->msg_end || p->skip_body) {
		p->phase = MSG_EOB;
		return 0;
	}
	chunk = xmalloc(MILTER_CHUNK_MAX);
	n = pread(p->ms->msg_fd, chunk, MILTER_CHUNK_MAX, p->body_pos);
	if (n <= 0) {
		free(chunk);
		if (n < 0)
			log_warn("%s: milter %s: reading the message: %m",
			    p->ms->s->id, p->ep->name);
		p->phase = MSG_EOB;
		return 0;
	}
	p->body_pos += n;
	rc = milter_msg_send(p, SMFIC_BODY, SMFIM_EOM, chunk, (size_t)n,
	    (p->protocol & SMFIP_NR_BODY) != 0);
	free(chunk);
	return rc;
}

int
milter_msg_step(struct milter_peer *p)
{
	int rc = 0;

	while (rc == 0) {
		switch (p->phase) {
		case MSG_HEADERS:
			if (p->protocol & SMFIP_NOHDRS)
				p->phase = MSG_EOH;
			else
				rc = milter_msg_header(p);
			break;
		case MSG_EOH:
			p->phase = MSG_BODY;
			p->body_pos = p->ms->body_at;
			if (!(p->protocol & SMFIP_NOEOH))
				rc = milter_msg_send(p, SMFIC_EOH, SMFIM_EOH,
				    "", 0, (p->protocol & SMFIP_NR_EOH) != 0);
			break;
		case MSG_BODY:
			if (p->protocol & SMFIP_NOBODY)
				p->phase = MSG_EOB;
			else
				rc = milter_msg_body(p);
			break;
		case MSG_EOB:
			p->phase = MSG_REPLIES;
			buf_reset(&p->mods);
			p->body_edit = 0;
			rc = milter_msg_send(p, SMFIC_BODYEOB, SMFIM_EOM, "",
			    0, 0);
			return rc < 0 ? -1 : 0;
		case MSG_REPLIES:
			return 0;
		}
	}
	return rc;
}

/* The action a change needs negotiated, 0 for a byte that is no change. */
static uint32_t
milter_mod_action(char cmd)
{
	switch (cmd) {
	case SMFIR_ADDHEADER:   return SMFIF_ADDHDRS;
	case SMFIR_INSHEADER:   return SMFIF_ADDHDRS;
	case SMFIR_CHGHEADER:   return SMFIF_CHGHDRS;
	case SMFIR_CHGFROM:     return SMFIF_CHGFROM;
	case SMFIR_ADDRCPT:     return SMFIF_ADDRCPT;
	case SMFIR_ADDRCPT_PAR: return SMFIF_ADDRCPT_PAR;
	case SMFIR_DELRCPT:     return SMFIF_DELRCPT;
	case SMFIR_REPLBODY:    return SMFIF_CHGBODY;
	default:                return 0;
	}
}

int
milter_msg_mod(struct milter_peer *p, const struct milter_pkt *pkt,
    char *why, size_t whylen)
{
	uint32_t need = milter_mod_action(pkt->cmd), len32;

	if (need == 0 || p->phase != MSG_REPLIES) {
		snprintf(why, whylen, "sent unknown reply 0x%02x",
		    (unsigned char)pkt->cmd);
		return -1;
	}
	if ((p->actions & need) == 0) {
		snprintf(why, whylen, "sent %s without negotiating it",
		    milter_reply_name(pkt->cmd));
		return -1;
	}
	/* Postfix's rule: one body replacement, not mixed with others. */
	if (pkt->cmd == SMFIR_REPLBODY && p->body_edit == 2) {
		snprintf(why, whylen, "mixed body replacement with other "
		    "changes");
		return -1;
	}
	if (pkt->cmd == SMFIR_REPLBODY)
		p->body_edit = 1;
	else if (p->body_edit == 1)
		p->body_edit = 2;
	len32 = (uint32_t)pkt->len;
	if (buf_append(&p->mods, &pkt->cmd, 1) < 0 ||
	    buf_append(&p->mods, &len32, sizeof(len32)) < 0 ||
	    buf_append(&p->mods, pkt->data, pkt->len) < 0) {
		snprintf(why, whylen, "sent changes past %zu bytes",
		    p->mods.max);
		return -1;
	}
	return 0;
}

/* A header value as msg_edit takes it: it adds the space after the
 * colon unless the value begins with one (SMFIP_HDR_LEADSPC milters give
 * their own), as Postfix does. */
static const char *
milter_mod_value(const struct milter_peer *p, const char *v)
{
	(void)p;
	return v;
}

/* One change into e; 0 or -1 (malformed). */
static int
milter_mod_apply(const struct milter_peer *p, struct msg_edits *e,
    const struct milter_pkt *m)
{
	const char *v[3];
	uint32_t idx = 0;
	int n;

	switch (m->cmd) {
	case SMFIR_ADDHEADER:
		if (milter_strings(m, 0, v, 3) != 2)
			return -1;
		return msg_edit_header_add(e, v[0], milter_mod_value(p, v[1]));
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		if (milter_u32(m, &idx) < 0 || milter_strings(m, 4, v, 3) != 2)
			return -1;
		if (m->cmd == SMFIR_INSHEADER)
			return msg_edit_header_insert(e, idx, v[0],
			    milter_mod_value(p, v[1]));
		/* index 0 is the first, as in Sendmail and Postfix */
		return msg_edit_header_change(e, idx == 0 ? 1 : idx, v[0],
		    v[1][0] == '\0' ? NULL : milter_mod_value(p, v[1]));
	case SMFIR_CHGFROM:
	case SMFIR_ADDRCPT_PAR:
		n = milter_strings(m, 0, v, 3);
		if (n < 1 || n > 2)
			return -1;
		return m->cmd == SMFIR_CHGFROM ?
		    msg_edit_sender(e, v[0], n == 2 ? v[1] : "") :
		    msg_edit_rcpt_add(e, v[0], n == 2 ? v[1] : "");
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
		if (milter_strings(m, 0, v, 3) != 1)
			return -1;
		return m->cmd == SMFIR_ADDRCPT ? msg_edit_rcpt_add(e, v[0], "") :
		    msg_edit_rcpt_delete(e, v[0]);
	case SMFIR_REPLBODY:
		return msg_edit_body(e, m->data, m->len);
	default:
		return -1;
	}
}

/* Every change of p into e, in the order received; 0 or -1 with why. */
static int
milter_mods_replay(const struct milter_peer *p, struct msg_edits *e,
    char *why, size_t whylen)
{
	size_t off = 0;

	/* This milter's body replacement, if any, replaces the earlier
	 * milters' whole, as it would under Postfix. */
	if (p->body_edit != 0)
		msg_edits_body_restart(e);
	while (off < p->mods.len) {
		struct milter_pkt m;
		uint32_t len32;

		m.cmd = p->mods.data[off];
		memcpy(&len32, p->mods.data + off + 1, sizeof(len32));
		m.data = (const uint8_t *)p->mods.data + off + 5;
		m.len = len32;
		if (milter_mod_apply(p, e, &m) < 0) {
			snprintf(why, whylen, "sent a malformed %s",
			    milter_reply_name(m.cmd));
			return -1;
		}
		off += 5 + m.len;
	}
	return 0;
}

int
milter_msg_commit(struct milter_peer *p, char *why, size_t whylen)
{
	struct msg_edits *scratch;
	int rc;

	if (p->mods.len == 0)
		return 0;
	/* Tried on a scratch list first: a refused change leaves s->edits
	 * as the milters before this one made it. */
	scratch = msg_edits_new(p->mods.max);
	rc = milter_mods_replay(p, scratch, why, whylen);
	msg_edits_free(scratch);
	if (rc == 0 && milter_mods_replay(p, p->ms->s->edits, why,
	    whylen) < 0)
		rc = -1;
	buf_reset(&p->mods);
	return rc;
}
