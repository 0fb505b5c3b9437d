/*
 * Durable writes: what "on disk" means in tern.  A file is durable once its
 * data is fsync'd and the directory entry that names it is fsync'd too.
 */
#ifndef TERN_DURABLE_H
#define TERN_DURABLE_H

#include <stddef.h>

/* Writes all of len bytes, retrying short writes and EINTR. 0 or -1. */
int durable_write_all(int fd, const void *data, size_t len);

/* fsync of a directory, so that a rename or create inside it survives. */
int durable_fsync_dir(const char *dir);

/* Writes data to the new file tmp (O_EXCL), fsync, renames it to dir/name,
 * fsync of dir.  The temporary is removed on failure.  0 or -1 (errno). */
int durable_create(const char *tmp, const char *dir, const char *name,
    const void *data, size_t len);

/* Replaces dir/name with data: an O_EXCL temporary in dir, write, fsync,
 * rename over name, fsync of dir.  0 or -1 (errno). */
int durable_replace(const char *dir, const char *name, const void *data,
    size_t len);

/* mkdir -p with mode for every missing component. 0 or -1. */
int durable_mkdirs(const char *path, int mode);

#endif
