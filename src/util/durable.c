/*
 * Durable writes (see durable.h), in the order OpenSMTPD's queue_fs uses:
 * O_EXCL temporary, write, fsync, rename, fsync of the directory.
 */
#include "util/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
durable_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
durable_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
durable_create(const char *tmp, const char *dir, const char *name,
    const void *data, size_t len)
{
	char dst[PATH_MAX];
	int fd, n, saved;

	n = snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(dst))
		return errno = ENAMETOOLONG, -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (durable_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, dst) < 0) {
		saved = errno;
		goto fail;
	}
	return durable_fsync_dir(dir);
fail:
	unlink(tmp);
	errno = saved;
	return -1;
}

int
durable_replace(const char *dir, const char *name, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return errno = ENAMETOOLONG, -1;
	/* A temporary left by a crash is ours to replace. */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -1;
	return durable_create(tmp, dir, name, data, len);
}

int
durable_mkdirs(const char *path, int mode)
{
	char p[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(p))
		return errno = ENAMETOOLONG, -1;
	memcpy(p, path, len + 1);
	for (char *s = p + 1, *parent_end = p; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) == 0) {
			/* The new folder's entry is on disk only once its
			 * parent is synced: mail delivered into it must not
			 * vanish with it in a crash. */
			char pc = *parent_end;
			*parent_end = '\0';
			int r = durable_fsync_dir(parent_end != p ? p :
			    pc == '/' ? "/" : ".");
			*parent_end = pc;
			if (r < 0)
				return -1;
		} else if (errno != EEXIST) {
			return -1;
		}
		*s = c;
		parent_end = s;
		if (c == '\0')
			break;
	}
	return 0;
}
