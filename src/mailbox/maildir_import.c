/*
 * tern mailbox import's copying: see maildir_import.h.  The source tree is
 * not trusted: every name in it is checked (maildir_name.h) before it
 * becomes part of a path, folders and files are opened relative to their
 * parent without following symbolic links, and only regular files are
 * copied.  The target is the account's Maildir, which tern's queue and
 * Dovecot may be writing at the same time: we only ever create files there
 * (O_EXCL in tmp/, then a rename that never replaces).
 */
#include "mailbox/maildir_import.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mailbox/maildir_keys.h"
#include "mailbox/maildir_meta.h"
#include "mailbox/maildir_name.h"
#include "util/durable.h"
#include "util/xmalloc.h"

#define MDIMPORT_BATCH 256              /* copies synced together */
#define MDIMPORT_CHUNK (64 * 1024)

/* A copy written into tmp/, waiting to be synced and linked into place. */
struct mdimport_pending {
	char tmp[64];                   /* tmp/NAME */
	char rel[MDNAME_MAX + 5];       /* new/NAME or cur/NAME */
};

struct mdimport {
	char *buf;                      /* MDIMPORT_CHUNK, for copying */
	pid_t pid;                      /* for our tmp/ names */
	unsigned counter;
	struct mdimport_pending pending[MDIMPORT_BATCH];
	size_t npending;
	char *err;                      /* MDIMPORT_ERR_MAX */
};

/* A source message: its folder (new/ or cur/) and file name. */
struct mdimport_msg {
	int in_cur;
	char *name;
};

