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
sender_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	const struct cli_args *a = arg;
	char **argv = a->argv;
	const char *login = a->argc == 3 || a->argc == 4 ? argv[2] : NULL;

	if (strcmp(argv[1], "list") == 0)
		return dir_sender_list(dir, login, sender_print, NULL, err);
	if (strcmp(argv[1], "allow") == 0) {
		if (dir_sender_allow(dir, login, argv[3], err) < 0)
			return -1;
		printf("'%s' may send as %s\n", login, argv[3]);
	} else {
		if (dir_sender_revoke(dir, login, argv[3], err) < 0)
			return -1;
		printf("'%s' may no longer send as %s\n", login, argv[3]);
	}
	return 0;
}

int
cli_sender(const struct conf *conf, int argc, char **argv)
{
	struct cli_args a = { argc, argv };

	if (!((argc == 2 || argc == 3) && strcmp(argv[1], "list") == 0) &&
	    !(argc == 4 && (strcmp(argv[1], "allow") == 0 ||
	    strcmp(argv[1], "revoke") == 0))) {
		sender_usage();
		return EXIT_USAGE;
	}
	return cli_with_directory(conf, sender_run, &a);
}
