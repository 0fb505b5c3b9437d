/*
 * Queue files: see queue_file.h.  The queue folder is written only by tern
 * itself, but a file is still parsed defensively: every line is bounded and
 * every field checked, because a damaged file must not crash the queue.
 */
#include "queue/queue_file.h"
#include "queue/queue_spare.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/durable.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define QUEUE_LINE_MAX (2 * ADDR_BUF + QUEUE_ERR_MAX + 64)
#define QUEUE_MAX_RCPTS 100000

static const char b32[] = "0123456789BCDFGHJKLMNPQRSTVWXYZ";

void
queue_id_new(char id_r[QUEUE_ID_BUF])
{
	unsigned char r[QUEUE_ID_LEN];

	do {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			fatal("getrandom: %s", strerror(errno));
		for (size_t i = 0; i < QUEUE_ID_LEN; i++)
			id_r[i] = b32[r[i] % (sizeof(b32) - 1)];
		id_r[QUEUE_ID_LEN] = '\0';
	} while (strspn(id_r, "0") == QUEUE_ID_LEN);
}

int
queue_id_valid(const char *s)
{
	return strlen(s) == QUEUE_ID_LEN && strspn(s, b32) == QUEUE_ID_LEN;
}

const char *
queue_rcpt_state_name(enum queue_rcpt_state s)
{
	switch (s) {
	case QUEUE_RCPT_PENDING:
		return "pending";
	case QUEUE_RCPT_DEFERRED:
		return "deferred";
	case QUEUE_RCPT_DONE:
		return "done";
	}
	return "?";
}

void
queue_env_add_rcpt(struct queue_env *env, const char *orig, const char *addr,
    int remote)
{
	struct queue_rcpt *r;

	env->rcpts = xreallocarray(env->rcpts, env->nrcpt + 1, sizeof(*r));
	r = &env->rcpts[env->nrcpt++];
	memset(r, 0, sizeof(*r));
	snprintf(r->orig, sizeof(r->orig), "%s", orig);
	snprintf(r->addr, sizeof(r->addr), "%s", addr);
	r->remote = remote;
	r->state = QUEUE_RCPT_PENDING;
}

void
queue_env_format(const struct queue_env *env, struct buf *out)
{
	int r = buf_appendf(out, "tern-queue %d\nid\t%s\ncreated\t%lld\n"
	    "from\t%s\nclient\t%s\n", QUEUE_VERSION, env->id,
	    (long long)env->created, env->sender, env->client);

	/* Only when set: a reader before these lines existed still reads
	 * every 7bit, non-SMTPUTF8 message. */
	if (r == 0 && env->body_8bit)
		r = buf_appendf(out, "body\t8bitmime\n");
	if (r == 0 && env->smtputf8)
		r = buf_appendf(out, "smtputf8\n");
	for (size_t i = 0; r == 0 && i < env->nrcpt; i++)
		r = buf_appendf(out, "rcpt\t%s\t%s\t%s\n", env->rcpts[i].orig,
		    env->rcpts[i].addr, env->rcpts[i].remote ? "remote" : "local");
	if (r == 0)
		r = buf_append(out, "\n", 1);
	if (r < 0)
		bug("queue envelope larger than its buffer");
}

/* Splits line at tabs into at most max fields, the last holding the rest
 * of the line (tabs too: nothing is dropped unseen); returns the count. */
static size_t
split_tabs(char *line, char **fields, size_t max)
{
	size_t n = 0;

	while (n < max) {
		fields[n++] = line;
		char *t = strchr(line, '\t');
		if (t == NULL || n == max)
			break;
		*t = '\0';
		line = t + 1;
	}
	return n;
}

