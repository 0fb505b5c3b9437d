/*
 * Unit tests for recipient resolution (lookup/directory_resolve.c) on a
 * real SQLite directory in a fresh temporary folder: precedence (exact,
 * alias, catch-all), case, fan-out and duplicates, remote targets, loops
 * refused when added and caught when resolving.  Table-driven; failures
 * print got and want.
 */
#include "dir_fixture.h"

static const char *const status_names[] = {
	"OK", "NOT_LOCAL", "UNKNOWN", "LOOP", "TEMPFAIL",
};

/* Resolves addr and writes "STATUS target target..." to out, a remote
 * target marked "remote:". */
static void
resolve_str(struct directory *dir, const char *addr, size_t max, char *out,
    size_t outlen)
{
	struct dir_target t[DIR_RESOLVE_MAX];
	size_t n = 99;
	enum dir_resolve_status st;
	size_t len;

	assert_true(max <= DIR_RESOLVE_MAX);
	st = dir_resolve(dir, addr, t, max, &n);
	snprintf(out, outlen, "%s", status_names[st]);
	if (st != DIR_RESOLVE_OK && n != 0)
		fail_msg("%s: status %s with %zu targets", addr, out, n);
	for (size_t i = 0; i < n; i++) {
		len = strlen(out);
		snprintf(out + len, outlen - len, " %s%s",
		    t[i].remote ? "remote:" : "", t[i].addr);
	}
}

