/*
 * libFuzzer harness for tern's filter protocol (plugin/filter_proto.c):
 * any bytes as a line a filter wrote, and as a field tern escapes.
 * Checks that a parsed line holds only what the protocol allows (reply
 * text printable, codes of the right class) and that every escaped field
 * holds no space or control byte and decodes back to the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/filter_proto.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_line(const char *s, size_t len)
{
	struct filter_line l;
	char err[256];

	if (filter_line_parse(s, len, &l, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (l.kind != FILTER_LINE_REPLY)
		return;
	for (const char *p = l.text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
	if ((l.action == FILTER_REJECT && l.code / 100 != 5) ||
	    (l.action == FILTER_DEFER && l.code / 100 != 4) ||
	    (l.action == FILTER_DISCONNECT && l.code != 421 && l.code != 521))
		abort();
	if (l.action == FILTER_ADD_HEADER &&
	    (l.hname[0] == '\0' || strchr(l.hname, ':') != NULL ||
	    strchr(l.hvalue, '\n') != NULL || strchr(l.hvalue, '\r') != NULL))
		abort();
}

static void
check_field(const char *s, size_t len)
{
	struct buf b;
	char *back;

	buf_init(&b, 3 * len + 8);
	if (filter_field(&b, s, len) < 0)
		abort();
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] <= ' ' || (unsigned char)b.data[i] > '~')
			abort();
	back = malloc(len + 1);
	if (back == NULL)
		abort();
	if (filter_field_decode(b.data, b.len, back, len + 1) != (long)len ||
	    memcmp(back, s, len) != 0)
		abort();
	free(back);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_line((const char *)data, size);
	check_field((const char *)data, size);
	return 0;
}
