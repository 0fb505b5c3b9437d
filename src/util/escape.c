/*
 * Escaping for the terminal and for JSON: see escape.h.  Trusts nothing
 * in its input; the output is written with stdio, whose errors the caller
 * checks once at the end (ferror).
 */
#include "util/escape.h"
#include "util/utf8.h"

/* Writes the byte (or bytes) at p that is not a printable UTF-8
 * character, escaped; returns how many it took (at least 1). */
typedef size_t escape_byte_fn(FILE *f, const unsigned char *p, size_t left,
    int flags);

/* Valid UTF-8 goes out as it is, but for the C1 controls; the rest
 * through byte. */
static void
escape_each(FILE *f, const char *s, size_t n, escape_byte_fn *byte, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	for (size_t i = 0; i < n; i += len) {
		len = p[i] >= 0x80 ? utf8_char(p + i, n - i, UTF8_NO_C1, NULL) : 0;
		if (len > 0)
			fwrite(p + i, 1, len, f);
		else
			len = byte(f, p + i, n - i, flags);
	}
}

static size_t
escape_text_byte(FILE *f, const unsigned char *p, size_t left, int flags)
{
	(void)left;
	if ((p[0] >= 0x20 && p[0] < 0x7f && p[0] != '\\') ||
	    (p[0] == '\t' && (flags & ESCAPE_KEEP_TAB)))
		putc(p[0], f);
	else
		fprintf(f, "\\x%02x", p[0]);
	return 1;
}

void
escape_text(FILE *f, const char *s, size_t n, int flags)
{
	escape_each(f, s, n, escape_text_byte, flags);
}

static size_t
escape_json_byte(FILE *f, const unsigned char *p, size_t left, int flags)
{
	(void)flags;
	if (p[0] == '"' || p[0] == '\\')
		fprintf(f, "\\%c", p[0]);
	else if (p[0] == '\n')
		fputs("\\n", f);
	else if (p[0] == '\t')
		fputs("\\t", f);
	else if (p[0] < 0x20 || p[0] == 0x7f)
		fprintf(f, "\\u%04x", p[0]);
	else if (p[0] < 0x80)
		putc(p[0], f);
	else if (p[0] == 0xc2 && left > 1 && p[1] >= 0x80 && p[1] <= 0x9f) {
		/* A C1 control: valid, but escaped like the rest. */
		fprintf(f, "\\u%04x", p[1]);
		return 2;
	} else
		fputs("\\ufffd", f);
	return 1;
}

void
escape_json(FILE *f, const char *s, size_t n)
{
	putc('"', f);
	escape_each(f, s, n, escape_json_byte, 0);
	putc('"', f);
}
