/*
 * Ends the open IMAP and POP3 sessions of one login, through Dovecot's
 * doveadm, when the account is deleted or its password changes.
 */
#ifndef TERN_DOVECOT_KICK_H
#define TERN_DOVECOT_KICK_H

#include <stddef.h>

/* 0: the login has no session left (or Dovecot does not run here);
 * -1: its sessions may live on, with one line in err. */
int dovecot_kick(const char *state_dir, const char *login, char *err,
    size_t errlen);

/* doveadm kick's wait status turned into the above: 0 kicked, 68 (no
 * such user connected) mean no session left. */
int dovecot_kick_status(int status, char *err, size_t errlen);

#endif
