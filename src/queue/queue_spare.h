/*
 * Spare queue files.  A message that leaves the queue is not unlinked:
 * its file moves to queue/spare, and smtpd takes it for a later message,
 * writes over it and cuts it to the new length, instead of creating a
 * file.  On ext4 without a journal, creating a file makes the kernel step
 * over every inode freed in the last half minute, and freeing the blocks
 * of one file to allocate them again for the next costs as much; at a few
 * thousand messages a second the two were the largest costs of relaying.
 * Files larger than QUEUE_SPARE_SIZE_MAX are unlinked, so the spares hold
 * at most QUEUE_SPARE_KEEP times that.  A spare is never a message: a
 * crash at any point costs at most the spare, and master empties
 * queue/spare at start.
 */
#ifndef TERN_QUEUE_SPARE_H
#define TERN_QUEUE_SPARE_H

#include <limits.h>

#include "queue/queue_file.h"

#define QUEUE_SPARE_RING 512    /* names smtpd holds between scans */
#define QUEUE_SPARE_KEEP 1024   /* more than this in queue/spare: trimmed */
#define QUEUE_SPARE_SIZE_MAX (64 * 1024)        /* larger files: unlinked */
#define QUEUE_SPARE_SKIP 16     /* takes after finding queue/spare empty */

struct queue_spares {
	char dir[PATH_MAX];
	char names[QUEUE_SPARE_RING][QUEUE_ID_BUF];
	size_t n;
	unsigned skip;          /* takes before an empty queue/spare is read again */
};

void queue_spares_init(struct queue_spares *sp, const char *queue_dir);
/* Moves a spare to path and opens it for writing from its start; the
 * caller writes over it and cuts it to length (ftruncate).  -1 when there
 * is none: the caller creates the file as before. */
int queue_spare_take(struct queue_spares *sp, const char *path);
/* Takes queue_dir/ID out of the queue as a spare; -1 with errno (ENOENT
 * when it was not there).  Falls back to unlinking it. */
int queue_spare_keep(const char *queue_dir, const char *id);

#endif
