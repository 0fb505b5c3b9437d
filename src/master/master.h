/*
 * master: binds the listening sockets (as root where needed), prepares
 * state_dir, forks and wires the children, drops to the unprivileged user,
 * and supervises: a child that dies is restarted with back-off.
 */
#ifndef TERN_MASTER_H
#define TERN_MASTER_H

#include "conf/conf.h"

/* `tern serve`: runs in the foreground until SIGTERM or SIGINT. */
int master_main(struct conf *conf);

#endif
