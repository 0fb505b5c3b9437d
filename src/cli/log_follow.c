/*
 * tern log --follow: the lines that match as they are written.  The file
 * is read in chunks from where it was; at its end, a look every 200 ms;
 * when log_file names another inode (the logger rotated it), the rest of
 * the old one is read and the new one followed from its start.
 *
 * A session may match only at a later line (AUTH comes after connect), so
 * the lines of a session that has not matched yet are kept, copied, up to
 * LOG_FOLLOW_KEEP each, and printed when it matches; a session that ends
 * (and a message removed from the queue) is forgotten at the next prune,
 * every LOG_FOLLOW_PRUNE ends, so memory stays bounded: by the sessions
 * open at once (at most max_sessions) times LOG_FOLLOW_KEEP lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/log_int.h"
#include "master/logger.h"
#include "util/xmalloc.h"

#define LOG_FOLLOW_KEEP   64     /* lines kept of a session not matched yet */
#define LOG_FOLLOW_PRUNE  4096   /* sessions ended between two prunes */
#define LOG_FOLLOW_CHUNK  (64 * 1024)

struct log_stream {
	const struct log_opts *o;
	struct log_groups gs;
	size_t ended;
	char buf[LOG_FOLLOW_CHUNK];
	size_t len;
};

static void
log_stream_print_pending(struct log_stream *st, struct log_group *g,
    const char *group)
{
	struct log_line l;

	for (size_t i = 0; i < g->npending; i++) {
		log_line_parse(g->pending[i], strlen(g->pending[i]), &l);
		log_print_line(st->o, &l, group);
		free(g->pending[i]);
	}
	free(g->pending);
	g->pending = NULL;
	g->npending = 0;
}

/* A session or message that has ended: forgotten at the next prune. */
static void
log_stream_closed(struct log_stream *st, struct log_group *g)
{
	g->closed = 1;
	if (++st->ended >= LOG_FOLLOW_PRUNE) {
		log_groups_prune(&st->gs);
		st->ended = 0;
	}
}

static void
log_stream_line(struct log_stream *st, const char *p, size_t len)
{
	const struct log_opts *o = st->o;
	struct log_line l;
	struct log_group *g;
	unsigned hits;
	char name[48], reason[64];
	const char *qid;
	size_t qlen;

	log_line_parse(p, len, &l);
	if (o->has_since) {
		time_t when;
		if (log_line_time(&l, &when) == 0 && when < o->since)
			return;
	}
	hits = log_filter_hits(&o->f, &l);
	if (o->f.failures) {
		if (hits == o->want && log_line_failure(&l, reason, sizeof(reason)))
			log_print_line(o, &l, NULL);
		return;
	}
	/* A message is followed only when its session matched: the queue's
	 * other lines make no group (they would pile up, never closed). */
	g = log_groups_get(&st->gs, l.kind, l.id, l.id_len,
	    l.kind == LOG_KIND_SESSION);
	if (g == NULL || (l.kind == LOG_KIND_QUEUE && g->mask != o->want)) {
		if (hits == o->want)
			log_print_line(o, &l, NULL);
		return;
	}
	g->mask |= hits;
	if (g->mask != o->want) {
		if (log_line_ends_session(&l)) {
			/* Its lines go; the key stays until the next prune. */
			for (size_t i = 0; i < g->npending; i++)
				free(g->pending[i]);
			free(g->pending);
			g->pending = NULL;
			g->npending = 0;
			log_stream_closed(st, g);
		} else if (g->npending < LOG_FOLLOW_KEEP) {
			g->pending = xreallocarray(g->pending, g->npending + 1,
			    sizeof(*g->pending));
			g->pending[g->npending++] = xstrndup(p, len);
		}
		return;
	}
	log_group_name(g, name, sizeof(name));
	log_stream_print_pending(st, g, name);
	log_print_line(o, &l, name);
	if (log_line_ends_session(&l) || (l.kind == LOG_KIND_QUEUE &&
	    l.msg_len >= 7 && memcmp(l.msg, "removed", 7) == 0))
		log_stream_closed(st, g);
	if (log_line_queued(&l, &qid, &qlen)) {
		struct log_group *q = log_groups_get(&st->gs, LOG_KIND_QUEUE,
		    qid, qlen, 1);
		q->mask = o->want;
	}
}

