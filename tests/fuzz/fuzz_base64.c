/*
 * libFuzzer harness for the base64 decoder that reads AUTH responses
 * (util/base64.c).  Checks that a decoding never claims more bytes than the
 * buffer holds, that what decodes encodes back to the very same input (the
 * decoder takes canonical base64 only), and that a buffer one byte short
 * is refused rather than overrun.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap = size / 4 * 3 + 3;
	unsigned char *out = malloc(cap);
	char *back = malloc(size + 8);
	long n;

	if (out == NULL || back == NULL)
		goto done;
	n = base64_decode((const char *)data, size, out, cap);
	if (n < -1 || n > (long)cap)
		abort();
	if (n >= 0) {
		if (base64_encode(out, (size_t)n, back, size + 8) < 0 ||
		    strlen(back) != size || memcmp(back, data, size) != 0)
			abort();
		if (n > 0 && base64_decode((const char *)data, size, out,
		    (size_t)n - 1) != -1)
			abort();
	}
done:
	free(out);
	free(back);
	return 0;
}
