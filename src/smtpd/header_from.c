/*
 * From and Sender of a message's header, collected as the message streams
 * in (RFC 5322 2.2, 3.4, 3.6.2 and the obsolete syntax of 4.4; RFC 6532).
 * Trusts nothing in its input: every byte is the client's.
 *
 * Two layers.  The first reads the header section a byte at a time, with
 * all of its state in struct header_from so that the message may arrive
 * split anywhere: it unfolds lines (a CRLF followed by space or tab is
 * removed), matches field names without regard to case (on the unfolded
 * text, so "From \r\n :" is a From, as a lenient reader would take it),
 * stores the value of From and Sender fields up to HEADER_FROM_MAX_FIELD
 * bytes and streams over every other field without storing it.  Lines end
 * in CRLF only: a bare CR, a bare LF or a NUL makes the whole header an
 * error rather than something two readers could take apart differently.
 * A line that is no field (no colon) is skipped like an unknown field, so
 * a From after it is still seen and counted.
 *
 * The second parses one stored field: a mailbox-list for From (with
 * groups, whose members count), one mailbox for Sender.  Comments are
 * skipped with a depth counter, never by recursion, and nothing else
 * recurses.  Every address found goes through addr_parse(); anything that
 * does not parse is an error, never an address quietly left out, because
 * an address left out is an address nobody checks.
 */
#include "smtpd/header_from.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd/header_name.h"
#include "util/xmalloc.h"

/* The header section's lines. */
enum {
	HS_START,       /* before the first line */
	HS_FIELD,       /* inside a field's line */
	HS_CR,          /* a CR inside a field's line */
	HS_EOL,         /* after a field line's CRLF: folded, or a new line? */
	HS_EMPTY_CR,    /* a CR at the start of a line */
	HS_DONE,
};

/* One field, on its unfolded text. */
enum {
	FN_NAME,        /* the field name */
	FN_WSP,         /* white space after the name (obs-optional) */
	FN_VALUE,       /* after the colon of a From or Sender: stored */
	FN_SKIP,        /* another field, or a line that is none: dropped */
};

#define E_NO_FROM       HEADER_FROM_ERR_NO_FROM
#define E_HEADER_LONG   "header section too long"
#define E_BARE_CR       "bare CR in header section"
#define E_BARE_LF       "bare LF in header section"
#define E_NUL           "NUL in header section"

/* What goes wrong in a field, in the words of that field. */
static const struct field_reasons {
	const char *syntax;
	const char *addr;
	const char *empty;
	const char *too_long;
	const char *too_many;
} reasons[] = {
	[HEADER_FROM_FROM] = {
		"unparseable From header",
		"invalid address in From header",
		"no address in From header",
		"From field too long",
		"too many addresses in From",
	},
	[HEADER_FROM_SENDER] = {
		"unparseable Sender header",
		"invalid address in Sender header",
		"no address in Sender header",
		"Sender field too long",
		"too many addresses in From and Sender",
	},
	[HEADER_FROM_RESENT_FROM] = {
		"unparseable Resent-From header",
		"invalid address in Resent-From header",
		"no address in Resent-From header",
		"Resent-From field too long",
		"too many addresses in From and Sender",
	},
	[HEADER_FROM_RESENT_SENDER] = {
		"unparseable Resent-Sender header",
		"invalid address in Resent-Sender header",
		"no address in Resent-Sender header",
		"Resent-Sender field too long",
		"too many addresses in From and Sender",
	},
};

/* The fields collected, by the kind they give their addresses. */
static const struct {
	const char *name;
	enum header_from_kind kind;
} collected[] = {
	{ "From", HEADER_FROM_FROM },
	{ "Sender", HEADER_FROM_SENDER },
	{ "Resent-From", HEADER_FROM_RESENT_FROM },
	{ "Resent-Sender", HEADER_FROM_RESENT_SENDER },
};

/* Tokens of a field's value (RFC 5322 3.2), CFWS dropped between them. */
enum {
	T_END, T_ERR, T_ATOM, T_QSTR, T_DLIT, T_DOT, T_AT, T_LT, T_GT,
	T_COMMA, T_COLON, T_SEMI,
};

struct tok {
	int type;
	size_t pre;             /* where the CFWS before it began */
	size_t start;
	size_t len;
};

/* One stored field being parsed. */
struct parser {
	struct header_from *h;
	enum header_from_kind kind;
	const struct field_reasons *r;
	const unsigned char *p;
	size_t len;
	size_t pos;             /* the lexer's place */
	struct tok tok;         /* the token ahead */
	size_t found;           /* addresses in this field */
	size_t addr_end;        /* just past the last address read */
	const char *error;      /* NULL: the field's syntax reason */
};

