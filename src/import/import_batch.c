/*
 * The batch tern import builds: growing arrays of accounts, aliases,
 * declared domains and conflicts, and reading one input file whole (it is
 * the postmaster's own copy of the old server's data, bounded in size;
 * a NUL byte in it means it is not a text file) before its reader runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import/import.h"
#include "util/xmalloc.h"

void
import_batch_init(struct import_batch *b)
{
	memset(b, 0, sizeof(*b));
}

void
import_list_add(struct import_list *l, const char *s, size_t n)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = xstrndup(s, n);
}

void
import_list_free(struct import_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
import_list_split(struct import_list *l, const char *s, size_t n)
{
	static const char sep[] = ", \t\r\n";
	size_t i = 0, start;

	while (i < n) {
		while (i < n && memchr(sep, s[i], sizeof(sep) - 1) != NULL)
			i++;
		start = i;
		while (i < n && memchr(sep, s[i], sizeof(sep) - 1) == NULL)
			i++;
		if (i > start)
			import_list_add(l, s + start, i - start);
	}
}

/* Makes room for one more item of size sz in *v (n used of *cap). */
static void *
import_grow(void *v, size_t n, size_t *cap, size_t sz)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	return xreallocarray(v, *cap, sz);
}

struct import_account *
import_add_account(struct import_batch *b, struct import_at at)
{
	struct import_account *a;

	b->acc = import_grow(b->acc, b->nacc, &b->capacc, sizeof(*b->acc));
	a = &b->acc[b->nacc++];
	memset(a, 0, sizeof(*a));
	a->at = at;
	return a;
}

struct import_alias *
import_add_alias(struct import_batch *b, struct import_at at)
{
	struct import_alias *a;

	b->ali = import_grow(b->ali, b->nali, &b->capali, sizeof(*b->ali));
	a = &b->ali[b->nali++];
	memset(a, 0, sizeof(*a));
	a->at = at;
	return a;
}

void
import_add_domain(struct import_batch *b, const char *name,
    struct import_at at)
{
	b->dom = import_grow(b->dom, b->ndom, &b->capdom, sizeof(*b->dom));
	b->dom[b->ndom].name = xstrdup(name);
	b->dom[b->ndom++].at = at;
}

void
import_conflict(struct import_batch *b, struct import_at at,
    const char *fmt, ...)
{
	char what[IMPORT_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	b->con = import_grow(b->con, b->ncon, &b->capcon, sizeof(*b->con));
	b->con[b->ncon].at = at;
	b->con[b->ncon++].what = xstrdup(what);
}

void
import_batch_free(struct import_batch *b)
{
	for (size_t i = 0; i < b->nacc; i++) {
		free(b->acc[i].login);
		free(b->acc[i].address);
		free(b->acc[i].hash);
		free(b->acc[i].stored);
		free(b->acc[i].hash_err);
		import_list_free(&b->acc[i].addrs);
	}
	for (size_t i = 0; i < b->nali; i++) {
		free(b->ali[i].source);
		import_list_free(&b->ali[i].targets);
	}
	for (size_t i = 0; i < b->ndom; i++)
		free(b->dom[i].name);
	for (size_t i = 0; i < b->ncon; i++)
		free(b->con[i].what);
	free(b->acc);
	free(b->ali);
	free(b->dom);
	free(b->con);
	memset(b, 0, sizeof(*b));
}

/* ---- reading a file ---- */

static const struct {
	const char *name;
	int (*read)(struct import_batch *, const char *, const char *, size_t,
	    char *, size_t);
} import_formats[] = {
	{ "postfix-virtual", import_postfix },
	{ "dovecot-passwd", import_dovecot },
	{ "csv", import_csv },
};

#define IMPORT_NFORMATS (sizeof(import_formats) / sizeof(import_formats[0]))

int
import_format_known(const char *format)
{
	for (size_t i = 0; i < IMPORT_NFORMATS; i++)
		if (strcmp(format, import_formats[i].name) == 0)
			return 1;
	return 0;
}

/* The whole of path into *data_r (NUL-terminated, *len_r bytes). */
static int
import_slurp(const char *path, char **data_r, size_t *len_r, char *err,
    size_t errlen)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= IMPORT_FILE_MAX) {
				snprintf(err, errlen, "%s: larger than %u "
				    "bytes", path, IMPORT_FILE_MAX);
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			data = xreallocarray(data, cap + 1, 1);
		}
		if ((n = read(fd, data + len, cap - len)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data = data != NULL ? data : xcalloc(1, 1);
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return 0;
fail:
	close(fd);
	free(data);
	return -1;
}

/* The line a NUL byte is on, counting from 1. */
static unsigned long
import_line_of(const char *data, size_t pos)
{
	unsigned long line = 1;

	for (size_t i = 0; i < pos; i++)
		line += data[i] == '\n';
	return line;
}

int
import_read_file(struct import_batch *b, const char *format,
    const char *path, char *err, size_t errlen)
{
	char *data;
	size_t len, nul;
	int rc = -1;

	for (size_t i = 0; i < IMPORT_NFORMATS; i++) {
		if (strcmp(format, import_formats[i].name) != 0)
			continue;
		if (import_slurp(path, &data, &len, err, errlen) < 0)
			return -1;
		if ((nul = strlen(data)) < len)
			snprintf(err, errlen, "%s:%lu: a NUL byte: not a text "
			    "file", path, import_line_of(data, nul));
		else
			rc = import_formats[i].read(b, path, data, len, err,
			    errlen);
		free(data);
		return rc;
	}
	snprintf(err, errlen, "unknown format '%s'", format);
	return -1;
}

const char *
import_next_line(const char *data, size_t len, size_t *pos, size_t *n)
{
	const char *start = data + *pos;
	size_t end = *pos;

	while (end < len && data[end] != '\n')
		end++;
	*n = end - *pos;
	if (*n > 0 && start[*n - 1] == '\r')
		(*n)--;
	*pos = end + 1;
	return start;
}
