/*
 * dovecot-keywords and subscriptions, changed under Dovecot's dotlock:
 * see maildir_meta.h.  The files are read with a bound (MDMETA_FILE_MAX);
 * their content is checked line by line, as from any foreign tree.
 */
#include "mailbox/maildir_meta.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/durable.h"

#define MDMETA_FILE_MAX (256 * 1024)
#define MDMETA_LOCK_TRIES 1000          /* of 10 ms: at most 10 s */
#define MDMETA_LOCK_STALE 120           /* seconds */
#define MDMETA_SUBS_HEADER "V\t2\n\n"

/* What an edit makes of the file's old content (old_len 0: no file). */
typedef int mdmeta_edit_fn(const char *old, size_t old_len, struct buf *out,
    void *arg);

/* Reads path (relative to dirfd) into b, up to b's bound; a missing file
 * is empty. */
static int
mdmeta_read(int dirfd, const char *path, struct buf *b)
{
	char chunk[4096];
	ssize_t n;
	int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_append(b, chunk, (size_t)n) < 0) {
			if (n >= 0)
				errno = EFBIG;
			close(fd);
			return -1;
		}
	}
	return close(fd);
}

/* 1 if the lock is older than MDMETA_LOCK_STALE: its holder died (Dovecot
 * too takes over such a lock). */
static int
mdmeta_lock_stale(const char *lock)
{
	struct stat st;

	return lstat(lock, &st) == 0 &&
	    time(NULL) - st.st_mtime > MDMETA_LOCK_STALE;
}

/* Dovecot's dotlock: FILE.lock, created exclusively; waits a bounded
 * while for another holder (Dovecot holds it for milliseconds). */
static int
mdmeta_lock(const char *lock)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < MDMETA_LOCK_TRIES; i++) {
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
		if (mdmeta_lock_stale(lock) && unlink(lock) == 0)
			continue;
		nanosleep(&pause, NULL);
	}
	errno = EWOULDBLOCK;
	return -1;
}

/* Reads dir/name under its lock, lets edit write the new content, and
 * puts it in place (write into the lock, fsync, rename, fsync of dir). */
static int
mdmeta_update(const char *dir, const char *name, mdmeta_edit_fn *edit,
    void *arg)
{
	char path[PATH_MAX], lock[PATH_MAX];
	struct buf old, out;
	int fd, r = -1, saved;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path) ||
	    snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock))
		return errno = ENAMETOOLONG, -1;
	if ((fd = mdmeta_lock(lock)) < 0)
		return -1;
	buf_init(&old, MDMETA_FILE_MAX);
	buf_init(&out, MDMETA_FILE_MAX);
	if (mdmeta_read(AT_FDCWD, path, &old) < 0 ||
	    (r = edit(old.data, old.len, &out, arg)) < 0)
		goto fail;
	if (r == 0 && (durable_write_all(fd, out.data, out.len) < 0 ||
	    fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	/* r > 0: nothing to change; the lock goes without a rename. */
	if (r > 0 ? unlink(lock) < 0 :
	    rename(lock, path) < 0 || durable_fsync_dir(dir) < 0)
		goto fail;
	buf_free(&old);
	buf_free(&out);
	return r > 0 ? 1 : 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(lock);
	buf_free(&old);
	buf_free(&out);
	errno = saved;
	return -1;
}

/* ---- dovecot-keywords ---- */

/* A keyword is an IMAP atom that is not a system flag. */
static int
mdmeta_keyword_ok(const char *s, size_t len)
{
	if (len == 0 || len > MDMETA_KEYWORD_MAX || s[0] == '\\')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return 0;
	}
	return 1;
}

/* One "N NAME" line (len bytes, no newline) into kw. */
static void
mdmeta_keywords_line(const char *line, size_t len, struct mdmeta_keywords *kw)
{
	size_t i = 0;
	unsigned idx = 0;

	while (i < len && i < 3 && line[i] >= '0' && line[i] <= '9')
		idx = idx * 10 + (unsigned)(line[i++] - '0');
	if (i == 0 || i >= len || line[i] != ' ' || idx >= MDMETA_KEYWORDS)
		return;
	i++;
	if (!mdmeta_keyword_ok(line + i, len - i))
		return;
	memcpy(kw->name[idx], line + i, len - i);
	kw->name[idx][len - i] = '\0';
}

void
mdmeta_keywords_parse(const char *text, size_t len, struct mdmeta_keywords *kw)
{
	memset(kw, 0, sizeof(*kw));
	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t llen = nl != NULL ? (size_t)(nl - text) : len;
		mdmeta_keywords_line(text, llen, kw);
		if (nl == NULL)
			break;
		len -= llen + 1;
		text = nl + 1;
	}
}

