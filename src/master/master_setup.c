/*
 * What master does before it forks anything, while it may still be root:
 * the state folders with the right owner, the lock that keeps two servers
 * off one queue, and the listening sockets.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "master/master_int.h"
#include "net/hostport.h"
#include "util/log.h"
#include "util/privsep.h"

int
master_prepare_state(const struct conf *conf)
{
	static const char *const sub[] = { "", "/queue", "/queue/tmp", "/queue/spare",
	    "/queue/hold", "/mail" };
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", conf->state_dir, sub[i]);
		if (privsep_mkdir_owned(p, conf->user, i == 0 ? 0750 : 0700,
		    i == 0 ? PRIVSEP_FOLLOW : PRIVSEP_NOFOLLOW) < 0)
			return -1;
	}
	return 0;
}

/* queue/tmp holds messages being received, never acknowledged, and
 * queue/spare emptied files kept for reuse: whatever a previous run left
 * in either is removed, once, before smtpd starts (a queue process that
 * restarts later must not touch smtpd's files). */
static void
master_empty_dir(const char *p)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(p)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0)
			log_warn("cannot remove %s/%s: %s", p, de->d_name,
			    strerror(errno));
	}
	closedir(d);
}

void
master_clean_queue_tmp(const struct conf *conf)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/queue/tmp", conf->state_dir);
	master_empty_dir(p);
	snprintf(p, sizeof(p), "%s/queue/spare", conf->state_dir);
	master_empty_dir(p);
}

/* Waits up to 10 s for the lock: a server stopped a moment ago may still
 * have children finishing. */
int
master_lock(const struct conf *conf)
{
	char p[PATH_MAX];
	struct stat st;
	int fd;

	snprintf(p, sizeof(p), "%s/tern.lock", conf->state_dir);
	/* Root opens it in a folder its user owns: no link followed, and
	 * only a plain file will do (fchown below must not reach further). */
	if ((fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		log_error("cannot open %s: %s", p, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		log_error("%s is not a plain file of its own", p);
		close(fd);
		return -1;
	}
	/* The lock is the server's, like everything in state_dir: a later
	 * server started as that user must be able to open it. */
	if (geteuid() == 0) {
		uid_t uid;
		gid_t gid;
		if (privsep_ids(conf->user, &uid, &gid) < 0 ||
		    fchown(fd, uid, gid) < 0) {
			log_error("cannot give %s to %s", p, conf->user);
			close(fd);
			return -1;
		}
	}
	for (int i = 0; i < 100; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK)
			break;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	log_error("another tern serve is using %s", conf->state_dir);
	close(fd);
	return -1;
}

static int
master_listen_one(const char *spec)
{
	char host[HOSTPORT_HOST_MAX];
	const char *why;
	unsigned port;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, one = 1;

	if (hostport_parse(spec, host, &port, &why) < 0) {
		log_error("listen %s: %s", spec, why);
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		sslen = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		sslen = sizeof(*in6);
	} else {
		log_error("listen %s: not an IP address", spec);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, 1024) < 0) {
		log_error("listen %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	log_info("listening on %s", spec);
	return fd;
}

int
master_listen(const char *list, int *fds, size_t max, size_t *n_r)
{
	char spec[HOSTPORT_SPEC_MAX];
	int r;

	*n_r = 0;
	while ((r = hostport_list_next(&list, spec)) != 0) {
		if (r < 0 || *n_r == max) {
			log_error("listen: bad or too many addresses");
			return -1;
		}
		if ((fds[*n_r] = master_listen_one(spec)) < 0)
			return -1;
		(*n_r)++;
	}
	return 0;
}

int
master_write_pid(const struct conf *conf)
{
	char p[PATH_MAX], line[32];
	int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());

	snprintf(p, sizeof(p), "%s/tern.pid", conf->state_dir);
	FILE *f = fopen(p, "we");
	if (f == NULL || fwrite(line, 1, (size_t)n, f) != (size_t)n) {
		log_error("cannot write %s: %s", p, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}
