/*
 * libFuzzer harness for the header From/Sender collector.  Feeds the
 * input whole, one byte at a time, and in chunks whose sizes come from
 * the input's own bytes, and checks that all three give the same result.
 * Also checks the invariants the caller relies on: done after the end;
 * every address stored parses again to itself; without an error, at least
 * one From, every From field gave an address and every Sender exactly one;
 * and no line of the header section that starts "From:" or "Sender:" goes
 * uncounted unless the result is an error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd/header_from.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* step 0: whole; 1: a byte at a time; 2: sizes taken from the input. */
static void
run(const uint8_t *data, size_t size, int step, struct header_from *h)
{
	size_t pos = 0, k = 0;

	header_from_init(h);
	while (pos < size) {
		size_t n = size - pos;

		if (step == 1)
			n = 1;
		else if (step == 2) {
			size_t want = 1 + data[k++ % size] % 23;

			if (want < n)
				n = want;
		}
		header_from_feed(h, (const char *)data + pos, n);
		pos += n;
	}
	header_from_end(h);
}

static void
same(const struct header_from *a, const struct header_from *b)
{
	if (a->done != b->done || a->from_fields != b->from_fields ||
	    a->sender_fields != b->sender_fields || a->naddrs != b->naddrs)
		abort();
	if ((a->error == NULL) != (b->error == NULL))
		abort();
	if (a->error != NULL && strcmp(a->error, b->error) != 0)
		abort();
	for (size_t i = 0; i < a->naddrs; i++)
		if (a->addrs[i].kind != b->addrs[i].kind ||
		    strcmp(a->addrs[i].addr, b->addrs[i].addr) != 0)
			abort();
}

/* Lines of the header section that start with name (any case). */
static unsigned
count_lines(const uint8_t *data, size_t size, const char *name)
{
	size_t nlen = strlen(name);
	unsigned n = 0;

	for (size_t i = 0; i < size; ) {
		const uint8_t *eol;

		if (i + 2 <= size && data[i] == '\r' && data[i + 1] == '\n')
			break;          /* the empty line */
		if (size - i >= nlen &&
		    strncasecmp((const char *)data + i, name, nlen) == 0)
			n++;
		eol = memmem(data + i, size - i, "\r\n", 2);
		if (eol == NULL)
			break;
		i = (size_t)(eol - data) + 2;
	}
	return n;
}

static void
check(const uint8_t *data, size_t size, const struct header_from *h)
{
	size_t nfrom = 0, nsender = 0;

	if (!h->done || h->naddrs > HEADER_FROM_MAX_ADDRS)
		abort();
	for (size_t i = 0; i < h->naddrs; i++) {
		const char *a = h->addrs[i].addr;
		char again[ADDR_BUF];
		const char *err;

		if (addr_parse(a, strlen(a), 1, again, &err) == -1 ||
		    strcmp(a, again) != 0)
			abort();
		if (h->addrs[i].kind < HEADER_FROM_FROM ||
		    h->addrs[i].kind > HEADER_FROM_RESENT_SENDER)
			abort();
		/* Addresses from display names come beside a field's own. */
		if (h->addrs[i].in_name)
			continue;
		if (h->addrs[i].kind == HEADER_FROM_FROM)
			nfrom++;
		else if (h->addrs[i].kind == HEADER_FROM_SENDER)
			nsender++;
	}
	if (h->error != NULL)
		return;
	if (h->from_fields == 0 || nfrom < h->from_fields ||
	    nsender != h->sender_fields)
		abort();
	if (count_lines(data, size, "from:") > h->from_fields ||
	    count_lines(data, size, "sender:") > h->sender_fields)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct header_from whole, bytes, chunks;

	run(data, size, 0, &whole);
	run(data, size, 1, &bytes);
	run(data, size, 2, &chunks);
	same(&whole, &bytes);
	same(&whole, &chunks);
	check(data, size, &whole);
	header_from_free(&whole);
	header_from_free(&bytes);
	header_from_free(&chunks);
	return 0;
}
