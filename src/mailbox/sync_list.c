/*
 * The --all account list: words per line, comments, bounds.  What it
 * trusts: nothing of the file's contents beyond its being text; a line
 * too long, a NUL byte or a wrong number of words is an error naming the
 * line, and nothing is synced from a list that has one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/sync_list.h"
#include "util/xmalloc.h"

int
sync_list_parse_line(char *line, char **words_r)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		p += strspn(p, " \t\r");
		if (*p == '\0' || *p == '#')
			break;
		if (n == 3)
			return -1;
		words_r[n++] = p;
		p += strcspn(p, " \t\r");
		if (*p != '\0')
			*p++ = '\0';
	}
	if (n == 0)
		return 0;
	return n == 3 ? 1 : -1;
}

/* One line read into line: 1, 0 at the end, -1 if too long.  (A NUL byte
 * ends the line's text there: its words after it are lost, which leaves a
 * line with too few words, an error.) */
static int
sync_list_getline(FILE *f, char *line, size_t len)
{
	size_t got;

	if (fgets(line, (int)len, f) == NULL)
		return 0;
	got = strlen(line);
	if (got > 0 && line[got - 1] == '\n')
		line[--got] = '\0';
	else if (!feof(f))
		return -1;
	return 1;
}

static void
sync_list_add(struct sync_list *list, char **w, unsigned lineno)
{
	struct sync_entry *e;

	list->v = xreallocarray(list->v, list->n + 1, sizeof(*list->v));
	e = &list->v[list->n++];
	e->login = xstrdup(w[0]);
	e->old_user = xstrdup(w[1]);
	e->password_file = xstrdup(w[2]);
	e->line = lineno;
}

int
sync_list_read(const char *path, struct sync_list *list, char *err,
    size_t errlen)
{
	char line[SYNC_LIST_LINE_MAX], *w[3];
	unsigned lineno = 0;
	FILE *f;
	int rc = 0, got;

	memset(list, 0, sizeof(*list));
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (rc == 0 &&
	    (got = sync_list_getline(f, line, sizeof(line))) != 0) {
		int words;

		lineno++;
		words = got < 0 ? -2 : sync_list_parse_line(line, w);
		if (words == 1 && list->n >= SYNC_LIST_MAX)
			words = -3;
		if (words == 1)
			sync_list_add(list, w, lineno);
		else if (words < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno,
			    words == -2 ? "line too long" : words == -3 ?
			    "too many accounts" :
			    "want LOGIN OLDLOGIN PASSWORD-FILE");
			rc = -1;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		rc = -1;
	}
	fclose(f);
	if (rc == 0 && list->n == 0) {
		snprintf(err, errlen, "%s: no accounts", path);
		rc = -1;
	}
	if (rc < 0)
		sync_list_free(list);
	return rc;
}

void
sync_list_free(struct sync_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->v[i].login);
		free(list->v[i].old_user);
		free(list->v[i].password_file);
	}
	free(list->v);
	list->v = NULL;
	list->n = 0;
}
