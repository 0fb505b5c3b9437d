/*
 * Private to master/: setup before forking (master_setup.c) and the
 * supervision loop (master.c).
 */
#ifndef TERN_MASTER_INT_H
#define TERN_MASTER_INT_H

#include <stddef.h>

#include "conf/conf.h"

int master_prepare_state(const struct conf *conf);
int master_lock(const struct conf *conf);
void master_clean_queue_tmp(const struct conf *conf);
int master_listen(const char *list, int *fds, size_t max, size_t *n_r);
int master_write_pid(const struct conf *conf);

#endif
