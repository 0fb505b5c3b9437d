/*
 * libFuzzer harness for the auth.sock line protocol (mailbox/login_proto.c):
 * the request parser lookup runs on what Dovecot's Lua passdb (and anything
 * else of tern's user) sends, and the answer parser, the C twin of the
 * Lua one, on lookup's reply.  Whatever parses must write back to a line
 * that parses to the very same fields, within the protocol's bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/login_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_request(const char *in, size_t size)
{
	struct login_request r, back;
	char line[LOGIN_PROTO_REQUEST_MAX];
	long n;

	if (login_request_parse(in, size, &r) < 0)
		return;
	n = login_request_format(&r, line, sizeof(line));
	if (n <= 0 || (size_t)n > sizeof(line) ||
	    login_request_parse(line, (size_t)n, &back) < 0 ||
	    memcmp(&r, &back, sizeof(r)) != 0)
		abort();
}

static void
fuzz_answer(const char *in, size_t size)
{
	struct login_answer a, back;
	static char line[LOGIN_PROTO_ANSWER_MAX];
	long n;

	if (login_answer_parse(in, size, &a) < 0)
		return;
	if (a.delay > LOGIN_PROTO_DELAY_MAX)
		abort();
	n = login_answer_format(&a, line, sizeof(line));
	if (n <= 0 || login_answer_parse(line, (size_t)n, &back) < 0 ||
	    memcmp(&a, &back, sizeof(a)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_request((const char *)data, size);
	fuzz_answer((const char *)data, size);
	return 0;
}
