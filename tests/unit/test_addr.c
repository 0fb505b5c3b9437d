/*
 * Unit tests for util/addr.c: table-driven, each case names what it
 * checks, failures print got and want.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/addr.h"

#define OK  0
#define BAD (-1)

struct addr_case {
	const char *in;
	size_t len;             /* 0: strlen(in) */
	int utf8;
	int want_rc;
	const char *want_out;   /* NULL: same as in */
};

static char long_local[80], long_domain[300], long_label[80], max_ok[400];

static const struct addr_case addr_cases[] = {
	/* Plain addresses; domain folded, local part kept. */
	{ "user@example.org", 0, 0, OK, NULL },
	{ "User.Name@Example.ORG", 0, 0, OK, "User.Name@example.org" },
	{ "a@b", 0, 0, OK, NULL },
	{ "postmaster@localhost", 0, 0, OK, NULL },
	{ "x!#$%&'*+-/=?^_`{|}~y@e.org", 0, 0, OK, NULL },
	{ "a@0-9.example", 0, 0, OK, NULL },
	{ "a@123.example", 0, 0, OK, NULL },
	{ "a@xn--bcher-kva.example", 0, 0, OK, NULL },
	/* Quoted local parts. */
	{ "\"john doe\"@e.org", 0, 0, OK, NULL },
	{ "\"a@b\"@E.org", 0, 0, OK, "\"a@b\"@e.org" },
	{ "\"a\\\"b\"@e.org", 0, 0, OK, NULL },
	{ "\"a\\\\b\"@e.org", 0, 0, OK, NULL },
	{ "\"..\"@e.org", 0, 0, OK, NULL },
	{ "\"\"@e.org", 0, 0, BAD, NULL },
	{ "\"a\tb\"@e.org", 0, 0, BAD, NULL },
	{ "\"a\rb\"@e.org", 0, 0, BAD, NULL },
	{ "\"a\nb\"@e.org", 0, 0, BAD, NULL },
	{ "\"a\\\tb\"@e.org", 0, 0, BAD, NULL },
	{ "\"a\\\rb\"@e.org", 0, 0, BAD, NULL },
	{ "\"a\\\"@e.org", 0, 0, BAD, NULL },
	{ "\"abc@e.org", 0, 0, BAD, NULL },
	{ "\"a\"b@e.org", 0, 0, BAD, NULL },
	{ "\"a\".b@e.org", 0, 0, BAD, NULL },
	{ "a.\"b\"@e.org", 0, 0, BAD, NULL },
	{ "\"a\x7f\"@e.org", 0, 0, BAD, NULL },
	/* Quotes nothing needs go (RFC 5321 4.1.2: the same mailbox);
	 * what needs them keeps them, with only '"' and '\\' escaped. */
	{ "\"alice\"@example.test", 0, 0, OK, "alice@example.test" },
	{ "\"Alice.Smith\"@E.org", 0, 0, OK, "Alice.Smith@e.org" },
	{ "\"a+b=c\"@e.org", 0, 0, OK, "a+b=c@e.org" },
	{ "\"\\a\\l\"@e.org", 0, 0, OK, "al@e.org" },
	{ "\"a\\ b\"@e.org", 0, 0, OK, "\"a b\"@e.org" },
	{ "\"a.b.\"@e.org", 0, 0, OK, "\"a.b.\"@e.org" },
	{ "\".a\"@e.org", 0, 0, OK, "\".a\"@e.org" },
	{ "\"a..b\"@e.org", 0, 0, OK, "\"a..b\"@e.org" },
	{ "\"a\\\"b\"@e.org", 0, 0, OK, "\"a\\\"b\"@e.org" },
	{ "\"\xc3\xb6\"@e.org", 0, 1, OK, "\xc3\xb6@e.org" },
	/* Address literals. */
	{ "a@[192.0.2.1]", 0, 0, OK, NULL },
	{ "a@[IPv6:2001:DB8::1]", 0, 0, OK, "a@[ipv6:2001:db8::1]" },
	{ "a@[ipv6:::1]", 0, 0, OK, NULL },
	{ "a@[IPv6:::ffff:192.0.2.1]", 0, 0, OK, "a@[ipv6:::ffff:192.0.2.1]" },
	{ "a@[192.0.2.256]", 0, 0, BAD, NULL },
	{ "a@[192.0.2]", 0, 0, BAD, NULL },
	{ "a@[::1]", 0, 0, BAD, NULL },
	{ "a@[IPv6:192.0.2.1]", 0, 0, BAD, NULL },
	{ "a@[IPv6:]", 0, 0, BAD, NULL },
	{ "a@[]", 0, 0, BAD, NULL },
	{ "a@[", 0, 0, BAD, NULL },
	{ "a@[192.0.2.1", 0, 0, BAD, NULL },
	{ "a@[192.0.2.1]x", 0, 0, BAD, NULL },
	{ "a@[x-tag:content]", 0, 0, BAD, NULL },
	{ "a@[IPv6:1:2:3:4:5:6:7:8:9]", 0, 0, BAD, NULL },
	/* Missing or empty parts. */
	{ "", 0, 0, BAD, NULL },
	{ "@", 0, 0, BAD, NULL },
	{ "a", 0, 0, BAD, NULL },
	{ "a@", 0, 0, BAD, NULL },
	{ "@e.org", 0, 0, BAD, NULL },
	{ "a@@e.org", 0, 0, BAD, NULL },
	{ "a@b@c", 0, 0, BAD, NULL },
	/* Dots. */
	{ ".a@e.org", 0, 0, BAD, NULL },
	{ "a.@e.org", 0, 0, BAD, NULL },
	{ "a..b@e.org", 0, 0, BAD, NULL },
	{ "a@.e.org", 0, 0, BAD, NULL },
	{ "a@e.org.", 0, 0, BAD, NULL },
	{ "a@e..org", 0, 0, BAD, NULL },
	/* Labels. */
	{ "a@-e.org", 0, 0, BAD, NULL },
	{ "a@e-.org", 0, 0, BAD, NULL },
	{ "a@e_x.org", 0, 0, BAD, NULL },
	{ "a@e.org>", 0, 0, BAD, NULL },
	/* Spaces, controls, NUL. */
	{ "a b@e.org", 0, 0, BAD, NULL },
	{ "a@e .org", 0, 0, BAD, NULL },
	{ " a@e.org", 0, 0, BAD, NULL },
	{ "a@e.org ", 0, 0, BAD, NULL },
	{ "a\t@e.org", 0, 0, BAD, NULL },
	{ "a\r\n@e.org", 0, 0, BAD, NULL },
	{ "a\x01@e.org", 0, 0, BAD, NULL },
	{ "a\0b@e.org", 9, 0, BAD, NULL },
	{ "a@e\0.org", 8, 0, BAD, NULL },
	{ "\"a\0\"@e.org", 10, 0, BAD, NULL },
	{ "a@[1.2.3.4\0]", 12, 0, BAD, NULL },
	/* Specials that are not atext outside quotes. */
	{ "a(b)@e.org", 0, 0, BAD, NULL },
	{ "a,b@e.org", 0, 0, BAD, NULL },
	{ "a:b@e.org", 0, 0, BAD, NULL },
	{ "a;b@e.org", 0, 0, BAD, NULL },
	{ "<a@e.org>", 0, 0, BAD, NULL },
	{ "a\\b@e.org", 0, 0, BAD, NULL },
	/* UTF-8 (RFC 6531): only with utf8, and only when valid. */
	{ "j\xc3\xb6rg@e.org", 0, 0, BAD, NULL },
	{ "j\xc3\xb6rg@e.org", 0, 1, OK, NULL },
	{ "a@b\xc3\xbc" "cher.example", 0, 0, BAD, NULL },
	{ "a@B\xc3\xbc" "cher.example", 0, 1, OK, "a@b\xc3\xbc" "cher.example" },
	{ "\"\xc3\xb6 x\"@e.org", 0, 1, OK, NULL },
	{ "\"\xc3\xb6 x\"@e.org", 0, 0, BAD, NULL },
	{ "\xe2\x82\xac@e.org", 0, 1, OK, NULL },
	{ "\xf0\x9f\x98\x80@e.org", 0, 1, OK, NULL },
	{ "\xc0\xaf@e.org", 0, 1, BAD, NULL },          /* overlong '/' */
	{ "\xc1\xbf@e.org", 0, 1, BAD, NULL },          /* overlong */
	{ "\xe0\x80\xaf@e.org", 0, 1, BAD, NULL },      /* overlong */
	{ "\xf0\x80\x80\xaf@e.org", 0, 1, BAD, NULL },  /* overlong */
	{ "\xed\xa0\x80@e.org", 0, 1, BAD, NULL },      /* surrogate */
	{ "\xf4\x90\x80\x80@e.org", 0, 1, BAD, NULL },  /* > U+10FFFF */
	{ "\xf5\x80\x80\x80@e.org", 0, 1, BAD, NULL },
	{ "\xff@e.org", 0, 1, BAD, NULL },
	{ "\x80@e.org", 0, 1, BAD, NULL },              /* lone continuation */
	{ "\xc3@e.org", 0, 1, BAD, NULL },              /* truncated */
	{ "a\xc3", 0, 1, BAD, NULL },                   /* truncated at end */
	{ "\xc2\x85@e.org", 0, 1, BAD, NULL },          /* C1 control NEL */
	{ "a@e\xc3.org", 0, 1, BAD, NULL },
	{ "a@[\xc3\xb6]", 0, 1, BAD, NULL },
	/* Lengths: filled in by setup (long_local etc.). */
	{ long_local, 0, 0, BAD, NULL },
	{ long_domain, 0, 0, BAD, NULL },
	{ long_label, 0, 0, BAD, NULL },
	{ max_ok, 0, 0, OK, NULL },
};

