/*
 * Spare queue files: see queue_spare.h.  The queue gives (rename into
 * queue/spare); smtpd takes (rename into queue/tmp, open, write over).
 * Only smtpd takes, so a name it read from the folder is gone only if
 * master emptied the folder meanwhile, and then the rename fails
 * harmlessly.
 */
#include "queue/queue_spare.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUEUE_SPARE_SCAN_MAX (2 * QUEUE_SPARE_KEEP)   /* entries per scan */

void
queue_spares_init(struct queue_spares *sp, const char *queue_dir)
{
	memset(sp, 0, sizeof(*sp));
	snprintf(sp->dir, sizeof(sp->dir), "%s/spare", queue_dir);
}

/* Refills the ring from the folder, and trims the folder to
 * QUEUE_SPARE_KEEP names.  Returns how many names the ring holds. */
static size_t
queue_spare_scan(struct queue_spares *sp)
{
	size_t seen = 0;
	struct dirent *de;
	DIR *d;

	if (sp->skip > 0) {
		sp->skip--;
		return 0;
	}
	if ((d = opendir(sp->dir)) == NULL)
		return 0;
	while (seen < QUEUE_SPARE_SCAN_MAX && (de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue;
		seen++;
		if (sp->n < QUEUE_SPARE_RING)
			memcpy(sp->names[sp->n++], de->d_name, QUEUE_ID_BUF);
		else if (seen > QUEUE_SPARE_KEEP)
			(void)unlinkat(dirfd(d), de->d_name, 0);  /* a spare less */
	}
	closedir(d);
	/* An empty folder is read again some messages later, not at every
	 * one: spares come as fast as messages leave the queue. */
	if (sp->n == 0)
		sp->skip = QUEUE_SPARE_SKIP;
	return sp->n;
}

int
queue_spare_take(struct queue_spares *sp, const char *path)
{
	char src[PATH_MAX];
	int fd;

	while (sp->n > 0 || queue_spare_scan(sp) > 0) {
		const char *name = sp->names[--sp->n];
		if (snprintf(src, sizeof(src), "%s/%s", sp->dir, name) >= (int)sizeof(src))
			continue;
		if (rename(src, path) < 0)
			continue;
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		/* Out of the way of the caller's own O_EXCL create. */
		(void)unlink(path);
		return -1;
	}
	return -1;
}

int
queue_spare_keep(const char *queue_dir, const char *id)
{
	char path[PATH_MAX], spare[PATH_MAX];
	struct stat st;

	if (!queue_id_valid(id))
		return errno = EINVAL, -1;
	snprintf(path, sizeof(path), "%s/%s", queue_dir, id);
	snprintf(spare, sizeof(spare), "%s/spare/%s", queue_dir, id);
	if (stat(path, &st) < 0)
		return -1;
	/* Failed: no queue/spare (ENOENT too), or the file is gone, which
	 * unlink then says. */
	if (st.st_size > QUEUE_SPARE_SIZE_MAX || rename(path, spare) < 0)
		return unlink(path);
	return 0;
}
