/*
 * The process that runs Dovecot: forked by master before it drops root
 * (Dovecot's master must be root to bind 143/993 and to switch its
 * processes to dovenull, dovecot and tern's user), it runs `dovecot -F -c
 * CONF` in a process group of its own, restarts it with back-off when it
 * dies, carries its log lines into tern's log, and when master closes its
 * end of their pipe (to stop, or by dying), or on SIGTERM, stops it and
 * waits until nothing of its group is left.  A pipe, not a signal: master
 * runs as tern's user and cannot signal this process when it is root.
 * It reads nothing from the network; Dovecot's lines are bounded and
 * escaped before they are logged.
 */
#include "mailbox/dovecot.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define DOVECOT_LINE_MAX    1024 /* longer log lines are cut */
#define DOVECOT_BACKOFF_MAX 10   /* seconds, as master's children */
#define DOVECOT_STOP_WAIT   8    /* seconds for Dovecot to stop on SIGTERM */
#define DOVECOT_GROUP_WAIT  3    /* then for its processes to go */

struct dovecot_run {
	const char *conf_path;
	pid_t pid;              /* Dovecot's master; 0 when not running */
	int log_fd;             /* read end of its stdout and stderr */
	char line[DOVECOT_LINE_MAX];
	size_t len;
	int cut;                /* the current line was too long: drop the rest */
	time_t started, restart_at, stop_deadline;
	unsigned backoff;
	int stopping;
	int ctl;                /* from master: end of file means stop */
	pid_t master;           /* tern's master: gone means stop */
};

static time_t
dovecot_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		fatal("clock_gettime: %s", strerror(errno));
	return ts.tv_sec;
}

/* One of Dovecot's lines ("imap-login: Info: ..."), at its level;
 * "..." ends one that was cut. */
static void
dovecot_log_line(const char *s, size_t n, int cut)
{
	const char *more = cut ? "..." : "";
	char esc[DOVECOT_LINE_MAX * 4 + 8];
	char head[80];
	size_t hn = n < sizeof(head) - 1 ? n : sizeof(head) - 1;

	memcpy(head, s, hn);
	head[hn] = '\0';
	log_escape(esc, sizeof(esc), s, n);
	if (strstr(head, ": Error: ") || strstr(head, ": Fatal: ") ||
	    strstr(head, ": Panic: "))
		log_error("%s%s", esc, more);
	else if (strstr(head, ": Warning: "))
		log_warn("%s%s", esc, more);
	else if (strstr(head, ": Debug: "))
		log_debug("%s%s", esc, more);
	else
		log_info("%s%s", esc, more);
}

static void
dovecot_log_byte(struct dovecot_run *r, char c)
{
	if (c == '\n') {
		if (!r->cut)
			dovecot_log_line(r->line, r->len, 0);
		r->len = 0;
		r->cut = 0;
		return;
	}
	if (r->cut)
		return;
	if (r->len == DOVECOT_LINE_MAX) {
		dovecot_log_line(r->line, r->len, 1);
		r->cut = 1;
		return;
	}
	r->line[r->len++] = c;
}

/* What Dovecot wrote; at end of file the pipe is closed (every process
 * of Dovecot that held it is gone). */
