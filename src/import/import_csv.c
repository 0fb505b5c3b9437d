/*
 * csv: RFC 4180 comma-separated values, a header line first naming the
 * columns, in any order and any case:
 *
 *   login          the login, exactly (empty or absent: the address)
 *   address        the account's own address (required)
 *   password_hash  a crypt(3) hash, bare or behind a Dovecot {SCHEME}
 *                  (empty or absent: no password)
 *   addresses      more addresses of the account, by spaces or commas
 *   aliases        addresses that forward to this account, likewise
 *
 * Fields may be quoted ("a ""b"" c", line breaks inside allowed); blanks
 * around an unquoted field are dropped.  Lines end in LF or CRLF; blank
 * lines are skipped, and a UTF-8 byte order mark before the header.  A
 * record with more or fewer fields than the header,
 * a stray quote or an unterminated quoted field cannot be read: an error
 * naming the record's first line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import/import.h"
#include "util/buf.h"
#include "util/xmalloc.h"

enum csv_col { CSV_LOGIN, CSV_ADDRESS, CSV_HASH, CSV_ADDRS, CSV_ALIASES,
	CSV_NCOLS };

static const char *const csv_names[CSV_NCOLS] = {
	"login", "address", "password_hash", "addresses", "aliases",
};

struct csv {
	const char *file;
	const char *data;
	size_t len, pos;
	unsigned long line;     /* of the next byte */
	int cols[CSV_NCOLS];    /* the field index of each column, or -1 */
	size_t nfields;         /* the header's */
	struct import_list f;   /* the record being read */
	struct buf v;
	char *err;
	size_t errlen;
};

static int
csv_fail(struct csv *c, unsigned long line, const char *why)
{
	snprintf(c->err, c->errlen, "%s:%lu: %s", c->file, line, why);
	return -1;
}

static int
csv_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* A quoted field from after its opening quote to after the closing one. */
static int
csv_quoted(struct csv *c, unsigned long first)
{
	for (;;) {
		if (c->pos >= c->len)
			return csv_fail(c, first, "a quoted field does not "
			    "end");
		if (c->data[c->pos] == '"') {
			if (c->pos + 1 < c->len && c->data[c->pos + 1] == '"') {
				c->pos++;
			} else {
				c->pos++;
				return 0;
			}
		}
		if (c->data[c->pos] == '\n')
			c->line++;
		if (buf_append(&c->v, c->data + c->pos, 1) < 0)
			return csv_fail(c, first, "record too long");
		c->pos++;
	}
}

/* One field, up to the ',' or line end after it (not taken). */
static int
csv_field(struct csv *c, unsigned long first)
{
	size_t start, end, stop;
	int quoted = 0;

	buf_reset(&c->v);
	if (buf_append(&c->v, "", 0) < 0)
		return csv_fail(c, first, "out of room");
	while (c->pos < c->len && csv_blank(c->data[c->pos]))
		c->pos++;
	if (c->pos < c->len && c->data[c->pos] == '"') {
		c->pos++;
		if (csv_quoted(c, first) < 0)
			return -1;
		quoted = 1;
	}
	start = c->pos;
	for (stop = start; stop < c->len && c->data[stop] != ',' &&
	    c->data[stop] != '\n'; stop++)
		;
	/* Blanks before the separator, and the '\r' of CRLF, are dropped. */
	for (end = stop; end > start && (csv_blank(c->data[end - 1]) ||
	    c->data[end - 1] == '\r'); end--)
		;
	c->pos = stop;
	if (quoted && end > start)
		return csv_fail(c, first, "text after a quoted field");
	if (memchr(c->data + start, '"', end - start) != NULL)
		return csv_fail(c, first, "a quote inside an unquoted field");
	if (buf_append(&c->v, c->data + start, end - start) < 0)
		return csv_fail(c, first, "record too long");
	import_list_add(&c->f, c->v.data, c->v.len);
	return 0;
}

