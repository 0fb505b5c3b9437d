/*
 * tern import: the old server's account data read into one batch of
 * domains, accounts and aliases, each remembering the file and line it
 * came from, and the conflicts found in it.  The readers trust nothing of
 * the files: every line is bounded, a line they cannot read at all is an
 * error naming FILE:LINE, and what they can read but tern would refuse is
 * kept for the checks, which turn it into a conflict with its place.
 * Nothing here touches the directory (cli/import_apply.c does).
 */
#ifndef TERN_IMPORT_H
#define TERN_IMPORT_H

#include <stddef.h>

#include "util/addr.h"

#define IMPORT_ERR_MAX  512
#define IMPORT_FILE_MAX (512u * 1024 * 1024)    /* bytes of one input file */
#define IMPORT_LINE_MAX 65536                   /* bytes of one logical line */

/* Where an item came from: the file's name as given, and its line (the
 * first line of a continued or quoted record). */
struct import_at {
	const char *file;
	unsigned long line;
};

struct import_list {
	char **v;
	size_t n, cap;
};

struct import_account {
	char *login;            /* exact, as the old server had it */
	char *address;          /* the mailbox, as given */
	char *hash;             /* as given; NULL: none in the file */
	struct import_list addrs;       /* extra addresses, as given */
	struct import_at at;
	/* Set by the checks. */
	char mailbox[ADDR_BUF]; /* address parsed, domain folded */
	int skip;               /* a conflict names it: it is not imported */
	char *stored;           /* the bare hash to store, once checked */
	char *hash_err;         /* why hash cannot be stored, once checked */
};

/* An alias source (an address or "@domain") and its targets. */
struct import_alias {
	char *source;
	struct import_list targets;
	struct import_at at;
	int skip;
};

/* A domain a postfix-virtual file declares ("example.com anything"). */
struct import_domain {
	char *name;
	struct import_at at;
};

struct import_conflict {
	struct import_at at;
	char *what;
};

struct import_batch {
	struct import_account *acc;
	size_t nacc, capacc;
	struct import_alias *ali;
	size_t nali, capali;
	struct import_domain *dom;
	size_t ndom, capdom;
	struct import_conflict *con;
	size_t ncon, capcon;
	const char *domain;     /* --domain, for dovecot-passwd logins */
};

void import_batch_init(struct import_batch *b);
void import_batch_free(struct import_batch *b);

/* Appends an empty item and returns it (never NULL). */
struct import_account *import_add_account(struct import_batch *b,
    struct import_at at);
struct import_alias *import_add_alias(struct import_batch *b,
    struct import_at at);
void import_add_domain(struct import_batch *b, const char *name,
    struct import_at at);
void import_conflict(struct import_batch *b, struct import_at at,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The line of data that starts at *pos: its start, its length without
 * the LF (or CR LF) in *n; *pos moves past its end. */
const char *import_next_line(const char *data, size_t len, size_t *pos,
    size_t *n);
void import_list_add(struct import_list *l, const char *s, size_t n);
void import_list_free(struct import_list *l);
/* Adds the words of s[0..n) to l, split at commas, blanks and line
 * ends. */
void import_list_split(struct import_list *l, const char *s, size_t n);

/* Reads one file of format ("postfix-virtual", "dovecot-passwd", "csv")
 * into b.  0, or -1 with "FILE:LINE: reason" (or "FILE: reason") in err:
 * a file that cannot be read, or a line that cannot be read at all. */
int import_read_file(struct import_batch *b, const char *format,
    const char *path, char *err, size_t errlen);
/* 1 if format is one import_read_file knows, else 0. */
int import_format_known(const char *format);

/* The readers, on a file's whole content (len bytes, no NUL inside).
 * 0, or -1 with "FILE:LINE: reason" in err. */
int import_postfix(struct import_batch *b, const char *file,
    const char *data, size_t len, char *err, size_t errlen);
int import_dovecot(struct import_batch *b, const char *file,
    const char *data, size_t len, char *err, size_t errlen);
int import_csv(struct import_batch *b, const char *file, const char *data,
    size_t len, char *err, size_t errlen);

/* "OLD=NEW" pairs from --rename. */
struct import_rename {
	const char *old_login, *new_login;
	const char *given;      /* the option's value, for messages */
	int used;
};

/* The checks that need only the files: renames applied, addresses
 * parsed, logins twice or differing only in case, an address claimed by
 * two accounts or by an account and an alias.  Each is a conflict and
 * marks the items it names skip. */
void import_check(struct import_batch *b, struct import_rename *ren,
    size_t nren);

/* Runs password_import() on the hash of every account not skipped and
 * not yet checked (stored and hash_err NULL), setting one of the two;
 * on every core. */
void import_hash_check(struct import_batch *b);

#endif
