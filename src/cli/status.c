/*
 * tern status [--json]: asks the running server over its control socket
 * (state_dir/control.sock, the server user's and root's only) and prints
 * master's answer: the sessions per port, stress mode, the screen's
 * figures since start, the queue's size.  Exit 1 with one line when no
 * server answers.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "master/master_status.h"

#define STATUS_WAIT_MS   5000
#define STATUS_REPLY_MAX (64 * 1024)

static int
status_connect(const struct conf *conf)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, n;

	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    conf->state_dir, MASTER_STATUS_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		cli_error("the control socket's path is too long");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EACCES || errno == EPERM)
			cli_error("only the server's user and root may ask it "
			    "(%s: %s)", sun.sun_path, strerror(errno));
		else
			cli_error("no server is running (%s: %s)", sun.sun_path,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Copies the answer to stdout until the server closes; bounded in size
 * and time. */
static int
status_copy(int fd)
{
	char buf[4096];
	size_t total = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, STATUS_WAIT_MS);
		if (r <= 0) {
			cli_error("the server did not answer");
			return 1;
		}
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			cli_error("reading the answer: %s", strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > STATUS_REPLY_MAX) {
			cli_error("the answer is too long");
			return 1;
		}
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return 1;
	}
	if (total == 0) {
		cli_error("the server closed without an answer");
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int
cli_status(const struct conf *conf, int argc, char **argv)
{
	const char *question = "status\n";
	int fd, r;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		question = "status json\n";
	else if (argc != 1) {
		fprintf(stderr, "usage: tern status [--json]\n");
		return EXIT_USAGE;
	}
	if ((fd = status_connect(conf)) < 0)
		return 1;
	if (write(fd, question, strlen(question)) != (ssize_t)strlen(question)) {
		cli_error("cannot ask the server: %s", strerror(errno));
		close(fd);
		return 1;
	}
	r = status_copy(fd);
	close(fd);
	return r;
}
