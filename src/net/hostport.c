/*
 * "host:port" and "[v6addr]:port" as written in listen settings.  Trusts
 * nothing in spec: the host must be an IP literal (no name lookups at
 * config time), the port strict decimal digits in 1..65535.
 */
#include "net/hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/dns.h"
#include "util/addr.h"
#include "util/list_word.h"

/* Strict decimal digits, no sign or spaces, 1..65535. */
static int
hostport_port(const char *s, unsigned *port_r, const char **err_r)
{
	unsigned port = 0;

	if (*s == '\0') {
		*err_r = "missing port";
		return -1;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9') {
			*err_r = "port is not a number";
			return -1;
		}
		port = port * 10 + (unsigned)(*s - '0');
		if (port > 65535) {
			*err_r = "port out of range 1..65535";
			return -1;
		}
	}
	if (port == 0) {
		*err_r = "port out of range 1..65535";
		return -1;
	}
	*port_r = port;
	return 0;
}

/* Copies the n bytes at s into host_r if they fit. */
static int
hostport_copy(char host_r[HOSTPORT_HOST_MAX], const char *s, size_t n,
    const char **err_r)
{
	if (n >= HOSTPORT_HOST_MAX) {
		*err_r = "address too long";
		return -1;
	}
	memcpy(host_r, s, n);
	host_r[n] = '\0';
	return 0;
}

/* "[v6]:port": the brackets keep the address's colons from the port's. */
static int
hostport_v6(const char *spec, char host_r[HOSTPORT_HOST_MAX],
    const char **rest_r, const char **err_r)
{
	struct in6_addr a6;
	const char *bracket = strchr(spec, ']');

	if (bracket == NULL) {
		*err_r = "missing ']'";
		return -1;
	}
	if (hostport_copy(host_r, spec + 1, (size_t)(bracket - spec - 1),
	    err_r) < 0)
		return -1;
	if (inet_pton(AF_INET6, host_r, &a6) != 1) {
		*err_r = "not an IPv6 address between [ ]";
		return -1;
	}
	if (bracket[1] == '\0') {
		*err_r = "missing port";
		return -1;
	}
	if (bracket[1] != ':') {
		*err_r = "expected ':' after ']'";
		return -1;
	}
	*rest_r = bracket + 2;
	return 0;
}

/* "v4:port" or "*:port". */
static int
hostport_v4(const char *spec, char host_r[HOSTPORT_HOST_MAX],
    const char **rest_r, const char **err_r)
{
	struct in_addr a4;
	const char *colon = strchr(spec, ':');

	if (colon == NULL) {
		*err_r = "missing port";
		return -1;
	}
	if (strchr(colon + 1, ':') != NULL) {
		*err_r = "an IPv6 address needs brackets, e.g. [::1]:25";
		return -1;
	}
	if (colon == spec) {
		*err_r = "missing address (use * for any)";
		return -1;
	}
	*rest_r = colon + 1;
	/* "*" is any address, which the socket knows as 0.0.0.0. */
	if (colon - spec == 1 && spec[0] == '*')
		return hostport_copy(host_r, "0.0.0.0", 7, err_r);
	if (hostport_copy(host_r, spec, (size_t)(colon - spec), err_r) < 0)
		return -1;
	if (inet_pton(AF_INET, host_r, &a4) != 1) {
		*err_r = "not an IP address (names are not looked up)";
		return -1;
	}
	return 0;
}

int
hostport_parse(const char *spec, char host_r[HOSTPORT_HOST_MAX],
    unsigned *port_r, const char **err_r)
{
	const char *rest;
	int r;

	if (spec == NULL || *spec == '\0') {
		*err_r = "empty address";
		return -1;
	}
	if (spec[0] == '[')
		r = hostport_v6(spec, host_r, &rest, err_r);
	else
		r = hostport_v4(spec, host_r, &rest, err_r);
	if (r < 0)
		return -1;
	return hostport_port(rest, port_r, err_r);
}

int
hostport_list_next(const char **list, char spec[HOSTPORT_SPEC_MAX])
{
	return list_word(list, spec, HOSTPORT_SPEC_MAX);
}

/* The part before an optional ":port"; *rest_r at the ':' or the end. */
static int
hostport_split(const char *spec, char host_r[HOSTPORT_HOST_MAX],
    int *bracketed_r, const char **rest_r, const char **err_r)
{
	const char *end;

	*bracketed_r = spec[0] == '[';
	if (*bracketed_r) {
		if ((end = strchr(spec, ']')) == NULL) {
			*err_r = "missing ']'";
			return -1;
		}
		if (hostport_copy(host_r, spec + 1, (size_t)(end - spec - 1),
		    err_r) < 0)
			return -1;
		end++;
	} else {
		end = spec + strcspn(spec, ":");
		if (hostport_copy(host_r, spec, (size_t)(end - spec), err_r) < 0)
			return -1;
	}
	if (*end != '\0' && *end != ':') {
		*err_r = "expected ':' and a port after the host";
		return -1;
	}
	*rest_r = end;
	return 0;
}

