/*
 * Dropping privileges to the configured user: see privsep.h.  Called by
 * every child before it reads a byte from the network, by master once its
 * sockets are bound, and by the admin commands before they touch state_dir.
 */
#include "util/privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

int
privsep_ids(const char *user, uid_t *uid_r, gid_t *gid_r)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		*uid_r = geteuid();
		*gid_r = getegid();
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return -1;
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

int
privsep_drop(const char *user)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0;
	if (privsep_ids(user, &uid, &gid) < 0) {
		log_error("unknown user %s: create it (scripts/deps.sh does) or set user", user);
		return -1;
	}
	if (uid == 0) {
		log_error("user %s is root: refusing to run children as root", user);
		return -1;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		log_error("cannot switch to user %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		log_error("could switch back to root after dropping to %s", user);
		return -1;
	}
	return 0;
}

int
privsep_mkdir_owned(const char *dir, const char *user, mode_t mode,
    int nofollow)
{
	uid_t uid;
	gid_t gid;
	int fd, r;

	if (mkdir(dir, mode) < 0 && errno != EEXIST) {
		log_error("mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (geteuid() != 0)
		return 0;
	if (privsep_ids(user, &uid, &gid) < 0) {
		log_error("unknown user %s", user);
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0 || fchown(fd, uid, gid) < 0) {
		log_error("chown %s: %s%s", dir, strerror(errno),
		    errno == ELOOP || errno == ENOTDIR ? " (not a folder)" : "");
		r = -1;
	} else {
		r = 0;
	}
	if (fd >= 0)
		close(fd);
	return r;
}
