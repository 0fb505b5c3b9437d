/*
 * The fixture shared by the unit tests that run on a real SQLite
 * directory (test_directory.c, test_grants.c, test_tls_policy.c,
 * test_resolve.c).  It provides:
 *
 *   struct fixture, setup(), teardown()
 *	a fresh temporary folder with a tern.db opened through dir_open();
 *	teardown closes it and removes tern.db, -wal, -shm and the folder.
 *   MUST(call), REFUSED(call, want), REFUSED_HAS(call, want)
 *	call is a directory command writing its reason to a local err:
 *	it must succeed, or must fail with exactly want, or with a reason
 *	containing want.
 *   raw_count(), raw_exec()
 *	one number read, or SQL run, on a second connection to tern.db,
 *	behind the directory's back (WAL lets both in).
 *   listing, listing_add(), collect1(), collect2(), collect3(),
 *   want_listing()
 *	listings collected as "a|b|c;" lines and compared; emptied by
 *	setup() and by each comparison.
 *
 * Everything is static, so each test includes it once, as
 * "dir_fixture.h", with the cmocka and C library headers it needs.
 */
#ifndef TERN_TEST_DIR_FIXTURE_H
#define TERN_TEST_DIR_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lookup/directory.h"

struct fixture {
	char tmp[64];
	char db[128];
	struct directory *dir;
};

/* The listing being collected. */
static char listing[8192] __attribute__((unused));

static inline int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[DIR_ERR_MAX];

	assert_non_null(f);
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/tern-test-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->db, sizeof(f->db), "%s/tern.db", f->tmp);
	listing[0] = '\0';
	if (dir_open(f->tmp, &f->dir, err, sizeof(err)) < 0)
		fail_msg("dir_open: %s", err);
	*state = f;
	return 0;
}

static inline int
teardown(void **state)
{
	struct fixture *f = *state;
	const char *suffixes[] = { "", "-wal", "-shm" };
	char path[160];

	dir_close(&f->dir);
	assert_null(f->dir);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", f->db, suffixes[i]);
		unlink(path);
	}
	assert_int_equal(rmdir(f->tmp), 0);
	free(f);
	return 0;
}

/* Fails the test with the directory's reason unless call succeeds. */
#define MUST(call) do {                                                 \
	char err[DIR_ERR_MAX] = "";                                     \
	if ((call) < 0)                                                 \
		fail_msg("%s: %s", #call, err);                         \
} while (0)

/* Expects call to fail with exactly the reason want. */
#define REFUSED(call, want) do {                                        \
	char err[DIR_ERR_MAX] = "";                                     \
	if ((call) == 0)                                                \
		fail_msg("%s: succeeded, want failure '%s'", #call, want); \
	if (strcmp(err, want) != 0)                                     \
		fail_msg("%s:\n got '%s'\nwant '%s'", #call, err, want); \
} while (0)

/* Expects call to fail with a reason containing want. */
#define REFUSED_HAS(call, want) do {                                    \
	char err[DIR_ERR_MAX] = "";                                     \
	if ((call) == 0)                                                \
		fail_msg("%s: succeeded, want failure '%s'", #call, want); \
	if (strstr(err, want) == NULL)                                  \
		fail_msg("%s: got '%s', want '%s'", #call, err, want);  \
} while (0)

/* One number from the database, read behind the directory's back. */
static inline long long
raw_count(struct fixture *f, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return n;
}

/* Runs sql on the database behind the directory's back, as a broken or
 * older tool might. */
static inline void
raw_exec(struct fixture *f, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg != NULL ? msg : "?");
	sqlite3_free(msg);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Appends to the listing, cut at its end. */
static inline void __attribute__((format(printf, 1, 2)))
listing_add(const char *fmt, ...)
{
	size_t len = strlen(listing);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(listing + len, sizeof(listing) - len, fmt, ap);
	va_end(ap);
}

static inline void
collect1(void *arg, const char *a)
{
	(void)arg;
	listing_add("%s;", a);
}

static inline void
collect2(void *arg, const char *a, const char *b)
{
	(void)arg;
	listing_add("%s|%s;", a, b);
}

static inline void
collect3(void *arg, const char *a, const char *b, const char *c)
{
	(void)arg;
	listing_add("%s|%s|%s;", a, b, c);
}

/* Fails the test unless the listing is want; then empties it. */
static inline void
want_listing(const char *what, const char *want)
{
	if (strcmp(listing, want) != 0)
		fail_msg("%s:\n got '%s'\nwant '%s'", what, listing, want);
	listing[0] = '\0';
}

#endif
