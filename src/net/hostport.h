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

/* A destination: "host", "host:port", "[host]" or "[host]:port", where
 * host is a domain name or an IP literal; the brackets mean "no MX
 * lookup" (as Postfix's relayhost).  An IPv6 address needs the brackets,
 * with or without the tag of RFC 5321 ("[IPv6:2001:db8::1]:25"); host_r
 * is then the bare address.  An IP literal is never looked up (no_mx_r
 * is 1).  port_r is left alone when no port is given.  0 or -1 with
 * *err_r a static reason. */
/* The address of sa as text (ip, INET6_ADDRSTRLEN bytes) and its port
 * in *port_r (may be NULL); "?" and 0 for another family. */
struct sockaddr;
void hostport_from_sockaddr(const struct sockaddr *sa, char *ip, size_t iplen,
    unsigned *port_r);

/* 1 if host is an IPv4 or IPv6 address (without brackets). */
int hostport_is_ip(const char *host);

int hostport_parse_dest(const char *spec, char host_r[HOSTPORT_HOST_MAX],
    unsigned *port_r, int *no_mx_r, const char **err_r);

/* A DNS server: "ip", "ip:port" or "[ipv6]:port"; port_r left alone when
 * none is given. */
int hostport_parse_ip(const char *spec, char host_r[HOSTPORT_HOST_MAX],
    unsigned *port_r, const char **err_r);

/* Config checks (conf_table.c): 0, or -1 with why filled. */
int hostport_check_relayhost(const char *value, char *why, size_t whylen);
int hostport_check_dns_servers(const char *value, char *why, size_t whylen);

#endif
