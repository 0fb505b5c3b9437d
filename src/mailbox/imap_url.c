/*
 * imaps://HOST[:PORT] taken apart.  The URL comes from the command line of
 * the postmaster; it is still checked byte by byte because the host ends
 * up in the sync tool's configuration, where a quote or a newline would
 * change its meaning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/imap_url.h"

#define IMAP_URL_SCHEME "imaps://"

/* Letters, digits, '-', '.', '_' for a name; hex digits, ':' and '.' for
 * a bracketed IPv6 address. */
static int
imap_url_host_ok(const char *h, size_t len, int ipv6)
{
	if (len == 0 || len >= IMAP_URL_HOST_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];
		int digit = c >= '0' && c <= '9';
		int hex = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		int ok = ipv6 ? digit || hex || c == ':' || c == '.' :
		    digit || letter || c == '.' || c == '-' || c == '_';

		if (!ok)
			return 0;
	}
	return 1;
}

/* The digits after ':' (all of the rest): 1..65535. */
static int
imap_url_port(const char *p, unsigned *port_r)
{
	unsigned long v = 0;

	if (*p == '\0' || strlen(p) > 5)
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port_r = (unsigned)v;
	return 0;
}

int
imap_url_parse(const char *url, struct imap_url *u, char *err, size_t errlen)
{
	const char *h, *end, *rest;
	int ipv6 = 0;

	memset(u, 0, sizeof(*u));
	u->port = 993;
	if (strncmp(url, IMAP_URL_SCHEME, strlen(IMAP_URL_SCHEME)) != 0) {
		snprintf(err, errlen, "bad URL: want imaps://HOST[:PORT]");
		return -1;
	}
	h = url + strlen(IMAP_URL_SCHEME);
	if (*h == '[') {
		ipv6 = 1;
		h++;
		if ((end = strchr(h, ']')) == NULL)
			goto bad;
		rest = end + 1;
	} else {
		end = h + strcspn(h, ":/");
		rest = end;
	}
	/* A trailing '/' is what people paste; anything after it is not. */
	if (!imap_url_host_ok(h, (size_t)(end - h), ipv6))
		goto bad;
	if (*rest == ':') {
		char port[8];
		size_t n = strcspn(rest + 1, "/");

		if (n >= sizeof(port))
			goto bad;
		memcpy(port, rest + 1, n);
		port[n] = '\0';
		if (imap_url_port(port, &u->port) < 0)
			goto bad;
		rest += 1 + n;
	}
	if (*rest != '\0' && strcmp(rest, "/") != 0)
		goto bad;
	memcpy(u->host, h, (size_t)(end - h));
	u->host[end - h] = '\0';
	return 0;
bad:
	snprintf(err, errlen, "bad URL '%.100s': want imaps://HOST[:PORT]", url);
	return -1;
}
