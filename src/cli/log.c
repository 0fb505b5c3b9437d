/*
 * tern log [--follow] [--since DURATION] [--login LOGIN] [--client IP|CIDR]
 *          [--address ADDRESS] [--id ID] [--failures] [--json]
 * Reads log_file and its rotations (oldest first) and prints the sessions
 * and messages that match, each group whole.  Two passes over each file,
 * mapped into memory: the first finds the groups that match (with one
 * filter that has fixed bytes, only the lines holding those bytes are
 * parsed: memmem jumps between them), the second prints their lines.
 * Trusts the file no more than any input: log_line.c bounds every field.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/log_int.h"
#include "cli/log_window.h"
#include "master/logger.h"
#include "util/log_stamp.h"
#include "util/xmalloc.h"

#define LOG_SEEN_BITS 4096
#define LOG_HITS_MAX  (1u << 20)  /* more: the second pass reads it all */

/* A span of one file for the second pass. */
struct log_span {
	size_t fi, start, end;
};

struct log_map {
	const char *base;
	size_t size, start;     /* start: the first line within --since */
};

struct log_out {
	uint64_t pos;           /* file index << 40 | offset of its first line */
	char group[48];
	struct log_line_ref { const char *p; size_t len; } *lines;
	size_t n, cap;
};

struct log_run {
	const struct log_opts *o;
	struct log_groups gs;
	struct log_out *outs;
	size_t nouts, capouts;
	int keyed;              /* a keyed group matched: the second pass runs */
	/* The matched groups by the first two bytes of their id: most lines
	 * of the second pass are passed over on one bit, unhashed. */
	unsigned char seen[LOG_SEEN_BITS / 8];
	/* Where sessions' lines matched, to read only around them in the
	 * second pass; full: read every file whole instead. */
	struct log_span *hits;
	size_t nhits, caphits;
	int full;
};

static void
log_usage(void)
{
	fprintf(stderr, "usage: tern log [--follow] [--since DURATION] "
	    "[--login LOGIN] [--client IP|CIDR]\n"
	    "                [--address ADDRESS] [--id ID] [--failures] "
	    "[--json]\n");
}

/* An option's value, once.  0, or -1 for bad usage. */
static int
log_take(int argc, char **argv, int *i, const char **dst)
{
	if (*i + 1 >= argc || *dst != NULL)
		return -1;
	*dst = argv[++*i];
	return 0;
}

static int
log_parse(int argc, char **argv, struct log_opts *o)
{
	const char *since = NULL, *client = NULL;
	char why[128];
	unsigned secs;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int r = 0;
		if (strcmp(a, "--follow") == 0 && !o->follow)
			o->follow = 1;
		else if (strcmp(a, "--json") == 0 && !o->json)
			o->json = 1;
		else if (strcmp(a, "--failures") == 0 && !o->f.failures)
			o->f.failures = 1;
		else if (strcmp(a, "--since") == 0)
			r = log_take(argc, argv, &i, &since);
		else if (strcmp(a, "--login") == 0)
			r = log_take(argc, argv, &i, &o->f.login);
		else if (strcmp(a, "--client") == 0)
			r = log_take(argc, argv, &i, &client);
		else if (strcmp(a, "--address") == 0)
			r = log_take(argc, argv, &i, &o->f.address);
		else if (strcmp(a, "--id") == 0)
			r = log_take(argc, argv, &i, &o->f.id);
		else
			r = -1;
		if (r < 0) {
			log_usage();
			return EXIT_USAGE;
		}
	}
	if (since != NULL) {
		if (conf_parse_duration(since, &secs) < 0) {
			cli_error("bad duration '%s' (use e.g. 30s, 10m, 2h, 1d, 7d)",
			    since);
			return EXIT_USAGE;
		}
		o->has_since = 1;
		o->since = time(NULL) - (time_t)secs;
	}
	if (client != NULL) {
		if (cidr_parse(client, &o->f.client, why, sizeof(why)) < 0) {
			cli_error("bad --client '%s': %s", client, why);
			return EXIT_USAGE;
		}
		o->f.has_client = 1;
	}
	if ((o->f.login && o->f.login[0] == '\0') ||
	    (o->f.address && o->f.address[0] == '\0') ||
	    (o->f.id && o->f.id[0] == '\0')) {
		log_usage();
		return EXIT_USAGE;
	}
	o->want = log_filter_want(&o->f);
	return 0;
}

