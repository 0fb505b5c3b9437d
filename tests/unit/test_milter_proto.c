/*
 * Unit tests for plugin/milter_proto.c: framing fed whole and one byte at
 * a time, the negotiation reply's checks, custom reply texts, strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "plugin/milter_proto.h"
#include "util/buf.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S(s) s, sizeof(s) - 1

static struct milter_pkt
pkt_of(char cmd, const void *data, size_t len)
{
	struct milter_pkt p = { cmd, data, len };
	return p;
}

static void
test_take_whole_and_bytewise(void **state)
{
	static const uint8_t in[] = { 0, 0, 0, 3, 'y', 'a', 'b', 0, 0, 0, 1, 'c' };
	struct milter_pkt p;
	size_t used;
	char why[128];

	(void)state;
	assert_int_equal(milter_pkt_take(in, sizeof(in), &p, &used, why,
	    sizeof(why)), MILTER_DONE);
	assert_int_equal(p.cmd, 'y');
	assert_int_equal(p.len, 2);
	assert_memory_equal(p.data, "ab", 2);
	assert_int_equal(used, 7);
	for (size_t n = 0; n < 7; n++)
		assert_int_equal(milter_pkt_take(in, n, &p, &used, why,
		    sizeof(why)), MILTER_NEED);
	assert_int_equal(milter_pkt_take(in + 7, 5, &p, &used, why,
	    sizeof(why)), MILTER_DONE);
	assert_int_equal(p.cmd, 'c');
	assert_int_equal(p.len, 0);
}

static void
test_take_bad_lengths(void **state)
{
	static const uint8_t zero[] = { 0, 0, 0, 0, 'c' };
	static const uint8_t huge[] = { 0x80, 0, 0, 0, 'c' };
	static const uint8_t over[] = { 0, 0x04, 0, 1, 'c' };
	struct milter_pkt p;
	size_t used;
	char why[128];

	(void)state;
	assert_int_equal(milter_pkt_take(zero, 5, &p, &used, why, sizeof(why)),
	    MILTER_ERR);
	assert_int_equal(milter_pkt_take(huge, 5, &p, &used, why, sizeof(why)),
	    MILTER_ERR);
	assert_non_null(strstr(why, "2147483648"));
	assert_int_equal(milter_pkt_take(over, 5, &p, &used, why, sizeof(why)),
	    MILTER_ERR);
}

static void
test_put(void **state)
{
	struct buf b;
	size_t start;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(milter_put_begin(&b, 'C', &start), 0);
	assert_int_equal(milter_put_str(&b, "[127.0.0.1]"), 0);
	assert_int_equal(milter_put_bytes(&b, "4", 1), 0);
	assert_int_equal(milter_put_u16(&b, 25), 0);
	assert_int_equal(milter_put_str(&b, "127.0.0.1"), 0);
	milter_put_end(&b, start);
	assert_int_equal(b.len, 4 + 1 + 12 + 1 + 2 + 10);
	assert_memory_equal(b.data, "\0\0\0\x1a" "C[127.0.0.1]\0" "4\0\x19"
	    "127.0.0.1\0", b.len);
	buf_free(&b);
}

static void
optneg(const void *data, size_t len, int want, const char *whywant)
{
	struct milter_pkt p = pkt_of('O', data, len);
	struct milter_optneg o;
	char why[128] = "";

	assert_int_equal(milter_optneg_parse(&p, &o, why, sizeof(why)), want);
	if (whywant != NULL && strstr(why, whywant) == NULL)
		fail_msg("why: got \"%s\", want \"%s\"", why, whywant);
}

static void
test_optneg(void **state)
{
	struct milter_pkt p;
	struct milter_optneg o;
	char why[128];

	(void)state;
	optneg(S("\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff"), 0, NULL);
	optneg(S("\0\0\0\x02\0\0\0\x01\0\0\0\0"), 0, NULL);
	optneg(S("\0\0\0\x07\0\0\0\x01\0\0\0\0"), -1, "version 7");
	optneg(S("\0\0\0\x01\0\0\0\x01\0\0\0\0"), -1, "version 1");
	optneg(S("\0\0\0\x06\0\0\x02\0\0\0\0\0"), -1, "actions");
	optneg(S("\0\0\0\x06\0\0\0\0\0\x20\0\0"), -1, "protocol steps");
	optneg(S("\0\0\0\x06\0\0\0\0\0\0\0"), -1, "11 bytes");
	optneg(S("\0\0\0\x06\0\0\0\0\0\0\0\0\0\0\0\x01i\0"), -1, "SETSYMLIST");
	optneg(S("\0\0\0\x06\0\0\x01\0\0\0\0\0\0\0\0\x01i"), -1, "NUL");
	optneg(S("\0\0\0\x06\0\0\x01\0\0\0\0\0\0\0\0"), -1, "truncated");
	p = pkt_of('O', S("\0\0\0\x06\0\0\x01\0\0\0\0\0"
	    "\0\0\0\x01{tls_version} j\0\0\0\0\x09x\0\0\0\0\x05\0"));
	assert_int_equal(milter_optneg_parse(&p, &o, why, sizeof(why)), 0);
	assert_true(o.has_list[SMFIM_HELO]);
	assert_string_equal(o.list[SMFIM_HELO], "{tls_version} j");
	assert_true(o.has_list[SMFIM_EOM]);
	assert_string_equal(o.list[SMFIM_EOM], "");
	assert_false(o.has_list[SMFIM_CONNECT]);
	p = pkt_of('c', S(""));
	assert_int_equal(milter_optneg_parse(&p, &o, why, sizeof(why)), -1);
}

static const struct reply_case {
	const char *in;
	size_t len;
	const char *want;       /* NULL: refused */
} reply_cases[] = {
	{ S("550 5.7.1 go away\0"), "550 5.7.1 go away" },
	{ S("450 4.2.0 later"), "450 4.2.0 later" },
	{ S("421 4.7.0 bye\0"), "421 4.7.0 bye" },
	{ S("550-5.7.1 one\r\n550 5.7.1 two\0"),
	    "550-5.7.1 one\r\n550 5.7.1 two" },
	{ S("550 5.7.1 100%% sure\0"), "550 5.7.1 100% sure" },
	{ S("550\0"), "550" },
	{ S("250 ok\0"), NULL },
	{ S("55 x\0"), NULL },
	{ S("5x0 x\0"), NULL },
	{ S("550x5.7.1\0"), NULL },
	{ S("550 4.7.1 mixed\0"), NULL },
	{ S("550-5.7.1 one\r\n450 4.7.1 two\0"), NULL },
	{ S("550-5.7.1 one\r\n550-5.7.1 two\0"), NULL },
	{ S("550 5.7.1 one\r\n550 5.7.1 two\0"), NULL },
	{ S("550 a\rb\0"), NULL },
	{ S("550 a\nb\0"), NULL },
	{ S("550 a\0b\0"), NULL },
	{ S("550 caf\xc3\xa9\0"), NULL },
	{ S("550-x\r\n\0"), NULL },
	{ S("\0"), NULL },
	{ S(""), NULL },
};