/* One record into c->f.  1 if read, 0 at the end of the data. */
static int
csv_record(struct csv *c, unsigned long *first_r)
{
	import_list_free(&c->f);
	/* Blank lines between records are skipped. */
	while (c->pos < c->len) {
		size_t p = c->pos;

		while (p < c->len && (csv_blank(c->data[p]) ||
		    c->data[p] == '\r'))
			p++;
		if (p < c->len && c->data[p] != '\n')
			break;
		c->pos = p + 1;
		c->line++;
	}
	if (c->pos >= c->len)
		return 0;
	*first_r = c->line;
	for (;;) {
		if (csv_field(c, *first_r) < 0)
			return -1;
		if (c->pos >= c->len || c->data[c->pos] == '\n')
			break;
		c->pos++;       /* ',' */
	}
	if (c->pos < c->len) {
		c->pos++;
		c->line++;
	}
	return 1;
}

static int
csv_header(struct csv *c)
{
	unsigned long first;
	size_t k;

	switch (csv_record(c, &first)) {
	case 0:
		return csv_fail(c, 1, "no header line");
	case 1:
		break;
	default:
		return -1;
	}
	for (k = 0; k < CSV_NCOLS; k++)
		c->cols[k] = -1;
	for (size_t i = 0; i < c->f.n; i++) {
		for (k = 0; k < CSV_NCOLS; k++)
			if (strcasecmp(c->f.v[i], csv_names[k]) == 0)
				break;
		if (k == CSV_NCOLS || c->cols[k] >= 0) {
			snprintf(c->err, c->errlen, "%s:%lu: %s column '%.64s' "
			    "(the columns are login, address, password_hash, "
			    "addresses, aliases)", c->file, first,
			    k == CSV_NCOLS ? "unknown" : "repeated", c->f.v[i]);
			return -1;
		}
		c->cols[k] = (int)i;
	}
	if (c->cols[CSV_ADDRESS] < 0)
		return csv_fail(c, first, "the header has no address column");
	c->nfields = c->f.n;
	return 0;
}

/* The field of column k in the record read, or "" without one. */
static const char *
csv_get(struct csv *c, enum csv_col k)
{
	return c->cols[k] >= 0 ? c->f.v[c->cols[k]] : "";
}

static void
csv_account(struct import_batch *b, struct csv *c, struct import_at at)
{
	struct import_account *a = import_add_account(b, at);
	struct import_list sources = { 0 };
	const char *login = csv_get(c, CSV_LOGIN);
	const char *hash = csv_get(c, CSV_HASH);
	const char *v;

	a->address = xstrdup(csv_get(c, CSV_ADDRESS));
	a->login = login[0] != '\0' ? xstrdup(login) : NULL;
	a->hash = hash[0] != '\0' ? xstrdup(hash) : NULL;
	v = csv_get(c, CSV_ADDRS);
	import_list_split(&a->addrs, v, strlen(v));
	v = csv_get(c, CSV_ALIASES);
	import_list_split(&sources, v, strlen(v));
	for (size_t i = 0; i < sources.n; i++) {
		struct import_alias *al = import_add_alias(b, at);

		al->source = xstrdup(sources.v[i]);
		import_list_add(&al->targets, a->address, strlen(a->address));
	}
	import_list_free(&sources);
}

int
import_csv(struct import_batch *b, const char *file, const char *data,
    size_t len, char *err, size_t errlen)
{
	struct csv c = { .file = file, .data = data, .len = len, .line = 1,
		.err = err, .errlen = errlen };
	unsigned long first = 0;
	int rc;

	buf_init(&c.v, IMPORT_LINE_MAX);
	/* A spreadsheet may start its UTF-8 export with a byte order mark. */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		c.pos = 3;
	if ((rc = csv_header(&c)) == 0) {
		while ((rc = csv_record(&c, &first)) == 1) {
			if (c.f.n != c.nfields) {
				snprintf(err, errlen, "%s:%lu: %zu fields, the "
				    "header has %zu", file, first, c.f.n,
				    c.nfields);
				rc = -1;
				break;
			}
			csv_account(b, &c, (struct import_at){ file, first });
		}
	}
	import_list_free(&c.f);
	buf_free(&c.v);
	return rc < 0 ? -1 : 0;
}
