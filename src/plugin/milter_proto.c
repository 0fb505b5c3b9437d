/*
 * The milter protocol's packets (see milter_proto.h).  Nothing here does
 * I/O; every length a milter sends is checked against what arrived and
 * against MILTER_PKT_MAX before it is used.
 */
#include "plugin/milter_proto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"

static uint32_t
milter_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

int
milter_pkt_take(const uint8_t *in, size_t n, struct milter_pkt *pkt,
    size_t *used, char *why, size_t whylen)
{
	uint32_t len;

	if (n < 4)
		return MILTER_NEED;
	len = milter_get32(in);
	if (len == 0 || len > MILTER_PKT_MAX) {
		snprintf(why, whylen, "packet length %lu (bound %u)",
		    (unsigned long)len, (unsigned)MILTER_PKT_MAX);
		return MILTER_ERR;
	}
	if (n - 4 < len)
		return MILTER_NEED;
	pkt->cmd = (char)in[4];
	pkt->data = in + 5;
	pkt->len = len - 1;
	*used = 4 + (size_t)len;
	return MILTER_DONE;
}

int
milter_put_begin(struct buf *out, char cmd, size_t *start_r)
{
	static const uint8_t zero[4];

	*start_r = out->len;
	if (buf_append(out, zero, sizeof(zero)) < 0)
		return -1;
	return buf_append(out, &cmd, 1);
}

int
milter_put_u32(struct buf *out, uint32_t v)
{
	uint32_t n = htonl(v);

	return buf_append(out, &n, sizeof(n));
}

int
milter_put_u16(struct buf *out, uint16_t v)
{
	uint16_t n = htons(v);

	return buf_append(out, &n, sizeof(n));
}

int
milter_put_str(struct buf *out, const char *s)
{
	return buf_append(out, s, strlen(s) + 1);
}

int
milter_put_bytes(struct buf *out, const void *p, size_t n)
{
	return buf_append(out, p, n);
}

void
milter_put_end(struct buf *out, size_t start)
{
	uint32_t n = htonl((uint32_t)(out->len - start - 4));

	memcpy(out->data + start, &n, sizeof(n));
}

int
milter_u32(const struct milter_pkt *pkt, uint32_t *v)
{
	if (pkt->len < 4)
		return -1;
	*v = milter_get32(pkt->data);
	return 0;
}

int
milter_strings(const struct milter_pkt *pkt, size_t skip, const char **v,
    size_t max)
{
	size_t i = skip, count = 0;

	if (skip > pkt->len)
		return -1;
	while (i < pkt->len) {
		const uint8_t *nul = memchr(pkt->data + i, '\0', pkt->len - i);
		if (nul == NULL || count == max)
			return -1;
		v[count++] = (const char *)pkt->data + i;
		i = (size_t)(nul - pkt->data) + 1;
	}
	return (int)count;
}

/* The SETSYMLIST part of an OPTNEG reply: (class, list) pairs. */
static int
milter_symlists_parse(const struct milter_pkt *pkt, size_t off,
    struct milter_optneg *o, char *why, size_t whylen)
{
	while (off < pkt->len) {
		uint32_t cls;
		const uint8_t *nul;
		size_t len;

		if (pkt->len - off < 5) {
			snprintf(why, whylen, "truncated macro list");
			return -1;
		}
		cls = milter_get32(pkt->data + off);
		off += 4;
		nul = memchr(pkt->data + off, '\0', pkt->len - off);
		if (nul == NULL) {
			snprintf(why, whylen, "macro list without its NUL");
			return -1;
		}
		len = (size_t)(nul - (pkt->data + off));
		if (len >= MILTER_SYMLIST_MAX) {
			snprintf(why, whylen, "macro list of %zu bytes", len);
			return -1;
		}
		/* Postfix ignores a class it does not know; so do we. */
		if (cls < MILTER_MACRO_CLASSES) {
			memcpy(o->list[cls], pkt->data + off, len + 1);
			o->has_list[cls] = 1;
		}
		off += len + 1;
	}
	return 0;
}

int
milter_optneg_parse(const struct milter_pkt *pkt, struct milter_optneg *o,
    char *why, size_t whylen)
{
	memset(o, 0, sizeof(*o));
	if (pkt->cmd != SMFIC_OPTNEG) {
		snprintf(why, whylen, "reply 0x%02x to the negotiation",
		    (unsigned char)pkt->cmd);
		return -1;
	}
	if (pkt->len < 12) {
		snprintf(why, whylen, "negotiation reply of %zu bytes",
		    pkt->len);
		return -1;
	}
	o->version = milter_get32(pkt->data);
	o->actions = milter_get32(pkt->data + 4);
	o->protocol = milter_get32(pkt->data + 8);
	if (o->version < 2 || o->version > MILTER_VERSION) {
		snprintf(why, whylen, "protocol version %lu",
		    (unsigned long)o->version);
		return -1;
	}
	if ((o->actions & ~MILTER_ACTIONS) != 0) {
		snprintf(why, whylen, "actions 0x%lx not offered (0x%x)",
		    (unsigned long)o->actions, MILTER_ACTIONS);
		return -1;
	}
	if ((o->protocol & ~MILTER_PROTOCOL) != 0) {
		snprintf(why, whylen, "protocol steps 0x%lx not offered (0x%x)",
		    (unsigned long)o->protocol, MILTER_PROTOCOL);
		return -1;
	}
	if (pkt->len > 12 && (o->actions & SMFIF_SETSYMLIST) == 0) {
		snprintf(why, whylen, "macro lists without SMFIF_SETSYMLIST");
		return -1;
	}
	return milter_symlists_parse(pkt, 12, o, why, whylen);
}

