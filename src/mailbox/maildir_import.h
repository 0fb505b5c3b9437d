/*
 * Copying a Maildir++ tree (a copy of another server's mailbox, as rsync
 * leaves it) into an account's Maildir: folders, flags, keywords and
 * received dates kept, messages already present left alone.
 *
 * "Already present" means the same message file of the old server: a
 * Maildir file name is unique by construction and rsync keeps it, so a
 * message counts as present in a target folder when a file there (in new/
 * or cur/, whatever its flags) has the same base name, the part before
 * ':' without its ",S=" and ",W=" size fields.  Content is not compared: a
 * message tern delivered, however alike, has a name of tern's own and is
 * never mistaken for an imported one; two files of the source with the
 * same content are two messages and both are copied.  A name that is
 * present with a different size is a different message: it is skipped
 * and reported, never copied under a second name.
 *
 * Safe beside a running tern and Dovecot: each copy is written under a
 * name of its own in the folder's tmp/, synced, and linked into new/ or
 * cur/ without ever replacing a file; nothing in the target is opened but
 * our own copies and the two dotlocked files of maildir_meta.h.
 */
#ifndef TERN_MAILDIR_IMPORT_H
#define TERN_MAILDIR_IMPORT_H

#include <stddef.h>

#define MDIMPORT_ERR_MAX 512

/* What became of one source folder. */
struct mdimport_folder {
	const char *name;               /* "INBOX" or the Maildir++ ".Name" */
	const char *skipped;            /* the folder was skipped: why */
	unsigned long copied, present, skipped_msgs;
	char first_skip[MDIMPORT_ERR_MAX];      /* why the first message was */
	unsigned keywords_dropped;      /* keyword letters without a name */
};

struct mdimport_totals {
	unsigned long folders, copied, present, skipped_msgs, skipped_folders;
	int subscriptions_old;  /* the subscriptions file was left alone:
	                           Dovecot's old version-1 form */
};

typedef void mdimport_report_fn(void *arg, const struct mdimport_folder *f);

/* Imports the Maildir++ tree src into the Maildir dst (created if
 * missing), calling report once per source folder, INBOX first.  0, or -1
 * with one line in err: src is not a Maildir, or a read or write error
 * (what was linked into place before it is whole; nothing half-copied is
 * visible). */
int mdimport_run(const char *src, const char *dst, mdimport_report_fn *report,
    void *arg, struct mdimport_totals *totals, char err[MDIMPORT_ERR_MAX]);

#endif
