/*
 * master's side of the logger (logger.h): it makes the pipe every process
 * writes its lines to (besides stderr), starts the logger before master
 * drops root, starts it again if it dies, and waits for it to write the
 * last lines when tern stops.  Nothing happens when there is neither a
 * log file nor syslog.
 */
#ifndef TERN_MASTER_LOG_H
#define TERN_MASTER_LOG_H

#include <sys/types.h>

#include "conf/conf.h"

/* Before any other process is forked, as root or as the user.  0, or -1
 * (logged on the original stderr). */
int master_log_start(const struct conf *conf);
/* From master's reaper: 1 when pid was the logger (then restarted). */
int master_log_reaped(pid_t pid, int status);
/* From master's loop: a logger that died is started again, at most once
 * a second. */
void master_log_tick(void);
/* In a child just forked by master: the logger's descriptors are not its. */
void master_log_close_in_child(void);
/* At the very end: master's stderr back to the original, then a bounded
 * wait for the logger to write what is left. */
void master_log_stop(void);

#endif