/* RFC 5322 atext without ALPHA and DIGIT. */
static const char atext_specials[] = "!#$%&'*+-/=?^_`{|}~";

/* atext, and with RFC 6532 any byte of a UTF-8 sequence. */
static int
is_atom(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    (c != 0 && strchr(atext_specials, c) != NULL);
}

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Skips white space and comments.  A comment nests up to
 * HEADER_FROM_MAX_DEPTH deep and may hold quoted-pairs; one left open, or
 * nested deeper, is an error.
 */
static int
skip_cfws(struct parser *ps)
{
	size_t depth = 0;

	while (ps->pos < ps->len) {
		unsigned char c = ps->p[ps->pos];

		if (depth == 0 && c != '(') {
			if (!is_wsp(c))
				return 0;
		} else if (c == '(') {
			if (++depth > HEADER_FROM_MAX_DEPTH)
				return -1;
		} else if (c == ')')
			depth--;
		else if (c == '\\') {
			if (ps->pos + 1 >= ps->len)
				return -1;
			ps->pos++;
		}
		ps->pos++;
	}
	return depth == 0 ? 0 : -1;
}

/*
 * Length of a quoted-string or domain-literal at ps->pos, delimiters and
 * quoted-pairs included, or 0 when it does not close.
 */
static size_t
scan_delimited(const struct parser *ps, unsigned char close)
{
	for (size_t i = ps->pos + 1; i < ps->len; i++) {
		unsigned char c = ps->p[i];

		if (c == close)
			return i + 1 - ps->pos;
		if (c == '\\') {
			if (i + 1 >= ps->len)
				return 0;
			i++;
		} else if (close == ']' && c == '[')
			return 0;
	}
	return 0;
}

/* Reads the next token into ps->tok; T_ERR for anything unexpected. */
static void
lex(struct parser *ps)
{
	struct tok *t = &ps->tok;
	size_t n = 1;

	t->len = 0;
	t->pre = ps->pos;
	if (skip_cfws(ps) == -1) {
		t->start = ps->pos;
		t->type = T_ERR;
		return;
	}
	t->start = ps->pos;
	if (ps->pos >= ps->len) {
		t->type = T_END;
		return;
	}
	switch (ps->p[ps->pos]) {
	case '"':
		t->type = T_QSTR;
		n = scan_delimited(ps, '"');
		break;
	case '[':
		t->type = T_DLIT;
		n = scan_delimited(ps, ']');
		break;
	case '.':
		t->type = T_DOT;
		break;
	case '@':
		t->type = T_AT;
		break;
	case '<':
		t->type = T_LT;
		break;
	case '>':
		t->type = T_GT;
		break;
	case ',':
		t->type = T_COMMA;
		break;
	case ':':
		t->type = T_COLON;
		break;
	case ';':
		t->type = T_SEMI;
		break;
	default:
		t->type = T_ATOM;
		for (n = 0; ps->pos + n < ps->len && is_atom(ps->p[ps->pos + n]);
		    n++)
			;
		break;
	}
	if (n == 0) {
		t->type = T_ERR;
		return;
	}
	t->len = n;
	ps->pos += n;
}

/* Goes back to a token seen before: the lexer reads it again. */
static void
rewind_to(struct parser *ps, size_t start)
{
	ps->pos = start;
	lex(ps);
}

/* Appends the current token to an address being put together. */
static int
append_tok(struct parser *ps, char *s, size_t *n)
{
	if (ps->tok.len > ADDR_MAX - *n) {
		ps->error = ps->r->addr;
		return -1;
	}
	memcpy(s + *n, ps->p + ps->tok.start, ps->tok.len);
	*n += ps->tok.len;
	ps->addr_end = ps->tok.start + ps->tok.len;
	return 0;
}

/* domain = dot-atom / domain-literal / obs-domain, CFWS between. */
static int
parse_domain(struct parser *ps, char *s, size_t *n)
{
	if (ps->tok.type == T_DLIT) {
		if (append_tok(ps, s, n) == -1)
			return -1;
		lex(ps);
		return 0;
	}
	for (;;) {
		if (ps->tok.type != T_ATOM || append_tok(ps, s, n) == -1)
			return -1;
		lex(ps);
		if (ps->tok.type != T_DOT)
			return 0;
		if (append_tok(ps, s, n) == -1)
			return -1;
		lex(ps);
	}
}