void
hostport_from_sockaddr(const struct sockaddr *sa, char *ip, size_t iplen,
    unsigned *port_r)
{
	const void *addr = NULL;
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		addr = &in->sin_addr;
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		addr = &in6->sin6_addr;
		port = ntohs(in6->sin6_port);
	}
	if (addr == NULL ||
	    inet_ntop(sa->sa_family, addr, ip, (socklen_t)iplen) == NULL) {
		snprintf(ip, iplen, "?");
		port = 0;
	}
	if (port_r != NULL)
		*port_r = port;
}

int
hostport_is_ip(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

/* "[IPv6:2001:db8::1]" is the address literal of RFC 5321 4.1.3: the tag
 * goes, so that the host is the bare address, never looked up as a name.
 * The tag promises IPv6: anything else after it is refused. */
static int
hostport_strip_v6_tag(char host[HOSTPORT_HOST_MAX], const char **err_r)
{
	struct in6_addr a6;
	size_t len = strlen(host);

	if (strncasecmp(host, "IPv6:", 5) != 0)
		return 0;
	if (inet_pton(AF_INET6, host + 5, &a6) != 1) {
		*err_r = "not an IPv6 address after 'IPv6:'";
		return -1;
	}
	memmove(host, host + 5, len - 5 + 1);
	return 0;
}

int
hostport_parse_dest(const char *spec, char host_r[HOSTPORT_HOST_MAX],
    unsigned *port_r, int *no_mx_r, const char **err_r)
{
	const char *rest, *why;
	int bracketed;

	if (hostport_split(spec, host_r, &bracketed, &rest, err_r) < 0)
		return -1;
	if (bracketed && hostport_strip_v6_tag(host_r, err_r) < 0)
		return -1;
	if (*host_r == '\0') {
		*err_r = "missing host";
		return -1;
	}
	/* An IP literal needs no lookup; a name must be a valid domain. */
	if (!hostport_is_ip(host_r) && addr_domain_valid(host_r, &why) < 0) {
		*err_r = why;
		return -1;
	}
	if (*rest == ':' && hostport_port(rest + 1, port_r, err_r) < 0)
		return -1;
	*no_mx_r = bracketed || hostport_is_ip(host_r);
	return 0;
}

int
hostport_parse_ip(const char *spec, char host_r[HOSTPORT_HOST_MAX],
    unsigned *port_r, const char **err_r)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *rest;
	int bracketed;

	/* A bare IPv6 address has colons of its own: no port then. */
	if (spec[0] != '[' && inet_pton(AF_INET6, spec, &a6) == 1)
		return hostport_copy(host_r, spec, strlen(spec), err_r);
	if (hostport_split(spec, host_r, &bracketed, &rest, err_r) < 0)
		return -1;
	if (bracketed ? inet_pton(AF_INET6, host_r, &a6) != 1 :
	    inet_pton(AF_INET, host_r, &a4) != 1) {
		*err_r = "not an IP address (names are not looked up here)";
		return -1;
	}
	if (*rest == ':' && hostport_port(rest + 1, port_r, err_r) < 0)
		return -1;
	return 0;
}

int
hostport_check_relayhost(const char *value, char *why, size_t whylen)
{
	char host[HOSTPORT_HOST_MAX];
	const char *err;
	unsigned port = 25;
	int no_mx;

	if (hostport_parse_dest(value, host, &port, &no_mx, &err) < 0) {
		snprintf(why, whylen, "bad host '%.100s': %s", value, err);
		return -1;
	}
	return 0;
}

int
hostport_check_dns_servers(const char *value, char *why, size_t whylen)
{
	char spec[HOSTPORT_SPEC_MAX], host[HOSTPORT_HOST_MAX];
	const char *p = value, *err;
	unsigned port, n = 0;
	int r;

	while ((r = hostport_list_next(&p, spec)) != 0) {
		if (r < 0 || hostport_parse_ip(spec, host, &port, &err) < 0) {
			snprintf(why, whylen, "bad server '%.100s': %s", spec,
			    r < 0 ? "too long" : err);
			return -1;
		}
		/* What the queue's resolver takes (dns.c); more would pass
		 * here and stop the queue at every start. */
		if (++n > DNS_SERVERS_MAX) {
			snprintf(why, whylen, "more than %d servers", DNS_SERVERS_MAX);
			return -1;
		}
	}
	return 0;
}