size_t
log_files(const char *path, char ***names_r)
{
	char name[4200];
	size_t n = 0, cap = 8;
	char **names = xreallocarray(NULL, cap, sizeof(*names));
	struct stat st;

	/* Rotations are numbered without gaps: count up to the first missing. */
	for (unsigned i = 1; i < 100000; i++) {
		if (logger_rotation_name(path, i, name, sizeof(name)) < 0 ||
		    stat(name, &st) < 0)
			break;
		if (n + 1 >= cap)
			names = xreallocarray(names, cap *= 2, sizeof(*names));
		names[n++] = xstrdup(name);
	}
	for (size_t i = 0; i < n / 2; i++) {
		char *t = names[i];
		names[i] = names[n - 1 - i];
		names[n - 1 - i] = t;
	}
	names[n++] = xstrdup(path);
	*names_r = names;
	return n;
}

static size_t
log_line_start_after(const struct log_map *m, size_t off)
{
	const char *p;

	if (off == 0)
		return 0;
	p = memchr(m->base + off - 1, '\n', m->size - (off - 1));
	return p ? (size_t)(p - m->base) + 1 : m->size;
}

/* The first line stamped at or after since: the file is in time order
 * (one writer stamps as it reads), so a binary search finds it. */
static size_t
log_since_start(const struct log_map *m, time_t since)
{
	size_t lo = 0, hi = m->size;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, s = log_line_start_after(m, mid);
		time_t when;
		if (s >= m->size || log_stamp_parse(m->base + s, m->size - s,
		    &when) < 0 || when >= since)
			hi = mid;
		else
			lo = mid + 1;
	}
	return log_line_start_after(m, lo);
}

static struct log_out *
log_out_new(struct log_run *run, uint64_t pos, const char *group)
{
	struct log_out *out;

	if (run->nouts == run->capouts) {
		run->capouts = run->capouts ? run->capouts * 2 : 64;
		run->outs = xreallocarray(run->outs, run->capouts, sizeof(*run->outs));
	}
	out = &run->outs[run->nouts++];
	memset(out, 0, sizeof(*out));
	out->pos = pos;
	snprintf(out->group, sizeof(out->group), "%s", group ? group : "");
	return out;
}

static void
log_out_add(struct log_out *out, const char *p, size_t len)
{
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 16;
		out->lines = xreallocarray(out->lines, out->cap, sizeof(*out->lines));
	}
	out->lines[out->n].p = p;
	out->lines[out->n++].len = len;
}

static unsigned
log_seen_bit(enum log_kind kind, const char *id)
{
	return ((unsigned)(unsigned char)id[0] * 64 + (unsigned char)id[1] * 2 +
	    (kind == LOG_KIND_QUEUE)) % LOG_SEEN_BITS;
}

static void
log_seen_set(struct log_run *run, enum log_kind kind, const char *id)
{
	unsigned b = log_seen_bit(kind, id);

	run->seen[b / 8] |= (unsigned char)(1u << (b % 8));
}

static int
log_seen(const struct log_run *run, enum log_kind kind, const char *id)
{
	unsigned b = log_seen_bit(kind, id);

	return run->seen[b / 8] & (1u << (b % 8));
}