/* Stores an address of the field being parsed (in_name: found in its
 * display name or a comment); -1 past HEADER_FROM_MAX_ADDRS. */
static int
store_addr(struct parser *ps, const char *addr, int in_name)
{
	struct header_from *h = ps->h;

	if (h->naddrs >= HEADER_FROM_MAX_ADDRS) {
		ps->error = ps->r->too_many;
		return -1;
	}
	if (h->addrs == NULL)
		h->addrs = xcalloc(HEADER_FROM_MAX_ADDRS, sizeof(*h->addrs));
	h->addrs[h->naddrs].kind = ps->kind;
	h->addrs[h->naddrs].in_name = in_name;
	snprintf(h->addrs[h->naddrs].addr, ADDR_BUF, "%s", addr);
	h->naddrs++;
	return 0;
}

/* The address put together from the tokens: judged, then stored. */
static int
add_addr(struct parser *ps, const char *s, size_t n)
{
	char out[ADDR_BUF];
	const char *why;

	if (addr_parse(s, n, 1, out, &why) == -1) {
		ps->error = ps->r->addr;
		return -1;
	}
	if (store_addr(ps, out, 0) < 0)
		return -1;
	ps->found++;
	return 0;
}

/*
 * addr-spec = local-part "@" domain, the local part words joined by dots
 * (obs-local-part).  The tokens are put together without the CFWS between
 * them, and addr_parse() decides.
 */
static int
parse_addr_spec(struct parser *ps)
{
	char s[ADDR_MAX];
	size_t n = 0;

	for (;;) {
		if (ps->tok.type != T_ATOM && ps->tok.type != T_QSTR)
			return -1;
		if (append_tok(ps, s, &n) == -1)
			return -1;
		lex(ps);
		if (ps->tok.type != T_DOT)
			break;
		if (append_tok(ps, s, &n) == -1)
			return -1;
		lex(ps);
	}
	if (ps->tok.type != T_AT || append_tok(ps, s, &n) == -1)
		return -1;
	lex(ps);
	if (parse_domain(ps, s, &n) == -1)
		return -1;
	return add_addr(ps, s, n);
}

/*
 * angle-addr = "<" [obs-route] addr-spec ">", at the '<'.  The route
 * (obs-domain-list ":") is checked for its syntax and dropped.  "<>" is
 * no address, and an error.
 */
static int
parse_angle(struct parser *ps)
{
	char scratch[ADDR_MAX];
	size_t n, domains = 0;

	lex(ps);
	if (ps->tok.type == T_AT || ps->tok.type == T_COMMA) {
		for (;;) {
			if (ps->tok.type == T_COMMA) {
				lex(ps);
				continue;
			}
			if (ps->tok.type == T_COLON && domains > 0)
				break;
			if (ps->tok.type != T_AT)
				return -1;
			lex(ps);
			n = 0;
			if (parse_domain(ps, scratch, &n) == -1)
				return -1;
			domains++;
			if (ps->tok.type != T_COMMA && ps->tok.type != T_COLON)
				return -1;
		}
		lex(ps);
	}
	if (ps->tok.type == T_GT) {
		ps->error = ps->r->addr;
		return -1;
	}
	if (parse_addr_spec(ps) == -1 || ps->tok.type != T_GT)
		return -1;
	ps->addr_end = ps->tok.start + 1;
	lex(ps);
	return 0;
}

/* One address found in a display name or comment: stored beside the
 * field's own, for the same check. */
static int
add_name_addr(void *arg, const char *addr)
{
	struct parser *ps = arg;
	struct header_from *h = ps->h;

	/* Already there ("alice@x.test" <alice@x.test>, a common client
	 * format): stored once, so that it neither counts twice against
	 * HEADER_FROM_MAX_ADDRS nor goes to lookup twice. */
	for (size_t i = 0; i < h->naddrs; i++)
		if (h->addrs[i].kind == ps->kind &&
		    strcmp(h->addrs[i].addr, addr) == 0)
			return 0;
	return store_addr(ps, addr, 1);
}

/* The words around an address, from..to of the field: searched for the
 * addresses a reader would see in them. */
static int
scan_names(struct parser *ps, size_t from, size_t to)
{
	if (to <= from)
		return 0;
	return header_name_addrs((const char *)ps->p + from, to - from,
	    add_name_addr, ps);
}

