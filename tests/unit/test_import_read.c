/*
 * Unit tests for the readers of tern import (import/import_postfix.c,
 * import_dovecot.c, import_csv.c) and the file-only checks
 * (import_check.c): what each line becomes, with its line number, every
 * line that cannot be read named, and the conflicts between lines.  Each
 * batch is printed as "kind|fields|line;" and compared whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/import.h"

#define ERR_MAX 512
#define OUT_MAX 4096

typedef int reader_fn(struct import_batch *, const char *, const char *,
    size_t, char *, size_t);

static void
out_add(char *out, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + used, OUT_MAX - used, fmt, ap);
	va_end(ap);
}

/* The batch as one string: accounts, aliases, domains, conflicts. */
static void
show(const struct import_batch *b, char *out)
{
	out[0] = '\0';
	for (size_t i = 0; i < b->nacc; i++) {
		const struct import_account *a = &b->acc[i];

		out_add(out, "acc|%s|%s|%s|", a->login ? a->login : "-",
		    a->address, a->hash ? a->hash : "-");
		for (size_t j = 0; j < a->addrs.n; j++)
			out_add(out, "%s%s", j ? " " : "", a->addrs.v[j]);
		out_add(out, "|%lu%s;", a->at.line, a->skip ? "|skip" : "");
	}
	for (size_t i = 0; i < b->nali; i++) {
		out_add(out, "ali|%s|", b->ali[i].source);
		for (size_t j = 0; j < b->ali[i].targets.n; j++)
			out_add(out, "%s%s", j ? " " : "",
			    b->ali[i].targets.v[j]);
		out_add(out, "|%lu%s;", b->ali[i].at.line,
		    b->ali[i].skip ? "|skip" : "");
	}
	for (size_t i = 0; i < b->ndom; i++)
		out_add(out, "dom|%s|%lu;", b->dom[i].name, b->dom[i].at.line);
	for (size_t i = 0; i < b->ncon; i++)
		out_add(out, "con|%lu|%s;", b->con[i].at.line, b->con[i].what);
}

static void
want(reader_fn *fn, const char *in, const char *domain, const char *expect)
{
	struct import_batch b;
	char err[ERR_MAX], out[OUT_MAX];

	import_batch_init(&b);
	b.domain = domain;
	if (fn(&b, "f", in, strlen(in), err, sizeof(err)) < 0)
		fail_msg("input %s: error %s", in, err);
	show(&b, out);
	if (strcmp(out, expect) != 0)
		fail_msg("input %s\n got  %s\n want %s", in, out, expect);
	import_batch_free(&b);
}

static void
want_error(reader_fn *fn, const char *in, const char *expect)
{
	struct import_batch b;
	char err[ERR_MAX];

	import_batch_init(&b);
	if (fn(&b, "f", in, strlen(in), err, sizeof(err)) == 0)
		fail_msg("input %s: read, want error %s", in, expect);
	if (strncmp(err, expect, strlen(expect)) != 0)
		fail_msg("input %s\n got  %s\n want %s...", in, err, expect);
	import_batch_free(&b);
}

static void
test_postfix(void **state)
{
	(void)state;
	want(import_postfix, "# c\n\na@x.test  b@y.test, c@y.test d@y.test\n",
	    NULL, "ali|a@x.test|b@y.test c@y.test d@y.test|3;");
	/* Continuation lines join the line before; a comment between is
	 * skipped; CRLF is a line end. */
	want(import_postfix, "a@x.test b@y.test,\r\n  # no\r\n\tc@y.test\r\n"
	    "x.test anything\r\n@x.test  a@x.test\r\n", NULL,
	    "ali|a@x.test|b@y.test c@y.test|1;ali|@x.test|a@x.test|5;"
	    "dom|x.test|4;");
	want(import_postfix, "a@x.test  x.test/a/\nb@x.test\tb/Maildir\n",
	    NULL, "acc|-|a@x.test|-||1;acc|-|b@x.test|-||2;");
	/* Two words, or one with '@': an alias, not a mailbox. */
	want(import_postfix, "a@x.test  x.test/a/ other\n", NULL,
	    "ali|a@x.test|x.test/a/ other|1;");
	want_error(import_postfix, "  a@x.test b@x.test\n", "f:1: a "
	    "continuation line");
	want_error(import_postfix, "a@x.test b@x.test\n\nlonely\n", "f:3: "
	    "'lonely' without a value");
}

static void
test_dovecot(void **state)
{
	(void)state;
	want(import_dovecot, "a@x.test:{SHA512-CRYPT}$6$s$h:1:2::/h::e=1\n"
	    "# c\n  \nbob:$y$j9T$s$h\n", "d.test",
	    "acc|a@x.test|a@x.test|{SHA512-CRYPT}$6$s$h||1;"
	    "acc|bob|bob@d.test|$y$j9T$s$h||4;");
	want(import_dovecot, "nopw@x.test::1:2\n", NULL,
	    "acc|nopw@x.test|nopw@x.test|-||1;");
	want(import_dovecot, "bob:$6$s$h\n", NULL,
	    "con|1|login 'bob' is not an address: give its domain with "
	    "--domain DOMAIN;");
	want_error(import_dovecot, "ok@x.test:\nnocolon\n", "f:2: not "
	    "user:password");
	want_error(import_dovecot, ":pw\n", "f:1: not user:password");
}

