/*
 * Ending an account's IMAP and POP3 sessions when the account is deleted
 * or its password changes: Dovecot's `doveadm kick`, run against the
 * configuration tern wrote.  Logins need nothing of the kind (Dovecot asks
 * lookup at every login, with no cache), but a session already open would
 * otherwise outlive the account.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mailbox/dovecot_kick.h"

#define KICK_WAIT_MS 10000      /* doveadm asks anvil and signals; quick */
#define KICK_POLL_MS 20
#define KICK_ROUNDS 5
#define KICK_ROUND_GAP_MS 200

static int
kick_wait(pid_t pid, int *status)
{
	for (int waited = 0; waited < KICK_WAIT_MS; waited += KICK_POLL_MS) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		struct timespec ts = { 0, KICK_POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	(void)waitpid(pid, status, 0);
	errno = ETIMEDOUT;
	return -1;
}

/* The child: doveadm with its output thrown away (tern says what it did). */
static void
kick_exec(const char *conf_path, const char *login)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		(void)dup2(null, STDIN_FILENO);
		(void)dup2(null, STDOUT_FILENO);
		(void)dup2(null, STDERR_FILENO);
	}
	execlp("doveadm", "doveadm", "-c", conf_path, "kick", "--", login,
	    (char *)NULL);
	_exit(127);
}

/* base_dir from the copy of the config tern wrote for the postmaster:
 * as root the real one is root's alone, and the CLI runs as tern's user. */
static int
kick_base_dir(const char *conf_path, char *out, size_t outlen)
{
	FILE *f = fopen(conf_path, "r");
	char line[512];
	int found = -1;

	if (f == NULL)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f) != NULL) {
		size_t n;
		if (strncmp(line, "base_dir = ", 11) != 0)
			continue;
		n = strcspn(line + 11, "\n");
		if (n > 0 && n < outlen) {
			memcpy(out, line + 11, n);
			out[n] = '\0';
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* Dovecot runs: its anvil answers (a socket left by a Dovecot that
 * stopped refuses the connection). 1 yes, 0 no, -1 cannot tell (err). */
static int
kick_dovecot_running(const char *base_dir, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/anvil",
	    base_dir) >= (int)sizeof(sun.sun_path)) {
		snprintf(err, errlen, "Dovecot's base_dir %s too long", base_dir);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (rc < 0 && errno != ENOENT && errno != ECONNREFUSED)
		snprintf(err, errlen, "cannot reach Dovecot's %s: %s",
		    sun.sun_path, strerror(errno));
	close(fd);
	if (rc == 0)
		return 1;
	return errno == ENOENT || errno == ECONNREFUSED ? 0 : -1;
}

/* One doveadm kick; its wait status in *status. */
static int
kick_once(const char *conf_path, const char *login, int *status, char *err,
    size_t errlen)
{
	pid_t pid;

	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		kick_exec(conf_path, login);
	if (kick_wait(pid, status) < 0) {
		snprintf(err, errlen, "doveadm kick: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
dovecot_kick(const char *state_dir, const char *login, char *err,
    size_t errlen)
{
	char conf_path[4096], base_dir[256];
	int status, running;

	if (snprintf(conf_path, sizeof(conf_path), "%s/dovecot/dovecot.conf",
	    state_dir) >= (int)sizeof(conf_path)) {
		snprintf(err, errlen, "state_dir too long for Dovecot's config");
		return -1;
	}
	/* No config, or no Dovecot running it: no session to end. */
	if (kick_base_dir(conf_path, base_dir, sizeof(base_dir)) < 0)
		return 0;
	if ((running = kick_dovecot_running(base_dir, err, errlen)) <= 0)
		return running;
	/* A session whose login was answered just before the change may
	 * reach anvil just after a kick asked it: kick again until a round
	 * finds nobody (68) or the rounds are spent. */
	for (int round = 0; round < KICK_ROUNDS; round++) {
		if (kick_once(conf_path, login, &status, err, errlen) < 0 ||
		    dovecot_kick_status(status, err, errlen) < 0)
			return -1;
		if (WEXITSTATUS(status) == 68)
			break;
		struct timespec ts = { 0, KICK_ROUND_GAP_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	return 0;
}

int
dovecot_kick_status(int status, char *err, size_t errlen)
{
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "doveadm kick died of signal %d",
		    WTERMSIG(status));
		return -1;
	}
	switch (WEXITSTATUS(status)) {
	case 0:                 /* kicked */
	case 68:                /* EX_NOUSER: no session of that login */
		return 0;
	case 127:
		snprintf(err, errlen, "doveadm not found");
		return -1;
	default:
		snprintf(err, errlen, "doveadm kick exited with status %d",
		    WEXITSTATUS(status));
		return -1;
	}
}
