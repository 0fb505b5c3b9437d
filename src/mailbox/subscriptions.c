/*
 * Adds to Dovecot's subscriptions file.  What it trusts: the file's lines
 * are names Dovecot wrote (they are kept as they are, bounded in size);
 * the names to add come from the sync's own state and are checked for
 * control bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailbox/subscriptions.h"
#include "util/buf.h"
#include "util/durable.h"

/* How long to wait for Dovecot to let go of the lock: it holds it for the
 * time of one small write. */
#define SUBS_LOCK_TRIES 200
#define SUBS_LOCK_PAUSE_NS (50 * 1000 * 1000L)

/* Takes the lock: the lock file, created exclusively.  Its fd, or -1. */
static int
subs_lock(const char *lock)
{
	struct timespec pause = { 0, SUBS_LOCK_PAUSE_NS };

	for (int i = 0; i < SUBS_LOCK_TRIES; i++) {
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);

		if (fd >= 0 || errno != EEXIST)
			return fd;
		nanosleep(&pause, NULL);
	}
	errno = EWOULDBLOCK;
	return -1;
}

/* The current list into b, with the version header whatever the file had
 * (a version 1 file is plain names, the same lines).  0, or -1. */
static int
subs_read(const char *path, struct buf *b)
{
	char line[SUBS_NAME_MAX + 2];
	FILE *f = fopen(path, "re");
	int first = 1;

	if (buf_append(b, "V\t2\n\n", 5) < 0) {
		errno = EFBIG;
		return -1;
	}
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\n");

		if (first && strncmp(line, "V\t", 2) == 0) {
			first = 0;
			continue;               /* the header, written above */
		}
		first = 0;
		if (len == 0)
			continue;
		line[len] = '\0';
		if (buf_appendf(b, "%s\n", line) < 0) {
			fclose(f);
			errno = EFBIG;
			return -1;
		}
	}
	fclose(f);
	return 0;
}

/* 1 if b's lines after the header hold name. */
static int
subs_has(const struct buf *b, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = b->data; (p = strstr(p, name)) != NULL; p++)
		if (p > b->data && p[-1] == '\n' && p[n] == '\n')
			return 1;
	return 0;
}

static int
subs_name_ok(const char *name)
{
	if (*name == '\0' || strlen(name) > SUBS_NAME_MAX)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

/* Writes b into the lock file and renames it over the list. */
static int
subs_commit(int fd, const char *lock, const char *path, const char *maildir,
    const struct buf *b)
{
	if (durable_write_all(fd, b->data, b->len) < 0 || fsync(fd) < 0 ||
	    rename(lock, path) < 0)
		return -1;
	return durable_fsync_dir(maildir);
}

int
subs_add(const char *maildir, const char *const *names, size_t n, char *err,
    size_t errlen)
{
	char path[4096], lock[4200];
	struct buf b;
	size_t added = 0;
	int fd, rc = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/subscriptions", maildir) >=
	    sizeof(path)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	snprintf(lock, sizeof(lock), "%s.lock", path);
	if ((fd = subs_lock(lock)) < 0) {
		snprintf(err, errlen, "cannot lock %s: %s", lock,
		    strerror(errno));
		return -1;
	}
	buf_init(&b, SUBS_FILE_MAX);
	if (subs_read(path, &b) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!subs_name_ok(names[i]) || subs_has(&b, names[i]))
			continue;
		if (buf_appendf(&b, "%s\n", names[i]) < 0) {
			snprintf(err, errlen, "%s: too many subscriptions", path);
			goto out;
		}
		added++;
	}
	if (added == 0) {
		rc = 0;
		goto out;
	}
	if (subs_commit(fd, lock, path, maildir, &b) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		goto out;
	}
	close(fd);
	buf_free(&b);
	return 0;
out:
	close(fd);
	(void)unlink(lock);
	buf_free(&b);
	return rc;
}