/* Writes labels of the given lengths joined by dots to p; returns the end. */
static char *
put_labels(char *p, const int *lens, int n)
{
	for (int i = 0; i < n; i++) {
		if (i > 0)
			*p++ = '.';
		memset(p, 'd', (size_t)lens[i]);
		p += lens[i];
	}
	*p = '\0';
	return p;
}

/* Builds the length cases: 65-octet local part, 256-octet domain, a
 * 64-octet label, and the longest valid address (64 + 1 + 255). */
static int
setup_lengths(void **state)
{
	static const int l256[] = { 63, 63, 63, 62, 1 };  /* + 4 dots */
	static const int l255[] = { 63, 63, 63, 63 };     /* + 3 dots */

	(void)state;
	memset(long_local, 'l', 65);
	strcpy(long_local + 65, "@e.org");

	strcpy(long_domain, "a@");
	put_labels(long_domain + 2, l256, 5);

	strcpy(long_label, "a@");
	memset(long_label + 2, 'b', 64);
	strcpy(long_label + 66, ".org");

	memset(max_ok, 'l', 64);
	max_ok[64] = '@';
	put_labels(max_ok + 65, l255, 4);
	return 0;
}

static void
test_addr_parse_table(void **state)
{
	char out[ADDR_BUF], label[128];
	const char *err;
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		const struct addr_case *c = &addr_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		const char *want = c->want_out ? c->want_out : c->in;
		int rc;

		snprintf(label, sizeof(label), "case %zu (%.40s)", i, c->in);
		memcpy(out, "untouched", 10);
		err = NULL;
		rc = addr_parse(c->in, len, c->utf8, out, &err);
		if (rc != c->want_rc) {
			print_error("%s utf8=%d: got rc %d (%s), want %d\n",
			    label, c->utf8, rc, err ? err : "-", c->want_rc);
			failed++;
			continue;
		}
		if (rc == 0 && strcmp(out, want) != 0) {
			print_error("%s: got \"%s\", want \"%s\"\n", label,
			    out, want);
			failed++;
		}
		if (rc == -1 && (err == NULL ||
		    strcmp(out, "untouched") != 0)) {
			print_error("%s: error without reason or output "
			    "written (got \"%.20s\")\n", label, out);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void
test_addr_lengths_sane(void **state)
{
	(void)state;
	assert_int_equal(strlen(long_local), 65 + 6);
	assert_int_equal(strlen(long_domain), 2 + 256);
	assert_int_equal(strlen(max_ok), ADDR_MAX);
}

struct domain_case {
	const char *in;
	int want_rc;
};

static const struct domain_case domain_cases[] = {
	{ "example.org", OK },
	{ "localhost", OK },
	{ "a-b.c", OK },
	{ "", BAD },
	{ ".", BAD },
	{ "a..b", BAD },
	{ "-a.b", BAD },
	{ "a-.b", BAD },
	{ "[192.0.2.1]", BAD },
	{ "b\xc3\xbc" "cher.example", BAD },
	{ "a b", BAD },
	{ "a.b.", BAD },
};

static void
test_addr_domain_valid_table(void **state)
{
	const char *err;
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(domain_cases) / sizeof(domain_cases[0]);
	    i++) {
		int rc = addr_domain_valid(domain_cases[i].in, &err);

		if (rc != domain_cases[i].want_rc) {
			print_error("domain \"%s\": got %d, want %d\n",
			    domain_cases[i].in, rc, domain_cases[i].want_rc);
			failed++;
		}
	}
	assert_int_equal(addr_domain_valid(long_domain + 2, &err), BAD);
	assert_int_equal(addr_domain_valid(max_ok + 65, &err), OK);
	assert_int_equal(failed, 0);
}

static void
test_addr_helpers(void **state)
{
	char s[] = "MiXeD@Case.ORG";

	(void)state;
	addr_fold(s);
	assert_string_equal(s, "mixed@case.org");
	assert_string_equal(addr_domain("a@b.c"), "b.c");
	assert_string_equal(addr_domain("\"x@y\"@b.c"), "b.c");
	assert_string_equal(addr_domain("postmaster"), "");
	assert_int_equal(addr_local_len("abc@d"), 3);
	assert_int_equal(addr_local_len("\"x@y\"@b.c"), 5);
	assert_int_equal(addr_local_len("postmaster"), 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_lengths_sane),
		cmocka_unit_test(test_addr_parse_table),
		cmocka_unit_test(test_addr_domain_valid_table),
		cmocka_unit_test(test_addr_helpers),
	};

	return cmocka_run_group_tests(tests, setup_lengths, NULL);
}