static void
test_csv(void **state)
{
	(void)state;
	want(import_csv, "Address,LOGIN\r\na@x.test,A\r\n", NULL,
	    "acc|A|a@x.test|-||2;");
	want(import_csv, "\xef\xbb\xbf" "address\na@x.test", NULL,
	    "acc|-|a@x.test|-||2;");
	/* Quotes: "" inside, a comma and a line break inside; blanks
	 * around unquoted fields dropped; the record's first line kept. */
	want(import_csv, "login,address,password_hash,addresses,aliases\n"
	    "\"a \"\"q\"\"\", a@x.test ,,\"b@x.test,\nc@x.test\",s@x.test\n"
	    "\n"
	    "b,b@x.test,$6$s$h,,\n", NULL,
	    "acc|a \"q\"|a@x.test|-|b@x.test c@x.test|2;"
	    "acc|b|b@x.test|$6$s$h||5;ali|s@x.test|a@x.test|2;");
	want_error(import_csv, "login,colour\n", "f:1: unknown column "
	    "'colour'");
	want_error(import_csv, "login\nx\n", "f:1: the header has no "
	    "address column");
	want_error(import_csv, "address,address\n", "f:1: repeated column");
	want_error(import_csv, "", "f:1: no header line");
	want_error(import_csv, "address,login\na@x.test\n", "f:2: 1 fields, "
	    "the header has 2");
	want_error(import_csv, "address\n\"a@x.test\n", "f:2: a quoted field "
	    "does not end");
	want_error(import_csv, "address\na\"b@x.test\n", "f:2: a quote inside");
	want_error(import_csv, "address\n\"a@x.test\"x\n", "f:2: text after");
}

/* The file-only checks, on a CSV batch. */
static void
want_checked(const char *in, struct import_rename *ren, size_t nren,
    const char *expect)
{
	struct import_batch b;
	char err[ERR_MAX], out[OUT_MAX];

	import_batch_init(&b);
	if (import_csv(&b, "f", in, strlen(in), err, sizeof(err)) < 0)
		fail_msg("input %s: error %s", in, err);
	import_check(&b, ren, nren);
	show(&b, out);
	if (strcmp(out, expect) != 0)
		fail_msg("input %s\n got  %s\n want %s", in, out, expect);
	import_batch_free(&b);
}

static void
test_check(void **state)
{
	struct import_rename ren = { "Al", "al2", "Al=al2", 0 };
	struct import_rename unused = { "zz", "z", "zz=z", 0 };

	(void)state;
	/* The login defaults to the parsed address, domain folded. */
	want_checked("address\nA@X.test\n", NULL, 0,
	    "acc|A@x.test|A@x.test|-||2;");
	want_checked("login,address\nal,a@x.test\nAl,b@x.test\n", NULL, 0,
	    "acc|al|a@x.test|-||2|skip;acc|Al|b@x.test|-||3|skip;"
	    "con|2|logins 'al' and 'Al' (f:3) differ only in case: neither "
	    "is imported; pick one with --rename OLD=NEW or leave one out;"
	    "con|3|logins 'Al' and 'al' (f:2) differ only in case: neither "
	    "is imported; pick one with --rename OLD=NEW or leave one out;");
	want_checked("login,address\nal,a@x.test\nAl,b@x.test\n", &ren, 1,
	    "acc|al|a@x.test|-||2;acc|al2|b@x.test|-||3;");
	want_checked("login,address\nal,a@x.test\n", &unused, 1,
	    "acc|al|a@x.test|-||2;con|0|zz=z: no login 'zz' in the files;");
	want_checked("login,address\na,a@x.test\na,b@x.test\n", NULL, 0,
	    "acc|a|a@x.test|-||2|skip;acc|a|b@x.test|-||3|skip;"
	    "con|2|login 'a' given twice (also at f:3);"
	    "con|3|login 'a' given twice (also at f:2);");
	/* One account may name its address twice; two may not share it,
	 * nor an account and an alias. */
	want_checked("login,address,addresses\na,a@x.test,A@x.test\n"
	    "b,b@x.test,s@x.test\nc,c@x.test,S@x.test\n", NULL, 0,
	    "acc|a|a@x.test|-|A@x.test|2;"
	    "acc|b|b@x.test|-|s@x.test|3|skip;"
	    "acc|c|c@x.test|-|S@x.test|4|skip;"
	    "con|3|address s@x.test claimed twice (also at f:4): by two "
	    "accounts;"
	    "con|4|address S@x.test claimed twice (also at f:3): by two "
	    "accounts;");
	want_checked("login,address,aliases\na,a@x.test,\nb,b@x.test,"
	    "a@x.test\n", NULL, 0,
	    "acc|a|a@x.test|-||2|skip;acc|b|b@x.test|-||3;"
	    "ali|a@x.test|b@x.test|3|skip;"
	    "con|2|address a@x.test claimed twice (also at f:3): by an "
	    "account and an alias;"
	    "con|3|address a@x.test claimed twice (also at f:2): by an "
	    "account and an alias;");
	want_checked("address\nnot-an-address\n", NULL, 0,
	    "acc|not-an-address|not-an-address|-||2|skip;"
	    "con|2|bad address 'not-an-address': missing '@';");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postfix),
		cmocka_unit_test(test_dovecot),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
