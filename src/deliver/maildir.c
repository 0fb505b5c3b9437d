/*
 * Maildir delivery: see maildir.h.  The mailbox address comes from the
 * directory, but its path is still built defensively (maildir_path) so that
 * no address can point outside state_dir/mail.
 */
#include "deliver/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/addr.h"
#include "util/durable.h"
#include "util/log.h"
#include "util/side_by_side.h"
#include "util/xmalloc.h"

#define MAILDIR_COPY_CHUNK (64 * 1024)
#define MAILDIR_OPEN_MAX 128    /* copies written, not yet synced, at once */
#define MAILDIR_SYNC_THREADS 4  /* fsyncs under way at once, besides the caller's */

/* A copy written into tmp/, waiting for the commit to sync and move it. */
struct maildir_copy {
	int fd;
	char tmp[PATH_MAX];
	char dst[PATH_MAX];
	int *ok_r;
	int err;                /* of its fsync or close; 0 when synced */
};

/* A copy already in new/: on disk once its folder (dirs[dir]) is synced. */
struct maildir_moved {
	size_t dir;
	int *ok_r;
};

struct maildir_batch {
	struct maildir_copy open[MAILDIR_OPEN_MAX];
	size_t nopen;
	struct maildir_moved *moved;
	size_t nmoved, moved_cap;
	char **dirs;            /* the new/ folders the moved copies are in */
	size_t n;
	struct side_by_side *syncer;    /* started at the first sync of several */
};

static int
path_safe_byte(unsigned char c, int first)
{
	if (first && c == '.')
		return 0;
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    strchr("!#$&'*+=?^_`{|}~.-", c) != NULL;
}

/* Appends s (len bytes) to out at *o, folded and escaped. */
static int
path_append_escaped(char *out, size_t outlen, size_t *o, const char *s,
    size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (path_safe_byte(c, i == 0)) {
			if (*o + 2 > outlen)
				return -1;
			out[(*o)++] = (char)c;
		} else {
			if (*o + 4 > outlen)
				return -1;
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
	out[*o] = '\0';
	return 0;
}

int
maildir_path(const char *state_dir, const char *mailbox, char *out,
    size_t outlen)
{
	const char *domain = addr_domain(mailbox);
	size_t local_len = addr_local_len(mailbox);
	int n = snprintf(out, outlen, "%s/mail/", state_dir);
	size_t o;

	if (n < 0 || (size_t)n >= outlen || *domain == '\0' || local_len == 0)
		return -1;
	o = (size_t)n;
	if (path_append_escaped(out, outlen, &o, domain, strlen(domain)) < 0 ||
	    o + 2 > outlen)
		return -1;
	out[o++] = '/';
	return path_append_escaped(out, outlen, &o, mailbox, local_len);
}

struct maildir_batch *
maildir_batch_new(void)
{
	return xcalloc(1, sizeof(struct maildir_batch));
}

/* The index of dir in the batch's folders, added if new. */
static size_t
maildir_batch_dir(struct maildir_batch *batch, const char *dir)
{
	for (size_t i = 0; i < batch->n; i++)
		if (strcmp(batch->dirs[i], dir) == 0)
			return i;
	batch->dirs = xreallocarray(batch->dirs, batch->n + 1, sizeof(char *));
	batch->dirs[batch->n] = xstrdup(dir);
	return batch->n++;
}

static void
maildir_batch_moved(struct maildir_batch *batch, const char *dst, int *ok_r)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(dst, '/');
	size_t len = slash != NULL ? (size_t)(slash - dst) : 0;

	if (batch->nmoved == batch->moved_cap) {
		batch->moved_cap = batch->moved_cap ? 2 * batch->moved_cap : 64;
		batch->moved = xreallocarray(batch->moved, batch->moved_cap,
		    sizeof(*batch->moved));
	}
	memcpy(dir, dst, len);
	dir[len] = '\0';
	batch->moved[batch->nmoved].dir = maildir_batch_dir(batch, dir);
	batch->moved[batch->nmoved++].ok_r = ok_r;
}

/* Into new/, once its data is on disk; a new/ that went missing (a
 * postmaster tidying up) is made again. */
static int
maildir_move(const struct maildir_copy *c)
{
	char newdir[PATH_MAX];
	const char *slash;

	if (rename(c->tmp, c->dst) == 0)
		return 0;
	if (errno != ENOENT || (slash = strrchr(c->dst, '/')) == NULL)
		return -1;
	snprintf(newdir, sizeof(newdir), "%.*s", (int)(slash - c->dst), c->dst);
	if (durable_mkdirs(newdir, 0700) < 0)
		return -1;
	return rename(c->tmp, c->dst);
}

static void
maildir_sync_one(struct maildir_copy *c)
{
	c->err = 0;
	if (fsync(c->fd) < 0)
		c->err = errno;
	if (close(c->fd) < 0 && c->err == 0)
		c->err = errno;
	c->fd = -1;
}

/* side_by_side_run's call: copy i of an array. */
static void
maildir_sync_item(void *copies, size_t i)
{
	maildir_sync_one(&((struct maildir_copy *)copies)[i]);
}

/* Every open copy synced (side by side when there are several), closed
 * and moved into new/.  A copy that fails is removed and its recipient
 * deferred. */
