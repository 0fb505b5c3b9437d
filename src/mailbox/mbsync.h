/*
 * One account's pull from an old IMAP server into its tern Maildir, done by
 * isync's mbsync (see docs/mailbox-sync.md for why mbsync and not dsync).
 * mbsync runs as the calling process's user (the caller has already
 * dropped to tern's user), reads its configuration, password included,
 * from a pipe (never argv, never the environment, never a file), verifies
 * the old server's certificate, and only ever pulls: new messages and flag
 * changes from the old server, never a deletion, never a rename of a file
 * tern delivered.  Its state (which old UIDs are copied) lives in a folder
 * under state_dir, so each run copies only what is new.
 */
#ifndef TERN_MBSYNC_H
#define TERN_MBSYNC_H

#include <stddef.h>

#define MBSYNC_ERR_MAX 512

struct mbsync_job {
	const char *host;       /* checked by imap_url_parse */
	unsigned port;
	const char *user;       /* the login on the old server */
	const char *password;
	const char *ca_file;    /* trusted besides the system's CAs, or NULL */
	const char *maildir;    /* the account's Maildir: INBOX, Maildir++ */
	const char *state;      /* this account's sync state folder */
};

struct mbsync_result {
	unsigned long copied;   /* messages pulled by this run */
	unsigned long skipped;  /* messages the old server has that this run
	                           recorded as not copied */
	unsigned long errors;   /* error lines mbsync printed */
};

/* Creates the Maildir and the state folder if missing, runs mbsync, and
 * counts what it did from its state.  0, or -1 with a one-line reason in
 * err (mbsync's own first error line when it failed); r is filled in
 * both cases. */
int mbsync_run(const struct mbsync_job *job, struct mbsync_result *r,
    char *err, size_t errlen);

/* 1 if name, in the state folder, is the state of one mailbox: not a
 * dot file, not the .journal, .new or .lock of a run in progress.  The
 * name is the old server's mailbox, '/' between levels written '!'. */
int mbsync_state_file(const char *name);

/* Subscribes, in Dovecot's list, every folder that came from the old
 * server and was not subscribed by an earlier run (those are listed in
 * the state folder's .subscribed: a folder the user unsubscribed in tern
 * stays so).  0, or -1 with a one-line reason in err. */
int mbsync_subscribe(const struct mbsync_job *job, char *err, size_t errlen);

/* Writes the mbsync configuration of job into out: 0, or -1 if a value
 * holds a control byte (it would end the line) or the text does not
 * fit. */
int mbsync_config(const struct mbsync_job *job, char *out, size_t outlen);

#endif
