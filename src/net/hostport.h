/*
 * "host:port" and "[v6addr]:port" as used by listen settings.
 */
#ifndef TERN_HOSTPORT_H
#define TERN_HOSTPORT_H

#include <stddef.h>

#define HOSTPORT_HOST_MAX 256

/* Splits spec into host (without brackets) and port (1..65535).  The host
 * must be an IPv4 or IPv6 literal, or "*" / "0.0.0.0" for any.  0 or -1
 * with *err_r a static reason. */
int hostport_parse(const char *spec, char host_r[HOSTPORT_HOST_MAX],
    unsigned *port_r, const char **err_r);

#define HOSTPORT_SPEC_MAX (HOSTPORT_HOST_MAX + 8)

/* Takes the next spec out of a list separated by commas or white space
 * ("127.0.0.1:25, [::1]:25"): copies it into spec (HOSTPORT_SPEC_MAX) and
 * advances *list past it.  1: a spec; 0: the end; -1: one too long (it is
 * skipped, spec holds its start for the message). */
int hostport_list_next(const char **list, char spec[HOSTPORT_SPEC_MAX]);

#endif
