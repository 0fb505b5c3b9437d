/*
 * screen_access: the postmaster's list of networks the screen lets in at
 * once (permit) or turns away at once (reject), before any test, first
 * match wins: "permit 192.0.2.0/24 2001:db8::/32, reject 198.51.100.0/24".
 * An action word applies to the networks that follow it, up to the next.
 */
#ifndef TERN_SCREEN_ACCESS_H
#define TERN_SCREEN_ACCESS_H

#include <stddef.h>

#include "util/cidr.h"

#define SCREEN_ACCESS_MAX 256

enum screen_access_action {
	SCREEN_ACCESS_NONE,     /* no entry matches: the tests decide */
	SCREEN_ACCESS_PERMIT,
	SCREEN_ACCESS_REJECT,
};

struct screen_access {
	struct screen_access_entry {
		enum screen_access_action action;
		struct cidr net;
	} entries[SCREEN_ACCESS_MAX];
	size_t n;
};

/* 0, or -1 with why. */
int screen_access_parse(const char *value, struct screen_access *list,
    char *why, size_t whylen);
/* The config check for screen_access. */
int screen_access_check(const char *value, char *why, size_t whylen);
/* The first entry's action that holds ip, or SCREEN_ACCESS_NONE. */
enum screen_access_action screen_access_match(const struct screen_access *list,
    const char *ip);

#endif
