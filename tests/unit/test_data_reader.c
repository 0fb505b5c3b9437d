/*
 * Unit tests for smtpd/data_reader.c.  Every case is fed whole, one byte
 * at a time and in random-size chunks; all three must give the same
 * output, flags, size and leftover, and match the table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/data_reader.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S(s) s, sizeof(s) - 1   /* a literal and its length, NULs kept */

#define LF  DATA_BARE_LF
#define CR  DATA_BARE_CR
#define NUL DATA_NUL

struct dr_case {
	const char *name;
	const char *in;
	size_t inlen;
	const char *want;
	size_t wantlen;
	unsigned flags;
	int done;
	size_t leftover;        /* input bytes not consumed */
};

static const struct dr_case dr_cases[] = {
	{ "empty message", S(".\r\n"), S(""), 0, 1, 0 },
	{ "one line", S("hi\r\n.\r\n"), S("hi\r\n"), 0, 1, 0 },
	{ "empty line then end", S("\r\n.\r\n"), S("\r\n"), 0, 1, 0 },
	{ "headers and body", S("Subject: x\r\n\r\nbody\r\n.\r\n"),
	    S("Subject: x\r\n\r\nbody\r\n"), 0, 1, 0 },
	{ "next command left", S("a\r\n.\r\nQUIT\r\n"), S("a\r\n"), 0, 1, 6 },
	{ "pipelined MAIL left", S(".\r\nMAIL FROM:<a@b>\r\n"), S(""), 0, 1,
	    17 },
	{ "no end yet", S("a\r\nb\r\n"), S("a\r\nb\r\n"), 0, 0, 0 },
	{ "no input", S(""), S(""), 0, 0, 0 },
	{ "dot line pending", S("a\r\n."), S("a\r\n"), 0, 0, 0 },
	{ "dot CR pending", S("a\r\n.\r"), S("a\r\n"), 0, 0, 0 },
	/* Dot-stuffing. */
	{ "stuffed dot", S("..\r\n.\r\n"), S(".\r\n"), 0, 1, 0 },
	{ "stuffed dots", S("...x\r\n.\r\n"), S("..x\r\n"), 0, 1, 0 },
	{ "stuffed text", S("a\r\n..b\r\n.\r\n"), S("a\r\n.b\r\n"), 0, 1, 0 },
	{ "unstuffed dot text", S(".abc\r\n.\r\n"), S("abc\r\n"), 0, 1, 0 },
	{ "dot mid-line", S("a.b\r\na.\r\n.\r\n"), S("a.b\r\na.\r\n"), 0, 1,
	    0 },
	{ "dot space", S(". \r\n.\r\n"), S(" \r\n"), 0, 1, 0 },
	{ "dot dot CRLF end", S("..\r\n..\r\n.\r\n"), S(".\r\n.\r\n"), 0, 1,
	    0 },
	{ "two-dot line is not end", S("a\r\n..\r\nb\r\n.\r\n"),
	    S("a\r\n.\r\nb\r\n"), 0, 1, 0 },
	/* Smuggling: none of these ends the message. */
	/* After a bare LF no line starts, so its dot is kept. */
	{ "LF.LF", S("a\n.\nMAIL FROM:<x@y>\r\n"),
	    S("a\n.\nMAIL FROM:<x@y>\r\n"), LF, 0, 0 },
	{ "CR.CR", S("a\r.\rMAIL FROM:<x@y>\r\n"),
	    S("a\r.\rMAIL FROM:<x@y>\r\n"), CR, 0, 0 },
	{ "CRLF.LF", S("a\r\n.\nMAIL FROM:<x@y>\r\n"),
	    S("a\r\n\nMAIL FROM:<x@y>\r\n"), LF, 0, 0 },
	{ "LF.CRLF", S("a\n.\r\nMAIL FROM:<x@y>\r\n"),
	    S("a\n.\r\nMAIL FROM:<x@y>\r\n"), LF, 0, 0 },
	{ "CR.CRLF", S("a\r.\r\nMAIL FROM:<x@y>\r\n"),
	    S("a\r.\r\nMAIL FROM:<x@y>\r\n"), CR, 0, 0 },
	{ "CRLF.CR", S("a\r\n.\rMAIL FROM:<x@y>\r\n"),
	    S("a\r\n\rMAIL FROM:<x@y>\r\n"), CR, 0, 0 },
	{ "LF.LF first", S("\n.\n"), S("\n.\n"), LF, 0, 0 },
	{ "LF.CRLF first", S("\n.\r\n"), S("\n.\r\n"), LF, 0, 0 },
	{ "dot LF first", S(".\nx"), S("\nx"), LF, 0, 0 },
	{ "smuggled then real end",
	    S("a\n.\nMAIL FROM:<x@y>\r\nDATA\r\nevil\r\n.\r\nQUIT\r\n"),
	    S("a\n.\nMAIL FROM:<x@y>\r\nDATA\r\nevil\r\n"), LF, 1, 6 },
	{ "CR CRLF", S("a\r\r\n.\r\n"), S("a\r\r\n"), CR, 1, 0 },
	{ "bare CR at start", S("\r.\r\n.\r\n"), S("\r.\r\n"), CR, 1, 0 },
	{ "bare LF line", S("a\nb\r\n.\r\n"), S("a\nb\r\n"), LF, 1, 0 },
	{ "bare CR and LF", S("a\rb\nc\r\n.\r\n"), S("a\rb\nc\r\n"), LF | CR,
	    1, 0 },
	{ "dot CR CR LF", S(".\r\r\n.\r\n"), S("\r\r\n"), CR, 1, 0 },
	/* NUL. */
	{ "NUL in line", S("a\0b\r\n.\r\n"), S("a\0b\r\n"), NUL, 1, 0 },
	{ "NUL at start", S("\0\r\n.\r\n"), S("\0\r\n"), NUL, 1, 0 },
	{ "NUL after dot", S(".\0\r\n.\r\n"), S("\0\r\n"), NUL, 1, 0 },
	{ "all three", S("\0\n\r\r\n.\r\n"), S("\0\n\r\r\n"),
	    NUL | LF | CR, 1, 0 },
	/* High bytes pass through untouched. */
	{ "8-bit", S("\xc3\xa9\xff\x80\r\n.\r\n"), S("\xc3\xa9\xff\x80\r\n"),
	    0, 1, 0 },
};

