/*
 * libFuzzer harness for the DATA reader.  Feeds the input whole, one byte
 * at a time, and in chunks whose sizes come from the input's first byte,
 * and checks the invariants: same output, flags, size and leftover every
 * way; output never longer than input plus DATA_READER_SLACK per call;
 * size equal to the bytes written; the end only ever right after
 * CR LF . CR LF (or . CR LF at the start).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/data_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	char *out;
	size_t outlen;
	size_t consumed;
	unsigned flags;
	int done;
	uint64_t size;
};

/* step 0: whole; otherwise chunks of step bytes. */
static void
run_reader(const char *in, size_t len, size_t step, struct run *res)
{
	struct data_reader r;
	char *tmp = malloc(len + DATA_READER_SLACK + 1);
	size_t pos = 0;

	if (tmp == NULL)
		abort();
	res->out = malloc(len + DATA_READER_SLACK + 1);
	if (res->out == NULL)
		abort();
	res->outlen = 0;
	res->done = 0;
	data_reader_init(&r);
	while (pos < len && !res->done) {
		size_t n = step == 0 || len - pos < step ? len - pos : step;
		size_t outlen, used;

		used = data_reader_feed(&r, in + pos, n, tmp, &outlen,
		    &res->done);
		if (used > n || outlen > n + DATA_READER_SLACK)
			abort();
		if (!res->done && used != n)
			abort();
		/* Every byte written stands for a distinct byte read. */
		if (res->outlen + outlen > pos + used)
			abort();
		memcpy(res->out + res->outlen, tmp, outlen);
		res->outlen += outlen;
		pos += used;
	}
	res->consumed = pos;
	res->flags = r.flags;
	res->size = r.size;
	free(tmp);
}

static void
same(const struct run *a, const struct run *b)
{
	if (a->outlen != b->outlen || a->consumed != b->consumed ||
	    a->flags != b->flags || a->done != b->done ||
	    a->size != b->size || memcmp(a->out, b->out, a->outlen) != 0)
		abort();
}

/* The end marker is right where the reader stopped. */
static void
check_end(const char *in, const struct run *r)
{
	size_t c = r->consumed;

	if (r->size != r->outlen)
		abort();
	if (!r->done)
		return;
	if (c == 3) {
		if (memcmp(in, ".\r\n", 3) != 0)
			abort();
	} else if (c < 5 || memcmp(in + c - 5, "\r\n.\r\n", 5) != 0)
		abort();
	if (r->flags == 0 && r->outlen >= 2 &&
	    memcmp(r->out + r->outlen - 2, "\r\n", 2) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct run whole, bytes, chunks;
	size_t step = size > 0 ? 2 + data[0] % 16 : 2;

	run_reader(in, size, 0, &whole);
	run_reader(in, size, 1, &bytes);
	run_reader(in, size, step, &chunks);
	same(&whole, &bytes);
	same(&whole, &chunks);
	check_end(in, &whole);
	/* Without any flag the output has no bare CR, LF or NUL. */
	if (whole.flags == 0 && memchr(whole.out, '\0', whole.outlen))
		abort();
	free(whole.out);
	free(bytes.out);
	free(chunks.out);
	return 0;
}
