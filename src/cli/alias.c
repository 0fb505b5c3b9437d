/*
 * tern alias add SOURCE TARGET..., alias del SOURCE, alias list.  The
 * directory checks that the alias resolves (no loop, no missing target)
 * before it keeps it; here only the arguments are sorted out.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void
alias_usage(void)
{
	fprintf(stderr, "usage: tern alias add SOURCE TARGET... | "
	    "tern alias del SOURCE | tern alias list\n");
}

static void
alias_print(void *arg, const char *source, const char *target)
{
	(void)arg;
	printf("%s -> %s\n", source, target);
}

static int
alias_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	const struct cli_args *a = arg;
	char **argv = a->argv;
	int argc = a->argc;

	if (strcmp(argv[1], "list") == 0) {
		if (dir_alias_list(dir, alias_print, NULL, err) < 0)
			return -1;
		return 0;
	}
	if (strcmp(argv[1], "del") == 0) {
		if (dir_alias_del(dir, argv[2], err) < 0)
			return -1;
		printf("deleted alias %s\n", argv[2]);
		return 0;
	}
	if (dir_alias_add(dir, argv[2], (const char *const *)argv + 3,
	    (size_t)argc - 3, err) < 0)
		return -1;
	printf("added alias %s ->", argv[2]);
	for (int i = 3; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	return 0;
}

int
cli_alias(const struct conf *conf, int argc, char **argv)
{
	struct cli_args a = { argc, argv };

	if (!(argc == 2 && strcmp(argv[1], "list") == 0) &&
	    !(argc == 3 && strcmp(argv[1], "del") == 0) &&
	    !(argc >= 4 && strcmp(argv[1], "add") == 0)) {
		alias_usage();
		return EXIT_USAGE;
	}
	return cli_with_directory(conf, alias_run, &a);
}