struct dr_result {
	char out[512];
	size_t outlen;
	unsigned flags;
	int done;
	size_t consumed;
	uint64_t size;
};

/*
 * Feeds in through a fresh reader in chunks: chunk 0 means whole, 1 means
 * a byte at a time, anything else random sizes from 1 to chunk.
 */
static void
dr_run(const char *in, size_t len, size_t chunk, unsigned seed,
    struct dr_result *res)
{
	struct data_reader r;
	char tmp[512 + DATA_READER_SLACK];
	size_t pos = 0;

	memset(res, 0, sizeof(*res));
	srand(seed);
	data_reader_init(&r);
	while (pos < len && !res->done) {
		size_t n = len - pos, outlen, used;

		if (chunk == 1)
			n = 1;
		else if (chunk > 1 && n > 1)
			n = 1 + (size_t)rand() % (n < chunk ? n : chunk);
		used = data_reader_feed(&r, in + pos, n, tmp, &outlen,
		    &res->done);
		assert_true(used <= n);
		assert_true(outlen <= n + DATA_READER_SLACK);
		assert_true(res->outlen + outlen <= sizeof(res->out));
		if (!res->done)
			assert_int_equal(used, n);
		memcpy(res->out + res->outlen, tmp, outlen);
		res->outlen += outlen;
		pos += used;
	}
	res->consumed = pos;
	res->flags = r.flags;
	res->size = r.size;
}

