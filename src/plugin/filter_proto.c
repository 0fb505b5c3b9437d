/*
 * tern's filter protocol: the words, the field escaping and the parser of
 * a filter's lines (see filter_proto.h).  Trusts nothing it parses: every
 * length is checked before it is copied, and a line is taken only when it
 * is exactly one of the documented shapes.
 */
#include "plugin/filter_proto.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"

static const char *const filter_events[FILTER_EV_COUNT] = {
	"connect", "tls", "auth", "helo", "mail", "rcpt", "queued",
	"delivered", "deferred", "bounced", "disconnect",
};

static const char *const filter_hooks[FILTER_HOOK_COUNT] = {
	"connect", "helo", "mail", "rcpt", "data-end",
};

static const char *const filter_actions[] = {
	"proceed", "reject", "defer", "disconnect", "add-header", "hold",
};

const char *
filter_event_name(enum filter_event ev)
{
	return (unsigned)ev < FILTER_EV_COUNT ? filter_events[ev] : "?";
}

const char *
filter_hook_name(enum filter_hook h)
{
	return (unsigned)h < FILTER_HOOK_COUNT ? filter_hooks[h] : "?";
}

const char *
filter_action_name(enum filter_action a)
{
	return (unsigned)a < sizeof(filter_actions) / sizeof(filter_actions[0]) ?
	    filter_actions[a] : "?";
}

/* ---- fields tern writes ---- */

static int
filter_byte_plain(unsigned char c)
{
	return c >= '!' && c <= '~' && c != '%';
}

int
filter_field(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = b->len;

	if (len == 0)
		return buf_append(b, "-", 1);
	if (len == 1 && s[0] == '-')
		return buf_append(b, "%2D", 3);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
		if (buf_append(b, filter_byte_plain(c) ? (const char *)&s[i] : esc,
		    filter_byte_plain(c) ? 1 : 3) < 0) {
			b->len = start;         /* never half a field */
			b->data[start] = '\0';
			return -1;
		}
	}
	return 0;
}

int
filter_field_sp(struct buf *b, const char *s)
{
	if (buf_append(b, " ", 1) < 0)
		return -1;
	return filter_field(b, s, strlen(s));
}

static int
filter_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
filter_field_decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	if (outlen == 0 || len == 0)
		return -1;
	if (len == 1 && s[0] == '-') {
		out[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi, lo;
			if (len - i < 3 || (hi = filter_hexval(s[i + 1])) < 0 ||
			    (lo = filter_hexval(s[i + 2])) < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			/* One spelling per value: what may stand plain must. */
			if (filter_byte_plain(c) && !(c == '-' && len == 3))
				return -1;
			i += 2;
		} else if (!filter_byte_plain(c)) {
			return -1;
		}
		if (n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (long)n;
}

/* ---- lines a filter writes ---- */

/* A cursor over one line: words separated by exactly one space. */
struct filter_cur {
	const char *p;
	size_t left;
};

/* The next word (no empty word: two spaces in a row are an error) into
 * *w and *wlen; 0, or -1 at the end of the line or on an empty word. */
static int
filter_word(struct filter_cur *c, const char **w, size_t *wlen)
{
	size_t n = 0;

	while (n < c->left && c->p[n] != ' ')
		n++;
	if (n == 0)
		return -1;
	*w = c->p;
	*wlen = n;
	c->p += n;
	c->left -= n;
	if (c->left > 0) {             /* the separating space */
		c->p++;
		c->left--;
		if (c->left == 0)
			return -1;      /* a trailing space */
	}
	return 0;
}

static int
filter_word_is(const char *w, size_t wlen, const char *s)
{
	return wlen == strlen(s) && memcmp(w, s, wlen) == 0;
}

static int
filter_word_index(const char *w, size_t wlen, const char *const *words,
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (filter_word_is(w, wlen, words[i]))
			return (int)i;
	return -1;
}

/* A decimal number of at most 19 digits, no sign, no leading zero. */
static int
filter_number(const char *w, size_t wlen, uint64_t *v_r)
{
	uint64_t v = 0;

	if (wlen == 0 || wlen > 19 || (w[0] == '0' && wlen > 1))
		return -1;
	for (size_t i = 0; i < wlen; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(w[i] - '0');
	}
	*v_r = v;
	return 0;
}

/* Printable ASCII only: the text goes into an SMTP reply or the log. */
static int
filter_printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return -1;
	return 0;
}

/* Length of an RFC 3463 enhanced code at s ("5.7.1", up to "5.999.999")
 * followed by a space or the end, or 0 when there is none. */
static size_t
filter_enhanced_len(const char *s, size_t len)
{
	size_t i = 0;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t digits = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			i++;
			digits++;
		}
		if (digits == 0 || digits > 3)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	return (i == len || s[i] == ' ') ? i : 0;
}

