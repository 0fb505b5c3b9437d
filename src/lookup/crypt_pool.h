/*
 * crypt(3) off the lookup loop: a few worker threads check passwords (a
 * yescrypt check costs some 20 ms here, on purpose) while the loop goes on
 * resolving recipients.  The threads touch only the job they hold: no
 * directory, no log, no channel.  Finished jobs come back to the loop,
 * which calls each one's done function.
 */
#ifndef TERN_CRYPT_POOL_H
#define TERN_CRYPT_POOL_H

#include "lookup/password.h"
#include "util/workpool.h"

struct event_base;
struct crypt_pool;

#define CRYPT_POOL_THREADS 2
#define CRYPT_POOL_MAX_JOBS 1024    /* waiting or under way */

struct crypt_job {
	struct work work;       /* first: the pool's handle */
	char hash[PASSWORD_HASH_BUF];
	char password[PASSWORD_MAX + 1];
	int verified;           /* password_verify's answer, set by a worker */
	void (*done)(struct crypt_job *job, void *arg);
	void *arg;
};

struct crypt_pool *crypt_pool_new(struct event_base *base);
/* Takes job (the pool wipes its password and hash once checked), or
 * returns -1 when CRYPT_POOL_MAX_JOBS are already waiting. */
int crypt_pool_submit(struct crypt_pool *pool, struct crypt_job *job);
/* Stops the threads; jobs not done are wiped and freed unanswered. */
void crypt_pool_free(struct crypt_pool **pool);

#endif