static void
want_resolve(struct directory *dir, const char *addr, const char *want)
{
	char got[4096];

	resolve_str(dir, addr, DIR_RESOLVE_MAX, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("resolve %s: got '%s', want '%s'", addr, got, want);
}

/*
 * example.test: alice (also Alice.Smith@), bob, Dave (mailbox spelled
 * with capitals); other.test: carol and a catch-all to her.
 */
static void
populate(struct directory *dir)
{
	static const char *const team[] = {
		"alice@example.test", "bob@example.test",
		"alice.smith@example.test",
	};
	static const char *const fwd[] = {
		"Someone@Remote.TEST", "bob@example.test",
	};
	static const char *const list[] = {
		"team@example.test", "fwd@example.test", "alice@example.test",
	};
	static const char *const carol[] = { "carol@other.test" };
	static const char *const bob[] = { "bob@example.test" };

	MUST(dir_domain_add(dir, "example.test", err));
	MUST(dir_domain_add(dir, "Other.Test", err));
	MUST(dir_user_add(dir, "alice@example.test", "alice", NULL, err));
	MUST(dir_user_add(dir, "bob@example.test", "bob", "$y$x", err));
	MUST(dir_user_add(dir, "Dave@Example.test", "dave", NULL, err));
	MUST(dir_user_add(dir, "carol@other.test", "carol", NULL, err));
	MUST(dir_address_add(dir, "Alice.Smith@example.test", "alice", err));
	MUST(dir_alias_add(dir, "team@example.test", team, 3, err));
	MUST(dir_alias_add(dir, "fwd@example.test", fwd, 2, err));
	MUST(dir_alias_add(dir, "list@example.test", list, 3, err));
	MUST(dir_alias_add(dir, "@other.test", carol, 1, err));
	MUST(dir_alias_add(dir, "info@Other.test", bob, 1, err));
}

static const struct {
	const char *addr;
	const char *want;
} resolve_cases[] = {
	/* Exact addresses, any case, name the mailbox folded. */
	{ "alice@example.test", "OK alice@example.test" },
	{ "Alice@Example.TEST", "OK alice@example.test" },
	{ "ALICE.SMITH@example.test", "OK alice@example.test" },
	{ "dave@example.test", "OK dave@example.test" },
	{ "DAVE@EXAMPLE.TEST", "OK dave@example.test" },
	/* An alias; alice reached twice (directly and as Alice.Smith) is
	 * one target. */
	{ "team@example.test", "OK alice@example.test bob@example.test" },
	{ "TEAM@example.test", "OK alice@example.test bob@example.test" },
	/* Remote targets are forwarded as given, domain folded. */
	{ "fwd@example.test",
	    "OK remote:Someone@remote.test bob@example.test" },
	/* Aliases of aliases, each mailbox once. */
	{ "list@example.test", "OK alice@example.test bob@example.test "
	    "remote:Someone@remote.test" },
	/* Exact beats catch-all, alias beats catch-all. */
	{ "carol@other.test", "OK carol@other.test" },
	{ "info@other.test", "OK bob@example.test" },
	{ "whoever@OTHER.test", "OK carol@other.test" },
	/* No such address and no catch-all. */
	{ "nobody@example.test", "UNKNOWN" },
	{ "team2@example.test", "UNKNOWN" },
	/* Not ours, or not an address at all. */
	{ "alice@remote.test", "NOT_LOCAL" },
	{ "alice@example.test.evil", "NOT_LOCAL" },
	{ "not an address", "UNKNOWN" },
	{ "@other.test", "UNKNOWN" },
	{ "", "UNKNOWN" },
};

static void
test_resolve_table(void **state)
{
	struct fixture *f = *state;

	populate(f->dir);
	for (size_t i = 0; i < sizeof(resolve_cases) / sizeof(resolve_cases[0]);
	    i++)
		want_resolve(f->dir, resolve_cases[i].addr,
		    resolve_cases[i].want);
}

/* An alias on an account's own address cannot be added, but an older
 * tool might have left one: the exact address still wins. */
static void
test_exact_beats_alias(void **state)
{
	struct fixture *f = *state;
	static const char *const t[] = { "bob@example.test" };

	populate(f->dir);
	REFUSED_HAS(dir_alias_add(f->dir, "Alice@example.test", t, 1, err),
	    "is an account's address");
	raw_exec(f, "INSERT INTO aliases (source, target, domain_id) VALUES "
	    "('alice@example.test', 'bob@example.test', "
	    "(SELECT id FROM domains WHERE name = 'example.test'))");
	want_resolve(f->dir, "alice@example.test", "OK alice@example.test");
}

static void
test_max_targets(void **state)
{
	struct fixture *f = *state;
	char got[512];

	populate(f->dir);
	/* Two mailboxes do not fit in one: an expansion error, never a
	 * silent cut. */
	resolve_str(f->dir, "team@example.test", 1, got, sizeof(got));
	if (strcmp(got, "LOOP") != 0)
		fail_msg("team with max 1: got '%s', want 'LOOP'", got);
	resolve_str(f->dir, "team@example.test", 2, got, sizeof(got));
	if (strcmp(got, "OK alice@example.test bob@example.test") != 0)
		fail_msg("team with max 2: got '%s'", got);
}

/* More targets than DIR_RESOLVE_MAX are refused when added. */
static void
test_too_many_targets(void **state)
{
	struct fixture *f = *state;
	char addrs[DIR_RESOLVE_MAX + 1][32];
	const char *t[DIR_RESOLVE_MAX + 1];
	char want[4096];
	size_t len;

	populate(f->dir);
	for (size_t i = 0; i <= DIR_RESOLVE_MAX; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "u%zu@remote.test", i);
		t[i] = addrs[i];
	}
	MUST(dir_alias_add(f->dir, "many@example.test", t, DIR_RESOLVE_MAX,
	    err));
	REFUSED_HAS(dir_alias_add(f->dir, "many@example.test", t,
	    DIR_RESOLVE_MAX + 1, err), "more than 100 mailboxes");
	snprintf(want, sizeof(want), "OK");
	for (size_t i = 0; i < DIR_RESOLVE_MAX; i++) {
		len = strlen(want);
		snprintf(want + len, sizeof(want) - len, " remote:%s", t[i]);
	}
	want_resolve(f->dir, "many@example.test", want);
}

