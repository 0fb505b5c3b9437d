/*
 * dovecot-passwd: Dovecot's passwd-file, one account a line:
 *
 *   user:{SCHEME}hash:uid:gid:gecos:home:shell:extra
 *
 * Blank lines and lines starting with '#' are skipped.  The user is the
 * login, exactly.  A user that is an address is also the account's
 * address; any other user gets its address from --domain (user@DOMAIN),
 * and without --domain it is a conflict.  The password field goes to
 * password_import() later (an empty one: an account without a password);
 * uid, gid, home, shell and the extra fields are the old server's
 * business and are ignored: tern's Maildir layout is its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/import.h"
#include "util/xmalloc.h"

/* One line (n bytes, no newline). */
static int
dovecot_line(struct import_batch *b, const char *s, size_t n,
    struct import_at at, char *err, size_t errlen)
{
	struct import_account *a;
	const char *colon = memchr(s, ':', n), *pw, *pw_end;

	if (colon == NULL || colon == s) {
		snprintf(err, errlen, "%s:%lu: not user:password:... (%s)",
		    at.file, at.line, colon == NULL ? "no ':'" :
		    "empty user");
		return -1;
	}
	pw = colon + 1;
	pw_end = memchr(pw, ':', n - (size_t)(pw - s));
	if (pw_end == NULL)
		pw_end = s + n;
	if (memchr(s, '@', (size_t)(colon - s)) == NULL &&
	    b->domain == NULL) {
		import_conflict(b, at, "login '%.*s' is not an address: give "
		    "its domain with --domain DOMAIN",
		    (int)(colon - s > 64 ? 64 : colon - s), s);
		return 0;
	}
	a = import_add_account(b, at);
	a->login = xstrndup(s, (size_t)(colon - s));
	if (strchr(a->login, '@') != NULL)
		a->address = xstrdup(a->login);
	else
		a->address = xasprintf("%s@%s", a->login, b->domain);
	if (pw_end > pw)
		a->hash = xstrndup(pw, (size_t)(pw_end - pw));
	return 0;
}

int
import_dovecot(struct import_batch *b, const char *file, const char *data,
    size_t len, char *err, size_t errlen)
{
	struct import_at at = { file, 0 };
	size_t pos = 0, n;
	const char *line;

	while (pos < len) {
		line = import_next_line(data, len, &pos, &n);
		at.line++;
		if (n > IMPORT_LINE_MAX) {
			snprintf(err, errlen, "%s:%lu: line longer than %d "
			    "bytes", file, at.line, IMPORT_LINE_MAX);
			return -1;
		}
		if (n > 0 && line[0] != '#' && strspn(line, " \t") < n &&
		    dovecot_line(b, line, n, at, err, errlen) < 0)
			return -1;
	}
	return 0;
}