static int
milter_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One line of a custom reply, [p, end): checked against the first line's
 * code; last says whether it must end the reply. */
static int
milter_reply_line(const char *p, size_t n, const char *code, int last,
    char *why, size_t whylen)
{
	if (n < 3 || (p[0] != '4' && p[0] != '5') || !milter_is_digit(p[1]) ||
	    !milter_is_digit(p[2]) || memcmp(p, code, 3) != 0) {
		snprintf(why, whylen, "reply line without a 4NN/5NN code");
		return -1;
	}
	if (n > 3 && p[3] != (last ? ' ' : '-')) {
		snprintf(why, whylen, "reply line with '%c' after its code",
		    p[3] >= 0x20 && p[3] < 0x7f ? p[3] : '?');
		return -1;
	}
	if (n == 3 && !last) {
		snprintf(why, whylen, "continued reply line without text");
		return -1;
	}
	if (n > 4 && milter_is_digit(p[4]) && p[4] != p[0]) {
		snprintf(why, whylen, "enhanced status class unlike the code");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e) {
			snprintf(why, whylen, "reply with a control or "
			    "non-ASCII byte");
			return -1;
		}
	return 0;
}

/* Copies [p, p+n) to out at *o, "%%" made "%". */
static int
milter_reply_copy(const char *p, size_t n, char *out, size_t outlen,
    size_t *o)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%' && i + 1 < n && p[i + 1] == '%')
			i++;
		if (*o + 1 >= outlen)
			return -1;
		out[(*o)++] = p[i];
	}
	out[*o] = '\0';
	return 0;
}

int
milter_reply_text(const struct milter_pkt *pkt, char *out, size_t outlen,
    char *why, size_t whylen)
{
	const char *p = (const char *)pkt->data, *end;
	size_t n = pkt->len, o = 0;

	/* The text ends with a NUL; take it off (a missing one is forgiven,
	 * as Postfix does). */
	if (n > 0 && p[n - 1] == '\0')
		n--;
	if (memchr(p, '\0', n) != NULL || n < 3) {
		snprintf(why, whylen, "malformed reply text");
		return -1;
	}
	end = p + n;
	while (p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		size_t len = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
		int last = eol == NULL;

		if (eol != NULL && (eol + 1 >= end || eol[1] != '\n')) {
			snprintf(why, whylen, "reply with a bare CR");
			return -1;
		}
		if (eol != NULL && eol + 2 >= end) {
			snprintf(why, whylen, "reply ending in CRLF");
			return -1;
		}
		if (milter_reply_line(p, len, (const char *)pkt->data, last,
		    why, whylen) < 0)
			return -1;
		if (o > 0 && milter_reply_copy("\r\n", 2, out, outlen, &o) < 0)
			goto toolong;
		if (milter_reply_copy(p, len, out, outlen, &o) < 0)
			goto toolong;
		p = last ? end : eol + 2;
	}
	return 0;
toolong:
	snprintf(why, whylen, "reply longer than %zu bytes", outlen - 1);
	return -1;
}

const char *
milter_reply_name(char cmd)
{
	static const struct { char c; const char *name; } names[] = {
		{ SMFIR_ADDRCPT, "SMFIR_ADDRCPT" },
		{ SMFIR_DELRCPT, "SMFIR_DELRCPT" },
		{ SMFIR_ADDRCPT_PAR, "SMFIR_ADDRCPT_PAR" },
		{ SMFIR_SHUTDOWN, "SMFIR_SHUTDOWN" },
		{ SMFIR_ACCEPT, "SMFIR_ACCEPT" },
		{ SMFIR_REPLBODY, "SMFIR_REPLBODY" },
		{ SMFIR_CONTINUE, "SMFIR_CONTINUE" },
		{ SMFIR_DISCARD, "SMFIR_DISCARD" },
		{ SMFIR_CHGFROM, "SMFIR_CHGFROM" },
		{ SMFIR_CONN_FAIL, "SMFIR_CONN_FAIL" },
		{ SMFIR_ADDHEADER, "SMFIR_ADDHEADER" },
		{ SMFIR_INSHEADER, "SMFIR_INSHEADER" },
		{ SMFIR_CHGHEADER, "SMFIR_CHGHEADER" },
		{ SMFIR_PROGRESS, "SMFIR_PROGRESS" },
		{ SMFIR_QUARANTINE, "SMFIR_QUARANTINE" },
		{ SMFIR_REJECT, "SMFIR_REJECT" },
		{ SMFIR_SKIP, "SMFIR_SKIP" },
		{ SMFIR_TEMPFAIL, "SMFIR_TEMPFAIL" },
		{ SMFIR_REPLYCODE, "SMFIR_REPLYCODE" },
		{ SMFIC_OPTNEG, "SMFIC_OPTNEG" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].c == cmd)
			return names[i].name;
	return NULL;
}
