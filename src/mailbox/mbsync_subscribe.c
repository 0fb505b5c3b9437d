/*
 * After a pull: the folders that came from the old server, subscribed in
 * Dovecot's list once each.  The folders are named by mbsync's state
 * files (one per mailbox of the old server); which of them tern already
 * subscribed is kept in the state folder's .subscribed (one name a line),
 * so that a failed subscription is tried again at the next run and an
 * unsubscription the user made in tern is never undone.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mbsync.h"
#include "mailbox/subscriptions.h"
#include "util/buf.h"
#include "util/durable.h"
#include "util/xmalloc.h"

#define MBSYNC_SUBSCRIBED ".subscribed"
#define MBSYNC_FOLDERS_MAX 10000

/* The subscription name of a state file: '!' (mbsync's '/') becomes TAB,
 * Dovecot's separator between levels in its list. */
static char *
mbsync_subscription_name(const char *state_name)
{
	char *s = xstrdup(state_name);

	for (char *p = s; *p != '\0'; p++)
		if (*p == '!')
			*p = '\t';
	return s;
}

/* The names already subscribed by earlier runs into b, one a line, with
 * a leading newline so that "\nNAME\n" finds each. */
static int
mbsync_subscribed_read(const char *state, struct buf *b)
{
	char path[4200], line[SUBS_NAME_MAX + 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", state, MBSYNC_SUBSCRIBED);
	if (buf_append(b, "\n", 1) < 0)
		return -1;
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (buf_append(b, line, strlen(line)) < 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int
mbsync_subscribed_has(const struct buf *b, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = b->data; (p = strstr(p, name)) != NULL; p++)
		if (p > b->data && p[-1] == '\n' && p[n] == '\n')
			return 1;
	return 0;
}

/* The folders of the old server not yet subscribed, INBOX aside. */
static size_t
mbsync_new_folders(const char *state, const struct buf *done, char **names,
    size_t max)
{
	DIR *d = opendir(state);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		char *name;

		if (!mbsync_state_file(e->d_name) ||
		    strcmp(e->d_name, "INBOX") == 0)
			continue;
		name = mbsync_subscription_name(e->d_name);
		if (mbsync_subscribed_has(done, name))
			free(name);
		else
			names[n++] = name;
	}
	closedir(d);
	return n;
}

int
mbsync_subscribe(const struct mbsync_job *job, char *err, size_t errlen)
{
	struct buf done;
	char **names = xcalloc(MBSYNC_FOLDERS_MAX, sizeof(*names));
	size_t n;
	int rc = -1;

	buf_init(&done, SUBS_FILE_MAX);
	if (mbsync_subscribed_read(job->state, &done) < 0) {
		snprintf(err, errlen, "cannot read %s/%s", job->state,
		    MBSYNC_SUBSCRIBED);
		goto out;
	}
	n = mbsync_new_folders(job->state, &done, names, MBSYNC_FOLDERS_MAX);
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (subs_add(job->maildir, (const char *const *)names, n, err,
	    errlen) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (buf_appendf(&done, "%s\n", names[i]) < 0) {
			snprintf(err, errlen, "too many folders");
			goto out;
		}
	}
	/* done starts with the newline that made lookups simple. */
	if (durable_replace(job->state, MBSYNC_SUBSCRIBED, done.data + 1,
	    done.len - 1) < 0) {
		snprintf(err, errlen, "cannot write %s/%s: %s", job->state,
		    MBSYNC_SUBSCRIBED, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < MBSYNC_FOLDERS_MAX && names[i] != NULL; i++)
		free(names[i]);
	free(names);
	buf_free(&done);
	return rc;
}
