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
#include "util/xmalloc.h"

#define MAILDIR_COPY_CHUNK (64 * 1024)

struct maildir_batch {
	char **dirs;
	size_t n;
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

static void
maildir_batch_add(struct maildir_batch *batch, const char *dir)
{
	for (size_t i = 0; i < batch->n; i++)
		if (strcmp(batch->dirs[i], dir) == 0)
			return;
	batch->dirs = xreallocarray(batch->dirs, batch->n + 1, sizeof(char *));
	batch->dirs[batch->n++] = xstrdup(dir);
}

int
maildir_batch_commit(struct maildir_batch *batch)
{
	int r = 0;

	for (size_t i = 0; i < batch->n; i++) {
		if (durable_fsync_dir(batch->dirs[i]) < 0) {
			log_error("fsync %s: %s", batch->dirs[i], strerror(errno));
			r = -1;
		}
		free(batch->dirs[i]);
	}
	batch->n = 0;
	return r;
}

void
maildir_batch_free(struct maildir_batch **batchp)
{
	struct maildir_batch *batch = *batchp;

	if (batch == NULL)
		return;
	for (size_t i = 0; i < batch->n; i++)
		free(batch->dirs[i]);
	free(batch->dirs);
	free(batch);
	*batchp = NULL;
}

/* Creates MAILDIR/{tmp,new,cur} when missing. */
static int
maildir_prepare(const char *maildir)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char p[PATH_MAX];

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", maildir, sub[i]);
		if (access(p, F_OK) == 0)
			continue;
		if (durable_mkdirs(p, 0700) < 0)
			return -1;
	}
	return 0;
}

/* Copies fd from offset to its end into out, CRLF becoming LF. */
static int
copy_content(int out, int fd, off_t offset)
{
	char *in = xmalloc(MAILDIR_COPY_CHUNK), *conv = xmalloc(MAILDIR_COPY_CHUNK + 1);
	int pending_cr = 0, r = -1;

	for (;;) {
		ssize_t n = pread(fd, in, MAILDIR_COPY_CHUNK, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto done;
		if (n == 0)
			break;
		offset += n;
		size_t o = 0;
		for (ssize_t i = 0; i < n; i++) {
			if (pending_cr && in[i] != '\n')
				conv[o++] = '\r';
			pending_cr = in[i] == '\r';
			if (!pending_cr)
				conv[o++] = in[i];
		}
		if (durable_write_all(out, conv, o) < 0)
			goto done;
	}
	if (pending_cr && durable_write_all(out, "\r", 1) < 0)
		goto done;
	r = 0;
done:
	free(in);
	free(conv);
	return r;
}

static void
maildir_unique(char *name, size_t len)
{
	static unsigned counter;
	char host[256];
	struct timeval tv;

	gettimeofday(&tv, NULL);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	/* '/' and ':' have a meaning in Maildir names. */
	for (char *h = host; *h; h++)
		if (*h == '/' || *h == ':')
			*h = '_';
	snprintf(name, len, "%lld.M%06ldP%dQ%u.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (int)getpid(), ++counter, host);
}

int
maildir_deliver(const char *maildir, const char *headers, size_t hlen, int fd,
    off_t offset, struct maildir_batch *batch, char *err, size_t errlen)
{
	char name[512], tmp[PATH_MAX], dst[PATH_MAX], newdir[PATH_MAX];
	int out;

	if (maildir_prepare(maildir) < 0) {
		snprintf(err, errlen, "cannot create Maildir %s: %s", maildir,
		    strerror(errno));
		return -1;
	}
	maildir_unique(name, sizeof(name));
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", maildir, name);
	snprintf(dst, sizeof(dst), "%s/new/%s", maildir, name);
	snprintf(newdir, sizeof(newdir), "%s/new", maildir);
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (durable_write_all(out, headers, hlen) < 0 ||
	    copy_content(out, fd, offset) < 0 || fsync(out) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		close(out);
		unlink(tmp);
		return -1;
	}
	if (close(out) < 0 || rename(tmp, dst) < 0) {
		snprintf(err, errlen, "cannot move %s into new: %s", tmp,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	maildir_batch_add(batch, newdir);
	return 0;
}
