/*
 * The logger process: see logger.h.  It trusts the other processes of
 * tern to write whole lines (log.c writes each line with one write(2),
 * under PIPE_BUF, so lines of several processes never mix), and copes
 * with anything else: a partial line waits for its end, a line longer
 * than LOGGER_LINE_MAX is cut.  Memory is bounded: one input buffer and
 * one output buffer.  A line is never lost at a rotation: what is read is
 * written before the rename, and the next write goes to the new file.
 */
#include "master/logger.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/log_stamp.h"

#define LOGGER_IN_MAX  (64 * 1024)
#define LOGGER_OUT_MAX (LOGGER_IN_MAX + LOGGER_IN_MAX / 2)
#define LOGGER_GATHER_MS 10     /* a line waits at most this long */

struct logger {
	int in, fd;             /* fd: the log file, -1 when not open */
	const char *path;
	uint64_t size, max;     /* bytes in the file; log_file_size */
	unsigned keep;
	int syslog;
	int warned;             /* a write error was told once */
	char stamp[LOG_STAMP_LEN + 2];
	char inbuf[LOGGER_IN_MAX];
	size_t inlen;
	char out[LOGGER_OUT_MAX];
	size_t outlen;
};

int
logger_path(const struct conf *conf, int foreground, char *path, size_t len)
{
	int n;

	if (conf->log_file[0] == '\0' ||
	    (strcmp(conf->log_file, "auto") == 0 && foreground))
		return 0;
	if (strcmp(conf->log_file, "auto") == 0)
		n = snprintf(path, len, "%s/log/tern.log", conf->state_dir);
	else if (conf->log_file[0] == '/')
		n = snprintf(path, len, "%s", conf->log_file);
	else
		n = snprintf(path, len, "%s/%s", conf->state_dir, conf->log_file);
	return n < 0 || (size_t)n >= len ? -1 : 1;
}

int
logger_file_check(const char *value, char *why, size_t whylen)
{
	size_t n = strlen(value);

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) {
			snprintf(why, whylen, "log_file: control bytes in the path");
			return -1;
		}
		/* A ".." component: at the start or after a '/', then '/' or
		 * the end. */
		if (value[i] == '.' && value[i + 1] == '.' &&
		    (i == 0 || value[i - 1] == '/') &&
		    (value[i + 2] == '/' || value[i + 2] == '\0')) {
			snprintf(why, whylen, "log_file: no '..' in the path");
			return -1;
		}
	}
	return 0;
}

int
logger_rotation_name(const char *path, unsigned n, char *dst, size_t len)
{
	int r = snprintf(dst, len, "%s.%u", path, n);

	return r < 0 || (size_t)r >= len ? -1 : 0;
}