/* Pass one, for one line: which filters it satisfies, on its group. */
static void
log_first_line(struct log_run *run, const char *p, size_t len, uint64_t pos,
    unsigned bits)
{
	const struct log_opts *o = run->o;
	struct log_line l;
	struct log_group *g;
	unsigned hits;

	log_line_parse(p, len, &l);
	hits = log_filter_hits(&o->f, &l) & bits;
	if (o->f.failures) {
		char reason[64];
		/* Every failure line that satisfies the other filters. */
		if (hits == o->want && log_line_failure(&l, reason, sizeof(reason)))
			log_out_add(log_out_new(run, pos, NULL), p, len);
		return;
	}
	if (hits == 0)
		return;
	if ((g = log_groups_get(&run->gs, l.kind, l.id, l.id_len, 1)) == NULL) {
		if (hits == o->want)
			log_out_add(log_out_new(run, pos, NULL), p, len);
		return;
	}
	g->mask |= hits;
	if (l.kind != LOG_KIND_SESSION || run->nhits == LOG_HITS_MAX) {
		run->full = 1;
	} else if (!run->full) {
		if (run->nhits == run->caphits) {
			run->caphits = run->caphits ? run->caphits * 2 : 64;
			run->hits = xreallocarray(run->hits, run->caphits,
			    sizeof(*run->hits));
		}
		run->hits[run->nhits++] = (struct log_span){ (size_t)(pos >> 40),
		    (size_t)(pos & ((1ULL << 40) - 1)), 0 };
	}
	if (g->mask == o->want) {
		run->keyed = 1;
		log_seen_set(run, l.kind, l.id);
	}
}

/* The lines of one file that hold needle, each once. */
static void
log_first_needle(struct log_run *run, const struct log_map *m, size_t fi,
    const char *needle, unsigned bits)
{
	const char *p = m->base + m->start, *end = m->base + m->size;
	size_t nlen = strlen(needle);

	/* glibc's memmem (two-way, with a skip over byte pairs) measured
	 * faster here than a Horspool of our own. */
	while (p < end && (p = memmem(p, (size_t)(end - p), needle, nlen)) != NULL) {
		const char *s = memrchr(m->base + m->start, '\n',
		    (size_t)(p - (m->base + m->start)));
		const char *e = memchr(p, '\n', (size_t)(end - p));
		s = s ? s + 1 : m->base + m->start;
		e = e ? e : end;
		log_first_line(run, s, (size_t)(e - s),
		    (uint64_t)fi << 40 | (uint64_t)(s - m->base), bits);
		p = e + 1;
	}
}

static void
log_first_all(struct log_run *run, const struct log_map *m, size_t fi)
{
	const char *p = m->base + m->start, *end = m->base + m->size;

	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		e = e ? e : end;
		log_first_line(run, p, (size_t)(e - p),
		    (uint64_t)fi << 40 | (uint64_t)(p - m->base), ~0U);
		p = e + 1;
	}
}

/* A filter's fixed bytes, which every line it matches holds. */
static const char *
log_needle(const struct log_opts *o, unsigned bit)
{
	if (bit == LOG_F_LOGIN)
		return o->f.login;
	if (bit == LOG_F_ID)
		return o->f.id;
	return NULL;
}

/* Pass one over a file: by needle when every filter has one (each filter
 * its own sweep, setting only its bit), else line by line. */
static void
log_first(struct log_run *run, const struct log_map *m, size_t fi)
{
	const struct log_opts *o = run->o;
	int needles = !o->f.failures && o->want != 0;

	for (unsigned bit = 1; bit <= LOG_F_ID; bit <<= 1)
		if ((o->want & bit) && log_needle(o, bit) == NULL)
			needles = 0;
	if (!needles) {
		log_first_all(run, m, fi);
		return;
	}
	for (unsigned bit = 1; bit <= LOG_F_ID; bit <<= 1)
		if (o->want & bit)
			log_first_needle(run, m, fi, log_needle(o, bit), bit);
}

/* Pass two: every line of a matched group to its output; a matched
 * session's queued message joins the session's output. */
