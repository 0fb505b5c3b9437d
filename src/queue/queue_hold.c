/*
 * The hold queue: see queue_hold.h.  Called by the tern queue commands,
 * as the server's user, while the server may run: the queue process learns
 * of a move through tern queue's signal (queue.c), or at its next scan.
 * The ids were checked by the caller and are checked again here, since
 * they name files.
 */
#include "queue/queue_hold.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/queue_file.h"
#include "util/durable.h"

void
queue_hold_dir(const char *queue_dir, char *hold_r, size_t len)
{
	snprintf(hold_r, len, "%s/%s", queue_dir, QUEUE_HOLD_SUBDIR);
}

int
queue_hold_has(const char *queue_dir, const char *id)
{
	char path[PATH_MAX];
	struct stat st;

	if (!queue_id_valid(id))
		return errno = EINVAL, -1;
	snprintf(path, sizeof(path), "%s/%s/%s", queue_dir, QUEUE_HOLD_SUBDIR, id);
	if (stat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* Renames from/NAME to to/NAME; a missing source is no error when
 * optional (a message never tried has no state). */
static int
queue_hold_rename(const char *from, const char *to, const char *name,
    int optional)
{
	char src[PATH_MAX], dst[PATH_MAX];

	snprintf(src, sizeof(src), "%s/%s", from, name);
	snprintf(dst, sizeof(dst), "%s/%s", to, name);
	if (rename(src, dst) == 0)
		return 0;
	return optional && errno == ENOENT ? 0 : -1;
}

/* The message, then its state (hold), or the state, then the message
 * (release): see queue_hold.h for why. */
static int
queue_hold_move(const char *from, const char *to, const char *id,
    int state_first)
{
	char state[QUEUE_ID_BUF + 8], path[PATH_MAX];
	struct stat st;

	if (!queue_id_valid(id))
		return errno = EINVAL, -1;
	snprintf(state, sizeof(state), "%s.state", id);
	if (state_first) {
		/* Only a message that is there takes its state along. */
		snprintf(path, sizeof(path), "%s/%s", from, id);
		if (stat(path, &st) < 0 ||
		    queue_hold_rename(from, to, state, 1) < 0 ||
		    queue_hold_rename(from, to, id, 0) < 0)
			return -1;
	} else if (queue_hold_rename(from, to, id, 0) < 0 ||
	    queue_hold_rename(from, to, state, 1) < 0) {
		return -1;
	}
	if (durable_fsync_dir(to) < 0 || durable_fsync_dir(from) < 0)
		return -1;
	return 0;
}

int
queue_hold_put(const char *queue_dir, const char *id)
{
	char hold[PATH_MAX];

	queue_hold_dir(queue_dir, hold, sizeof(hold));
	return queue_hold_move(queue_dir, hold, id, 0);
}

int
queue_hold_release(const char *queue_dir, const char *id)
{
	char hold[PATH_MAX];

	queue_hold_dir(queue_dir, hold, sizeof(hold));
	return queue_hold_move(hold, queue_dir, id, 1);
}

int
queue_hold_remove(const char *queue_dir, const char *id)
{
	char path[PATH_MAX];

	if (!queue_id_valid(id))
		return errno = EINVAL, -1;
	snprintf(path, sizeof(path), "%s/%s/%s.state", queue_dir,
	    QUEUE_HOLD_SUBDIR, id);
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/%s", queue_dir, QUEUE_HOLD_SUBDIR, id);
	return unlink(path);
}
