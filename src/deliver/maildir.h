/*
 * Maildir delivery (state_dir/mail/DOMAIN/LOCAL/{tmp,new,cur}): the copy is
 * written into tmp; the caller then commits a batch, which fsyncs every
 * copy (several side by side, on threads of the batch), renames each into
 * new, and fsyncs each new/ folder once however many copies landed in it.
 * A copy counts as delivered only after its batch committed.
 */
#ifndef TERN_MAILDIR_H
#define TERN_MAILDIR_H

#include <stddef.h>
#include <sys/types.h>

/* The Maildir folder of a mailbox address: state_dir/mail/DOMAIN/LOCAL,
 * with the address folded to lower case and any byte that is not safe in
 * a file name ('/', a leading '.', controls, non-ASCII) written as %XX.
 * 0, or -1 if it does not fit. */
int maildir_path(const char *state_dir, const char *mailbox, char *out,
    size_t outlen);

struct maildir_batch;

struct maildir_batch *maildir_batch_new(void);
/* Syncs every copy delivered since the last commit, moves it into new/,
 * and fsyncs each new/ folder; sets each copy's *ok_r, which alone says
 * whether that copy is delivered.  -1 when a new/ folder could not be
 * synced, else 0. */
int maildir_batch_commit(struct maildir_batch *batch);
void maildir_batch_free(struct maildir_batch **batch);

/* Writes a copy into tmp/: headers (LF line ends) followed by the content
 * of fd from offset to end (the file's size), its CRLF line ends turned
 * into LF as Maildir readers expect.  0, or -1 with a reason in err.  The
 * copy is delivered only once the batch commits, which sets *ok_r to 1
 * (0 until then, or if it failed); ok_r must stay valid until then. */
int maildir_deliver(const char *maildir, const char *headers, size_t hlen,
    int fd, off_t offset, off_t end, struct maildir_batch *batch, int *ok_r,
    char *err, size_t errlen);

#endif
