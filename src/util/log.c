/*
 * Logging to stderr, one line per event, and to the logger's pipe when
 * there is one.  Trusts its callers to escape client bytes (log_escape)
 * before passing them in.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char log_proc[32] = "tern";
static pid_t log_pid;           /* set by log_init, which each child calls */
static int log_min = LOG_LEVEL_INFO;
static int log_copy_fd = -1;    /* the logger's pipe; -1: none */

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_init(const char *procname)
{
	snprintf(log_proc, sizeof(log_proc), "%s", procname);
	log_pid = getpid();
}

void
log_set_copy_fd(int fd)
{
	log_copy_fd = fd;
}

void
log_set_level(int level)
{
	log_min = level;
}

int
log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < 0 || level > LOG_LEVEL_ERROR)
		return "?";
	return level_names[level];
}

static void
log_vline(int level, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	if (level < log_min)
		return;
	n = snprintf(line, sizeof(line), "%s[%d]: ", log_proc,
	    (int)(log_pid ? log_pid : getpid()));
	if (n < 0)
		return;
	if (level >= LOG_LEVEL_WARN && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s: ",
		    level_names[level]);
	if ((size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* One write per line so that lines of several processes do not mix. */
	size_t len = strnlen(line, sizeof(line) - 2);
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0 && log_copy_fd < 0)
		return;
	/* The same line for the log file: one write under PIPE_BUF, so that
	 * it stays whole; a full pipe (the logger behind) drops it. */
	if (log_copy_fd >= 0 && write(log_copy_fd, line, len) < 0)
		return;
}

#define LOG_FN(name, level)                     \
	void name(const char *fmt, ...)         \
	{                                       \
		va_list ap;                     \
		va_start(ap, fmt);              \
		log_vline(level, fmt, ap);      \
		va_end(ap);                     \
	}
LOG_FN(log_debug, LOG_LEVEL_DEBUG)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_error, LOG_LEVEL_ERROR)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
bug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	abort();
}

char *
log_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dstlen == 0)
		return dst;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;
		if (o + need + 4 > dstlen) {
			if (o + 4 <= dstlen)
				memcpy(dst + o, "...", 3), o += 3;
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o < dstlen ? o : dstlen - 1] = '\0';
	return dst;
}
