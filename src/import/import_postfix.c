/*
 * postfix-virtual: Postfix's virtual(5) alias maps and virtual_mailbox_maps
 * source files, read as postmap(1) reads them: blank lines and lines whose
 * first non-blank character is '#' are skipped, a line that starts with
 * white space continues the one before, and a logical line is a key, white
 * space, and a value.  What each line means:
 *
 *   user@example.com  target, target...   an alias (targets by commas or
 *                                         white space)
 *   @example.com      target              the domain's catch-all
 *   example.com       anything            declares a local domain
 *   user@example.com  example.com/user/   a mailbox (one word without '@'
 *                                         but with '/'): an account whose
 *                                         login is the address, no password
 *
 * A target without '@' that is no path would be a Unix user in Postfix
 * (user@$myorigin); tern does not guess its domain: that is a conflict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/import.h"
#include "util/buf.h"
#include "util/xmalloc.h"

static int
postfix_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Adds what one logical line says to b. */
static void
postfix_entry(struct import_batch *b, const char *key, size_t klen,
    const char *val, size_t vlen, struct import_at at)
{
	struct import_alias *al;
	struct import_account *ac;

	if (memchr(key, '@', klen) == NULL) {
		char *name = xstrndup(key, klen);

		import_add_domain(b, name, at);
		free(name);
		return;
	}
	/* One word without '@' but with '/': a mailbox path. */
	if (key[0] != '@' && memchr(val, '@', vlen) == NULL &&
	    memchr(val, '/', vlen) != NULL && strcspn(val, " \t,") >= vlen) {
		ac = import_add_account(b, at);
		ac->address = xstrndup(key, klen);
		ac->login = NULL;       /* the parsed address, set by the checks */
		return;
	}
	al = import_add_alias(b, at);
	al->source = xstrndup(key, klen);
	import_list_split(&al->targets, val, vlen);
}

/* One logical line: the key is its first word, the value the rest. */
static int
postfix_line(struct import_batch *b, const char *file, struct buf *l,
    unsigned long line, char *err, size_t errlen)
{
	struct import_at at = { file, line };
	const char *s = l->data;
	size_t klen = 0, v;

	while (klen < l->len && !postfix_blank(s[klen]))
		klen++;
	for (v = klen; v < l->len && postfix_blank(s[v]); v++)
		;
	while (l->len > v && postfix_blank(s[l->len - 1]))
		l->len--;
	if (v == l->len) {
		snprintf(err, errlen, "%s:%lu: '%.*s' without a value (a line "
		    "is a key, white space, and a value)", file, line,
		    klen > 64 ? 64 : (int)klen, s);
		return -1;
	}
	postfix_entry(b, s, klen, s + v, l->len - v, at);
	return 0;
}

int
import_postfix(struct import_batch *b, const char *file, const char *data,
    size_t len, char *err, size_t errlen)
{
	struct buf l;
	unsigned long lineno = 0, first = 0;
	size_t pos = 0, n, i;
	const char *line;
	int rc = 0;

	buf_init(&l, IMPORT_LINE_MAX);
	while (rc == 0 && pos < len) {
		line = import_next_line(data, len, &pos, &n);
		lineno++;
		for (i = 0; i < n && postfix_blank(line[i]); i++)
			;
		if (i < n && line[i] != '#') {
			if (i == 0 && l.len > 0)
				rc = postfix_line(b, file, &l, first, err,
				    errlen);
			if (i == 0) {
				buf_reset(&l);
				first = lineno;
			} else if (l.len == 0) {
				snprintf(err, errlen, "%s:%lu: a continuation "
				    "line without a line before it", file,
				    lineno);
				rc = -1;
			}
			if (rc == 0 && ((i > 0 && buf_append(&l, " ", 1) < 0) ||
			    buf_append(&l, line + i, n - i) < 0)) {
				snprintf(err, errlen, "%s:%lu: line longer "
				    "than %d bytes", file, first,
				    IMPORT_LINE_MAX);
				rc = -1;
			}
		}
	}
	if (rc == 0 && l.len > 0)
		rc = postfix_line(b, file, &l, first, err, errlen);
	buf_free(&l);
	return rc;
}