static void
maildir_batch_sync_files(struct maildir_batch *batch)
{
	if (batch->nopen > 1) {
		if (batch->syncer == NULL)
			batch->syncer = side_by_side_new(MAILDIR_SYNC_THREADS);
		side_by_side_run(batch->syncer, maildir_sync_item, batch->open,
		    batch->nopen);
	} else if (batch->nopen == 1) {
		maildir_sync_one(&batch->open[0]);
	}
	for (size_t i = 0; i < batch->nopen; i++) {
		struct maildir_copy *c = &batch->open[i];
		if (c->err == 0 && maildir_move(c) < 0)
			c->err = errno;
		if (c->err != 0) {
			log_error("cannot deliver %s: %s", c->tmp, strerror(c->err));
			unlink(c->tmp);
			*c->ok_r = 0;
			continue;
		}
		maildir_batch_moved(batch, c->dst, c->ok_r);
	}
	batch->nopen = 0;
}

int
maildir_batch_commit(struct maildir_batch *batch)
{
	int r = 0;

	maildir_batch_sync_files(batch);
	for (size_t i = 0; i < batch->n; i++) {
		int ok = durable_fsync_dir(batch->dirs[i]) == 0;
		if (!ok) {
			log_error("fsync %s: %s", batch->dirs[i], strerror(errno));
			r = -1;
		}
		for (size_t k = 0; k < batch->nmoved; k++)
			if (batch->moved[k].dir == i)
				*batch->moved[k].ok_r = ok;
		free(batch->dirs[i]);
	}
	batch->n = 0;
	batch->nmoved = 0;
	return r;
}

void
maildir_batch_free(struct maildir_batch **batchp)
{
	struct maildir_batch *batch = *batchp;

	if (batch == NULL)
		return;
	side_by_side_free(&batch->syncer);
	for (size_t i = 0; i < batch->nopen; i++) {
		close(batch->open[i].fd);
		unlink(batch->open[i].tmp);
	}
	for (size_t i = 0; i < batch->n; i++)
		free(batch->dirs[i]);
	free(batch->dirs);
	free(batch->moved);
	free(batch);
	*batchp = NULL;
}

/* Creates MAILDIR/{tmp,new,cur} when missing.  Called only when a copy
 * cannot be created in tmp/, not before every copy. */
static int
maildir_prepare(const char *maildir)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char p[PATH_MAX];

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", maildir, sub[i]);
		if (durable_mkdirs(p, 0700) < 0)
			return -1;
	}
	return 0;
}

/* Writes headers, then fd from offset to end, CRLF becoming LF, into out:
 * the headers go out with the first piece of content, in one write. */
static int
copy_content(int out, const char *headers, size_t hlen, int fd, off_t offset,
    off_t end)
{
	char *in = xmalloc(MAILDIR_COPY_CHUNK);
	char *conv = xmalloc(hlen + MAILDIR_COPY_CHUNK + 1);
	size_t o = hlen;
	int pending_cr = 0, r = -1;

	memcpy(conv, headers, hlen);
	while (offset < end) {
		ssize_t n = pread(fd, in, MAILDIR_COPY_CHUNK, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto done;
		if (n == 0) {
			/* Shorter than the queue said: not a whole copy. */
			errno = EIO;
			goto done;
		}
		offset += n;
		for (ssize_t i = 0; i < n; i++) {
			if (pending_cr && in[i] != '\n')
				conv[o++] = '\r';
			pending_cr = in[i] == '\r';
			if (!pending_cr)
				conv[o++] = in[i];
		}
		if (durable_write_all(out, conv, o) < 0)
			goto done;
		o = 0;
	}
	if (pending_cr)
		conv[o++] = '\r';
	if (o > 0 && durable_write_all(out, conv, o) < 0)
		goto done;
	r = 0;
done:
	free(in);
	free(conv);
	return r;
}

/* The host name is read once: a process that delivers thousands of copies
 * a second need not ask the kernel for it each time. */
static const char *
maildir_host(void)
{
	static char host[256];

	if (host[0] != '\0')
		return host;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	/* '/' and ':' have a meaning in Maildir names. */
	for (char *h = host; *h; h++)
		if (*h == '/' || *h == ':')
			*h = '_';
	return host;
}

static void
maildir_unique(char *name, size_t len)
{
	static unsigned counter;
	static pid_t pid;
	struct timeval tv;

	if (pid == 0)
		pid = getpid();
	gettimeofday(&tv, NULL);
	snprintf(name, len, "%lld.M%06ldP%dQ%u.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (int)pid, ++counter, maildir_host());
}

/* Creates a new copy in tmp/, making the Maildir first if it is missing. */
static int
maildir_create(const char *maildir, const char *tmp)
{
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (out < 0 && errno == ENOENT) {
		if (maildir_prepare(maildir) < 0)
			return -1;
		out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	return out;
}

int
maildir_deliver(const char *maildir, const char *headers, size_t hlen, int fd,
    off_t offset, off_t end, struct maildir_batch *batch, int *ok_r,
    char *err, size_t errlen)
{
	struct maildir_copy *c;
	char name[512];

	*ok_r = 0;
	if (batch->nopen == MAILDIR_OPEN_MAX)
		maildir_batch_sync_files(batch);
	c = &batch->open[batch->nopen];
	maildir_unique(name, sizeof(name));
	if (snprintf(c->tmp, sizeof(c->tmp), "%s/tmp/%s", maildir, name) >=
	    (int)sizeof(c->tmp) ||
	    snprintf(c->dst, sizeof(c->dst), "%s/new/%s", maildir, name) >=
	    (int)sizeof(c->dst)) {
		snprintf(err, errlen, "Maildir path too long: %s", maildir);
		return -1;
	}
	if ((c->fd = maildir_create(maildir, c->tmp)) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", c->tmp,
		    strerror(errno));
		return -1;
	}
	if (copy_content(c->fd, headers, hlen, fd, offset, end) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", c->tmp,
		    strerror(errno));
		close(c->fd);
		unlink(c->tmp);
		return -1;
	}
	c->ok_r = ok_r;
	batch->nopen++;
	return 0;
}