static void
dovecot_log_read(struct dovecot_run *r)
{
	char buf[4096];
	ssize_t n = read(r->log_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (r->len > 0 && !r->cut)
			dovecot_log_line(r->line, r->len, 0);
		r->len = 0;
		close(r->log_fd);
		r->log_fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		dovecot_log_byte(r, buf[i]);
}

/* In the child: Dovecot's own process group, so that every process of
 * it can be found and stopped; SIGTERM if this process dies. */
static void
dovecot_exec(struct dovecot_run *r, int out)
{
	sigset_t none;
	int null = open("/dev/null", O_RDONLY);

	if (setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 ||
	    null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
		_exit(126);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execl(DOVECOT_BIN, "dovecot", "-F", "-c", r->conf_path, (char *)NULL);
	_exit(127);
}

static void
dovecot_spawn(struct dovecot_run *r)
{
	int pfd[2];

	if (r->log_fd >= 0) {
		close(r->log_fd);
		r->log_fd = -1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0)
		fatal("pipe: %s", strerror(errno));
	if ((r->pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (r->pid == 0)
		dovecot_exec(r, pfd[1]);
	close(pfd[1]);
	/* The parent sets the group too: no race with a kill of it. */
	if (setpgid(r->pid, r->pid) < 0 && errno != EACCES)
		log_warn("setpgid: %s", strerror(errno));
	r->log_fd = pfd[0];
	r->len = 0;
	r->cut = 0;
	r->started = dovecot_now();
	r->restart_at = 0;
	log_info("started dovecot pid=%d", (int)r->pid);
}

/* Waits (bounded) until no process of Dovecot's group is left, killing
 * what stays; the group is named by the pid of Dovecot's master. */
static void
dovecot_reap_group(pid_t pgid)
{
	time_t deadline = dovecot_now() + DOVECOT_GROUP_WAIT;
	int killed = 0;

	while (kill(-pgid, 0) == 0 || errno == EPERM) {
		if (dovecot_now() >= deadline) {
			if (killed) {
				log_error("dovecot processes of group %d "
				    "survive SIGKILL", (int)pgid);
				return;
			}
			log_warn("dovecot processes left in group %d: killing "
			    "them", (int)pgid);
			kill(-pgid, SIGKILL);
			killed = 1;
			deadline = dovecot_now() + DOVECOT_GROUP_WAIT;
		}
		poll(NULL, 0, 50);
	}
}

static void
dovecot_exited(struct dovecot_run *r, int status)
{
	pid_t pgid = r->pid;
	time_t now = dovecot_now();

	if (WIFSIGNALED(status))
		log_warn("dovecot pid=%d killed by signal %d", (int)r->pid,
		    WTERMSIG(status));
	else if (!r->stopping || WEXITSTATUS(status) != 0)
		log_warn("dovecot pid=%d exited with status %d", (int)r->pid,
		    WEXITSTATUS(status));
	r->pid = 0;
	/* Its last words, then whatever of it is left. */
	while (r->log_fd >= 0) {
		struct pollfd pf = { r->log_fd, POLLIN, 0 };
		if (poll(&pf, 1, 200) <= 0)
			break;
		dovecot_log_read(r);
	}
	dovecot_reap_group(pgid);
	if (r->stopping)
		return;
	/* One that keeps dying waits longer each time. */
	r->backoff = (now - r->started < DOVECOT_BACKOFF_MAX) ?
	    (r->backoff ? r->backoff * 2 : 1) : 0;
	if (r->backoff > DOVECOT_BACKOFF_MAX)
		r->backoff = DOVECOT_BACKOFF_MAX;
	r->restart_at = now + r->backoff;
	log_info("restarting dovecot in %us", r->backoff);
}

static void
dovecot_stop(struct dovecot_run *r)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	r->stop_deadline = dovecot_now() + DOVECOT_STOP_WAIT;
	if (r->pid > 0 && kill(r->pid, SIGTERM) < 0)
		log_warn("cannot stop dovecot: %s", strerror(errno));
}

static void
dovecot_signals(struct dovecot_run *r, int sigfd)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			dovecot_stop(r);
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == r->pid)
			dovecot_exited(r, status);
}

/* master says nothing on the pipe: end of file is the one message. */
static void
dovecot_ctl_read(struct dovecot_run *r)
{
	char c;
	ssize_t n = read(r->ctl, &c, 1);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	close(r->ctl);
	r->ctl = -1;
	dovecot_stop(r);
}

static void
dovecot_loop(struct dovecot_run *r, int sigfd)
{
	for (;;) {
		struct pollfd fds[3] = { { sigfd, POLLIN, 0 },
		    { r->ctl, POLLIN, 0 }, { r->log_fd, POLLIN, 0 } };
		time_t now = dovecot_now();

		if (!r->stopping && getppid() != r->master) {
			log_warn("master is gone: stopping dovecot");
			dovecot_stop(r);
		}
		if (r->stopping && r->pid == 0)
			return;
		if (r->stopping && now >= r->stop_deadline) {
			log_warn("dovecot did not stop: killing it");
			kill(-r->pid, SIGKILL);
			r->stop_deadline = now + DOVECOT_GROUP_WAIT;
		}
		if (!r->stopping && r->pid == 0 && now >= r->restart_at)
			dovecot_spawn(r);
		if (poll(fds, r->log_fd >= 0 ? 3 : 2, 500) < 0 && errno != EINTR)
			fatal("poll: %s", strerror(errno));
		if (r->log_fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP)))
			dovecot_log_read(r);
		if (r->ctl >= 0 && fds[1].revents != 0)
			dovecot_ctl_read(r);
		if (fds[0].revents & POLLIN)
			dovecot_signals(r, sigfd);
	}
}

