/*
 * auth.sock, where Dovecot's Lua passdb (mailbox/dovecot_auth.lua) asks
 * lookup about IMAP and POP3 logins: see lookup_sock.c and mailbox/login_proto.h.
 */
#ifndef TERN_LOOKUP_SOCK_H
#define TERN_LOOKUP_SOCK_H

struct lookup;
struct lookup_sock;

/* Listens on STATE_DIR/auth.sock (a stale one removed first), mode 0660,
 * owned by the user lookup runs as.  NULL (logged) when it cannot: SMTP
 * goes on, IMAP and POP3 logins fail temporarily. */
struct lookup_sock *lookup_sock_open(struct lookup *lk);
void lookup_sock_free(struct lookup_sock **ls);

#endif
