/*
 * The hashes of a batch checked before anything is written: each goes
 * through password_import(), which runs crypt(3) once on it (the only
 * sure way to know libxcrypt could have made it) and costs a few to
 * some tens of milliseconds; ten thousand accounts would take minutes
 * on one core, so one thread per core shares them out.  The threads touch
 * only their accounts' hash fields; the next account is taken under a
 * lock.  Accounts already skipped, or whose hash the directory holds
 * already (stored set), are left alone.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "import/import.h"
#include "lookup/password.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define HASH_THREADS_MAX 8

struct hash_work {
	struct import_batch *b;
	pthread_mutex_t lock;
	size_t next;
};

static void
hash_one(struct import_account *a)
{
	char stored[PASSWORD_HASH_BUF], reason[IMPORT_ERR_MAX];

	if (password_import(a->hash, stored, sizeof(stored), reason,
	    sizeof(reason)) == 0)
		a->stored = xstrdup(stored);
	else
		a->hash_err = xstrdup(reason);
}

static void *
hash_thread(void *arg)
{
	struct hash_work *w = arg;
	size_t i;

	for (;;) {
		if (pthread_mutex_lock(&w->lock) != 0)
			bug("import: hash lock");
		i = w->next++;
		if (pthread_mutex_unlock(&w->lock) != 0)
			bug("import: hash unlock");
		if (i >= w->b->nacc)
			return NULL;
		if (w->b->acc[i].hash != NULL && !w->b->acc[i].skip &&
		    w->b->acc[i].stored == NULL)
			hash_one(&w->b->acc[i]);
	}
}

void
import_hash_check(struct import_batch *b)
{
	struct hash_work w = { .b = b, .next = 0 };
	pthread_t t[HASH_THREADS_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cpus < 1 ? 1 : cpus > HASH_THREADS_MAX ? HASH_THREADS_MAX :
	    (size_t)cpus, started = 0;

	if (pthread_mutex_init(&w.lock, NULL) != 0)
		fatal("import: cannot make a lock");
	/* A thread that cannot start leaves its share to the others, and
	 * to this one. */
	while (started < n - 1 && pthread_create(&t[started], NULL,
	    hash_thread, &w) == 0)
		started++;
	hash_thread(&w);
	for (size_t i = 0; i < started; i++)
		if (pthread_join(t[i], NULL) != 0)
			bug("import: hash join");
	pthread_mutex_destroy(&w.lock);
}
