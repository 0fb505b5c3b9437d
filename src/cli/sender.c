/*
 * tern sender allow|revoke LOGIN PATTERN, tern sender list [LOGIN]: the
 * grants that let an account send as more than its own addresses (an
 * address, "*@domain" or "<>").  The directory checks and refuses; here
 * only the arguments are sorted out.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void
sender_usage(void)
{
	fprintf(stderr, "usage: tern sender allow|revoke LOGIN PATTERN | "
	    "tern sender list [LOGIN]\n"
	    "       PATTERN: an address, *@domain, or <> (the null sender)\n");
}

static void
sender_print(void *arg, const char *login, const char *pattern)
{
	(void)arg;
	printf("%s\t%s\n", login, pattern);
}

static int
sender_list(struct directory *dir, const char *login)
{
	char err[DIR_ERR_MAX];

	if (dir_sender_list(dir, login, sender_print, NULL, err) < 0) {
		cli_error("%s", err);
		return 1;
	}
	if (fflush(stdout) == EOF) {
		cli_error("cannot write: %s", strerror(errno));
		return 1;
	}
	return 0;
}

static int
sender_change(struct directory *dir, int allow, const char *login,
    const char *pattern)
{
	char err[DIR_ERR_MAX];
	int rc;

	if (allow)
		rc = dir_sender_allow(dir, login, pattern, err);
	else
		rc = dir_sender_revoke(dir, login, pattern, err);
	if (rc < 0) {
		cli_error("%s", err);
		return 1;
	}
	if (allow)
		printf("'%s' may send as %s\n", login, pattern);
	else
		printf("'%s' may no longer send as %s\n", login, pattern);
	return 0;
}

int
cli_sender(const struct conf *conf, int argc, char **argv)
{
	struct directory *dir;
	int list, allow, revoke, status;

	list = (argc == 2 || argc == 3) && strcmp(argv[1], "list") == 0;
	allow = argc == 4 && strcmp(argv[1], "allow") == 0;
	revoke = argc == 4 && strcmp(argv[1], "revoke") == 0;
	if (!list && !allow && !revoke) {
		sender_usage();
		return EXIT_USAGE;
	}
	if ((dir = cli_open_directory(conf)) == NULL)
		return 1;
	if (list)
		status = sender_list(dir, argc == 3 ? argv[2] : NULL);
	else
		status = sender_change(dir, allow, argv[2], argv[3]);
	dir_close(&dir);
	return status;
}
