/*
 * The filter programs of the `filters` setting, as master runs them: each
 * is a supervised child like the others (master.c restarts it with the
 * same back-off), whose stdin and stdout are one end of a stream
 * socketpair; the other end goes to smtpd, which holds the conversation
 * (plugin/filter.c).  A filter runs as `user`, like master by then.
 */
#ifndef TERN_MASTER_FILTER_H
#define TERN_MASTER_FILTER_H

#include <stdint.h>
#include <sys/types.h>

#include "plugin/filter_conf.h"

struct buf;
struct ipc_msg;

/* Forks and execs f.  The pid, with smtpd's end of the socketpair in
 * *tern_end_r (close-on-exec), or -1 (logged). */
pid_t master_filter_spawn(const struct filter_conf *f, int *tern_end_r);

/* IPC_CTL_FILTER, master -> smtpd: the fd and u32 index, u32 generation. */
void master_filter_put(struct buf *b, uint32_t index, uint32_t gen);
int master_filter_parse(const struct ipc_msg *msg, uint32_t *index_r,
    uint32_t *gen_r);
/* IPC_CTL_FILTER_STOP, smtpd -> master: u32 index, u32 generation, u32
 * restart (1: kill it and restart it with back-off; 0: it is refused,
 * kill it and leave it stopped until tern restarts).  No fd. */
void master_filter_stop_put(struct buf *b, uint32_t index, uint32_t gen,
    uint32_t restart);
int master_filter_stop_parse(const struct ipc_msg *msg, uint32_t *index_r,
    uint32_t *gen_r, uint32_t *restart_r);

#endif
