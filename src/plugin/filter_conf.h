/*
 * The filter settings: `filters` (NAME PATH [ARG...], items separated by
 * commas) and the per-filter lists filter_timeout and
 * filter_default_action (a value for every filter, and NAME=VALUE for
 * one).  Read by conf (the checks), master (what to start) and smtpd (how
 * to talk to each).  Trusts nothing: the text comes from the config file.
 */
#ifndef TERN_FILTER_CONF_H
#define TERN_FILTER_CONF_H

#include <stddef.h>

#define FILTER_MAX       16     /* filters in one configuration */
#define FILTER_ARGS_MAX  32     /* words of one filter's command */
#define FILTER_NAME_MAX  32     /* a filter's name, NUL included */

enum filter_default { FILTER_DEFAULT_PROCEED, FILTER_DEFAULT_DEFER,
	FILTER_DEFAULT_REJECT };

struct filter_conf {
	char name[FILTER_NAME_MAX];
	char *argv[FILTER_ARGS_MAX + 1];        /* argv[0] is the path */
	size_t argc;
};

struct filter_confs {
	struct filter_conf items[FILTER_MAX];
	size_t n;
	char *store;                    /* the words argv points into */
};

/* 0 with *out filled (free with filter_confs_free), or -1 with why. */
int filter_confs_parse(const char *value, struct filter_confs *out,
    char *why, size_t whylen);
void filter_confs_free(struct filter_confs *fc);

/* The conf checks of the three settings: 0, or -1 with why. */
int filter_conf_check(const char *value, char *why, size_t whylen);
int filter_timeout_check(const char *value, char *why, size_t whylen);
int filter_default_check(const char *value, char *why, size_t whylen);

/* The value of a checked setting for the filter name: its NAME=VALUE
 * item, else the bare value, else the built-in default (30 s, defer). */
unsigned filter_timeout_for(const char *list, const char *name);
enum filter_default filter_default_for(const char *list, const char *name);
const char *filter_default_name(enum filter_default d);

#endif
