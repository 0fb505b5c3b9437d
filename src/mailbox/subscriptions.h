/*
 * Dovecot's list of subscribed folders in a Maildir++ mailbox
 * (MAILDIR/subscriptions: "V\t2", a blank line, then one folder a line with
 * TAB between the levels: "Work\tSub" for .Work.Sub).  Mail clients that
 * show only subscribed folders see a folder only once it is there.  Written
 * under Dovecot's own lock (MAILDIR/subscriptions.lock, created exclusively,
 * the new list written into it, renamed over the old one), so that a
 * subscription Dovecot makes at the same moment is not lost.
 */
#ifndef TERN_SUBSCRIPTIONS_H
#define TERN_SUBSCRIPTIONS_H

#include <stddef.h>

#define SUBS_NAME_MAX 1024      /* bytes of one folder name */
#define SUBS_FILE_MAX (1024 * 1024)

/* Adds names (TAB between levels) to the list unless there; the others
 * stay as they are.  0, or -1 with a one-line reason in err (the lock
 * held by someone else for long, a name with a control byte other than
 * TAB, a write error). */
int subs_add(const char *maildir, const char *const *names, size_t n,
    char *err, size_t errlen);

#endif
