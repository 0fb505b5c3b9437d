/*
 * tern domain add|del|list: the domains this server takes mail for.
 * Trusts the directory to check names and refuse deleting a domain that
 * is still in use; here only the arguments are sorted out.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void
domain_usage(void)
{
	fprintf(stderr, "usage: tern domain add|del DOMAIN | "
	    "tern domain list\n");
}

static void
domain_print(void *arg, const char *domain)
{
	(void)arg;
	printf("%s\n", domain);
}

/* The name as the directory stores it, for the confirmation line. */
static const char *
domain_folded(const char *domain, char buf[ADDR_DOMAIN_MAX + 1])
{
	snprintf(buf, ADDR_DOMAIN_MAX + 1, "%s", domain);
	addr_fold(buf);
	return buf;
}

static int
domain_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	const struct cli_args *a = arg;
	char **argv = a->argv;
	char name[ADDR_DOMAIN_MAX + 1];

	if (strcmp(argv[1], "list") == 0) {
		if (dir_domain_list(dir, domain_print, NULL, err) < 0)
			return -1;
		return 0;
	}
	if (strcmp(argv[1], "add") == 0) {
		if (dir_domain_add(dir, argv[2], err) < 0)
			return -1;
		printf("added domain %s\n", domain_folded(argv[2], name));
	} else {
		if (dir_domain_del(dir, argv[2], err) < 0)
			return -1;
		printf("deleted domain %s\n", domain_folded(argv[2], name));
	}
	return 0;
}

int
cli_domain(const struct conf *conf, int argc, char **argv)
{
	struct cli_args a = { argc, argv };

	if (!(argc == 2 && strcmp(argv[1], "list") == 0) &&
	    !(argc == 3 && (strcmp(argv[1], "add") == 0 ||
	    strcmp(argv[1], "del") == 0))) {
		domain_usage();
		return EXIT_USAGE;
	}
	return cli_with_directory(conf, domain_run, &a);
}
