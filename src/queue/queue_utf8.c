/*
 * Whether a message needs SMTPUTF8: see queue_utf8.h.  Reads the queue
 * file, written by tern, but scans it byte by byte without trusting its
 * shape: a header section without an end is read to the end of the file.
 */
#include "queue/queue_utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

#define QUEUE_UTF8_CHUNK (16 * 1024)

static int
queue_utf8_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* *line_len carries the length of the current line (CRs not counted)
 * from one chunk to the next; an empty line ends the section. */
int
queue_utf8_header_scan(const unsigned char *p, size_t n, size_t *line_len,
    int *end_r)
{
	*end_r = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x80)
			return 1;
		if (p[i] == '\n') {
			if (*line_len == 0) {
				*end_r = 1;
				return 0;
			}
			*line_len = 0;
		} else if (p[i] != '\r') {
			(*line_len)++;
		}
	}
	return 0;
}

/* 1 if the header section of the message in the file holds a byte >=
 * 0x80, 0 if not, -1 when the file cannot be read. */
static int
queue_utf8_headers(const char *path, off_t offset)
{
	unsigned char buf[QUEUE_UTF8_CHUNK];
	size_t line_len = 0;
	int fd, found = 0, end = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (!found && !end) {
		ssize_t n = pread(fd, buf, sizeof(buf), offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			found = -1;
			break;
		}
		if (n == 0)
			break;
		found = queue_utf8_header_scan(buf, (size_t)n, &line_len, &end);
		offset += n;
	}
	if (close(fd) < 0 && found >= 0)
		found = -1;
	return found;
}

int
queue_needs_smtputf8(const char *path, const struct queue_env *env)
{
	int r;

	if (!env->smtputf8)
		return 0;
	if (!queue_utf8_ascii(env->sender))
		return 1;
	for (size_t i = 0; i < env->nrcpt; i++)
		if (!queue_utf8_ascii(env->rcpts[i].orig) ||
		    !queue_utf8_ascii(env->rcpts[i].addr))
			return 1;
	if ((r = queue_utf8_headers(path, env->content_offset)) < 0) {
		log_warn("%s: cannot read its header section (%s): sent as "
		    "needing SMTPUTF8", env->id, strerror(errno));
		return 1;
	}
	return r;
}
