/*
 * The screen's access list: see screen_access.h.
 */
#include "screen/screen_access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/list_word.h"
#include "util/xmalloc.h"

int
screen_access_parse(const char *value, struct screen_access *list,
    char *why, size_t whylen)
{
	enum screen_access_action action = SCREEN_ACCESS_NONE;
	const char *p = value;
	char word[80];
	int n;

	list->n = 0;
	while ((n = list_word(&p, word, sizeof(word))) != 0) {
		if (n < 0) {
			snprintf(why, whylen, "a network is too long");
			return -1;
		}
		if (strcmp(word, "permit") == 0) {
			action = SCREEN_ACCESS_PERMIT;
			continue;
		}
		if (strcmp(word, "reject") == 0) {
			action = SCREEN_ACCESS_REJECT;
			continue;
		}
		if (action == SCREEN_ACCESS_NONE) {
			snprintf(why, whylen, "'%.64s' needs 'permit' or 'reject' "
			    "before it", word);
			return -1;
		}
		if (list->n == SCREEN_ACCESS_MAX) {
			snprintf(why, whylen, "more than %d networks",
			    SCREEN_ACCESS_MAX);
			return -1;
		}
		struct screen_access_entry *e = &list->entries[list->n];
		if (cidr_parse(word, &e->net, why, whylen) < 0)
			return -1;
		e->action = action;
		list->n++;
	}
	return 0;
}

int
screen_access_check(const char *value, char *why, size_t whylen)
{
	struct screen_access *list = xmalloc(sizeof(*list));
	int r = screen_access_parse(value, list, why, whylen);

	free(list);
	return r;
}

enum screen_access_action
screen_access_match(const struct screen_access *list, const char *ip)
{
	uint8_t addr[16];
	int family;

	if (cidr_addr_from_ip(ip, &family, addr) < 0)
		return SCREEN_ACCESS_NONE;
	for (size_t i = 0; i < list->n; i++)
		if (cidr_contains(&list->entries[i].net, family, addr))
			return list->entries[i].action;
	return SCREEN_ACCESS_NONE;
}
