/*
 * The milter lists of the config (see milter_conf.h).  A spec is checked
 * when the config is read, so that a typo stops tern at start rather than
 * tempfailing mail; names are looked up only when smtpd starts.
 */
#include "plugin/milter_conf.h"

#include <netdb.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "util/list_word.h"

/* Splits "inet:HOST:PORT" or "unix:PATH"; host NULL for unix. */
static int
milter_spec_split(char *spec, const char **host_r, const char **port_r,
    const char **path_r, char *why, size_t whylen)
{
	char *colon;

	*host_r = *port_r = *path_r = NULL;
	if (strncmp(spec, "unix:", 5) == 0) {
		*path_r = spec + 5;
		if (spec[5] != '/' ||
		    strlen(spec + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(why, whylen, "%s: unix:PATH needs an absolute "
			    "path shorter than 108 bytes", spec);
			return -1;
		}
		return 0;
	}
	if (strncmp(spec, "inet:", 5) != 0 ||
	    (colon = strrchr(spec + 5, ':')) == NULL || colon == spec + 5 ||
	    colon[1] == '\0') {
		snprintf(why, whylen, "%s: a milter is inet:HOST:PORT or "
		    "unix:PATH", spec);
		return -1;
	}
	*colon = '\0';
	*host_r = spec + 5;
	*port_r = colon + 1;
	if ((*host_r)[0] == '[') {
		size_t n = strlen(*host_r);
		if (n < 3 || (*host_r)[n - 1] != ']') {
			snprintf(why, whylen, "inet:%s: unclosed [", *host_r);
			return -1;
		}
		spec[5 + n - 1] = '\0';
		(*host_r)++;
	}
	for (const char *p = *port_r; *p; p++)
		if (*p < '0' || *p > '9' || p - *port_r > 4) {
			snprintf(why, whylen, "inet:%s: bad port %s", *host_r,
			    *port_r);
			return -1;
		}
	if (atoi(*port_r) < 1 || atoi(*port_r) > 65535) {
		snprintf(why, whylen, "inet:%s: port %s out of 1..65535",
		    *host_r, *port_r);
		return -1;
	}
	return 0;
}

static int
milter_resolve_one(const char *word, struct milter_endpoint *ep, char *why,
    size_t whylen)
{
	char spec[MILTER_NAME_MAX];
	const char *host, *port, *path;
	struct addrinfo hints, *res;
	int rc;

	snprintf(ep->name, sizeof(ep->name), "%s", word);
	snprintf(spec, sizeof(spec), "%s", word);
	if (milter_spec_split(spec, &host, &port, &path, why, whylen) < 0)
		return -1;
	memset(&ep->sa, 0, sizeof(ep->sa));
	if (path != NULL) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ep->sa;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, path, strlen(path) + 1);
		ep->salen = sizeof(*un);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(why, whylen, "milter %s: %s", word, gai_strerror(rc));
		return -1;
	}
	memcpy(&ep->sa, res->ai_addr, res->ai_addrlen);
	ep->salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Walks a list; resolve: look each up into eps too. */
static int
milter_list_walk(const char *value, struct milter_endpoint *eps,
    char *why, size_t whylen)
{
	char word[MILTER_NAME_MAX + 1];
	int n = 0, rc;

	while ((rc = list_word(&value, word, sizeof(word))) != 0) {
		char spec[MILTER_NAME_MAX];
		const char *host, *port, *path;

		if (rc < 0 || strlen(word) >= MILTER_NAME_MAX) {
			snprintf(why, whylen, "milter %.40s...: longer than %d "
			    "bytes", word, MILTER_NAME_MAX - 1);
			return -1;
		}
		if (n == MILTER_MAX) {
			snprintf(why, whylen, "more than %d milters",
			    MILTER_MAX);
			return -1;
		}
		snprintf(spec, sizeof(spec), "%s", word);
		if (milter_spec_split(spec, &host, &port, &path, why,
		    whylen) < 0)
			return -1;
		if (eps != NULL && milter_resolve_one(word, &eps[n], why,
		    whylen) < 0)
			return -1;
		n++;
	}
	return n;
}

int
milter_list_check(const char *value, char *why, size_t whylen)
{
	return milter_list_walk(value, NULL, why, whylen) < 0 ? -1 : 0;
}

int
milter_list_resolve(const char *value, struct milter_endpoint *eps,
    char *why, size_t whylen)
{
	return milter_list_walk(value, eps, why, whylen);
}

unsigned
milter_fds_per_session(const char *smtpd_milters,
    const char *submission_milters)
{
	char why[256];
	int a = milter_list_walk(smtpd_milters, NULL, why, sizeof(why));
	int b = milter_list_walk(submission_milters, NULL, why, sizeof(why));
	int n = a > b ? a : b;

	return n > 0 ? (unsigned)n + 1 : 0;
}
