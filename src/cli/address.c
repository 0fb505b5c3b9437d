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

int
cli_address(const struct conf *conf, int argc, char **argv)
{
	struct directory *dir;
	char err[DIR_ERR_MAX];
	int add, rc;

	add = argc == 4 && strcmp(argv[1], "add") == 0;
	if (!add && !(argc == 3 && strcmp(argv[1], "del") == 0)) {
		address_usage();
		return EXIT_USAGE;
	}
	if ((dir = cli_open_directory(conf)) == NULL)
		return 1;
	if (add)
		rc = dir_address_add(dir, argv[2], argv[3], err);
	else
		rc = dir_address_del(dir, argv[2], err);
	dir_close(&dir);
	if (rc < 0) {
		cli_error("%s", err);
		return 1;
	}
	if (add)
		printf("added address %s to '%s'\n", argv[2], argv[3]);
	else
		printf("deleted address %s\n", argv[2]);
	return 0;
}
