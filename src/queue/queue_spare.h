/*
 * Spare queue files.  A message that leaves the queue is not unlinked:
 * its file moves to queue/spare, is emptied there, and smtpd takes it for
 * a later message instead of creating a file.  On ext4 without a journal,
 * creating a file makes the kernel step over every inode freed in the
 * last half minute, and at a few thousand messages a second that search
 * was the largest single cost of relaying.  A spare is never a message:
 * a crash at any point costs at most the spare, and master empties
 * queue/spare at start.
 */
#ifndef TERN_QUEUE_SPARE_H
#define TERN_QUEUE_SPARE_H

#include <limits.h>

#include "queue/queue_file.h"

#define QUEUE_SPARE_RING 1024   /* names smtpd holds between scans */
#define QUEUE_SPARE_KEEP 4096   /* more than this in queue/spare: trimmed */
#define QUEUE_SPARE_SKIP 16     /* takes after finding queue/spare empty */

struct queue_spares {
	char dir[PATH_MAX];
	char names[QUEUE_SPARE_RING][QUEUE_ID_BUF];
	size_t n;
	unsigned skip;          /* takes before an empty queue/spare is read again */
};

void queue_spares_init(struct queue_spares *sp, const char *queue_dir);
/* Moves a spare to path and opens it, empty, for writing; -1 when there
 * is none (the caller creates the file as before). */
int queue_spare_take(struct queue_spares *sp, const char *path);
/* Takes queue_dir/ID out of the queue as a spare; -1 with errno (ENOENT
 * when it was not there).  Falls back to unlinking it. */
int queue_spare_keep(const char *queue_dir, const char *id);

#endif
