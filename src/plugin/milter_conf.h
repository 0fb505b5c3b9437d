/*
 * Where the milters are: smtpd_milters and submission_milters hold lists
 * of "inet:HOST:PORT" ("inet:[::1]:8891", a name is looked up once, when
 * smtpd starts) and "unix:PATH", separated by commas or blanks, applied
 * in order.  Trusts the config no further than conf_table.c's check.
 */
#ifndef TERN_MILTER_CONF_H
#define TERN_MILTER_CONF_H

#include <stddef.h>
#include <sys/socket.h>

#define MILTER_MAX      16              /* milters in one list */
#define MILTER_NAME_MAX 128             /* one endpoint as written */

struct milter_endpoint {
	char name[MILTER_NAME_MAX];     /* "inet:127.0.0.1:8891", for logs */
	struct sockaddr_storage sa;
	socklen_t salen;
};

/* conf_table.c's check of a list: 0, or -1 with why filled. */
int milter_list_check(const char *value, char *why, size_t whylen);

/* The endpoints of a list, looked up (getaddrinfo, at smtpd's start):
 * how many into eps (MILTER_MAX of them), or -1 with why. */
int milter_list_resolve(const char *value, struct milter_endpoint *eps,
    char *why, size_t whylen);

/* Descriptors one session may hold for its milters: one per milter of
 * the longer list, and the message read at end of DATA. */
unsigned milter_fds_per_session(const char *smtpd_milters,
    const char *submission_milters);

#endif