static void
log_second(struct log_run *run, const struct log_map *m, size_t fi,
    size_t from, size_t to)
{
	const char *p = m->base + from, *end = m->base + to;
	struct log_line l;
	char name[48];

	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		struct log_group *g;
		const char *qid, *id;
		size_t qlen, idlen;
		enum log_kind kind;

		e = e ? e : end;
		kind = log_line_key(p, (size_t)(e - p), &id, &idlen);
		if (kind == LOG_KIND_OTHER || !log_seen(run, kind, id)) {
			p = e + 1;
			continue;
		}
		g = log_groups_get(&run->gs, kind, id, idlen, 0);
		if (g != NULL && g->mask == run->o->want) {
			log_line_parse(p, (size_t)(e - p), &l);
			if (g->out < 0) {
				g->out = (long)run->nouts;
				(void)log_out_new(run, (uint64_t)fi << 40 |
				    (uint64_t)(p - m->base),
				    log_group_name(g, name, sizeof(name)));
			}
			log_out_add(&run->outs[g->out], p, l.len);
			if (log_line_queued(&l, &qid, &qlen)) {
				long out = g->out;
				struct log_group *q = log_groups_get(&run->gs,
				    LOG_KIND_QUEUE, qid, qlen, 1);
				q->mask = run->o->want;
				log_seen_set(run, LOG_KIND_QUEUE, qid);
				if (q->out < 0)
					q->out = out;
			}
		}
		p = e + 1;
	}
}