/* The whole lines read so far; a partial one waits for its end. */
static void
log_stream_feed(struct log_stream *st)
{
	size_t start = 0;

	for (;;) {
		const char *nl = memchr(st->buf + start, '\n', st->len - start);
		if (nl == NULL)
			break;
		log_stream_line(st, st->buf + start, (size_t)(nl - st->buf) - start);
		start = (size_t)(nl - st->buf) + 1;
	}
	if (start == 0 && st->len == sizeof(st->buf)) {
		log_stream_line(st, st->buf, st->len);  /* a line too long */
		start = st->len;
	}
	memmove(st->buf, st->buf + start, st->len - start);
	st->len -= start;
}

/* Everything fd holds from where it is.  0, or -1 on a read error. */
static int
log_stream_drain(struct log_stream *st, int fd)
{
	for (;;) {
		ssize_t n = read(fd, st->buf + st->len, sizeof(st->buf) - st->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		st->len += (size_t)n;
		log_stream_feed(st);
	}
}

/* With --since: the rotations first, each from its start (lines before
 * since are skipped as they come). */
static void
log_stream_history(struct log_stream *st)
{
	char **names;
	size_t n = log_files(st->o->path, &names);

	for (size_t i = 0; i < n; i++) {
		int fd = i + 1 < n ? open(names[i], O_RDONLY | O_CLOEXEC) : -1;
		if (fd >= 0) {
			(void)log_stream_drain(st, fd);
			close(fd);
		}
		free(names[i]);
	}
	free(names);
}

/* Which rotation (1..) is the file of inode ino; 0 when none. */
static unsigned
log_rotation_of(const char *path, ino_t ino)
{
	char name[4200];
	struct stat sb;

	for (unsigned i = 1; i < 100000; i++) {
		if (logger_rotation_name(path, i, name, sizeof(name)) < 0 ||
		    stat(name, &sb) < 0)
			return 0;
		if (sb.st_ino == ino)
			return i;
	}
	return 0;
}

/* The file of inode ino has been read to its end: read the newer
 * rotations, oldest first, up to (not including) log_file itself. */
static void
log_stream_rotated(struct log_stream *st, ino_t ino)
{
	char name[4200];
	unsigned k;
	struct stat sb;

	while ((k = log_rotation_of(st->o->path, ino)) > 1) {
		int fd;
		if (logger_rotation_name(st->o->path, k - 1, name, sizeof(name)) < 0 ||
		    (fd = open(name, O_RDONLY | O_CLOEXEC)) < 0)
			return;
		if (fstat(fd, &sb) < 0 || log_stream_drain(st, fd) < 0) {
			close(fd);
			return;
		}
		close(fd);
		ino = sb.st_ino;
	}
}

int
log_follow(const struct log_opts *o)
{
	static struct log_stream st;
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	struct stat now, was;
	int fd = -1;
	/* Without --since, only what is written from now on; a file that
	 * appears later, or the new file after a rotation, is read whole. */
	int from_start = o->has_since;

	st.o = o;
	log_groups_init(&st.gs);
	if (o->has_since)
		log_stream_history(&st);
	for (;;) {
		if (fd < 0) {
			fd = open(o->path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 && fstat(fd, &was) < 0) {
				close(fd);
				fd = -1;
			}
			if (fd >= 0 && !from_start &&
			    lseek(fd, 0, SEEK_END) < 0) {
				cli_error("cannot read %s: %s", o->path, strerror(errno));
				return 1;
			}
			from_start = 1;
		}
		if (fd >= 0 && log_stream_drain(&st, fd) < 0) {
			cli_error("cannot read %s: %s", o->path, strerror(errno));
			return 1;
		}
		if (fflush(stdout) == EOF)
			return 1;
		nanosleep(&tick, NULL);
		if (fd >= 0 && stat(o->path, &now) == 0 &&
		    (now.st_ino != was.st_ino || now.st_dev != was.st_dev)) {
			/* Rotated: what was written to the old one last,
			 * then the files rotated after it, if several
			 * rotations came within one tick. */
			if (log_stream_drain(&st, fd) < 0)
				return 1;
			close(fd);
			fd = -1;
			log_stream_rotated(&st, was.st_ino);
		}
	}
}
