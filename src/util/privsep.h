/*
 * Privileges: when running as root, switch to the unprivileged user of the
 * config (its uid, gid and groups).  Run as anyone else, nothing changes.
 */
#ifndef TERN_PRIVSEP_H
#define TERN_PRIVSEP_H

#include <sys/types.h>

/* Looks up user.  When running as root fills uid/gid of it and returns 0;
 * when not root fills the current ids.  -1 if the user is unknown (only an
 * error as root). */
int privsep_ids(const char *user, uid_t *uid_r, gid_t *gid_r);

/* As root: setgroups, setgid, setuid to user, and checks it cannot go
 * back.  Not root: nothing.  0, or -1 with errno-based log line. */
int privsep_drop(const char *user);

/* Creates dir (mode 0700..0750) if missing and, as root, gives it to user.
 * PRIVSEP_NOFOLLOW for a folder inside state_dir: user owns its parent and
 * could have put a link there, which root must not follow. */
#define PRIVSEP_FOLLOW   0
#define PRIVSEP_NOFOLLOW 1
int privsep_mkdir_owned(const char *dir, const char *user, mode_t mode,
    int nofollow);

#endif