/* CODE TEXT of reject, defer and disconnect: the code checked against
 * the action, the enhanced code kept or added. */
static int
filter_reply_text(struct filter_cur *c, struct filter_line *out,
    char *err, size_t errlen)
{
	const char *w, *dflt;
	size_t wlen, elen;
	uint64_t code;
	char cls;

	if (filter_word(c, &w, &wlen) < 0 || wlen != 3 ||
	    filter_number(w, wlen, &code) < 0) {
		snprintf(err, errlen, "%s without a reply code",
		    filter_action_name(out->action));
		return -1;
	}
	cls = w[0];
	if ((out->action == FILTER_REJECT && cls != '5') ||
	    (out->action == FILTER_DEFER && cls != '4') ||
	    (out->action == FILTER_DISCONNECT && code != 421 && code != 521) ||
	    w[1] > '5') {
		snprintf(err, errlen, "%s with reply code %.3s",
		    filter_action_name(out->action), w);
		return -1;
	}
	out->code = (unsigned)code;
	if (filter_printable(c->p, c->left) < 0) {
		snprintf(err, errlen, "reply text with a byte that is not "
		    "printable ASCII");
		return -1;
	}
	elen = filter_enhanced_len(c->p, c->left);
	if (elen > 0 && c->p[0] != cls) {
		snprintf(err, errlen, "enhanced code of class %c for a %c "
		    "reply", c->p[0], cls);
		return -1;
	}
	if (c->left + 16 >= sizeof(out->text)) {
		snprintf(err, errlen, "reply text too long");
		return -1;
	}
	if (elen > 0) {
		snprintf(out->text, sizeof(out->text), "%.*s", (int)c->left, c->p);
		return 0;
	}
	dflt = out->action == FILTER_DISCONNECT ?
	    (cls == '4' ? "4.7.0" : "5.7.0") : (cls == '4' ? "4.7.1" : "5.7.1");
	snprintf(out->text, sizeof(out->text), "%s%s%.*s", dflt,
	    c->left > 0 ? " " : "", (int)c->left, c->p);
	return 0;
}

/* add-header NAME VALUE: a field name, then the value as the rest of the
 * line (tabs and UTF-8 allowed, no other control byte). */
static int
filter_reply_header(struct filter_cur *c, struct filter_line *out,
    char *err, size_t errlen)
{
	const char *w;
	size_t wlen;

	if (filter_word(c, &w, &wlen) < 0 || wlen >= sizeof(out->hname)) {
		snprintf(err, errlen, "add-header without a field name");
		return -1;
	}
	for (size_t i = 0; i < wlen; i++) {
		if (w[i] < '!' || w[i] > '~' || w[i] == ':') {
			snprintf(err, errlen, "add-header: bad field name");
			return -1;
		}
	}
	for (size_t i = 0; i < c->left; i++) {
		unsigned char ch = (unsigned char)c->p[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			snprintf(err, errlen, "add-header: control byte in the "
			    "value");
			return -1;
		}
	}
	if (c->left >= sizeof(out->hvalue)) {
		snprintf(err, errlen, "add-header: value too long");
		return -1;
	}
	memcpy(out->hname, w, wlen);
	out->hname[wlen] = '\0';
	memcpy(out->hvalue, c->p, c->left);
	out->hvalue[c->left] = '\0';
	return 0;
}