static int
mdimport_fail(struct mdimport *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
mdimport_fail(struct mdimport *im, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(im->err, MDIMPORT_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- the keys present in a target folder ---- */

/* new/ or cur/ of a folder, never through a symbolic link; NULL with
 * errno kept. */
static DIR *
mdimport_opendir(int dirfd, const char *sub)
{
	int fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC), saved;
	DIR *d;

	if (fd < 0)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return d;
}

/* Adds the messages of the target folder's SUB (new or cur). */
static int
mdimport_index_sub(struct mdimport *im, int dirfd, const char *sub,
    struct mdkeys *s)
{
	struct mdname_msg m;
	char key[MDNAME_MAX + 1], where[MDNAME_MAX + 5];
	struct dirent *de;
	DIR *d = mdimport_opendir(dirfd, sub);

	if (d == NULL) {
		return mdimport_fail(im, "cannot read %s/ of the target: %s",
		    sub, strerror(errno));
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (mdname_msg_parse(de->d_name, &m) < 0 ||
		    mdname_msg_key(m.base, key, sizeof(key)) < 0)
			continue;
		snprintf(where, sizeof(where), "%s/%s", sub, de->d_name);
		mdkeys_add(s, key, where);
	}
	if (errno != 0) {
		closedir(d);
		return mdimport_fail(im, "cannot read %s/ of the target: %s",
		    sub, strerror(errno));
	}
	closedir(d);
	return 0;
}

/* ---- the source folder's messages ---- */

static int
mdimport_msg_cmp(const void *a, const void *b)
{
	const struct mdimport_msg *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void
mdimport_msgs_free(struct mdimport_msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(msgs[i].name);
	free(msgs);
}

/* Lists new/ or cur/ of the source folder into *msgs. */
static int
mdimport_list_sub(struct mdimport *im, int dirfd, const char *folder,
    int in_cur, struct mdimport_msg **msgs, size_t *n, size_t *cap)
{
	const char *sub = in_cur ? "cur" : "new";
	struct dirent *de;
	DIR *d = mdimport_opendir(dirfd, sub);

	if (d == NULL) {
		return mdimport_fail(im, "cannot read %s/%s: %s", folder, sub,
		    strerror(errno));
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 256;
			*msgs = xreallocarray(*msgs, *cap, sizeof(**msgs));
		}
		(*msgs)[*n].in_cur = in_cur;
		(*msgs)[(*n)++].name = xstrdup(de->d_name);
	}
	if (errno != 0) {
		closedir(d);
		return mdimport_fail(im, "cannot read %s/%s: %s", folder, sub,
		    strerror(errno));
	}
	closedir(d);
	return 0;
}

/* The keyword letters the folder's messages use (bit i: 'a'+i). */
static unsigned
mdimport_used_keywords(const struct mdimport_msg *msgs, size_t n)
{
	struct mdname_msg m;
	unsigned used = 0;

	for (size_t i = 0; i < n; i++)
		if (mdname_msg_parse(msgs[i].name, &m) == 0)
			for (const char *k = m.keywords; *k; k++)
				used |= 1u << (*k - 'a');
	return used;
}

/* ---- copying ---- */

static void
mdimport_skip(struct mdimport_folder *f, const char *sub, const char *name,
    const char *why)
{
	if (f->skipped_msgs++ == 0)
		snprintf(f->first_skip, sizeof(f->first_skip), "%s: %s/%s",
		    why, sub, name);
}

/* Copies in to the new file out, keeping the source's times; the number
 * of bytes in *size_r. */
static int
mdimport_copy_data(struct mdimport *im, int in, int out, const struct stat *st,
    off_t *size_r)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	off_t size = 0;
	ssize_t n;

	while ((n = read(in, im->buf, MDIMPORT_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || durable_write_all(out, im->buf, (size_t)n) < 0)
			return -1;
		size += n;
	}
	/* Dovecot takes a message's received date from its mtime. */
	if (futimens(out, times) < 0)
		return -1;
	*size_r = size;
	return 0;
}

/* Target letters for the source's keyword letters, in order. */
static void
mdimport_map_keywords(const char *src, const char map[MDMETA_KEYWORDS],
    char *out, unsigned *dropped_r)
{
	char set[MDMETA_KEYWORDS + 1] = "";
	size_t n = 0;

	for (const char *k = src; *k; k++) {
		char c = map[*k - 'a'];
		size_t i = 0;
		if (c == 0) {
			(*dropped_r)++;
			continue;
		}
		while (i < n && set[i] < c)
			i++;
		if (i < n && set[i] == c)
			continue;
		memmove(set + i + 1, set + i, n - i + 1);
		set[i] = c;
		n++;
	}
	memcpy(out, set, n + 1);
}

/* The copy's name in the target (new/NAME or cur/NAME): the source's,
 * its keywords mapped and a wrong size field dropped.  0, or -1 if it
 * does not fit (":2," added to a name of 253 bytes). */
static int
mdimport_target_name(const struct mdname_msg *m, off_t size, int in_cur,
    const char map[MDMETA_KEYWORDS], char *rel, size_t rellen,
    unsigned *dropped_r)
{
	char base[MDNAME_MAX + 1], kw[MDMETA_KEYWORDS + 1], name[MDNAME_MAX + 1];
	unsigned dropped = 0;

	mdimport_map_keywords(m->keywords, map, kw, &dropped);
	if (mdname_msg_fix_size(m->base, size, base, sizeof(base)) < 0 ||
	    mdname_msg_name(base, m->flags, kw, m->has_info || in_cur, name,
	    sizeof(name)) < 0)
		return -1;
	snprintf(rel, rellen, "%s/%s", in_cur ? "cur" : "new", name);
	*dropped_r += dropped;
	return 0;
}

/* Writes one message into tmp/ and queues it for linking; a message
 * whose name would not fit, or that changed size while it was copied,
 * is skipped. */
static int
mdimport_write(struct mdimport *im, int in, const struct stat *st,
    int dstfd, const struct mdname_msg *m, const struct mdimport_msg *msg,
    const char map[MDMETA_KEYWORDS], struct mdimport_folder *f)
{
	struct mdimport_pending *p = &im->pending[im->npending];
	const char *sub = msg->in_cur ? "cur" : "new";
	off_t size;
	int out, saved;

	if (mdimport_target_name(m, st->st_size, msg->in_cur, map, p->rel,
	    sizeof(p->rel), &f->keywords_dropped) < 0) {
		mdimport_skip(f, sub, msg->name, "its name with flags is too "
		    "long");
		return 1;
	}
	snprintf(p->tmp, sizeof(p->tmp), "tmp/%lld.import.P%dQ%u",
	    (long long)time(NULL), (int)im->pid, ++im->counter);
	out = openat(dstfd, p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (out < 0)
		return mdimport_fail(im, "cannot create %s in the target: %s",
		    p->tmp, strerror(errno));
	if (mdimport_copy_data(im, in, out, st, &size) < 0) {
		saved = errno;
		close(out);
		unlinkat(dstfd, p->tmp, 0);
		return mdimport_fail(im, "cannot copy %s/%s of %s: %s", sub,
		    msg->name, f->name, strerror(saved));
	}
	if (close(out) < 0) {
		saved = errno;
		unlinkat(dstfd, p->tmp, 0);
		return mdimport_fail(im, "cannot write %s: %s", p->tmp,
		    strerror(saved));
	}
	if (size != st->st_size) {
		/* Being written on the source (an rsync still running):
		 * the next run takes it whole. */
		unlinkat(dstfd, p->tmp, 0);
		mdimport_skip(f, sub, msg->name, "changed while it was copied");
		return 1;
	}
	im->npending++;
	return 0;
}

/* Moves tmp to rel without replacing a file there.  0, or -1 (errno). */
static int
mdimport_place(int dstfd, const char *tmp, const char *rel)
{
	if (renameat2(dstfd, tmp, dstfd, rel, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	/* A file system without RENAME_NOREPLACE: link never replaces. */
	if (linkat(dstfd, tmp, dstfd, rel, 0) < 0)
		return -1;
	return unlinkat(dstfd, tmp, 0);
}

/* Syncs the pending copies (one syncfs for the batch) and links each into
 * place without replacing anything. */
static int
mdimport_commit(struct mdimport *im, int dstfd, struct mdimport_folder *f)
{
	int r = 0;

	if (im->npending == 0)
		return 0;
	if (syncfs(dstfd) < 0)
		r = mdimport_fail(im, "cannot sync the copies: %s",
		    strerror(errno));
	for (size_t i = 0; i < im->npending; i++) {
		struct mdimport_pending *p = &im->pending[i];
		if (r == 0 && mdimport_place(dstfd, p->tmp, p->rel) == 0) {
			f->copied++;
			continue;
		}
		if (r == 0 && errno == EEXIST)
			f->present++;   /* another import got there first */
		else if (r == 0)
			r = mdimport_fail(im, "cannot move %s to %s: %s",
			    p->tmp, p->rel, strerror(errno));
		unlinkat(dstfd, p->tmp, 0);
	}
	im->npending = 0;
	return r;
}

/* fsync of the folder sub of dirfd. */
static int
mdimport_fsync_sub(int dirfd, const char *sub)
{
	int fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	if (close(fd) < 0)
		r = -1;
	return r;
}

/* Present (1), a different message under that name (0), or absent. */
static int
mdimport_present(int dstfd, const struct mdkeys *s, const char *key,
    const struct stat *st)
{
	const char *where = mdkeys_find(s, key);
	struct stat have;

	if (where == NULL)
		return -1;
	/* Gone or renamed meanwhile (Dovecot moving it to cur/): still
	 * the same message. */
	if (fstatat(dstfd, where, &have, AT_SYMLINK_NOFOLLOW) < 0)
		return 1;
	return have.st_size == st->st_size;
}

/* Copies one source message unless present. */
static int
mdimport_one(struct mdimport *im, int srcfd, int dstfd,
    const struct mdimport_msg *msg, struct mdkeys *s,
    const char map[MDMETA_KEYWORDS], struct mdimport_folder *f)
{
	const char *sub = msg->in_cur ? "cur" : "new";
	char path[MDNAME_MAX + 5], key[MDNAME_MAX + 1];
	struct mdname_msg m;
	struct stat st;
	int in, r;

	if (mdname_msg_parse(msg->name, &m) < 0 ||
	    mdname_msg_key(m.base, key, sizeof(key)) < 0) {
		mdimport_skip(f, sub, msg->name, "not a message file name");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", sub, msg->name);
	in = openat(srcfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0 && (errno == ENOENT || errno == ELOOP)) {
		mdimport_skip(f, sub, msg->name, errno == ENOENT ?
		    "gone while importing" : "a symbolic link");
		return 0;
	}
	if (in < 0)
		return mdimport_fail(im, "cannot read %s/%s of %s: %s", sub,
		    msg->name, f->name, strerror(errno));
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(in);
		mdimport_skip(f, sub, msg->name, "not a regular file");
		return 0;
	}
	switch (mdimport_present(dstfd, s, key, &st)) {
	case 1:
		f->present++;
		close(in);
		return 0;
	case 0:
		mdimport_skip(f, sub, msg->name, "its name is taken by "
		    "a different message");
		close(in);
		return 0;
	}
	if (im->npending == MDIMPORT_BATCH &&
	    mdimport_commit(im, dstfd, f) < 0) {
		close(in);
		return -1;
	}
	r = mdimport_write(im, in, &st, dstfd, &m, msg, map, f);
	close(in);
	if (r == 0)
		mdkeys_add(s, key, im->pending[im->npending - 1].rel);
	return r < 0 ? -1 : 0;
}

/* ---- folders ---- */

/* Creates the target folder (cur, new, tmp; a subfolder also gets the
 * empty maildirfolder file that Maildir++ writers expect) and opens it. */
static int
mdimport_target_folder(struct mdimport *im, const char *dst, const char *name,
    char *path, size_t pathlen)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	char p[PATH_MAX];
	int fd;

	if (snprintf(path, pathlen, "%s%s%s", dst, name ? "/" : "",
	    name ? name : "") >= (int)pathlen)
		return mdimport_fail(im, "target path too long: %s", dst);
	for (size_t i = 0; i < 3; i++) {
		if (snprintf(p, sizeof(p), "%s/%s", path, sub[i]) >=
		    (int)sizeof(p) || durable_mkdirs(p, 0700) < 0)
			return mdimport_fail(im, "cannot create %s: %s", p,
			    strerror(errno));
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return mdimport_fail(im, "cannot open %s: %s", path,
		    strerror(errno));
	if (name != NULL) {
		int mf = openat(fd, "maildirfolder", O_WRONLY | O_CREAT |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (mf < 0 || close(mf) < 0) {
			close(fd);
			return mdimport_fail(im, "cannot create %s/maildirfolder: "
			    "%s", path, strerror(errno));
		}
	}
	return fd;
}

/* The map from source keyword letters to the target folder's. */
static int
mdimport_keywords(struct mdimport *im, int srcfd, const char *dstpath,
    unsigned used, char map[MDMETA_KEYWORDS], struct mdimport_folder *f)
{
	struct mdmeta_keywords kw;
	unsigned letters_dropped;       /* counted per message instead */

	memset(map, 0, MDMETA_KEYWORDS);
	if (used == 0)
		return 0;
	if (mdmeta_keywords_read(srcfd, &kw) < 0)
		return mdimport_fail(im, "cannot read the dovecot-keywords of "
		    "%s: %s", f->name, strerror(errno));
	if (mdmeta_keywords_merge(dstpath, &kw, used, map,
	    &letters_dropped) < 0)
		return mdimport_fail(im, "cannot update %s/dovecot-keywords: %s",
		    dstpath, strerror(errno));
	return 0;
}

/* Copies the folder open as srcfd into the target folder name (NULL:
 * the INBOX). */
static int
mdimport_folder_copy(struct mdimport *im, int srcfd, const char *dst,
    const char *name, struct mdimport_folder *f)
{
	struct mdimport_msg *msgs = NULL;
	size_t n = 0, cap = 0;
	struct mdkeys s = { NULL, 0, 0, { 0, 0 } };
	char dstpath[PATH_MAX], map[MDMETA_KEYWORDS];
	int dstfd = -1, r = -1;

	if (mdimport_list_sub(im, srcfd, f->name, 0, &msgs, &n, &cap) < 0 ||
	    mdimport_list_sub(im, srcfd, f->name, 1, &msgs, &n, &cap) < 0)
		goto done;
	if (n > 1)
		qsort(msgs, n, sizeof(*msgs), mdimport_msg_cmp);
	if ((dstfd = mdimport_target_folder(im, dst, name, dstpath,
	    sizeof(dstpath))) < 0)
		goto done;
	if (mdimport_keywords(im, srcfd, dstpath,
	    mdimport_used_keywords(msgs, n), map, f) < 0)
		goto done;
	mdkeys_init(&s);
	if (mdimport_index_sub(im, dstfd, "new", &s) < 0 ||
	    mdimport_index_sub(im, dstfd, "cur", &s) < 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (mdimport_one(im, srcfd, dstfd, &msgs[i], &s, map, f) < 0)
			goto done;
	if (mdimport_commit(im, dstfd, f) < 0)
		goto done;
	r = 0;
	/* The links into new/ and cur/ survive a crash once their
	 * folders are synced; only then is the copy whole. */
	if (f->copied > 0 && (mdimport_fsync_sub(dstfd, "new") < 0 ||
	    mdimport_fsync_sub(dstfd, "cur") < 0))
		r = mdimport_fail(im, "cannot sync %s: %s", dstpath,
		    strerror(errno));
done:
	if (r < 0 && dstfd >= 0) {
		for (size_t i = 0; i < im->npending; i++)
			unlinkat(dstfd, im->pending[i].tmp, 0);
		im->npending = 0;
	}
	if (dstfd >= 0)
		close(dstfd);
	mdkeys_free(&s);
	mdimport_msgs_free(msgs, n);
	return r;
}

/* 1 if the folder open as fd has cur/ and new/ folders. */
static int
mdimport_is_maildir(int fd)
{
	struct stat cur, new;

	return fstatat(fd, "cur", &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(fd, "new", &new, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(cur.st_mode) && S_ISDIR(new.st_mode);
}

static int
mdimport_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 if the root's entry name is a folder, or a symbolic link to one
 * (reported as skipped; a link to a file, such as Pigeonhole's
 * .dovecot.sieve, is not a folder at all). */
static int
mdimport_folder_like(int rootfd, const char *name)
{
	struct stat st;

	if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISLNK(st.st_mode) && fstatat(rootfd, name, &st, 0) < 0)
		return 0;
	return S_ISDIR(st.st_mode);
}

/* The entries of the source's root that look like Maildir++ folders
 * (a leading '.', a folder or a link to one), sorted. */
static int
mdimport_list_folders(struct mdimport *im, int rootfd, char ***names_r,
    size_t *n_r)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int fd = dup(rootfd);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return mdimport_fail(im, "cannot read the source: %s",
		    strerror(errno));
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    !mdimport_folder_like(rootfd, de->d_name))
			continue;
		names = xreallocarray(names, n + 1, sizeof(char *));
		names[n++] = xstrdup(de->d_name);
	}
	if (errno != 0) {
		int saved = errno;
		closedir(d);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return mdimport_fail(im, "cannot read the source: %s",
		    strerror(saved));
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(char *), mdimport_name_cmp);
	*names_r = names;
	*n_r = n;
	return 0;
}

/* Why the source entry name cannot be imported as a folder, or NULL with
 * *fd_r open on it. */
static const char *
mdimport_folder_open(int rootfd, const char *name, int *fd_r)
{
	struct stat st;
	int fd;

	*fd_r = -1;
	if (!mdname_folder_ok(name))
		return "not a Maildir++ folder name";
	if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return "a symbolic link";
	fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES ? "not readable" : "cannot be opened";
	if (!mdimport_is_maildir(fd)) {
		close(fd);
		return "not a Maildir folder (no cur/ and new/)";
	}
	*fd_r = fd;
	return NULL;
}

static void
mdimport_add(struct mdimport_totals *t, const struct mdimport_folder *f)
{
	if (f->skipped != NULL) {
		t->skipped_folders++;
		return;
	}
	t->folders++;
	t->copied += f->copied;
	t->present += f->present;
	t->skipped_msgs += f->skipped_msgs;
}

/* Imports every subfolder; the names of those imported go to *subs for
 * the subscriptions file. */
static int
mdimport_subfolders(struct mdimport *im, int rootfd, const char *dst,
    mdimport_report_fn *report, void *arg, struct mdimport_totals *t,
    char ***subs, size_t *nsubs)
{
	char **names = NULL, sub[MDNAME_MAX + 1];
	size_t n = 0;
	int r = 0;

	if (mdimport_list_folders(im, rootfd, &names, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct mdimport_folder f;
		int fd;

		memset(&f, 0, sizeof(f));
		f.name = names[i];
		f.skipped = mdimport_folder_open(rootfd, names[i], &fd);
		if (f.skipped == NULL) {
			r = mdimport_folder_copy(im, fd, dst, names[i], &f);
			close(fd);
			if (r == 0 && mdname_folder_subscription(names[i], sub,
			    sizeof(sub)) == 0) {
				*subs = xreallocarray(*subs, *nsubs + 1,
				    sizeof(char *));
				(*subs)[(*nsubs)++] = xstrdup(sub);
			}
		}
		if (r == 0) {
			mdimport_add(t, &f);
			report(arg, &f);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int
mdimport_run(const char *src, const char *dst, mdimport_report_fn *report,
    void *arg, struct mdimport_totals *t, char err[MDIMPORT_ERR_MAX])
{
	struct mdimport im = { .err = err, .pid = getpid() };
	struct mdimport_folder inbox;
	char **subs = NULL;
	size_t nsubs = 0;
	int rootfd, r = -1, subscribed;

	memset(t, 0, sizeof(*t));
	rootfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return mdimport_fail(&im, "cannot open %s: %s", src,
		    strerror(errno));
	if (!mdimport_is_maildir(rootfd)) {
		close(rootfd);
		return mdimport_fail(&im, "%s is not a Maildir (no cur/ and "
		    "new/ folders)", src);
	}
	im.buf = xmalloc(MDIMPORT_CHUNK);
	memset(&inbox, 0, sizeof(inbox));
	inbox.name = "INBOX";
	if (mdimport_folder_copy(&im, rootfd, dst, NULL, &inbox) < 0)
		goto done;
	mdimport_add(t, &inbox);
	report(arg, &inbox);
	if (mdimport_subfolders(&im, rootfd, dst, report, arg, t, &subs,
	    &nsubs) < 0)
		goto done;
	if ((subscribed = mdmeta_subscribe(dst, subs, nsubs)) < 0) {
		mdimport_fail(&im, "cannot update %s/subscriptions: %s", dst,
		    strerror(errno));
		goto done;
	}
	t->subscriptions_old = subscribed == 1;
	r = 0;
done:
	for (size_t i = 0; i < nsubs; i++)
		free(subs[i]);
	free(subs);
	free(im.buf);
	close(rootfd);
	return r;
}
