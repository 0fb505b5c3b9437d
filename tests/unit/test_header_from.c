/*
 * Unit tests for smtpd/header_from.c.  Every case is fed whole, one byte
 * at a time and in random-size chunks, then ended with header_from_end();
 * the results are rendered to one line (error, field counts, addresses)
 * and each way must give the line the table wants.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/header_from.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S(s) s, sizeof(s) - 1   /* a literal and its length, NULs kept */

#define E_NO_FROM  "no From header"
#define E_SYNTAX   "unparseable From header"
#define E_ADDR     "invalid address in From header"
#define E_EMPTY    "no address in From header"
#define E_S_SYNTAX "unparseable Sender header"
#define E_S_ADDR   "invalid address in Sender header"
#define E_MANY     "too many addresses in From"
#define E_LONG     "header section too long"
#define E_F_LONG   "From field too long"
#define E_BARE_CR  "bare CR in header section"
#define E_BARE_LF  "bare LF in header section"
#define E_NUL      "NUL in header section"

struct hf_case {
	const char *name;
	const char *in;
	size_t inlen;
	const char *error;      /* NULL: ok */
	unsigned from, sender;  /* field counts */
	const char *addrs;      /* "F:a@b S:c@d", header order */
};

/* Where the comments are 16 deep (allowed) and 17 (refused). */
#define P16 "((((((((((((((((x))))))))))))))))"
#define P17 "(((((((((((((((((x)))))))))))))))))"