/*
 * A mailbox (name-addr or addr-spec), or with allow_group the start of a
 * group: its display name and ':' are read and *group_r set, and the
 * caller reads the members.  The display name is a phrase of words and,
 * as obs-phrase allows, dots; a phrase followed by '@' was the local part
 * of an addr-spec and is read again as one.  What surrounds the address
 * (display name, comments) is searched for addresses too.
 */
static int
parse_mailbox(struct parser *ps, int allow_group, int *group_r)
{
	size_t pre = ps->tok.pre, first = ps->tok.start, words = 0, lt;

	*group_r = 0;
	while (ps->tok.type == T_ATOM || ps->tok.type == T_QSTR ||
	    ps->tok.type == T_DOT) {
		if (ps->tok.type != T_DOT)
			words++;
		lex(ps);
	}
	switch (ps->tok.type) {
	case T_LT:
		lt = ps->tok.start;
		if (parse_angle(ps) == -1)
			return -1;
		return scan_names(ps, pre, lt) == -1 ||
		    scan_names(ps, ps->addr_end, ps->tok.start) == -1 ? -1 : 0;
	case T_AT:
		if (words == 0)
			return -1;
		rewind_to(ps, first);
		if (parse_addr_spec(ps) == -1)
			return -1;
		return scan_names(ps, pre, first) == -1 ||
		    scan_names(ps, ps->addr_end, ps->tok.start) == -1 ? -1 : 0;
	case T_COLON:
		if (!allow_group || words == 0)
			return -1;
		if (scan_names(ps, pre, ps->tok.start) == -1)
			return -1;
		lex(ps);
		*group_r = 1;
		return 0;
	default:
		return -1;
	}
}

/*
 * address-list (From): addresses and groups separated by commas, empty
 * elements allowed (obs-addr-list, obs-group-list).  Groups do not nest.
 */
static int
parse_address_list(struct parser *ps)
{
	int in_group = 0, group;

	for (;;) {
		switch (ps->tok.type) {
		case T_END:
			return in_group ? -1 : 0;
		case T_COMMA:
			lex(ps);
			continue;
		case T_SEMI:
			if (!in_group)
				return -1;
			in_group = 0;
			lex(ps);
			if (ps->tok.type != T_COMMA && ps->tok.type != T_END)
				return -1;
			continue;
		default:
			break;
		}
		if (parse_mailbox(ps, !in_group, &group) == -1)
			return -1;
		if (group) {
			in_group = 1;
			continue;
		}
		if (ps->tok.type != T_COMMA && ps->tok.type != T_END &&
		    !(in_group && ps->tok.type == T_SEMI))
			return -1;
	}
}

/* mailbox (Sender): exactly one, nothing around it but CFWS. */
static int
parse_single(struct parser *ps)
{
	int group;

	if (parse_mailbox(ps, 0, &group) == -1)
		return -1;
	return ps->tok.type == T_END ? 0 : -1;
}

/* The reader is over: the results are final, the field buffer goes. */
static void
stop(struct header_from *h)
{
	h->state = HS_DONE;
	h->done = 1;
	buf_free(&h->value);
}

static void
set_error(struct header_from *h, const char *why)
{
	if (h->error == NULL)
		h->error = why;
	stop(h);
}

/* The header section ended well: it must have had a From. */
static void
finish(struct header_from *h)
{
	if (h->error == NULL && h->from_fields == 0)
		h->error = E_NO_FROM;
	stop(h);
}

/* Parses the stored From or Sender field. */
static void
parse_field(struct header_from *h)
{
	struct parser ps;
	size_t before = h->naddrs;
	int rc;

	memset(&ps, 0, sizeof(ps));
	ps.h = h;
	ps.kind = h->field;
	ps.r = &reasons[h->field];
	ps.p = (const unsigned char *)(h->value.data != NULL ?
	    h->value.data : "");
	ps.len = h->value.len;
	lex(&ps);
	if (h->field == HEADER_FROM_FROM || h->field == HEADER_FROM_RESENT_FROM)
		rc = parse_address_list(&ps);
	else
		rc = parse_single(&ps);
	if (rc == -1) {
		/* A field that fails gives no addresses, not some. */
		h->naddrs = before;
		set_error(h, ps.error != NULL ? ps.error : ps.r->syntax);
	} else if (ps.found == 0)
		set_error(h, ps.r->empty);
}

static void
field_begin(struct header_from *h)
{
	h->name_state = FN_NAME;
	h->name_len = 0;
	h->field = 0;
	buf_reset(&h->value);
}

/* The name is complete at its colon: From, Sender and their Resent-
 * forms are kept. */
