/*
 * The table of settings, private to src/conf/.  Every key is declared once
 * in conf_table.c with its type, its field in struct conf, its default,
 * its bounds and one line of help; conf.c parses, checks and prints by
 * this table alone, and docs/config.md lists the same rows.  Trusts
 * nothing: the defaults are parsed and checked like values from a file.
 */
#ifndef TERN_CONF_TABLE_H
#define TERN_CONF_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define CONF_NOMAX UINT64_MAX

enum conf_type {
	CONF_STRING,            /* char *, never empty */
	CONF_TEXT,              /* char *, may be empty */
	CONF_REGEX,             /* char *, an extended regular expression */
	CONF_LISTEN,            /* char *, host:port list, "" disables */
	CONF_DURATION,          /* unsigned, seconds */
	CONF_SIZE,              /* uint64_t, bytes */
	CONF_UINT,              /* unsigned */
	CONF_ENUM,              /* int, the index of one of words */
	CONF_INT,               /* int, signed: min and max hold int64_t */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;          /* of its field in struct conf */
	const char *def;        /* the default, written as in the file */
	char *(*compute)(void); /* when set, gives the default (def is "") */
	uint64_t min, max;      /* for durations, sizes and numbers;
	                         * CONF_INT: (uint64_t)(int64_t) of each */
	const char *const *words; /* CONF_ENUM: the values, NULL-terminated */
	/* CONF_TEXT: when set, checks a value; 0, or -1 with why filled. */
	int (*check)(const char *value, char *why, size_t whylen);
	const char *help;
	/* A setting with a stress value (KEY_STRESS): the field in struct
	 * conf that holds it and its default.  The file sets it with the key
	 * NAME_stress; conf_now() picks it in stress mode.  0 and NULL for
	 * the rest. */
	size_t stress_offset;
	const char *stress_def;
};

/* The suffix of the key that sets a stress value. */
#define CONF_STRESS_SUFFIX "_stress"


extern const struct conf_key conf_keys[];
extern const size_t conf_nkeys;

/* The key named name, or NULL. */
const struct conf_key *conf_key_find(const char *name);
/* The key whose stress value name ("smtpd_timeout_stress") sets, or NULL. */
const struct conf_key *conf_key_find_stress(const char *name);

#endif