static int
filter_parse_reply(struct filter_cur *c, struct filter_line *out,
    char *err, size_t errlen)
{
	const char *w;
	size_t wlen;
	int a;

	if (filter_word(c, &w, &wlen) < 0 ||
	    filter_number(w, wlen, &out->token) < 0) {
		snprintf(err, errlen, "reply without a token");
		return -1;
	}
	if (filter_word(c, &w, &wlen) < 0 || (a = filter_word_index(w, wlen,
	    filter_actions, sizeof(filter_actions) / sizeof(filter_actions[0]))) < 0) {
		snprintf(err, errlen, "reply with an unknown action");
		return -1;
	}
	out->kind = FILTER_LINE_REPLY;
	out->action = (enum filter_action)a;
	switch (out->action) {
	case FILTER_PROCEED:
		break;
	case FILTER_REJECT:
	case FILTER_DEFER:
	case FILTER_DISCONNECT:
		return filter_reply_text(c, out, err, errlen);
	case FILTER_ADD_HEADER:
		return filter_reply_header(c, out, err, errlen);
	case FILTER_HOLD:
		if (filter_printable(c->p, c->left) < 0 ||
		    c->left >= sizeof(out->text)) {
			snprintf(err, errlen, "hold: bad reason");
			return -1;
		}
		memcpy(out->text, c->p, c->left);
		out->text[c->left] = '\0';
		return 0;
	}
	if (c->left > 0) {
		snprintf(err, errlen, "%s followed by more words",
		    filter_action_name(out->action));
		return -1;
	}
	return 0;
}

static int
filter_parse_register(struct filter_cur *c, struct filter_line *out,
    char *err, size_t errlen)
{
	const char *w;
	size_t wlen;
	int hook;

	if (filter_word(c, &w, &wlen) < 0 ||
	    (!filter_word_is(w, wlen, "report") &&
	    !filter_word_is(w, wlen, "hook"))) {
		snprintf(err, errlen, "register: neither report nor hook");
		return -1;
	}
	hook = filter_word_is(w, wlen, "hook");
	if (filter_word(c, &w, &wlen) < 0 || c->left > 0 ||
	    (out->which = hook ?
	    filter_word_index(w, wlen, filter_hooks, FILTER_HOOK_COUNT) :
	    filter_word_index(w, wlen, filter_events, FILTER_EV_COUNT)) < 0) {
		snprintf(err, errlen, "register: unknown %s",
		    hook ? "hook" : "event");
		return -1;
	}
	out->kind = hook ? FILTER_LINE_HOOK : FILTER_LINE_REPORT;
	return 0;
}

int
filter_line_parse(const char *line, size_t len, struct filter_line *out,
    char *err, size_t errlen)
{
	struct filter_cur c = { line, len };
	const char *w;
	size_t wlen;
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (len + 1 > FILTER_LINE_MAX) {
		snprintf(err, errlen, "line too long");
		return -1;
	}
	if (len > 0 && line[len - 1] == '\r')   /* CRLF is taken as LF */
		c.left--;
	if (memchr(c.p, '\0', c.left) != NULL) {
		snprintf(err, errlen, "NUL byte in the line");
		return -1;
	}
	if (filter_word(&c, &w, &wlen) < 0) {
		snprintf(err, errlen, "empty line");
		return -1;
	}
	if (filter_word_is(w, wlen, "reply"))
		return filter_parse_reply(&c, out, err, errlen);
	if (filter_word_is(w, wlen, "register"))
		return filter_parse_register(&c, out, err, errlen);
	if (filter_word_is(w, wlen, "ready") && c.left == 0) {
		out->kind = FILTER_LINE_READY;
		return 0;
	}
	if (filter_word_is(w, wlen, "tern-filter")) {
		if (filter_word(&c, &w, &wlen) < 0 || c.left > 0 ||
		    filter_number(w, wlen, &v) < 0 || v > 1000000) {
			snprintf(err, errlen, "tern-filter without a version");
			return -1;
		}
		out->kind = FILTER_LINE_VERSION;
		out->version = (unsigned)v;
		return 0;
	}
	snprintf(err, errlen, "unknown line");
	return -1;
}