/* Client-like bytes made printable for a failure message. */
static const char *
esc(const char *s, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			o += (size_t)snprintf(buf + o, size - o, "\\r");
		else if (c == '\n')
			o += (size_t)snprintf(buf + o, size - o, "\\n");
		else if (c < 32 || c > 126 || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static int
dr_check(const struct dr_case *c, const char *mode,
    const struct dr_result *got)
{
	size_t leftover = c->inlen - got->consumed;

	char g[256], w[256];

	if (got->outlen != c->wantlen ||
	    memcmp(got->out, c->want, c->wantlen) != 0) {
		print_error("%s (%s): got %zu bytes \"%s\", want %zu \"%s\"\n",
		    c->name, mode, got->outlen,
		    esc(got->out, got->outlen, g, sizeof(g)), c->wantlen,
		    esc(c->want, c->wantlen, w, sizeof(w)));
		return 1;
	}
	if (got->flags != c->flags || got->done != c->done ||
	    leftover != c->leftover || got->size != got->outlen) {
		print_error("%s (%s): got flags %#x done %d leftover %zu size "
		    "%ju, want %#x %d %zu %zu\n", c->name, mode, got->flags,
		    got->done, leftover, (uintmax_t)got->size, c->flags,
		    c->done, c->leftover, c->wantlen);
		return 1;
	}
	return 0;
}

static void
test_data_reader_table(void **state)
{
	struct dr_result res;
	char mode[32];
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < N(dr_cases); i++) {
		const struct dr_case *c = &dr_cases[i];

		/* Report only the first mode that fails for a case. */
		dr_run(c->in, c->inlen, 0, 0, &res);
		if (dr_check(c, "whole", &res)) {
			failed++;
			continue;
		}
		dr_run(c->in, c->inlen, 1, 0, &res);
		if (dr_check(c, "byte by byte", &res)) {
			failed++;
			continue;
		}
		for (unsigned seed = 1; seed <= 20; seed++) {
			snprintf(mode, sizeof(mode), "chunks seed %u", seed);
			dr_run(c->in, c->inlen, 5, seed, &res);
			if (dr_check(c, mode, &res)) {
				failed++;
				break;
			}
		}
	}
	assert_int_equal(failed, 0);
}

/* After the end, the reader consumes nothing more and keeps saying done. */
static void
test_data_reader_after_done(void **state)
{
	struct data_reader r;
	char out[64];
	size_t outlen, used;
	int done;

	(void)state;
	data_reader_init(&r);
	used = data_reader_feed(&r, ".\r\nNOOP\r\n", 9, out, &outlen, &done);
	assert_int_equal(used, 3);
	assert_int_equal(done, 1);
	assert_int_equal(outlen, 0);
	used = data_reader_feed(&r, "NOOP\r\n", 6, out, &outlen, &done);
	assert_int_equal(used, 0);
	assert_int_equal(done, 1);
	assert_int_equal(outlen, 0);
}

/* size keeps counting across calls and through the flagged bytes. */
static void
test_data_reader_size(void **state)
{
	struct data_reader r;
	char out[64];
	size_t outlen;
	int done;

	(void)state;
	data_reader_init(&r);
	data_reader_feed(&r, "abc\r\n..", 7, out, &outlen, &done);
	assert_int_equal(outlen, 6);            /* "abc\r\n." */
	data_reader_feed(&r, "d\n\0\r\n.", 6, out, &outlen, &done);
	assert_int_equal(outlen, 5);            /* the last dot held */
	assert_memory_equal(out, "d\n\0\r\n", 5);
	data_reader_feed(&r, "\r\n", 2, out, &outlen, &done);
	assert_int_equal(done, 1);
	assert_int_equal(outlen, 0);
	assert_int_equal(r.size, 11);
	assert_int_equal(r.flags, DATA_BARE_LF | DATA_NUL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_reader_table),
		cmocka_unit_test(test_data_reader_after_done),
		cmocka_unit_test(test_data_reader_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