static void
test_reply_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(reply_cases); i++) {
		const struct reply_case *c = &reply_cases[i];
		struct milter_pkt p = pkt_of('y', c->in, c->len);
		char out[256], why[128];
		int r = milter_reply_text(&p, out, sizeof(out), why,
		    sizeof(why));

		if (c->want == NULL && r != -1)
			fail_msg("case %zu: accepted \"%s\"", i, out);
		if (c->want != NULL && r != 0)
			fail_msg("case %zu: refused: %s", i, why);
		if (c->want != NULL && strcmp(out, c->want) != 0)
			fail_msg("case %zu: got \"%s\"", i, out);
	}
}

static void
test_reply_too_long(void **state)
{
	char in[600], out[64], why[128];
	struct milter_pkt p;

	(void)state;
	memset(in, 'x', sizeof(in));
	memcpy(in, "550 ", 4);
	in[sizeof(in) - 1] = '\0';
	p = pkt_of('y', in, sizeof(in));
	assert_int_equal(milter_reply_text(&p, out, sizeof(out), why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "longer"));
}

static void
test_strings(void **state)
{
	struct milter_pkt p;
	const char *v[3];
	uint32_t u;

	(void)state;
	p = pkt_of('h', S("X-A\0value\0"));
	assert_int_equal(milter_strings(&p, 0, v, 3), 2);
	assert_string_equal(v[0], "X-A");
	assert_string_equal(v[1], "value");
	p = pkt_of('h', S("X-A\0value"));
	assert_int_equal(milter_strings(&p, 0, v, 3), -1);
	p = pkt_of('h', S("a\0b\0c\0d\0"));
	assert_int_equal(milter_strings(&p, 0, v, 3), -1);
	p = pkt_of('i', S("\0\0\0\x02X\0v\0"));
	assert_int_equal(milter_u32(&p, &u), 0);
	assert_int_equal(u, 2);
	assert_int_equal(milter_strings(&p, 4, v, 3), 2);
	assert_string_equal(v[0], "X");
	p = pkt_of('i', S("\0\0\x02"));
	assert_int_equal(milter_u32(&p, &u), -1);
	assert_int_equal(milter_strings(&p, 4, v, 3), -1);
	assert_string_equal(milter_reply_name('y'), "SMFIR_REPLYCODE");
	assert_null(milter_reply_name('Z'));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_whole_and_bytewise),
		cmocka_unit_test(test_take_bad_lengths),
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_optneg),
		cmocka_unit_test(test_reply_text),
		cmocka_unit_test(test_reply_too_long),
		cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