static void
test_loop_refused_at_add(void **state)
{
	struct fixture *f = *state;
	static const char *const to_a[] = { "a@example.test" };
	static const char *const to_b[] = { "B@example.test" };
	static const char *const to_alice[] = { "alice@example.test" };
	static const char *const to_ghost[] = { "ghost@example.test" };
	static const char *const to_self[] = { "self@example.test" };

	populate(f->dir);
	MUST(dir_alias_add(f->dir, "a@example.test", to_alice, 1, err));
	MUST(dir_alias_add(f->dir, "b@example.test", to_a, 1, err));
	REFUSED_HAS(dir_alias_add(f->dir, "A@example.test", to_b, 1, err),
	    "aliases loop: a@example.test -> B@example.test -> a@example.test");
	REFUSED_HAS(dir_alias_add(f->dir, "self@example.test", to_self, 1, err),
	    "loop");
	/* A catch-all to an address of its own domain that does not exist
	 * would take its own mail back. */
	REFUSED_HAS(dir_alias_add(f->dir, "@example.test", to_ghost, 1, err),
	    "loop");
	/* The refused adds left nothing behind. */
	want_resolve(f->dir, "a@example.test", "OK alice@example.test");
	want_resolve(f->dir, "b@example.test", "OK alice@example.test");
	want_resolve(f->dir, "ghost@example.test", "UNKNOWN");
	want_resolve(f->dir, "self@example.test", "UNKNOWN");
}

/* Loops put in behind the directory's back are still caught. */
static void
test_loop_detected_at_resolve(void **state)
{
	struct fixture *f = *state;

	populate(f->dir);
	raw_exec(f, "INSERT INTO aliases (source, target, domain_id) "
	    "SELECT 'x@example.test', 'Y@example.test', id FROM domains "
	    "WHERE name = 'example.test';"
	    "INSERT INTO aliases (source, target, domain_id) "
	    "SELECT 'y@example.test', 'alice@example.test', id FROM domains "
	    "WHERE name = 'example.test';"
	    "INSERT INTO aliases (source, target, domain_id) "
	    "SELECT 'y@example.test', 'x@example.test', id FROM domains "
	    "WHERE name = 'example.test';"
	    "INSERT INTO aliases (source, target, domain_id) "
	    "SELECT '@example.test', 'ghost@example.test', id FROM domains "
	    "WHERE name = 'example.test';");
	want_resolve(f->dir, "x@example.test", "LOOP");
	want_resolve(f->dir, "y@example.test", "LOOP");
	want_resolve(f->dir, "ghost@example.test", "LOOP");
	want_resolve(f->dir, "anyone@example.test", "LOOP");
	/* Exact addresses and aliases still win over the broken catch-all. */
	want_resolve(f->dir, "bob@example.test", "OK bob@example.test");
	want_resolve(f->dir, "team@example.test",
	    "OK alice@example.test bob@example.test");
}

/* Nine aliases in a chain resolve; the tenth is too deep. */
static void
test_depth_limit(void **state)
{
	struct fixture *f = *state;
	char src[32], dst[32];
	const char *t[1] = { dst };

	populate(f->dir);
	snprintf(dst, sizeof(dst), "alice@example.test");
	for (int i = 9; i >= 1; i--) {
		snprintf(src, sizeof(src), "c%d@example.test", i);
		MUST(dir_alias_add(f->dir, src, t, 1, err));
		snprintf(dst, sizeof(dst), "%s", src);
	}
	want_resolve(f->dir, "c1@example.test", "OK alice@example.test");
	REFUSED_HAS(dir_alias_add(f->dir, "c0@example.test", t, 1, err),
	    "nest more than 10 deep");
}

/* A target deleted after the alias was made fails the alias, loudly,
 * rather than dropping that copy. */
static void
test_dangling_target(void **state)
{
	struct fixture *f = *state;
	static const char *const t[] = { "dave@example.test" };
	static const char *const ghost[] = { "ghost@example.test" };
	char mailbox[ADDR_BUF];

	populate(f->dir);
	REFUSED_HAS(dir_alias_add(f->dir, "d@example.test", ghost, 1, err),
	    "target ghost@example.test does not exist");
	MUST(dir_alias_add(f->dir, "d@example.test", t, 1, err));
	want_resolve(f->dir, "d@example.test", "OK dave@example.test");
	MUST(dir_user_del(f->dir, "dave", mailbox, err));
	want_resolve(f->dir, "d@example.test", "UNKNOWN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolve_table, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exact_beats_alias, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_max_targets, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_many_targets, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_loop_refused_at_add, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_loop_detected_at_resolve,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dangling_target, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