static int
dovecot_remove_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 &&
	    errno != ENOENT)
		log_warn("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* What Dovecot ran from, outside state_dir (its sockets, its state and
 * the root copy of its config): gone with it, or /run would keep one set
 * per state_dir ever served.  The config in state_dir stays, to read. */
static void
dovecot_clean(const struct dovecot_paths *p)
{
	if (nftw(p->base_dir, dovecot_remove_one, 8, FTW_DEPTH | FTW_PHYS) < 0 &&
	    errno != ENOENT)
		log_warn("cannot remove %s: %s", p->base_dir, strerror(errno));
	if (!p->root)
		return;
	if (nftw(p->state, dovecot_remove_one, 8, FTW_DEPTH | FTW_PHYS) < 0 &&
	    errno != ENOENT)
		log_warn("cannot remove %s: %s", p->state, strerror(errno));
	if (unlink(p->run_conf) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", p->run_conf, strerror(errno));
}

/* The forked process: holds nothing of master's (its sockets, the
 * lock, the TLS key in memory are closed or never touched again). */
static int
dovecot_main(const struct dovecot_paths *p, int ctl, pid_t master)
{
	struct dovecot_run r = { .conf_path = p->run_conf, .log_fd = -1,
	    .ctl = ctl, .master = master };
	sigset_t set;
	int sigfd;

	log_init("dovecot");
	if (prctl(PR_SET_NAME, "tern-dovecot", 0, 0, 0) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		fatal("prctl: %s", strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	dovecot_loop(&r, sigfd);
	dovecot_clean(p);
	log_info("dovecot stopped");
	return 0;
}

pid_t
dovecot_start(const struct conf *conf, int *ctl_r, char *err, size_t errlen)
{
	static struct dovecot_paths p;
	pid_t master = getpid(), pid;
	int pfd[2];

	*ctl_r = -1;
	if (conf->listen_imap[0] == '\0' && conf->listen_imaps[0] == '\0' &&
	    conf->listen_pop3[0] == '\0' && conf->listen_pop3s[0] == '\0') {
		log_info("no IMAP or POP3 listener: dovecot not started");
		return 0;
	}
	if (dovecot_version_check(DOVECOT_BIN, err, errlen) < 0 ||
	    dovecot_paths_init(conf, &p, err, errlen) < 0 ||
	    dovecot_conf_write(conf, &p, err, errlen) < 0)
		return -1;
	if (pipe2(pfd, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		snprintf(err, errlen, "pipe or fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* stdin, stdout and stderr stay (the log), and the pipe's read
		 * end, as fd 3. */
		if (dup3(pfd[0], 3, O_CLOEXEC) < 0 ||
		    close_range(4, ~0U, 0) < 0)
			fatal("close_range: %s", strerror(errno));
		exit(dovecot_main(&p, 3, master));
	}
	close(pfd[0]);
	*ctl_r = pfd[1];
	return pid;
}