int
mdmeta_keywords_read(int dirfd, struct mdmeta_keywords *kw)
{
	struct buf b;
	int r;

	memset(kw, 0, sizeof(*kw));
	buf_init(&b, MDMETA_FILE_MAX);
	if ((r = mdmeta_read(dirfd, "dovecot-keywords", &b)) == 0)
		mdmeta_keywords_parse(b.data, b.len, kw);
	buf_free(&b);
	return r;
}

struct mdmeta_merge {
	const struct mdmeta_keywords *src;
	unsigned used;
	char *map;
	unsigned dropped;
};

/* The target letter for name in kw, taking a free one if it has none;
 * 0 when all are taken.  *added_r is set when kw changed. */
static char
mdmeta_keyword_letter(struct mdmeta_keywords *kw, const char *name,
    int *added_r)
{
	int free_idx = -1;

	for (int i = 0; i < MDMETA_KEYWORDS; i++) {
		if (strcmp(kw->name[i], name) == 0)
			return (char)('a' + i);
		if (kw->name[i][0] == '\0' && free_idx < 0)
			free_idx = i;
	}
	if (free_idx < 0)
		return 0;
	memcpy(kw->name[free_idx], name, strlen(name) + 1);
	*added_r = 1;
	return (char)('a' + free_idx);
}

static int
mdmeta_merge_edit(const char *old, size_t old_len, struct buf *out, void *arg)
{
	struct mdmeta_merge *m = arg;
	struct mdmeta_keywords kw;
	int added = 0;

	mdmeta_keywords_parse(old, old_len, &kw);
	for (int i = 0; i < MDMETA_KEYWORDS; i++) {
		if (!(m->used & (1u << i)))
			continue;
		m->map[i] = m->src->name[i][0] == '\0' ? 0 :
		    mdmeta_keyword_letter(&kw, m->src->name[i], &added);
		if (m->map[i] == 0)
			m->dropped++;
	}
	if (!added)
		return 1;
	for (int i = 0; i < MDMETA_KEYWORDS; i++)
		if (kw.name[i][0] != '\0' &&
		    buf_appendf(out, "%d %s\n", i, kw.name[i]) < 0)
			return errno = EFBIG, -1;
	return 0;
}

int
mdmeta_keywords_merge(const char *folder, const struct mdmeta_keywords *src,
    unsigned used, char map_r[MDMETA_KEYWORDS], unsigned *dropped_r)
{
	struct mdmeta_merge m = { src, used, map_r, 0 };

	memset(map_r, 0, MDMETA_KEYWORDS);
	*dropped_r = 0;
	if (used == 0)
		return 0;
	if (mdmeta_update(folder, "dovecot-keywords", mdmeta_merge_edit,
	    &m) < 0)
		return -1;
	*dropped_r = m.dropped;
	return 0;
}

/* ---- subscriptions ---- */

struct mdmeta_subs {
	char *const *names;
	size_t n;
	int old_format;
};

/* 1 if the line name is in text (a list of lines). */
static int
mdmeta_has_line(const char *text, size_t len, const char *name)
{
	size_t nlen = strlen(name);

	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t llen = nl != NULL ? (size_t)(nl - text) : len;
		if (llen == nlen && memcmp(text, name, nlen) == 0)
			return 1;
		if (nl == NULL)
			break;
		len -= llen + 1;
		text = nl + 1;
	}
	return 0;
}

static int
mdmeta_subs_edit(const char *old, size_t old_len, struct buf *out, void *arg)
{
	struct mdmeta_subs *s = arg;
	size_t hlen = strlen(MDMETA_SUBS_HEADER);
	int added = 0;

	if (old_len > 0 && (old_len < hlen ||
	    memcmp(old, MDMETA_SUBS_HEADER, hlen) != 0)) {
		s->old_format = 1;
		return 1;
	}
	if (old_len == 0 ? buf_append(out, MDMETA_SUBS_HEADER, hlen) < 0 :
	    buf_append(out, old, old_len) < 0)
		return errno = EFBIG, -1;
	if (out->len > hlen && out->data[out->len - 1] != '\n' &&
	    buf_append(out, "\n", 1) < 0)
		return errno = EFBIG, -1;
	for (size_t i = 0; i < s->n; i++) {
		if (mdmeta_has_line(out->data + hlen, out->len - hlen,
		    s->names[i]))
			continue;
		if (buf_appendf(out, "%s\n", s->names[i]) < 0)
			return errno = EFBIG, -1;
		added = 1;
	}
	return added ? 0 : 1;
}

int
mdmeta_subscribe(const char *maildir, char *const *names, size_t n)
{
	struct mdmeta_subs s = { names, n, 0 };

	if (n == 0)
		return 0;
	if (mdmeta_update(maildir, "subscriptions", mdmeta_subs_edit, &s) < 0)
		return -1;
	return s.old_format;
}