static int
log_span_cmp(const void *a, const void *b)
{
	const struct log_span *x = a, *y = b;

	if (x->fi != y->fi)
		return x->fi < y->fi ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The spans of the matched sessions, in file order, overlaps merged, into
 * run->hits.  0, or -1 when one cannot be told (then read it all). */
static int
log_spans(struct log_run *run, const struct log_map *maps)
{
	size_t n = 0;

	for (size_t i = 0; i < run->nhits; i++) {
		struct log_span *h = &run->hits[i];
		const struct log_map *m = &maps[h->fi];
		const char *e = memchr(m->base + h->start, '\n', m->size - h->start);
		size_t len = e ? (size_t)(e - (m->base + h->start)) : m->size - h->start;
		const char *id;
		size_t idlen, s, end;
		enum log_kind k = log_line_key(m->base + h->start, len, &id, &idlen);
		struct log_group *g = log_groups_get(&run->gs, k, id, idlen, 0);

		if (g == NULL || g->mask != run->o->want)
			continue;       /* its session did not match */
		if (log_window(m->base, m->start, m->size, h->start, &s, &end) < 0)
			return -1;
		run->hits[n++] = (struct log_span){ h->fi, s, end };
	}
	if (n > 1)
		qsort(run->hits, n, sizeof(*run->hits), log_span_cmp);
	run->nhits = 0;
	for (size_t i = 0; i < n; i++) {
		struct log_span *last = run->nhits ? &run->hits[run->nhits - 1] : NULL;
		if (last && last->fi == run->hits[i].fi &&
		    run->hits[i].start <= last->end) {
			if (run->hits[i].end > last->end)
				last->end = run->hits[i].end;
		} else {
			run->hits[run->nhits++] = run->hits[i];
		}
	}
	return 0;
}

/* Pass two: around each match, or every file whole. */
static void
log_second_all(struct log_run *run, const struct log_map *maps, size_t n)
{
	if (!run->full && log_spans(run, maps) == 0) {
		for (size_t i = 0; i < run->nhits; i++)
			log_second(run, &maps[run->hits[i].fi], run->hits[i].fi,
			    run->hits[i].start, run->hits[i].end);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (maps[i].base)
			log_second(run, &maps[i], i, maps[i].start, maps[i].size);
}

static int
log_out_cmp(const void *a, const void *b)
{
	const struct log_out *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void
log_print_outs(struct log_run *run)
{
	struct log_line l;

	if (run->nouts > 1)
		qsort(run->outs, run->nouts, sizeof(*run->outs), log_out_cmp);
	for (size_t i = 0; i < run->nouts; i++) {
		struct log_out *out = &run->outs[i];
		/* Groups apart by an empty line; single failure lines not. */
		if (i > 0 && !run->o->json && !run->o->f.failures)
			putchar('\n');
		for (size_t j = 0; j < out->n; j++) {
			log_line_parse(out->lines[j].p, out->lines[j].len, &l);
			log_print_line(run->o, &l, out->group[0] ? out->group : NULL);
		}
		free(out->lines);
	}
	free(run->outs);
}

/* Every line of m from --since on, as it is or as JSON. */
static void
log_all(const struct log_opts *o, const struct log_map *m)
{
	const char *p = m->base + m->start, *end = m->base + m->size;
	struct log_line l;

	if (!o->json) {
		fwrite(p, 1, (size_t)(end - p), stdout);
		if (end > p && end[-1] != '\n')
			putchar('\n');
		return;
	}
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		char name[48];
		struct log_group g = { 0 };
		e = e ? e : end;
		log_line_parse(p, (size_t)(e - p), &l);
		if (l.id != NULL) {
			g.key[0] = l.kind == LOG_KIND_SESSION ? 's' : 'q';
			memcpy(g.key + 1, l.id, l.id_len);
			g.klen = (unsigned char)(l.id_len + 1);
		}
		log_print_line(o, &l, l.id ? log_group_name(&g, name, sizeof(name)) : NULL);
		p = e + 1;
	}
}

static int
log_map_file(const char *name, struct log_map *m, const struct log_opts *o)
{
	struct stat st;
	int fd = open(name, O_RDONLY | O_CLOEXEC);

	memset(m, 0, sizeof(*m));
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		cli_error("cannot open %s: %s", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return 0;
	}
	m->size = (size_t)st.st_size;
	m->base = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->base == MAP_FAILED) {
		cli_error("cannot read %s: %s", name, strerror(errno));
		m->base = NULL;
		return -1;
	}
	(void)madvise((void *)m->base, m->size, MADV_SEQUENTIAL);
	m->start = o->has_since ? log_since_start(m, o->since) : 0;
	return 0;
}

static int
log_search(const struct log_opts *o)
{
	struct log_run run = { .o = o };
	char **names;
	size_t n = log_files(o->path, &names);
	struct log_map *maps = xcalloc(n, sizeof(*maps));
	int rc = 0;

	log_groups_init(&run.gs);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = log_map_file(names[i], &maps[i], o);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (maps[i].base == NULL)
			continue;
		if (o->want == 0 && !o->f.failures)
			log_all(o, &maps[i]);   /* no filter: every line */
		else
			log_first(&run, &maps[i], i);
	}
	if (rc == 0 && run.keyed)
		log_second_all(&run, maps, n);
	free(run.hits);
	if (rc == 0)
		log_print_outs(&run);
	else
		free(run.outs);
	for (size_t i = 0; i < n; i++) {
		if (maps[i].base)
			munmap((void *)maps[i].base, maps[i].size);
		free(names[i]);
	}
	free(maps);
	free(names);
	log_groups_free(&run.gs);
	return rc < 0 ? 1 : 0;
}

int
cli_log(const struct conf *conf, int argc, char **argv)
{
	static struct log_opts o;
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = log_parse(argc, argv, &o)) != 0)
		return r;
	r = logger_path(conf, 0, o.path, sizeof(o.path));
	if (r <= 0) {
		cli_error(r < 0 ? "log_file: the path is too long" :
		    "log_file is empty: tern writes no log file");
		return 1;
	}
	if (access(o.path, R_OK) < 0 && errno != ENOENT) {
		cli_error("cannot read %s: %s", o.path, strerror(errno));
		return 1;
	}
	r = o.follow ? log_follow(&o) : log_search(&o);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_error("cannot write: %s", strerror(errno));
		return 1;
	}
	return r;
}
