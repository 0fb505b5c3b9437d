/*
 * Which Dovecot is installed: tern writes 2.3's syntax, which Dovecot 2.4
 * changed (docs/mailbox.md).  A 2.4 would reject the config, and a 2.3
 * without its Lua passdb module (Debian's dovecot-auth-lua) every login,
 * so tern refuses to start with one clear line instead.  Trusts the
 * binary at DOVECOT_BIN; reads at most a line of its output.
 */
#include "mailbox/dovecot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int
dovecot_version_parse(const char *text, unsigned *major_r, unsigned *minor_r)
{
	char *end;
	unsigned long major, minor;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	major = strtoul(text, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return -1;
	minor = strtoul(end + 1, &end, 10);
	if (major > 1000 || minor > 1000)
		return -1;
	*major_r = (unsigned)major;
	*minor_r = (unsigned)minor;
	return 0;
}

/* Up to len-1 bytes of `bin --version`, or -1. */
static int
dovecot_version_read(const char *bin, char *out, size_t len)
{
	int pfd[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execl(bin, "dovecot", "--version", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (got < len - 1 && (n = read(pfd[0], out + got, len - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
dovecot_version_check(const char *bin, char *err, size_t errlen)
{
	char out[128];
	unsigned major, minor;

	if (access(bin, X_OK) < 0) {
		snprintf(err, errlen, "mailbox_server = dovecot, but %s is "
		    "missing: install dovecot-imapd and dovecot-pop3d, or set "
		    "mailbox_server = none", bin);
		return -1;
	}
	if (dovecot_version_read(bin, out, sizeof(out)) < 0 ||
	    dovecot_version_parse(out, &major, &minor) < 0) {
		snprintf(err, errlen, "cannot tell the version of %s "
		    "(%s --version)", bin, bin);
		return -1;
	}
	if (major == 2 && minor == 3) {
		if (access(DOVECOT_LUA_MODULE, R_OK) == 0)
			return 0;
		snprintf(err, errlen, "Dovecot's Lua passdb (%s) is missing: "
		    "install dovecot-auth-lua and lua-socket, or set "
		    "mailbox_server = none", DOVECOT_LUA_MODULE);
		return -1;
	}
	if (major > 2 || (major == 2 && minor >= 4))
		snprintf(err, errlen, "Dovecot %u.%u found: tern writes "
		    "Dovecot 2.3's configuration, whose syntax 2.4 changed "
		    "(see docs/mailbox.md); use Dovecot 2.3 or set "
		    "mailbox_server = none", major, minor);
	else
		snprintf(err, errlen, "Dovecot %u.%u found: tern needs 2.3",
		    major, minor);
	return -1;
}
