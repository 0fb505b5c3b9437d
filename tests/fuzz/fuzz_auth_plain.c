/*
 * libFuzzer harness for the AUTH PLAIN response as smtpd reads it: base64
 * (util/base64.c), then the split into authorization identity, login and
 * password (smtpd/smtp_parse.c smtp_auth_plain_split).  Checks that the
 * three parts lie inside the decoded bytes, in order, that the login is
 * not empty, and that their lengths and two NULs add up to the whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtp_parse.h"
#include "util/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap = size / 4 * 3 + 4;
	char *buf = malloc(cap);
	const char *z, *l, *p;
	long n;

	if (buf == NULL)
		return 0;
	n = base64_decode((const char *)data, size, (unsigned char *)buf, cap - 1);
	if (n < 0)
		goto done;
	buf[n] = '\0';
	if (smtp_auth_plain_split(buf, (size_t)n, &z, &l, &p) < 0)
		goto done;
	if (z != buf || l <= z || p <= l || p > buf + n || *l == '\0' ||
	    strlen(z) + strlen(l) + strlen(p) + 2 != (size_t)n)
		abort();
done:
	free(buf);
	return 0;
}
