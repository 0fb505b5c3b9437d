/*
 * The filter settings (see filter_conf.h).  `filters` is a list of items
 * separated by commas, each NAME PATH [ARG...] separated by blanks: no
 * quoting, so an argument cannot hold a comma or a blank (a wrapper script
 * can).  The per-filter lists hold items separated by commas or blanks,
 * each VALUE or NAME=VALUE.
 */
#include "plugin/filter_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "util/list_word.h"
#include "util/xmalloc.h"

#define FILTER_TIMEOUT_DEFAULT 30
#define FILTER_TIMEOUT_MAX     3600

static const char *const filter_defaults[] = { "proceed", "defer", "reject" };

const char *
filter_default_name(enum filter_default d)
{
	return (unsigned)d < 3 ? filter_defaults[d] : "?";
}

static int
filter_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= FILTER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/* One item, already cut at its comma (item is writable, kept in store). */
static int
filter_item_parse(char *item, struct filter_confs *out, char *why,
    size_t whylen)
{
	struct filter_conf *f = &out->items[out->n];
	char *save = NULL, *w;
	size_t nw = 0;

	for (w = strtok_r(item, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (nw == 0) {
			if (!filter_name_ok(w)) {
				snprintf(why, whylen, "filter name '%.40s': use "
				    "a-z, 0-9, '-' and '_', at most %d", w,
				    FILTER_NAME_MAX - 1);
				return -1;
			}
			snprintf(f->name, sizeof(f->name), "%s", w);
		} else if (nw - 1 >= FILTER_ARGS_MAX) {
			snprintf(why, whylen, "filter %s: more than %d words",
			    f->name, FILTER_ARGS_MAX);
			return -1;
		} else {
			f->argv[nw - 1] = w;
		}
		nw++;
	}
	if (nw == 0) {
		snprintf(why, whylen, "empty filter item");
		return -1;
	}
	if (nw < 2 || f->argv[0][0] != '/') {
		snprintf(why, whylen, "filter %s: needs an absolute program "
		    "path (NAME PATH [ARG...])", f->name);
		return -1;
	}
	f->argc = nw - 1;
	f->argv[f->argc] = NULL;
	for (size_t i = 0; i < out->n; i++) {
		if (strcmp(out->items[i].name, f->name) == 0) {
			snprintf(why, whylen, "filter %s named twice", f->name);
			return -1;
		}
	}
	out->n++;
	return 0;
}

int
filter_confs_parse(const char *value, struct filter_confs *out, char *why,
    size_t whylen)
{
	char *rest, *item;

	memset(out, 0, sizeof(*out));
	out->store = xstrdup(value);
	if (strspn(value, " \t") == strlen(value))
		return 0;
	/* strsep, not strtok: an empty item is an error, not skipped. */
	rest = out->store;
	while ((item = strsep(&rest, ",")) != NULL) {
		if (out->n >= FILTER_MAX) {
			snprintf(why, whylen, "more than %d filters", FILTER_MAX);
			goto fail;
		}
		if (filter_item_parse(item, out, why, whylen) < 0)
			goto fail;
	}
	return 0;
fail:
	filter_confs_free(out);
	return -1;
}

void
filter_confs_free(struct filter_confs *fc)
{
	free(fc->store);
	memset(fc, 0, sizeof(*fc));
}

int
filter_conf_check(const char *value, char *why, size_t whylen)
{
	struct filter_confs fc;

	if (filter_confs_parse(value, &fc, why, whylen) < 0)
		return -1;
	filter_confs_free(&fc);
	return 0;
}

/*
 * Walks a per-filter list: calls each(value, name or NULL) for every
 * item; stops at the first that returns -1.
 */
static int
filter_list_walk(const char *list, int (*each)(const char *value,
    const char *name, void *arg), void *arg)
{
	char word[128];
	int r;

	while ((r = list_word(&list, word, sizeof(word))) != 0) {
		char *eq = strchr(word, '=');
		if (r < 0)
			return each(NULL, NULL, arg);
		if (eq == NULL) {
			if (each(word, NULL, arg) < 0)
				return -1;
			continue;
		}
		*eq = '\0';
		if (each(eq + 1, word, arg) < 0)
			return -1;
	}
	return 0;
}

struct filter_pick {
	const char *name;       /* the filter asked about, or NULL: check */
	const char *found;      /* its value */
	const char *all;        /* the bare value */
	char buf[128], own[128];
	int (*valid)(const char *value);
	char *why;
	size_t whylen;
};

static int
filter_pick_one(const char *value, const char *name, void *arg)
{
	struct filter_pick *p = arg;

	if (value == NULL || (name != NULL && !filter_name_ok(name)) ||
	    !p->valid(value)) {
		if (p->why != NULL)
			snprintf(p->why, p->whylen, "bad item '%s%s%.60s'",
			    name ? name : "", name ? "=" : "", value ? value : "");
		return -1;
	}
	if (p->name == NULL)
		return 0;
	if (name == NULL && p->all == NULL) {
		snprintf(p->buf, sizeof(p->buf), "%s", value);
		p->all = p->buf;
	} else if (name != NULL && strcmp(name, p->name) == 0) {
		snprintf(p->own, sizeof(p->own), "%s", value);
		p->found = p->own;
		return -1;      /* found: stop */
	}
	return 0;
}

static int
filter_timeout_valid(const char *v)
{
	unsigned secs;

	return conf_parse_duration(v, &secs) == 0 && secs >= 1 &&
	    secs <= FILTER_TIMEOUT_MAX;
}

static int
filter_default_valid(const char *v)
{
	for (size_t i = 0; i < 3; i++)
		if (strcmp(v, filter_defaults[i]) == 0)
			return 1;
	return 0;
}

static int
filter_list_check(const char *list, int (*valid)(const char *), char *why,
    size_t whylen)
{
	struct filter_pick p = { .valid = valid, .why = why, .whylen = whylen };

	return filter_list_walk(list, filter_pick_one, &p);
}

int
filter_timeout_check(const char *value, char *why, size_t whylen)
{
	return filter_list_check(value, filter_timeout_valid, why, whylen);
}

int
filter_default_check(const char *value, char *why, size_t whylen)
{
	return filter_list_check(value, filter_default_valid, why, whylen);
}

/* The value for name into out: its own item, else the bare one; 0, or
 * -1 when neither is there. */
static int
filter_list_value(const char *list, const char *name,
    int (*valid)(const char *), char *out, size_t outlen)
{
	struct filter_pick p = { .name = name, .valid = valid };

	(void)filter_list_walk(list, filter_pick_one, &p);
	if (p.found != NULL) {
		snprintf(out, outlen, "%s", p.found);
		return 0;
	}
	if (p.all == NULL)
		return -1;
	snprintf(out, outlen, "%s", p.all);
	return 0;
}

unsigned
filter_timeout_for(const char *list, const char *name)
{
	char v[128];
	unsigned secs;

	if (filter_list_value(list, name, filter_timeout_valid, v, sizeof(v)) < 0 ||
	    conf_parse_duration(v, &secs) < 0)
		return FILTER_TIMEOUT_DEFAULT;
	return secs;
}

enum filter_default
filter_default_for(const char *list, const char *name)
{
	char v[128];

	if (filter_list_value(list, name, filter_default_valid, v, sizeof(v)) < 0)
		return FILTER_DEFAULT_DEFER;
	for (size_t i = 0; i < 3; i++)
		if (strcmp(v, filter_defaults[i]) == 0)
			return (enum filter_default)i;
	return FILTER_DEFAULT_DEFER;
}
