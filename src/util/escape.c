/*
 * Escaping for the terminal and for JSON: see escape.h.  Trusts nothing
 * in its input; the output is written with stdio, whose errors the caller
 * checks once at the end (ferror).
 */
#include "util/escape.h"
#include "util/utf8.h"

void
escape_text(FILE *f, const char *s, size_t n, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	for (size_t i = 0; i < n; i += len) {
		len = p[i] >= 0x80 ? utf8_char(p + i, n - i, UTF8_NO_C1, NULL) : 0;
		if (len > 0) {
			fwrite(p + i, 1, len, f);
			continue;
		}
		len = 1;
		if ((p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') ||
		    (p[i] == '\t' && (flags & ESCAPE_KEEP_TAB)))
			putc(p[i], f);
		else
			fprintf(f, "\\x%02x", p[i]);
	}
}

void
escape_json(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	putc('"', f);
	for (size_t i = 0; i < n; i += len) {
		len = p[i] >= 0x80 ? utf8_char(p + i, n - i, UTF8_NO_C1, NULL) : 0;
		if (len > 0) {
			fwrite(p + i, 1, len, f);
			continue;
		}
		len = 1;
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] == '\n')
			fputs("\\n", f);
		else if (p[i] == '\t')
			fputs("\\t", f);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			fprintf(f, "\\u%04x", p[i]);
		else if (p[i] < 0x80)
			putc(p[i], f);
		else if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f) {
			/* A C1 control: valid, but escaped like the rest. */
			fprintf(f, "\\u%04x", p[i + 1]);
			len = 2;
		} else
			fputs("\\ufffd", f);
	}
	putc('"', f);
}
