/*
 * libFuzzer harness for addr_parse(): any bytes, both with and without
 * UTF-8.  Checks that a success yields a NUL-terminated address, no longer
 * than the input, that parses again to itself (the output is a fixed
 * point) and never holds a control byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_one(const char *s, size_t len, int utf8)
{
	char out[ADDR_BUF], again[ADDR_BUF];
	const char *err = NULL;
	size_t olen;

	if (addr_parse(s, len, utf8, out, &err) == -1) {
		if (err == NULL)
			abort();
		return;
	}
	/* Only a quoted local part may change length: its one spelling is
	 * never longer. */
	olen = strnlen(out, ADDR_BUF);
	if (olen > len || (olen != len && s[0] != '"') || olen > ADDR_MAX)
		abort();
	for (size_t i = 0; i < olen; i++)
		if ((unsigned char)out[i] < 32 || out[i] == 0x7f)
			abort();
	if (addr_local_len(out) > ADDR_LOCAL_MAX ||
	    strlen(addr_domain(out)) > ADDR_DOMAIN_MAX)
		abort();
	if (addr_parse(out, olen, utf8, again, &err) == -1 ||
	    strcmp(out, again) != 0)
		abort();
	/* What is good without UTF-8 stays good with it. */
	if (!utf8 && addr_parse(s, len, 1, again, &err) == -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char domain[ADDR_DOMAIN_MAX + 2];
	const char *err;

	check_one((const char *)data, size, 0);
	check_one((const char *)data, size, 1);
	if (size < sizeof(domain)) {
		memcpy(domain, data, size);
		domain[size] = '\0';
		(void)addr_domain_valid(domain, &err);
	}
	return 0;
}
