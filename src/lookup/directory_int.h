/*
 * What the directory_*.c files share and nobody else sees: the handle, the
 * statement helpers and the transaction bracket.  Every value reaches SQL
 * as a bound parameter; no statement is ever built from a string.
 */
#ifndef TERN_DIRECTORY_INT_H
#define TERN_DIRECTORY_INT_H

#include <sqlite3.h>

#include "lookup/directory.h"

struct directory {
	sqlite3 *db;
};

/* The text parameters of one statement, bound to ?1, ?2, ... in order; a
 * NULL pointer binds SQL NULL.  DIR_P("a", "b") expands to the array and
 * its length. */
#define DIR_P(...) (const char *const[]){ __VA_ARGS__ }, \
	(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))
#define DIR_NOP NULL, 0

/* Writes a one-line reason in err (DIR_ERR_MAX) and returns -1. */
int dir_fail(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* dir_fail() with "database error: " and SQLite's own message. */
int dir_db_fail(struct directory *dir, char *err);

/* Prepares sql and binds the parameters.  0, or -1 with err set. */
int dir_stmt(struct directory *dir, const char *sql, const char *const *p,
    size_t np, sqlite3_stmt **st_r, char *err);
/* Runs a statement that returns no rows.  0, or -1. */
int dir_exec(struct directory *dir, const char *sql, const char *const *p,
    size_t np, char *err);
/* Runs a query and copies the first column of its first row to out.
 * 1 if there was a row, 0 if none, -1 on error (a value that does not
 * fit out is an error, never a truncation). */
int dir_fetch_text(struct directory *dir, const char *sql,
    const char *const *p, size_t np, char *out, size_t outlen, char *err);
/* The same for an integer column. */
int dir_fetch_int(struct directory *dir, const char *sql,
    const char *const *p, size_t np, long long *out, char *err);
/* Finalizes st and returns rc, or -1 with err set if rc was good but
 * finalizing failed (its result repeats the last step's error, which a
 * failed rc has reported already). */
int dir_finalize(struct directory *dir, sqlite3_stmt *st, int rc, char *err);
/* Column col of the current row as a string; "" for SQL NULL. */
const char *dir_text(sqlite3_stmt *st, int col);
/* Steps st once: 1 for a row, 0 when done, -1 on error. */
int dir_step(struct directory *dir, sqlite3_stmt *st, char *err);

/* Transactions.  A change opens with dir_begin() (BEGIN IMMEDIATE: it
 * takes the write lock up front, so two admins never deadlock on an
 * upgrade), a read with dir_begin_read() (one consistent snapshot).
 * dir_end() commits when rc is 0 and rolls back otherwise; it returns 0
 * only when the commit succeeded. */
int dir_begin(struct directory *dir, char *err);
int dir_begin_read(struct directory *dir, char *err);
int dir_end(struct directory *dir, int rc, char *err);

/* Parses an address given on the command line (UTF-8 allowed) into out,
 * domain folded.  0, or -1 with err set. */
int dir_parse_addr(const char *what, const char *s, char out[ADDR_BUF],
    char *err);
/* 0 when domain is local, else -1 with err set to tell how to add it. */
int dir_need_local(struct directory *dir, const char *domain, char *err);
/* 0 when the exact login exists (its mailbox in mailbox_r, ADDR_BUF, if
 * not NULL); else -1, naming a login that differs only in case if there
 * is one ("did you mean"). */
int dir_need_account(struct directory *dir, const char *login,
    char *mailbox_r, char *err);

/* Resolution as dir_resolve(), inside the caller's transaction.  On
 * failure writes a one-line reason to err, naming the address where it
 * failed ("target x@example.test does not exist"). */
enum dir_resolve_status dir_resolve_in(struct directory *dir,
    const char *addr, struct dir_target *targets, size_t max, size_t *n_r,
    char *err);

#endif
