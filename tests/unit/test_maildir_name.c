/*
 * Unit tests for mailbox/maildir_name.c and the keyword-file parser of
 * mailbox/maildir_meta.c: the names tern mailbox import reads from a
 * foreign Maildir++ tree.  Folder names that could leave the Maildir are
 * refused; flags are parsed, sorted and filtered; the size fields are
 * checked against the real size; keyword lines are bounded and checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mailbox/maildir_meta.h"
#include "mailbox/maildir_name.h"

static void
test_folder_names(void **state)
{
	static const struct {
		const char *name;
		int ok;
	} cases[] = {
		{ ".Sent", 1 }, { ".Lists.tern", 1 }, { ".a.b.c", 1 },
		{ ".Entw&APw-rfe", 1 }, { ".With space", 1 },
		{ ".", 0 }, { "..", 0 }, { "..x", 0 }, { ".a..b", 0 },
		{ ".a.", 0 }, { "Sent", 0 }, { "", 0 }, { ".a/b", 0 },
		{ "./..", 0 }, { ".a/../b", 0 }, { ".tab\there", 0 },
		{ ".del\x7f", 0 }, { ".nl\n", 0 },
	};
	char long_name[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (mdname_folder_ok(cases[i].name) != cases[i].ok)
			fail_msg("mdname_folder_ok(%s): got %d, want %d",
			    cases[i].name, !cases[i].ok, cases[i].ok);
	memset(long_name, 'x', sizeof(long_name));
	long_name[0] = '.';
	long_name[256] = '\0';
	assert_int_equal(mdname_folder_ok(long_name), 0);
	long_name[255] = '\0';
	assert_int_equal(mdname_folder_ok(long_name), 1);
}

static void
test_folder_subscription(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(mdname_folder_subscription(".Sent", out, sizeof(out)), 0);
	assert_string_equal(out, "Sent");
	assert_int_equal(mdname_folder_subscription(".Lists.tern.dev", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "Lists\ttern\tdev");
	assert_int_equal(mdname_folder_subscription(".abc", out, 3), -1);
	assert_int_equal(mdname_folder_subscription("Sent", out, sizeof(out)), -1);
}

static void
test_msg_parse(void **state)
{
	static const struct {
		const char *name, *base, *flags, *keywords;
		int has_info;
	} cases[] = {
		{ "1.M1P1.host", "1.M1P1.host", "", "", 0 },
		{ "1.M1P1.host:2,", "1.M1P1.host", "", "", 1 },
		{ "1.M1P1.host:2,S", "1.M1P1.host", "S", "", 1 },
		/* Sorted and once each, whatever the source wrote. */
		{ "1.M1P1.host:2,TSRFDP", "1.M1P1.host", "DFPRST", "", 1 },
		{ "1.M1P1.host:2,SSa", "1.M1P1.host", "S", "a", 1 },
		{ "1.M1P1.host:2,zSba", "1.M1P1.host", "S", "abz", 1 },
		/* Unknown upper-case letters and other bytes dropped. */
		{ "1.M1P1.host:2,SXQ,9", "1.M1P1.host", "S", "", 1 },
		/* Experimental ":1," info is not flags. */
		{ "1.M1P1.host:1,S", "1.M1P1.host", "", "", 0 },
		{ "1.M1P1.host,S=12,W=13:2,RS", "1.M1P1.host,S=12,W=13", "RS",
		  "", 1 },
	};
	static const char *const bad[] = {
		"", ".hidden", "a/b", "x\ny", ":2,S", "tab\t",
	};
	struct mdname_msg m;
	char long_name[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (mdname_msg_parse(cases[i].name, &m) != 0)
			fail_msg("mdname_msg_parse(%s) failed", cases[i].name);
		if (strcmp(m.base, cases[i].base) != 0 ||
		    strcmp(m.flags, cases[i].flags) != 0 ||
		    strcmp(m.keywords, cases[i].keywords) != 0 ||
		    m.has_info != cases[i].has_info)
			fail_msg("%s: got base %s flags %s keywords %s info %d, "
			    "want %s %s %s %d", cases[i].name, m.base, m.flags,
			    m.keywords, m.has_info, cases[i].base,
			    cases[i].flags, cases[i].keywords,
			    cases[i].has_info);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mdname_msg_parse(bad[i], &m) != -1)
			fail_msg("mdname_msg_parse(%s) accepted", bad[i]);
	memset(long_name, 'x', sizeof(long_name));
	long_name[256] = '\0';
	assert_int_equal(mdname_msg_parse(long_name, &m), -1);
}

