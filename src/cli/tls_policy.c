/*
 * tern tls-policy set|del|list: the outbound TLS policy per destination
 * domain, overriding smtp_tls_policy for mail to that exact domain.
 * Trusts the directory to check the domain and the policy word; here only
 * the arguments are sorted out.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void
tls_policy_usage(void)
{
	fprintf(stderr, "usage: tern tls-policy set DOMAIN may|encrypt|verify"
	    " | tern tls-policy del DOMAIN | tern tls-policy list\n");
}

static void
tls_policy_print(void *arg, const char *domain, const char *policy)
{
	(void)arg;
	printf("%s\t%s\n", domain, policy);
}

/* The name and the word as the directory stores them, for the
 * confirmation line (both were accepted, so both fit). */
static const char *
tls_policy_folded(const char *s, char buf[ADDR_DOMAIN_MAX + 1])
{
	snprintf(buf, ADDR_DOMAIN_MAX + 1, "%s", s);
	addr_fold(buf);
	return buf;
}

static int
tls_policy_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	const struct cli_args *a = arg;
	char **argv = a->argv;
	char name[ADDR_DOMAIN_MAX + 1], word[ADDR_DOMAIN_MAX + 1];

	if (strcmp(argv[1], "list") == 0) {
		if (dir_tls_policy_list(dir, tls_policy_print, NULL, err) < 0)
			return -1;
		return 0;
	}
	if (strcmp(argv[1], "set") == 0) {
		if (dir_tls_policy_set(dir, argv[2], argv[3], err) < 0)
			return -1;
		printf("TLS policy for %s: %s\n",
		    tls_policy_folded(argv[2], name),
		    tls_policy_folded(argv[3], word));
	} else {
		if (dir_tls_policy_del(dir, argv[2], err) < 0)
			return -1;
		printf("deleted TLS policy for %s\n",
		    tls_policy_folded(argv[2], name));
	}
	return 0;
}

int
cli_tls_policy(const struct conf *conf, int argc, char **argv)
{
	struct cli_args a = { argc, argv };

	if (!(argc == 2 && strcmp(argv[1], "list") == 0) &&
	    !(argc == 3 && strcmp(argv[1], "del") == 0) &&
	    !(argc == 4 && strcmp(argv[1], "set") == 0)) {
		tls_policy_usage();
		return EXIT_USAGE;
	}
	return cli_with_directory(conf, tls_policy_run, &a);
}
