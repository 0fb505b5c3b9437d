/*
 * The old server of `tern mailbox sync`, as the postmaster names it:
 * imaps://HOST[:PORT] (IMAP over TLS from the first byte; 993 when no port
 * is given).  Pure parsing: nothing is resolved or connected here.
 */
#ifndef TERN_IMAP_URL_H
#define TERN_IMAP_URL_H

#include <stddef.h>

#define IMAP_URL_HOST_MAX 254   /* bytes of a host name, with its NUL */

struct imap_url {
	char host[IMAP_URL_HOST_MAX];   /* a name, an IPv4, or an IPv6
	                                   address without its brackets */
	unsigned port;
};

/* 0, or -1 with a one-line reason in err: another scheme, an empty or
 * over-long host, bytes a host name cannot hold, a path, a user part, or
 * a port outside 1..65535. */
int imap_url_parse(const char *url, struct imap_url *u, char *err,
    size_t errlen);

#endif