static void
test_msg_key(void **state)
{
	static const struct {
		const char *base, *key;
	} cases[] = {
		{ "1.M1P1.host", "1.M1P1.host" },
		{ "1.M1P1.host,S=12", "1.M1P1.host" },
		{ "1.M1P1.host,S=12,W=13", "1.M1P1.host" },
		{ "1.M1P1.host,W=13,S=12", "1.M1P1.host" },
		/* Other fields stay: they are part of the name. */
		{ "1.M1P1.host,U=7,S=12", "1.M1P1.host,U=7" },
		{ "1.M1P1.host,S=x", "1.M1P1.host,S=x" },
		{ "1.M1P1.host,S=", "1.M1P1.host,S=" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(mdname_msg_key(cases[i].base, out, sizeof(out)), 0);
		if (strcmp(out, cases[i].key) != 0)
			fail_msg("key of %s: got %s, want %s", cases[i].base, out,
			    cases[i].key);
	}
	assert_int_equal(mdname_msg_key("1.M1P1.host", out, 5), -1);
}

static void
test_msg_fix_size(void **state)
{
	static const struct {
		const char *base;
		long long size;
		const char *want;
	} cases[] = {
		{ "1.M1P1.host", 99, "1.M1P1.host" },
		{ "1.M1P1.host,S=99", 99, "1.M1P1.host,S=99" },
		{ "1.M1P1.host,S=99,W=101", 99, "1.M1P1.host,S=99,W=101" },
		/* Wrong: both size fields go, the rest stays. */
		{ "1.M1P1.host,S=98,W=101", 99, "1.M1P1.host" },
		{ "1.M1P1.host,U=4,S=98", 99, "1.M1P1.host,U=4" },
		/* Too many digits to be any file's size. */
		{ "1.M1P1.host,S=99999999999999999999999", 99, "1.M1P1.host" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(mdname_msg_fix_size(cases[i].base,
		    (off_t)cases[i].size, out, sizeof(out)), 0);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%s at %lld: got %s, want %s", cases[i].base,
			    cases[i].size, out, cases[i].want);
	}
}

static void
test_msg_name(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(mdname_msg_name("b", "RS", "ac", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "b:2,RSac");
	assert_int_equal(mdname_msg_name("b", "", "", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "b:2,");
	assert_int_equal(mdname_msg_name("b", "S", "", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "b");
	assert_int_equal(mdname_msg_name("base", "RS", "", 1, out, 8), -1);
}

static void
test_keywords_parse(void **state)
{
	static const char text[] =
	    "0 $Junk\n"
	    "1 work\n"
	    "25 last\n"
	    "26 out-of-range\n"
	    "3 two words\n"
	    "4 \\Seen\n"
	    "x bad\n"
	    "5\n"
	    "6 \n"
	    "7 paren(\n"
	    "8 ok-no-newline";
	struct mdmeta_keywords kw;

	(void)state;
	mdmeta_keywords_parse(text, sizeof(text) - 1, &kw);
	assert_string_equal(kw.name[0], "$Junk");
	assert_string_equal(kw.name[1], "work");
	assert_string_equal(kw.name[25], "last");
	for (int i = 2; i < 25; i++)
		if (i != 8 && kw.name[i][0] != '\0')
			fail_msg("letter %d: got %s, want none", i, kw.name[i]);
	assert_string_equal(kw.name[8], "ok-no-newline");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folder_names),
		cmocka_unit_test(test_folder_subscription),
		cmocka_unit_test(test_msg_parse),
		cmocka_unit_test(test_msg_key),
		cmocka_unit_test(test_msg_fix_size),
		cmocka_unit_test(test_msg_name),
		cmocka_unit_test(test_keywords_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