static void
field_named(struct header_from *h)
{
	h->name_state = FN_SKIP;
	for (size_t i = 0; i < sizeof(collected) / sizeof(collected[0]); i++) {
		if (h->name_len != strlen(collected[i].name) ||
		    strncasecmp(h->name, collected[i].name, h->name_len) != 0)
			continue;
		h->field = collected[i].kind;
		if (h->field == HEADER_FROM_FROM)
			h->from_fields++;
		else if (h->field == HEADER_FROM_SENDER)
			h->sender_fields++;
		h->name_state = FN_VALUE;
		return;
	}
}

const char *
header_from_kind_name(enum header_from_kind kind)
{
	for (size_t i = 0; i < sizeof(collected) / sizeof(collected[0]); i++)
		if (collected[i].kind == kind)
			return collected[i].name;
	return "?";
}

/* One byte of the current field's unfolded text. */
static void
field_byte(struct header_from *h, unsigned char c)
{
	switch (h->name_state) {
	case FN_NAME:
		if (c == ':' && h->name_len > 0)
			field_named(h);
		else if (is_wsp(c) && h->name_len > 0)
			h->name_state = FN_WSP;
		else if (c > ' ' && c < 127 && c != ':') {
			/* Longer names stay at sizeof(name): none we want. */
			if (h->name_len < sizeof(h->name))
				h->name[h->name_len++] = (char)c;
		} else
			h->name_state = FN_SKIP;
		break;
	case FN_WSP:
		if (c == ':')
			field_named(h);
		else if (!is_wsp(c))
			h->name_state = FN_SKIP;
		break;
	case FN_VALUE:
		if (buf_append(&h->value, &c, 1) == -1)
			set_error(h, reasons[h->field].too_long);
		break;
	default:
		break;
	}
}

/* The current field has no more lines. */
static void
field_end(struct header_from *h)
{
	if (h->name_state == FN_VALUE)
		parse_field(h);
	h->name_state = FN_SKIP;
	h->field = 0;
}

/* The first byte of a line that is not a continuation. */
static void
line_start(struct header_from *h, unsigned char c)
{
	if (c == '\r') {
		h->state = HS_EMPTY_CR;
		return;
	}
	if (c == '\n') {
		set_error(h, E_BARE_LF);
		return;
	}
	field_begin(h);
	h->state = HS_FIELD;
	field_byte(h, c);
}

static void
step(struct header_from *h, unsigned char c)
{
	if (h->header_bytes >= HEADER_FROM_MAX_HEADER_BYTES) {
		set_error(h, E_HEADER_LONG);
		return;
	}
	h->header_bytes++;
	if (c == '\0') {
		set_error(h, E_NUL);
		return;
	}
	switch (h->state) {
	case HS_START:
		line_start(h, c);
		break;
	case HS_FIELD:
		if (c == '\r')
			h->state = HS_CR;
		else if (c == '\n')
			set_error(h, E_BARE_LF);
		else
			field_byte(h, c);
		break;
	case HS_CR:
		if (c == '\n')
			h->state = HS_EOL;
		else
			set_error(h, E_BARE_CR);
		break;
	case HS_EOL:
		if (is_wsp(c)) {
			/* Unfolding removes the CRLF, keeps the space. */
			h->state = HS_FIELD;
			field_byte(h, c);
			break;
		}
		field_end(h);
		if (!h->done)
			line_start(h, c);
		break;
	case HS_EMPTY_CR:
		if (c == '\n')
			finish(h);
		else
			set_error(h, E_BARE_CR);
		break;
	default:
		break;
	}
}

void
header_from_init(struct header_from *h)
{
	memset(h, 0, sizeof(*h));
	h->state = HS_START;
	h->name_state = FN_SKIP;
	buf_init(&h->value, HEADER_FROM_MAX_FIELD);
}

void
header_from_feed(struct header_from *h, const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;

	for (size_t i = 0; i < len && !h->done; i++)
		step(h, u[i]);
}

void
header_from_end(struct header_from *h)
{
	if (h->done)
		return;
	switch (h->state) {
	case HS_FIELD:
	case HS_EOL:
		field_end(h);
		break;
	case HS_CR:
	case HS_EMPTY_CR:
		set_error(h, E_BARE_CR);
		break;
	default:
		break;
	}
	if (!h->done)
		finish(h);
}

void
header_from_free(struct header_from *h)
{
	buf_free(&h->value);
	free(h->addrs);
	h->addrs = NULL;
	h->naddrs = 0;
}
