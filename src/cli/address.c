/*
 * tern address add ADDRESS LOGIN, tern address del ADDRESS: the extra
 * addresses an account receives mail at (its own mailbox address comes
 * and goes with the account).  The directory checks and refuses; here
 * only the arguments are sorted out.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void
address_usage(void)
{
	fprintf(stderr, "usage: tern address add ADDRESS LOGIN | "
	    "tern address del ADDRESS\n");
}

static int
address_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	const struct cli_args *a = arg;
	char **argv = a->argv;

	if (strcmp(argv[1], "add") == 0) {
		if (dir_address_add(dir, argv[2], argv[3], err) < 0)
			return -1;
		printf("added address %s to '%s'\n", argv[2], argv[3]);
	} else {
		if (dir_address_del(dir, argv[2], err) < 0)
			return -1;
		printf("deleted address %s\n", argv[2]);
	}
	return 0;
}

int
cli_address(const struct conf *conf, int argc, char **argv)
{
	struct cli_args a = { argc, argv };

	if (!(argc == 4 && strcmp(argv[1], "add") == 0) &&
	    !(argc == 3 && strcmp(argv[1], "del") == 0)) {
		address_usage();
		return EXIT_USAGE;
	}
	return cli_with_directory(conf, address_run, &a);
}