static int
copy_field(char *dst, size_t dstlen, const char *src)
{
	size_t len = strlen(src);

	if (len >= dstlen)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

/* One envelope line, already without its newline. */
static int
queue_env_line(struct queue_env *env, char *line)
{
	char *f[4];
	size_t n = split_tabs(line, f, 4);

	if (n == 2 && strcmp(f[0], "id") == 0)
		return copy_field(env->id, sizeof(env->id), f[1]);
	if (n == 2 && strcmp(f[0], "created") == 0) {
		char *end;
		errno = 0;
		long long t = strtoll(f[1], &end, 10);
		if (errno || *end != '\0' || t < 0)
			return -1;
		env->created = (time_t)t;
		return 0;
	}
	if (n == 2 && strcmp(f[0], "from") == 0)
		return copy_field(env->sender, sizeof(env->sender), f[1]);
	if (n == 2 && strcmp(f[0], "client") == 0)
		return copy_field(env->client, sizeof(env->client), f[1]);
	if (n == 2 && strcmp(f[0], "body") == 0) {
		/* 7bit is never written (it is the default), but is no damage. */
		if (strcmp(f[1], "8bitmime") == 0)
			env->body_8bit = 1;
		else if (strcmp(f[1], "7bit") != 0)
			return -1;
		return 0;
	}
	if (n == 1 && strcmp(f[0], "smtputf8") == 0) {
		env->smtputf8 = 1;
		return 0;
	}
	if (n == 4 && strcmp(f[0], "rcpt") == 0) {
		if (env->nrcpt >= QUEUE_MAX_RCPTS ||
		    strlen(f[1]) >= ADDR_BUF || strlen(f[2]) >= ADDR_BUF ||
		    (strcmp(f[3], "local") != 0 && strcmp(f[3], "remote") != 0))
			return -1;
		queue_env_add_rcpt(env, f[1], f[2], strcmp(f[3], "remote") == 0);
		return 0;
	}
	return -1;
}

/* Reads one line of at most QUEUE_LINE_MAX into line, without newline.
 * 1 read, 0 end of file, -1 too long. */
static int
read_line(FILE *f, char *line, size_t size)
{
	if (fgets(line, (int)size, f) == NULL)
		return 0;
	size_t len = strlen(line);
	if (len == 0 || line[len - 1] != '\n')
		return -1;
	line[len - 1] = '\0';
	return 1;
}

/* A reply text is one field of a line of the state file: a tab, CR or
 * LF in it would end the field or the line early, and what follows would
 * be read as the state of a recipient (one a server could mark done).
 * Every control byte becomes a space, before it is written and again
 * when it is read. */
static void
queue_state_clean(char *text)
{
	for (unsigned char *p = (unsigned char *)text; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* A number field of the state file: digits only, at most max. */
static int
queue_state_number(const char *s, unsigned long long max,
    unsigned long long *v_r)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v_r = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' || *v_r > max ? -1 : 0;
}

/* One line of the state file: "index<TAB>state<TAB>next<TAB>attempts<TAB>
 * last reply".  0, or -1 when it is damaged. */
static int
queue_state_line(struct queue_env *env, char *line)
{
	char *fld[5];
	unsigned long long i, next, attempts;
	struct queue_rcpt *rc;

	if (split_tabs(line, fld, 5) != 5 ||
	    queue_state_number(fld[0], env->nrcpt - 1, &i) < 0 ||
	    queue_state_number(fld[2], INT64_MAX, &next) < 0 ||
	    queue_state_number(fld[3], UINT_MAX, &attempts) < 0)
		return -1;
	rc = &env->rcpts[i];
	if (strcmp(fld[1], "done") == 0)
		rc->state = QUEUE_RCPT_DONE;
	else if (strcmp(fld[1], "deferred") == 0)
		rc->state = QUEUE_RCPT_DEFERRED;
	else
		return -1;
	rc->next_attempt = (time_t)next;
	rc->attempts = (unsigned)attempts;
	if (copy_field(rc->last_error, sizeof(rc->last_error), fld[4]) < 0)
		return -1;
	/* Written clean; a tab or CR here is damage, not a reason to lose
	 * the message. */
	queue_state_clean(rc->last_error);
	return 0;
}

static int
queue_state_load(const char *queue_dir, struct queue_env *env)
{
	char path[PATH_MAX], line[QUEUE_LINE_MAX];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s.state", queue_dir, env->id);
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (r == 0 && (r = read_line(f, line, sizeof(line))) == 1)
		r = queue_state_line(env, line) < 0 ? -1 : 0;
	fclose(f);
	return r < 0 ? -1 : 0;
}

int
queue_env_load(const char *queue_dir, const char *id, struct queue_env *env,
    char *err, size_t errlen)
{
	char path[PATH_MAX], line[QUEUE_LINE_MAX];
	struct stat st;
	FILE *f;
	int r, version = 0;

	memset(env, 0, sizeof(*env));
	if (!queue_id_valid(id)) {
		snprintf(err, errlen, "not a queue id: %s", id);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", queue_dir, id);
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = read_line(f, line, sizeof(line));
	if (r != 1 || sscanf(line, "tern-queue %d", &version) != 1 ||
	    version != QUEUE_VERSION)
		goto bad;
	while ((r = read_line(f, line, sizeof(line))) == 1 && line[0] != '\0')
		if (queue_env_line(env, line) < 0)
			goto bad;
	if (r != 1 || strcmp(env->id, id) != 0 || env->nrcpt == 0)
		goto bad;
	if ((env->content_offset = ftello(f)) < 0 || fstat(fileno(f), &st) < 0)
		goto bad;
	env->file_size = st.st_size;
	fclose(f);
	if (queue_state_load(queue_dir, env) < 0) {
		snprintf(err, errlen, "%s.state: damaged", path);
		queue_env_free(env);
		/* Callers tell "gone" (ENOENT) from damaged by errno. */
		errno = EINVAL;
		return -1;
	}
	return 0;
bad:
	fclose(f);
	snprintf(err, errlen, "%s: damaged envelope", path);
	queue_env_free(env);
	errno = EINVAL;
	return -1;
}

int
queue_state_save(const char *queue_dir, const struct queue_env *env)
{
	struct buf b;
	char name[QUEUE_ID_BUF + 8];
	int r = 0;

	buf_init(&b, (size_t)QUEUE_MAX_RCPTS * (QUEUE_ERR_MAX + 64));
	for (size_t i = 0; r == 0 && i < env->nrcpt; i++) {
		const struct queue_rcpt *rc = &env->rcpts[i];
		char reply[QUEUE_ERR_MAX];
		if (rc->state == QUEUE_RCPT_PENDING)
			continue;
		snprintf(reply, sizeof(reply), "%s", rc->last_error);
		queue_state_clean(reply);
		r = buf_appendf(&b, "%zu\t%s\t%lld\t%u\t%s\n", i,
		    queue_rcpt_state_name(rc->state),
		    (long long)(rc->next_attempt > 0 ? rc->next_attempt : 0),
		    rc->attempts, reply);
	}
	snprintf(name, sizeof(name), "%s.state", env->id);
	if (r == 0)
		r = durable_replace(queue_dir, name, b.data ? b.data : "", b.len);
	buf_free(&b);
	return r;
}

int
queue_remove(const char *queue_dir, const char *id)
{
	char path[PATH_MAX];

	if (!queue_id_valid(id))
		return errno = EINVAL, -1;
	snprintf(path, sizeof(path), "%s/%s.state", queue_dir, id);
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return queue_spare_keep(queue_dir, id);
}

void
queue_env_free(struct queue_env *env)
{
	free(env->rcpts);
	env->rcpts = NULL;
	env->nrcpt = 0;
}
