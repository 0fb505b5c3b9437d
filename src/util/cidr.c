/*
 * CIDR networks: see cidr.h.  Parses what the postmaster wrote (checked at
 * config load) and matches client addresses from the kernel.
 */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/list_word.h"
#include "util/xmalloc.h"

int
cidr_parse(const char *spec, struct cidr *c, char *why, size_t whylen)
{
	char addr[64];
	const char *slash = strchr(spec, '/');
	size_t len = slash ? (size_t)(slash - spec) : strlen(spec);
	unsigned max;

	if (len == 0 || len >= sizeof(addr))
		goto bad;
	memcpy(addr, spec, len);
	addr[len] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		goto bad;
	}
	c->bits = max;
	if (slash != NULL) {
		char *end;
		unsigned long bits = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits > max)
			goto bad;
		c->bits = (unsigned)bits;
	}
	/* Host bits set after the prefix are a typo more often than not. */
	for (unsigned b = c->bits; b < max; b++) {
		if (c->addr[b / 8] & (0x80 >> (b % 8))) {
			snprintf(why, whylen, "'%.64s' has bits set past /%u",
			    spec, c->bits);
			return -1;
		}
	}
	return 0;
bad:
	snprintf(why, whylen, "bad network '%.64s' (use e.g. 192.0.2.0/24)", spec);
	return -1;
}

int
cidr_list_parse(const char *value, struct cidr_list *list, char *why,
    size_t whylen)
{
	const char *p = value;
	char spec[80];
	int r;

	list->n = 0;
	while ((r = list_word(&p, spec, sizeof(spec))) != 0) {
		if (r < 0 || list->n == CIDR_LIST_MAX) {
			snprintf(why, whylen, r < 0 ?
			    "a network is too long" : "more than %d networks",
			    CIDR_LIST_MAX);
			return -1;
		}
		if (cidr_parse(spec, &list->nets[list->n], why, whylen) < 0)
			return -1;
		list->n++;
	}
	return 0;
}

int
cidr_list_check(const char *value, char *why, size_t whylen)
{
	struct cidr_list *list = xmalloc(sizeof(*list));
	int r = cidr_list_parse(value, list, why, whylen);

	free(list);
	return r;
}

int
cidr_contains(const struct cidr *c, int family, const uint8_t *addr)
{
	if (c->family != family)
		return 0;
	unsigned full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(c->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (addr[full] & mask);
}

int
cidr_addr_from_ip(const char *ip, int *family_r, uint8_t addr[16])
{
	if (inet_pton(AF_INET, ip, addr) == 1) {
		*family_r = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, addr) != 1)
		return -1;
	*family_r = AF_INET6;
	/* ::ffff:192.0.2.1 is an IPv4 client. */
	static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	if (memcmp(addr, mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		*family_r = AF_INET;
	}
	return 0;
}

int
cidr_list_match(const struct cidr_list *list, const char *ip)
{
	uint8_t addr[16];
	int family;

	if (cidr_addr_from_ip(ip, &family, addr) < 0)
		return 0;
	for (size_t i = 0; i < list->n; i++)
		if (cidr_contains(&list->nets[i], family, addr))
			return 1;
	return 0;
}