static const struct hf_case hf_cases[] = {
	/* Plain and named mailboxes. */
	{ "plain", S("From: a@b.test\r\n\r\nbody\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "domain folded", S("From: Alice@B.Test\r\n\r\n"), NULL, 1, 0,
	    "F:Alice@b.test" },
	{ "no space after colon", S("From:a@b.test\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "display name", S("From: Alice Example <alice@b.test>\r\n\r\n"),
	    NULL, 1, 0, "F:alice@b.test" },
	{ "angle only", S("From: <alice@b.test>\r\n\r\n"), NULL, 1, 0,
	    "F:alice@b.test" },
	{ "name with dot (obs-phrase)",
	    S("From: John Q. Public <jqp@b.test>\r\n\r\n"), NULL, 1, 0,
	    "F:jqp@b.test" },
	{ "quoted name with comma",
	    S("From: \"Doe, John\" <j@d.test>\r\n\r\n"), NULL, 1, 0,
	    "F:j@d.test" },
	{ "quoted name with specials",
	    S("From: \"a@x.test <b@y.test>\" <j@d.test>\r\n\r\n"), NULL, 1, 0,
	    "F:j@d.test f:a@x.test f:b@y.test" },
	{ "quoted name with quoted-pairs",
	    S("From: \"Jo \\\"JJ\\\" \\\\ Doe\" <j@d.test>\r\n\r\n"), NULL, 1,
	    0, "F:j@d.test" },
	{ "quoted local part", S("From: \"john doe\"@b.test\r\n\r\n"), NULL,
	    1, 0, "F:\"john doe\"@b.test" },
	{ "address literal", S("From: a@[192.0.2.1]\r\n\r\n"), NULL, 1, 0,
	    "F:a@[192.0.2.1]" },
	{ "obs-route", S("From: <@a.test,@b.test:x@y.test>\r\n\r\n"), NULL,
	    1, 0, "F:x@y.test" },
	{ "obs-route, leading comma",
	    S("From: <,@a.test,,@b.test :x@y.test>\r\n\r\n"), NULL, 1, 0,
	    "F:x@y.test" },
	{ "obs-route without domain", S("From: <@:x@y.test>\r\n\r\n"),
	    E_SYNTAX, 1, 0, "" },
	{ "obs-route of commas only", S("From: <,:x@y.test>\r\n\r\n"),
	    E_SYNTAX, 1, 0, "" },
	{ "obs-route without comma",
	    S("From: <@a.test @b.test:x@y.test>\r\n\r\n"), E_SYNTAX, 1, 0,
	    "" },
	{ "obs-route without colon", S("From: <@a.test x@y.test>\r\n\r\n"),
	    E_SYNTAX, 1, 0, "" },
	/* Comments and CFWS. */
	{ "comment after", S("From: a@b.test (Alice)\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "comment as name", S("From: (Alice) <a@b.test>\r\n\r\n"), NULL, 1,
	    0, "F:a@b.test" },
	{ "CFWS everywhere",
	    S("From: (x) a (y) . b (z) @ (w) b . test (v)\r\n\r\n"), NULL, 1,
	    0, "F:a.b@b.test" },
	{ "comment with specials",
	    S("From: a@b.test (evil@x.test, <e@x.test>; \\) :)\r\n\r\n"),
	    NULL, 1, 0, "F:a@b.test f:evil@x.test f:e@x.test" },
	{ "nested comments", S("From: a@b.test (a (b (c)) d)\r\n\r\n"), NULL,
	    1, 0, "F:a@b.test" },
	{ "comments 16 deep", S("From: a@b.test " P16 "\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "comments 17 deep", S("From: a@b.test " P17 "\r\n\r\n"), E_SYNTAX,
	    1, 0, "" },
	{ "comment in angle",
	    S("From: < (c) a@b.test (d) >\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	/* Folding. */
	{ "folded before angle",
	    S("From: Alice\r\n <alice@b.test>\r\n\r\n"), NULL, 1, 0,
	    "F:alice@b.test" },
	{ "folded with tab inside the domain",
	    S("From: <alice@b\r\n\t.test>\r\n\r\n"), NULL, 1, 0,
	    "F:alice@b.test" },
	{ "folded list",
	    S("From: a@b.test,\r\n b@c.test,\r\n\tc@d.test\r\n\r\n"), NULL,
	    1, 0, "F:a@b.test F:b@c.test F:c@d.test" },
	{ "folded right after the colon", S("From:\r\n a@b.test\r\n\r\n"),
	    NULL, 1, 0, "F:a@b.test" },
	{ "folded comment", S("From: a@b.test (x\r\n y)\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "fold splits no word", S("From: al\r\n ice@b.test\r\n\r\n"),
	    E_SYNTAX, 1, 0, "" },
	{ "continuation of another field hides nothing",
	    S("From: a@b.test\r\nSubject: x\r\n From: e@x.test\r\n\r\n"),
	    NULL, 1, 0, "F:a@b.test" },
	/* Several addresses, empty elements. */
	{ "several",
	    S("From: a@b.test, \"B\" <b@c.test>, c@d.test\r\n\r\n"), NULL,
	    1, 0, "F:a@b.test F:b@c.test F:c@d.test" },
	{ "empty elements",
	    S("From: , a@b.test, , b@c.test ,\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test F:b@c.test" },
	{ "list without commas", S("From: a@b.test b@c.test\r\n\r\n"),
	    E_SYNTAX, 1, 0, "" },
	/* Groups. */
	{ "group", S("From: team: a@b.test, C <c@d.test>;\r\n\r\n"), NULL, 1,
	    0, "F:a@b.test F:c@d.test" },
	{ "empty group only", S("From: Undisclosed: ;\r\n\r\n"), E_EMPTY, 1,
	    0, "" },
	{ "empty group and mailbox",
	    S("From: Undisclosed:; , a@b.test\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "group, empty members", S("From: g: , a@b.test, ;\r\n\r\n"), NULL,
	    1, 0, "F:a@b.test" },
	{ "two groups", S("From: g: a@b.test;, h: c@d.test;\r\n\r\n"), NULL,
	    1, 0, "F:a@b.test F:c@d.test" },
	{ "group without ';'", S("From: g: a@b.test\r\n\r\n"), E_SYNTAX, 1, 0,
	    "" },
	{ "nested group", S("From: g: h: a@b.test;;\r\n\r\n"), E_SYNTAX, 1,
	    0, "" },
	{ "group without name", S("From: : a@b.test;\r\n\r\n"), E_SYNTAX, 1,
	    0, "" },
	{ "stray ';'", S("From: a@b.test;\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "';' first", S("From: ;a@b.test\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "group then no comma", S("From: g:;a@b.test\r\n\r\n"), E_SYNTAX, 1,
	    0, "" },
	/* Sender. */
	{ "Sender", S("From: a@b.test\r\nSender: s@b.test\r\n\r\n"), NULL, 1,
	    1, "F:a@b.test S:s@b.test" },
	{ "Sender first, named",
	    S("Sender: Secretary <s@b.test>\r\nFrom: a@b.test\r\n\r\n"), NULL,
	    1, 1, "S:s@b.test F:a@b.test" },
	{ "Sender with two addresses",
	    S("From: a@b.test\r\nSender: s@b.test, t@b.test\r\n\r\n"),
	    E_S_SYNTAX, 1, 1, "F:a@b.test" },
	{ "Sender group",
	    S("From: a@b.test\r\nSender: g: s@b.test;\r\n\r\n"), E_S_SYNTAX,
	    1, 1, "F:a@b.test" },
	{ "Sender empty", S("From: a@b.test\r\nSender:\r\n\r\n"), E_S_SYNTAX,
	    1, 1, "F:a@b.test" },
	{ "Sender <>", S("From: a@b.test\r\nSender: <>\r\n\r\n"), E_S_ADDR,
	    1, 1, "F:a@b.test" },
	{ "two Sender fields",
	    S("From: a@b.test\r\nSender: s@b.test\r\nSender: t@b.test\r\n"
	    "\r\n"), NULL, 1, 2, "F:a@b.test S:s@b.test S:t@b.test" },
	/* Counting From fields. */
	{ "two From fields",
	    S("From: a@b.test\r\nSubject: x\r\nFrom: e@x.test\r\n\r\n"), NULL,
	    2, 0, "F:a@b.test F:e@x.test" },
	{ "no From", S("Subject: hi\r\n\r\nFrom: a@b.test\r\n"), E_NO_FROM, 0,
	    0, "" },
	{ "Sender but no From", S("Sender: s@b.test\r\n\r\n"), E_NO_FROM, 0,
	    1, "S:s@b.test" },
	{ "empty message", S(""), E_NO_FROM, 0, 0, "" },
	{ "empty header", S("\r\nFrom: a@b.test\r\n"), E_NO_FROM, 0, 0, "" },
	{ "From in the body ignored",
	    S("From: a@b.test\r\n\r\nFrom: e@x.test\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "body bytes ignored",
	    S("From: a@b.test\r\n\r\n\n\r\0junk\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	/* Header without a body. */
	{ "header only", S("From: a@b.test\r\nSubject: x\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "From last, no empty line", S("Subject: x\r\nFrom: a@b.test\r\n"),
	    NULL, 1, 0, "F:a@b.test" },
	{ "no CRLF at all", S("From: a@b.test"), NULL, 1, 0, "F:a@b.test" },
	/* Field names. */
	{ "FROM:", S("FROM: a@b.test\r\n\r\n"), NULL, 1, 0, "F:a@b.test" },
	{ "from :", S("from : a@b.test\r\n\r\n"), NULL, 1, 0, "F:a@b.test" },
	{ "fRoM tab colon", S("fRoM\t \t: a@b.test\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "SENDER:", S("From: a@b.test\r\nSENDER : s@b.test\r\n\r\n"), NULL,
	    1, 1, "F:a@b.test S:s@b.test" },
	{ "folded before the colon", S("From\r\n : a@b.test\r\n\r\n"), NULL,
	    1, 0, "F:a@b.test" },
	{ "other names",
	    S("From-X: a@b.test\r\nFromx: b@b.test\r\nFrm: c@b.test\r\n"
	    "Resent-From: d@b.test\r\nXFrom: e@b.test\r\nSenders: f@b.test\r\n"
	    "\r\n"), E_NO_FROM, 0, 0, "R:d@b.test" },
	{ "space inside the name", S("Fr om: a@b.test\r\n\r\n"), E_NO_FROM, 0,
	    0, "" },
	{ "line that is no field, then From",
	    S("Garbage line\r\nFrom: a@b.test\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "From hidden behind a line that is no field",
	    S("From: a@b.test\r\nnot a field\r\nFrom: e@x.test\r\n\r\n"), NULL,
	    2, 0, "F:a@b.test F:e@x.test" },
	{ "continuation first", S(" From: a@b.test\r\n\r\n"), E_NO_FROM, 0, 0,
	    "" },
	{ "colon first", S(": x\r\nFrom: a@b.test\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	/* Refused addresses and garbage. */
	{ "<>", S("From: <>\r\n\r\n"), E_ADDR, 1, 0, "" },
	{ "named <>", S("From: Nobody <>\r\n\r\n"), E_ADDR, 1, 0, "" },
	{ "empty From", S("From:\r\n\r\n"), E_EMPTY, 1, 0, "" },
	{ "blank From", S("From:   (nothing)\r\n\r\n"), E_EMPTY, 1, 0, "" },
	{ "bare word", S("From: alice\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "unquoted comma in name", S("From: Doe, John <j@d.test>\r\n\r\n"),
	    E_SYNTAX, 1, 0, "" },
	{ "no local part", S("From: @b.test\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "no domain", S("From: a@\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "double @", S("From: a@@b.test\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "trailing garbage", S("From: a@b.test garbage\r\n\r\n"), E_SYNTAX,
	    1, 0, "" },
	{ "stray '>'", S("From: a@b.test>\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "unclosed '<'", S("From: <a@b.test\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "two addresses in angle",
	    S("From: <a@b.test, e@x.test>\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "unterminated quote", S("From: \"Alice <a@b.test>\r\n\r\n"),
	    E_SYNTAX, 1, 0, "" },
	{ "unclosed comment", S("From: a@b.test (Alice\r\n\r\n"), E_SYNTAX, 1,
	    0, "" },
	{ "stray ')'", S("From: a@b.test)\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "backslash at the end", S("From: a@b.test (x\\\r\n\r\n"), E_SYNTAX,
	    1, 0, "" },
	{ "control character", S("From: a\001@b.test\r\n\r\n"), E_SYNTAX, 1,
	    0, "" },
	{ "good then bad", S("From: a@b.test, bad\r\n\r\n"), E_SYNTAX, 1, 0,
	    "" },
	{ "dot at the start", S("From: .a@b.test\r\n\r\n"), E_SYNTAX, 1, 0,
	    "" },
	{ "double dot", S("From: a..b@b.test\r\n\r\n"), E_SYNTAX, 1, 0, "" },
	{ "bad domain", S("From: a@-b.test\r\n\r\n"), E_ADDR, 1, 0, "" },
	{ "trailing dot in domain", S("From: a@b.test.\r\n\r\n"), E_SYNTAX,
	    1, 0, "" },
	{ "bad literal", S("From: a@[300.1.1.1]\r\n\r\n"), E_ADDR, 1, 0, "" },
	{ "literal inside literal", S("From: a@[1[2]]\r\n\r\n"), E_SYNTAX,
	    1, 0, "" },
	{ "literal ends in backslash", S("From: a@[1\\"), E_SYNTAX, 1, 0,
	    "" },
	{ "literal with quoted-pair", S("From: a@[1\\]]\r\n\r\n"), E_ADDR, 1,
	    0, "" },
	{ "unclosed literal", S("From: a@[192.0.2.1\r\n\r\n"), E_SYNTAX, 1, 0,
	    "" },
	{ "quoted words in local part", S("From: \"a\".b@b.test\r\n\r\n"),
	    E_ADDR, 1, 0, "" },
	{ "local part too long",
	    S("From: 12345678901234567890123456789012345678901234567890"
	    "123456789012345@b.test\r\n\r\n"), E_ADDR, 1, 0, "" },
	{ "error stops the count",
	    S("From: <>\r\nFrom: a@b.test\r\n\r\n"), E_ADDR, 1, 0, "" },
	/* UTF-8 (RFC 6532). */
	{ "UTF-8 address",
	    S("From: J\303\266rg <j\303\266rg@b\303\274cher.example>\r\n\r\n"),
	    NULL, 1, 0, "F:j\303\266rg@b\303\274cher.example" },
	{ "UTF-8 quoted name",
	    S("From: \"M\303\274ller, J\303\266rg\" <j@b.test>\r\n\r\n"), NULL,
	    1, 0, "F:j@b.test" },
	{ "encoded word",
	    S("From: =?utf-8?q?J=C3=B6rg?= <j@b.test>\r\n\r\n"), NULL, 1, 0,
	    "F:j@b.test" },
	{ "UTF-8 bare address", S("From: \344\275\240@b.test\r\n\r\n"), NULL,
	    1, 0, "F:\344\275\240@b.test" },
	{ "invalid UTF-8 in address", S("From: j\377@b.test\r\n\r\n"), E_ADDR,
	    1, 0, "" },
	/* CR and LF. */
	{ "bare LF", S("From: a@b.test\nFrom: e@x.test\r\n\r\n"), E_BARE_LF, 1,
	    0, "" },
	{ "bare LF line end", S("Subject: x\nFrom: e@x.test\r\n\r\n"),
	    E_BARE_LF, 0, 0, "" },
	{ "LF LF", S("From: a@b.test\r\n\n"), E_BARE_LF, 1, 0, "F:a@b.test" },
	{ "bare CR", S("From: a@b.test\rX\r\n\r\n"), E_BARE_CR, 1, 0, "" },
	{ "CR CR LF", S("From: a@b.test\r\n\r\r\n"), E_BARE_CR, 1, 0,
	    "F:a@b.test" },
	{ "CR at the end", S("From: a@b.test\r"), E_BARE_CR, 1, 0, "" },
	{ "NUL", S("Subject: \0\r\nFrom: a@b.test\r\n\r\n"), E_NUL, 0, 0, "" },

	/* Issue 8, point 17: addresses in display names and comments, plain
	 * and RFC 2047-encoded, and the Resent- fields. */
	{ "address as display name",
	    S("From: \"bob@example.test\" <alice@example.test>\r\n\r\n"),
	    NULL, 1, 0, "F:alice@example.test f:bob@example.test" },
	{ "its own address as display name, stored once",
	    S("From: \"alice@example.test\" <alice@example.test>, "
	    "\"bob@example.test\" <bob@example.test>\r\n\r\n"),
	    NULL, 1, 0, "F:alice@example.test F:bob@example.test" },
	{ "unquoted name words around an address",
	    S("From: Bob Example.Test <alice@example.test>\r\n\r\n"),
	    NULL, 1, 0, "F:alice@example.test" },
	{ "B-encoded address as display name",
	    S("From: =?utf-8?B?Ym9iQGV4YW1wbGUudGVzdA==?= <a@b.test>\r\n\r\n"),
	    NULL, 1, 0, "F:a@b.test f:bob@example.test" },
	{ "B-encoded, no padding, lower case b",
	    S("From: =?UTF-8?b?Qm9iIDxib2JAZXhhbXBsZS50ZXN0Pg?= <a@b.test>\r\n\r\n"),
	    NULL, 1, 0, "F:a@b.test f:bob@example.test" },
	{ "Q-encoded address as display name",
	    S("From: =?iso-8859-1?Q?bob=40example=2Etest?= <a@b.test>\r\n\r\n"),
	    NULL, 1, 0, "F:a@b.test f:bob@example.test" },
	{ "address split over two encoded-words",
	    S("From: =?utf-8?q?bob?= \r\n =?utf-8?q?=40example.test?= <a@b.test>\r\n\r\n"),
	    NULL, 1, 0, "F:a@b.test f:bob@example.test" },
	{ "encoded-word inside quotes",
	    S("From: \"=?utf-8?q?bob=40example.test?=\" <a@b.test>\r\n\r\n"),
	    NULL, 1, 0, "F:a@b.test f:bob@example.test" },
	{ "quoted-pairs in the name",
	    S("From: \"bob\\@example\\.test\" <a@b.test>\r\n\r\n"),
	    NULL, 1, 0, "F:a@b.test f:bob@example.test" },
	{ "double dot before the name's address",
	    S("From: \"see..bob@x.test.\" <a@b.test>\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test f:bob@x.test" },
	{ "comment after the angle address",
	    S("From: <a@b.test> (c@d.test)\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test f:c@d.test" },
	{ "comment before an addr-spec",
	    S("From: (c@d.test) a@b.test\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test f:c@d.test" },
	{ "name without a dotted domain is no address",
	    S("From: \"me@home\" <a@b.test>\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test" },
	{ "the same name address once",
	    S("From: \"c@d.test c@D.TEST\" <a@b.test>\r\n\r\n"), NULL, 1, 0,
	    "F:a@b.test f:c@d.test" },
	{ "group name",
	    S("From: \"c@d.test\": a@b.test;\r\n\r\n"), NULL, 1, 0,
	    "f:c@d.test F:a@b.test" },
	{ "Sender display name",
	    S("From: a@b.test\r\nSender: \"c@d.test\" <a@b.test>\r\n\r\n"),
	    NULL, 1, 1, "F:a@b.test S:a@b.test s:c@d.test" },
	{ "Resent-From and Resent-Sender",
	    S("From: a@b.test\r\nResent-From: c@d.test, \"x@y.test\" <e@f.test>\r\n"
	    "Resent-Sender: g@h.test\r\nresent-from: i@j.test\r\n\r\n"),
	    NULL, 1, 0,
	    "F:a@b.test R:c@d.test R:e@f.test r:x@y.test T:g@h.test R:i@j.test" },
	{ "Resent-Sender with two mailboxes",
	    S("From: a@b.test\r\nResent-Sender: c@d.test, e@f.test\r\n\r\n"),
	    "unparseable Resent-Sender header", 1, 0, "F:a@b.test" },
	{ "bad Resent-From",
	    S("From: a@b.test\r\nResent-From: <c@>\r\n\r\n"),
	    "unparseable Resent-From header", 1, 0, "F:a@b.test" },
};

struct hf_input {
	const char *name;
	const char *in;
	size_t inlen;
};

/* The results as one line, comparable and printable. */
static void
render(const struct header_from *h, char *out, size_t size)
{
	size_t o;
	int n;

	n = snprintf(out, size, "error=%s from=%u sender=%u addrs=[",
	    h->error != NULL ? h->error : "none", h->from_fields,
	    h->sender_fields);
	o = n > 0 ? (size_t)n : 0;
	for (size_t i = 0; i < h->naddrs && o < size; i++) {
		/* F, S, R (Resent-From), T (Resent-Sender); in lower case
		 * when found in a display name or comment. */
		char k = "?FSRT"[h->addrs[i].kind <= 4 ? h->addrs[i].kind : 0];

		if (h->addrs[i].in_name)
			k = (char)(k - 'A' + 'a');
		n = snprintf(out + o, size - o, "%s%c:%s", i ? " " : "", k,
		    h->addrs[i].addr);
		o += n > 0 ? (size_t)n : 0;
	}
	if (o < size)
		snprintf(out + o, size - o, "]");
}

static void
render_want(const struct hf_case *c, char *out, size_t size)
{
	snprintf(out, size, "error=%s from=%u sender=%u addrs=[%s]",
	    c->error != NULL ? c->error : "none", c->from, c->sender,
	    c->addrs);
}

/*
 * Feeds in through a fresh collector: chunk 0 means whole, 1 a byte at a
 * time, anything else random sizes from 1 to chunk.  Renders the result.
 */
static void
hf_run(const char *in, size_t len, size_t chunk, unsigned seed, char *out,
    size_t size)
{
	struct header_from h;
	size_t pos = 0;

	srand(seed);
	header_from_init(&h);
	while (pos < len) {
		size_t n = len - pos;

		if (chunk == 1)
			n = 1;
		else if (chunk > 1 && n > 1)
			n = 1 + (size_t)rand() % (n < chunk ? n : chunk);
		header_from_feed(&h, in + pos, n);
		pos += n;
	}
	header_from_end(&h);
	assert_true(h.done);
	/* Ending twice changes nothing. */
	header_from_end(&h);
	render(&h, out, size);
	header_from_free(&h);
}

/* Runs one input every way; returns 1 (after printing) on a mismatch. */
static int
hf_check(const char *name, const char *in, size_t len, const char *want,
    size_t maxchunk)
{
	char got[4096], mode[32];

	hf_run(in, len, 0, 0, got, sizeof(got));
	if (strcmp(got, want) != 0) {
		print_error("%s (whole): got %s, want %s\n", name, got, want);
		return 1;
	}
	hf_run(in, len, 1, 0, got, sizeof(got));
	if (strcmp(got, want) != 0) {
		print_error("%s (byte by byte): got %s, want %s\n", name, got,
		    want);
		return 1;
	}
	for (unsigned seed = 1; seed <= 20; seed++) {
		hf_run(in, len, maxchunk, seed, got, sizeof(got));
		if (strcmp(got, want) != 0) {
			snprintf(mode, sizeof(mode), "chunks seed %u", seed);
			print_error("%s (%s): got %s, want %s\n", name, mode,
			    got, want);
			return 1;
		}
	}
	return 0;
}

static void
test_header_from_table(void **state)
{
	char want[4096];
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < N(hf_cases); i++) {
		const struct hf_case *c = &hf_cases[i];

		render_want(c, want, sizeof(want));
		failed += hf_check(c->name, c->in, c->inlen, want, 7);
	}
	assert_int_equal(failed, 0);
}

/* A growing input for the cases too large to write out. */
struct text {
	char *p;
	size_t len, cap;
};

static void
put(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	memcpy(t->p + t->len, s, n + 1);
	t->len += n;
}

/* A filler field that brings the header section to exactly total bytes,
 * the empty line that ends it included. */
static void
pad_to(struct text *t, size_t total)
{
	size_t col = 0;

	put(t, "X-Pad: x");
	assert_true(total >= t->len + 4);
	while (t->len < total - 4) {
		if (++col % 70 == 0 && t->len + 3 <= total - 4)
			put(t, "\r\n ");
		else
			put(t, "x");
	}
	put(t, "\r\n\r\n");
	assert_int_equal(t->len, total);
}

/* A From field whose value (unfolded) is nspaces blanks, some of them
 * after a fold, and " a@b.test": nspaces + 9 bytes. */
static void
long_from(struct text *t, size_t nspaces)
{
	put(t, "From:");
	for (size_t i = 0; i < nspaces; i++)
		put(t, i % 70 == 69 ? "\r\n " : " ");
	put(t, " a@b.test\r\n\r\n");
}

/* A From with n addresses, and the results' line it wants. */
static void
many_from(struct text *t, char *want, size_t size, int n)
{
	char a[64];

	put(t, "From: ");
	want[0] = '\0';
	for (int i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "%sa%d@b.test", i ? ", " : "", i);
		put(t, a);
		if (i < HEADER_FROM_MAX_ADDRS) {
			snprintf(a, sizeof(a), "%sF:a%d@b.test", i ? " " : "",
			    i);
			strncat(want, a, size - strlen(want) - 1);
		}
	}
	put(t, "\r\n");
}

static void
test_header_from_limits(void **state)
{
	struct text t = { NULL, 0, 0 };
	char addrs[4096], want[8192];
	int failed = 0;

	(void)state;
	/* The header section: exactly at the limit, and one byte over. */
	put(&t, "From: a@b.test\r\n");
	pad_to(&t, HEADER_FROM_MAX_HEADER_BYTES);
	put(&t, "body\r\n");
	failed += hf_check("header at the limit", t.p, t.len,
	    "error=none from=1 sender=0 addrs=[F:a@b.test]", 5000);
	t.len = 0;
	put(&t, "From: a@b.test\r\n");
	pad_to(&t, HEADER_FROM_MAX_HEADER_BYTES + 1);
	failed += hf_check("header one byte over", t.p, t.len,
	    "error=" E_LONG " from=1 sender=0 addrs=[F:a@b.test]", 5000);
	/* A From past the limit is never seen. */
	t.len = 0;
	pad_to(&t, HEADER_FROM_MAX_HEADER_BYTES + 100);
	t.len -= 2;
	put(&t, "From: a@b.test\r\n\r\n");
	failed += hf_check("From past the limit", t.p, t.len,
	    "error=" E_LONG " from=0 sender=0 addrs=[]", 5000);

	/* One From field: its limit counts the unfolded value. */
	t.len = 0;
	long_from(&t, HEADER_FROM_MAX_FIELD - 9);
	failed += hf_check("From at the field limit", t.p, t.len,
	    "error=none from=1 sender=0 addrs=[F:a@b.test]", 3000);
	t.len = 0;
	long_from(&t, HEADER_FROM_MAX_FIELD - 8);
	failed += hf_check("From one byte over", t.p, t.len,
	    "error=" E_F_LONG " from=1 sender=0 addrs=[]", 3000);

	/* Addresses longer than any address, in one word and in many. */
	t.len = 0;
	put(&t, "From: ");
	for (int i = 0; i < ADDR_MAX + 10; i++)
		put(&t, "a");
	put(&t, "@b.test\r\n\r\n");
	failed += hf_check("local part past ADDR_MAX", t.p, t.len,
	    "error=" E_ADDR " from=1 sender=0 addrs=[]", 100);
	t.len = 0;
	put(&t, "From: <");
	for (int i = 0; i < ADDR_MAX; i++)
		put(&t, "a.");
	put(&t, "a@b.test>\r\n\r\n");
	failed += hf_check("dotted local part past ADDR_MAX", t.p, t.len,
	    "error=" E_ADDR " from=1 sender=0 addrs=[]", 100);
	t.len = 0;
	put(&t, "From: a@b");
	for (int i = 0; i < ADDR_MAX; i++)
		put(&t, " . b");
	put(&t, "\r\n\r\n");
	failed += hf_check("domain past ADDR_MAX", t.p, t.len,
	    "error=" E_ADDR " from=1 sender=0 addrs=[]", 100);
	t.len = 0;
	put(&t, "From: a@[");
	for (int i = 0; i < ADDR_MAX; i++)
		put(&t, "1");
	put(&t, "]\r\n\r\n");
	failed += hf_check("literal past ADDR_MAX", t.p, t.len,
	    "error=" E_ADDR " from=1 sender=0 addrs=[]", 100);

	/* Addresses: 32 are fine, 33 too many, 32 and a Sender too. */
	t.len = 0;
	many_from(&t, addrs, sizeof(addrs), HEADER_FROM_MAX_ADDRS);
	put(&t, "\r\n");
	snprintf(want, sizeof(want), "error=none from=1 sender=0 addrs=[%s]",
	    addrs);
	failed += hf_check("32 addresses", t.p, t.len, want, 50);
	t.len = 0;
	many_from(&t, addrs, sizeof(addrs), HEADER_FROM_MAX_ADDRS + 1);
	put(&t, "\r\n");
	failed += hf_check("33 addresses", t.p, t.len,
	    "error=" E_MANY " from=1 sender=0 addrs=[]", 50);
	t.len = 0;
	many_from(&t, addrs, sizeof(addrs), HEADER_FROM_MAX_ADDRS);
	put(&t, "Sender: s@b.test\r\n\r\n");
	snprintf(want, sizeof(want), "error=too many addresses in From and "
	    "Sender from=1 sender=1 addrs=[%s]", addrs);
	failed += hf_check("32 From and a Sender", t.p, t.len, want, 50);
	free(t.p);
	assert_int_equal(failed, 0);
}

/* CR and LF split over calls at each place they can be. */
static void
test_header_from_crlf_split(void **state)
{
	static const char *const parts[] = {
		"From: a@b.test\r", "\n", " (x)\r", "\n", "Subject", ": y\r",
		"\n\tmore\r", "\nSender: s@b.test", "\r", "\n\r",
		"\nFrom: e@x.test\r\n",
	};
	struct header_from h;
	char got[512];

	(void)state;
	header_from_init(&h);
	for (size_t i = 0; i < N(parts); i++)
		header_from_feed(&h, parts[i], strlen(parts[i]));
	assert_true(h.done);
	header_from_end(&h);
	render(&h, got, sizeof(got));
	header_from_free(&h);
	assert_string_equal(got, "error=none from=1 sender=1 "
	    "addrs=[F:a@b.test S:s@b.test]");

	/* Free, init again: a new message starts clean. */
	header_from_init(&h);
	header_from_feed(&h, "Sender: x@y.test\r\n", 18);
	header_from_end(&h);
	render(&h, got, sizeof(got));
	assert_string_equal(got, "error=no From header from=0 sender=1 "
	    "addrs=[S:x@y.test]");
	header_from_free(&h);
	header_from_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_from_table),
		cmocka_unit_test(test_header_from_limits),
		cmocka_unit_test(test_header_from_crlf_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
