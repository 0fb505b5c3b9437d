/*
 * libFuzzer harness for the queue's envelope loader (queue/queue_file.c):
 * a queue file is written by smtpd, but a damaged disk or a hand edit may
 * leave anything in it, and the queue and `tern queue` read it.  The input
 * is cut at the first NUL: before it, the queue file; after it, the
 * message's ID.state.  Checks that a loaded envelope holds at least one
 * recipient, NUL-terminated fields and a content offset inside the file,
 * and that what it formats back loads again to the same recipients.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID "FZZ2345BCDFG"

static char dir[64];

static void
write_file(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (size == (size_t)-1) {
		unlink(path);
		return;
	}
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
}

static void
check(const struct queue_env *env)
{
	if (env->nrcpt == 0 || env->content_offset > env->file_size ||
	    strlen(env->id) != QUEUE_ID_LEN)
		abort();
	for (size_t i = 0; i < env->nrcpt; i++)
		if (strnlen(env->rcpts[i].addr, ADDR_BUF) == ADDR_BUF ||
		    strnlen(env->rcpts[i].last_error, QUEUE_ERR_MAX) ==
		    QUEUE_ERR_MAX)
			abort();
}

/* What the loader took must survive being written out and read again. */
static void
round_trip(const struct queue_env *env)
{
	struct queue_env again;
	struct buf b;
	char err[256];

	buf_init(&b, 1 << 20);
	queue_env_format(env, &b);
	write_file(ID, (const uint8_t *)b.data, b.len);
	write_file(ID ".state", NULL, (size_t)-1);
	if (queue_env_load(dir, ID, &again, err, sizeof(err)) < 0 ||
	    again.nrcpt != env->nrcpt)
		abort();
	for (size_t i = 0; i < env->nrcpt; i++)
		if (strcmp(again.rcpts[i].addr, env->rcpts[i].addr) != 0)
			abort();
	queue_env_free(&again);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t head = nul ? (size_t)(nul - data) : size;
	struct queue_env env;
	char err[256];

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/tern-fuzz-queue.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	write_file(ID, data, head);
	write_file(ID ".state", nul ? nul + 1 : NULL,
	    nul ? size - head - 1 : (size_t)-1);
	if (queue_env_load(dir, ID, &env, err, sizeof(err)) < 0)
		return 0;
	check(&env);
	round_trip(&env);
	queue_env_free(&env);
	return 0;
}
