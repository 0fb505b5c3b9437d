/*
 * Supervision of the logger: see master_log.h.  Every process writes each
 * line to stderr, as before, and again to the pipe (log.c's copy fd, which
 * children inherit); the logger reads the pipe.  master keeps the pipe's
 * read end (never reading it), so that a logger started again goes on
 * where the dead one stopped, with no line lost.  The write end is
 * non-blocking: a logger stuck or dead for more than the pipe holds costs
 * the file lines (stderr still has them), never a session its progress.
 */
#include "master/master_log.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "master/logger.h"
#include "util/log.h"
#include "util/privsep.h"

#define MASTER_LOG_PIPE  (1024 * 1024) /* bursts wait here, not in smtpd */
#define MASTER_LOG_WAIT  5             /* seconds for the last lines */

static struct {
	const struct conf *conf;
	int rd, wr;             /* the pipe's ends */
	char path[PATH_MAX];
	int has_path;
	pid_t pid;
	time_t started, restart_at;
} ml = { .rd = -1, .wr = -1 };

/* The logger's folder, the user's (it renames files there).  Inside
 * state_dir it is made and given to the user (no link followed: the user
 * owns the parent); elsewhere only a folder tern makes is given away, never
 * one that exists (log_file = /var/log/tern.log must not hand /var/log to
 * the user): that one must already be writable by the user. */
static int
master_log_folder(const struct conf *conf, const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	size_t n = strlen(conf->state_dir);

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (strncmp(dir, conf->state_dir, n) == 0 && dir[n] == '/')
		return privsep_mkdir_owned(dir, conf->user, 0750, PRIVSEP_NOFOLLOW);
	if (mkdir(dir, 0750) == 0)
		return privsep_mkdir_owned(dir, conf->user, 0750, PRIVSEP_FOLLOW);
	if (errno == EEXIST)
		return 0;
	log_error("log_file: cannot make %s: %s", dir, strerror(errno));
	return -1;
}

/* In the new logger: only the pipe's read end stays open, and 0 to 2
 * (stderr is the one tern serve was given: the logger's own errors). */
static void
master_log_child(void)
{
	/* Before anything: a SIGHUP to the whole group must not end it. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	if (prctl(PR_SET_NAME, "tern-logger", 0, 0, 0) < 0)
		(void)0;        /* only ps would tell */
	log_set_copy_fd(-1);
	if (ml.rd > 3)
		close_range(3, (unsigned)ml.rd - 1, 0);
	close_range((unsigned)ml.rd + 1, ~0U, 0);
	if (privsep_drop(ml.conf->user) < 0)
		_exit(1);
	log_init("logger");
	_exit(logger_main(ml.conf, ml.rd, ml.has_path ? ml.path : NULL));
}

static int
master_log_fork(void)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_error("cannot start the logger: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		master_log_child();
	ml.pid = pid;
	ml.started = time(NULL);
	ml.restart_at = 0;
	return 0;
}

int
master_log_start(const struct conf *conf)
{
	int p[2], r;

	ml.conf = conf;
	r = logger_path(conf, isatty(STDERR_FILENO), ml.path, sizeof(ml.path));
	if (r < 0) {
		log_error("log_file: the path is too long");
		return -1;
	}
	ml.has_path = r;
	if (!ml.has_path && !conf->syslog)
		return 0;
	if (ml.has_path && master_log_folder(conf, ml.path) < 0)
		return -1;
	/* Close-on-exec: Dovecot's programs log through tern-dovecot. */
	if (pipe2(p, O_CLOEXEC) < 0 ||
	    fcntl(p[1], F_SETFL, O_NONBLOCK) < 0) {
		log_error("cannot make the log pipe: %s", strerror(errno));
		return -1;
	}
	(void)fcntl(p[1], F_SETPIPE_SZ, MASTER_LOG_PIPE);
	ml.rd = p[0];
	ml.wr = p[1];
	if (master_log_fork() < 0)
		return -1;
	/* From here on every line of every process goes to the pipe too. */
	log_set_copy_fd(ml.wr);
	return 0;
}

int
master_log_reaped(pid_t pid, int status)
{
	if (ml.pid <= 0 || pid != ml.pid)
		return 0;
	ml.pid = 0;
	log_error("the logger pid=%d ended (status %d): starting it again",
	    (int)pid, WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
	    WEXITSTATUS(status));
	ml.restart_at = ml.started + 1;
	master_log_tick();
	return 1;
}

void
master_log_tick(void)
{
	if (ml.rd < 0 || ml.pid != 0 || time(NULL) < ml.restart_at)
		return;
	(void)master_log_fork();
}

void
master_log_close_in_child(void)
{
	/* The write end stays: the child logs through it. */
	if (ml.rd >= 0)
		close(ml.rd);
	ml.rd = -1;
	ml.pid = 0;
}

void
master_log_stop(void)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };

	if (ml.rd < 0)
		return;
	/* master's own write end goes; with every child gone the logger
	 * reads to the end and leaves. */
	log_set_copy_fd(-1);
	close(ml.wr);
	ml.wr = -1;
	for (int i = 0; ml.pid > 0 && i < MASTER_LOG_WAIT * 20; i++) {
		pid_t r = waitpid(ml.pid, NULL, WNOHANG);
		if (r == ml.pid || (r < 0 && errno != EINTR))
			break;
		nanosleep(&tick, NULL);
	}
	ml.pid = 0;
	close(ml.rd);
	ml.rd = -1;
}