/* Our own trouble goes to stderr alone: the pipe is ours to read. */
static void
logger_say(const char *what, const char *path)
{
	char line[PATH_MAX + 256];
	int n = snprintf(line, sizeof(line), "logger[%d]: error: %s %s: %s\n",
	    (int)getpid(), what, path, strerror(errno));

	if (n > 0 && write(STDERR_FILENO, line,
	    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		return;
}

static void
logger_open(struct logger *lg)
{
	struct stat st;

	lg->fd = open(lg->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (lg->fd < 0) {
		if (!lg->warned)
			logger_say("cannot open", lg->path);
		lg->warned = 1;
		return;
	}
	/* The mode of a file left by an older run, or by another umask. */
	if (fchmod(lg->fd, 0640) < 0)
		logger_say("cannot set the mode of", lg->path);
	lg->size = fstat(lg->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	lg->warned = 0;
}

/* tern.log.(keep-1) -> tern.log.keep, ..., tern.log -> tern.log.1: the
 * oldest falls off; then a new tern.log. */
static void
logger_rotate(struct logger *lg)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (lg->fd >= 0)
		close(lg->fd);
	lg->fd = -1;
	for (unsigned i = lg->keep; i > 1; i--) {
		if (logger_rotation_name(lg->path, i - 1, from, sizeof(from)) < 0 ||
		    logger_rotation_name(lg->path, i, to, sizeof(to)) < 0)
			break;
		if (rename(from, to) < 0 && errno != ENOENT)
			logger_say("cannot rename", from);
	}
	if (logger_rotation_name(lg->path, 1, to, sizeof(to)) == 0 &&
	    rename(lg->path, to) < 0 && errno != ENOENT)
		logger_say("cannot rename", lg->path);
	logger_open(lg);
}

static void
logger_flush(struct logger *lg)
{
	size_t off = 0;

	while (lg->fd >= 0 && off < lg->outlen) {
		ssize_t n = write(lg->fd, lg->out + off, lg->outlen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A full disk: the lines still reach stderr and
			 * syslog; the file takes them again when it can. */
			if (!lg->warned)
				logger_say("cannot write", lg->path);
			lg->warned = 1;
			break;
		}
		off += (size_t)n;
		lg->size += (uint64_t)n;
	}
	lg->outlen = 0;
}

/* "smtpd[812]: warn: ..." to syslog as "tern/smtpd[812]: ...", the form
 * Postfix uses, at the line's own severity. */
static void
logger_syslog(const char *line, size_t len)
{
	static char ident[64];
	const char *colon = memchr(line, ':', len);
	const char *msg = line;
	int prio = LOG_INFO;
	size_t n;

	if (colon != NULL && colon > line && colon[-1] == ']' &&
	    (size_t)(colon - line) < sizeof(ident) - 6) {
		n = (size_t)(colon - line);
		snprintf(ident, sizeof(ident), "tern/%.*s", (int)n, line);
		msg = colon + 1 + (colon + 1 < line + len && colon[1] == ' ');
	} else {
		snprintf(ident, sizeof(ident), "tern");
	}
	n = len - (size_t)(msg - line);
	if (n >= 6 && memcmp(msg, "warn: ", 6) == 0)
		prio = LOG_WARNING;
	else if (n >= 7 && memcmp(msg, "error: ", 7) == 0)
		prio = LOG_ERR;
	openlog(ident, LOG_NDELAY, LOG_MAIL);
	syslog(prio, "%.*s", (int)n, msg);
}

/* One whole line (no newline), stamped, into the output. */
static void
logger_line(struct logger *lg, const char *line, size_t len, int cut)
{
	size_t need = LOG_STAMP_LEN + 1 + len + (cut ? 3 : 0) + 1;

	if (lg->syslog)
		logger_syslog(line, len);
	if (lg->path == NULL)
		return;
	if (lg->outlen + need > sizeof(lg->out))
		logger_flush(lg);
	if (lg->fd < 0) {
		logger_flush(lg);
		logger_open(lg);        /* it could not be opened: try again */
	} else if (lg->size + lg->outlen + need > lg->max) {
		logger_flush(lg);
		logger_rotate(lg);
	}
	memcpy(lg->out + lg->outlen, lg->stamp, LOG_STAMP_LEN + 1);
	lg->outlen += LOG_STAMP_LEN + 1;
	memcpy(lg->out + lg->outlen, line, len);
	lg->outlen += len;
	if (cut) {
		memcpy(lg->out + lg->outlen, "...", 3);
		lg->outlen += 3;
	}
	lg->out[lg->outlen++] = '\n';
}

/* The whole lines in the input; a partial one stays for the next read. */
static void
logger_lines(struct logger *lg, int eof)
{
	struct timespec ts;
	size_t start = 0;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		ts = (struct timespec){ time(NULL), 0 };
	(void)log_stamp_format(&ts, lg->stamp, sizeof(lg->stamp));
	lg->stamp[LOG_STAMP_LEN] = ' ';
	for (;;) {
		const char *nl = memchr(lg->inbuf + start, '\n', lg->inlen - start);
		size_t len = nl ? (size_t)(nl - lg->inbuf) - start : lg->inlen - start;
		if (nl == NULL && len < LOGGER_LINE_MAX && !(eof && len > 0))
			break;
		if (len > LOGGER_LINE_MAX) {
			logger_line(lg, lg->inbuf + start, LOGGER_LINE_MAX, 1);
			start += LOGGER_LINE_MAX;
			continue;
		}
		logger_line(lg, lg->inbuf + start, len, 0);
		start += len + (nl != NULL);
	}
	logger_flush(lg);
	memmove(lg->inbuf, lg->inbuf + start, lg->inlen - start);
	lg->inlen -= start;
}

/* The pipe is drained: let lines gather before reading again.  A busy
 * tern writes thousands of lines a second, and a logger that woke for
 * each one cost every writer a wakeup and the CPUs a context switch per
 * line (the flood bench's legitimate senders: 15% fewer messages a
 * second with the log file than without).  While the logger sleeps no
 * reader waits on the pipe, so a write is a copy only; the pipe
 * (MASTER_LOG_PIPE, 1 MiB) holds far more than one pause of lines. */
static void
logger_gather(void)
{
	struct timespec pause = { 0, LOGGER_GATHER_MS * 1000 * 1000 };

	while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
		;
}

int
logger_main(const struct conf *conf, int in, const char *path)
{
	static struct logger lg;

	lg = (struct logger){ .in = in, .fd = -1, .path = path,
	    .max = conf->log_file_size, .keep = conf->log_file_keep,
	    .syslog = conf->syslog };
	/* It stops when the last writer has gone, never before: a ^C to
	 * the whole group must not lose the last lines (master_log.c set
	 * these already, at the fork; here for any other caller). */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	tzset();                /* localtime_r alone need not read TZ */
	if (path != NULL)
		logger_open(&lg);
	for (;;) {
		size_t free_before = sizeof(lg.inbuf) - lg.inlen;
		ssize_t n = read(in, lg.inbuf + lg.inlen, free_before);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			logger_say("cannot read", "the log pipe");
			break;
		}
		lg.inlen += (size_t)n;
		logger_lines(&lg, n == 0);
		if (n == 0)
			break;
		if ((size_t)n < free_before)
			logger_gather();
	}
	if (lg.fd >= 0)
		close(lg.fd);
	if (lg.syslog)
		closelog();
	return 0;
}
