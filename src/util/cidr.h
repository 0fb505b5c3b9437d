/*
 * Networks in CIDR notation (relay_networks): "192.0.2.0/24",
 * "2001:db8::/32", or a bare address (a /32 or /128).
 */
#ifndef TERN_CIDR_H
#define TERN_CIDR_H

#include <stddef.h>
#include <stdint.h>

#define CIDR_LIST_MAX 256

struct cidr {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned bits;
};

struct cidr_list {
	struct cidr nets[CIDR_LIST_MAX];
	size_t n;
};

/* One network, "192.0.2.0/24" or an address.  0, or -1 with why. */
int cidr_parse(const char *spec, struct cidr *c, char *why, size_t whylen);
/* A client address as inet_ntop writes it, to family and bytes; an
 * IPv4-mapped IPv6 address counts as IPv4.  0, or -1 for no address. */
int cidr_addr_from_ip(const char *ip, int *family_r, uint8_t addr[16]);
/* 1 if the address (from cidr_addr_from_ip) is in c, else 0. */
int cidr_contains(const struct cidr *c, int family, const uint8_t *addr);

/* Parses a list separated by commas or white space.  0, or -1 with why. */
int cidr_list_parse(const char *value, struct cidr_list *list, char *why,
    size_t whylen);
/* The config check for relay_networks. */
int cidr_list_check(const char *value, char *why, size_t whylen);
/* 1 if ip (a numeric address as inet_ntop writes it; an IPv4-mapped IPv6
 * address counts as IPv4) is in one of the networks, else 0. */
int cidr_list_match(const struct cidr_list *list, const char *ip);

#endif
