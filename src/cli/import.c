/*
 * tern import [--dry-run] [--rename OLD=NEW]... [--keep-logins]
 * [--allow-no-password] [--create-domains] [--domain DOMAIN] [-v]
 * FORMAT FILE...: the old server's accounts, addresses, aliases and
 * domains brought over in one directory transaction, every conflict named
 * with its FILE:LINE before anything is written.  The files are read
 * before privileges are dropped (they may be root's); a file that cannot
 * be read, or a line that cannot be read at all, stops everything with
 * exit status 2; conflicts with status 1; see docs/import.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "import/import_apply.h"
#include "util/xmalloc.h"

struct import_job {
	const struct conf *conf;
	struct import_batch b;
	struct import_opts o;
	struct import_rename *ren;
	size_t nren;
	const char *format;
	char **files;
	size_t nfiles;
};

static void
import_usage(void)
{
	fprintf(stderr, "usage: tern import [--dry-run] [--rename OLD=NEW]... "
	    "[--keep-logins]\n"
	    "           [--allow-no-password] [--create-domains] "
	    "[--domain DOMAIN] [-v]\n"
	    "           postfix-virtual|dovecot-passwd|csv FILE...\n");
}

static int
import_add_rename(struct import_job *j, char *given)
{
	char *eq = strchr(given, '=');

	if (eq == NULL || eq == given || eq[1] == '\0') {
		cli_error("--rename wants OLD=NEW, not '%s'", given);
		return -1;
	}
	j->ren = xreallocarray(j->ren, j->nren + 1, sizeof(*j->ren));
	j->ren[j->nren].given = given;
	j->ren[j->nren].old_login = xstrndup(given, (size_t)(eq - given));
	j->ren[j->nren].new_login = eq + 1;
	j->ren[j->nren++].used = 0;
	return 0;
}

/* Options anywhere; "--" ends them.  0, or -1 for bad usage. */
static int
import_parse(int argc, char **argv, struct import_job *j)
{
	int words_only = 0;

	j->files = xreallocarray(NULL, (size_t)argc, sizeof(*j->files));
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];

		if (words_only || w[0] != '-' || w[1] == '\0') {
			if (j->format == NULL)
				j->format = w;
			else
				j->files[j->nfiles++] = argv[i];
		} else if (strcmp(w, "--") == 0)
			words_only = 1;
		else if (strcmp(w, "--dry-run") == 0)
			j->o.dry_run = 1;
		else if (strcmp(w, "--keep-logins") == 0)
			j->o.keep_logins = 1;
		else if (strcmp(w, "--allow-no-password") == 0)
			j->o.allow_no_password = 1;
		else if (strcmp(w, "--create-domains") == 0)
			j->o.create_domains = 1;
		else if (strcmp(w, "-v") == 0 || strcmp(w, "--verbose") == 0)
			j->o.verbose = 1;
		else if (strcmp(w, "--domain") == 0 && i + 1 < argc &&
		    j->b.domain == NULL)
			j->b.domain = argv[++i];
		else if (strcmp(w, "--rename") == 0 && i + 1 < argc) {
			if (import_add_rename(j, argv[++i]) < 0)
				return -1;
		} else
			return -1;
	}
	if (j->format == NULL || j->nfiles == 0)
		return -1;
	if (!import_format_known(j->format)) {
		cli_error("unknown format '%s' (postfix-virtual, "
		    "dovecot-passwd or csv)", j->format);
		return -1;
	}
	return 0;
}

static int
import_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	struct import_job *j = arg;

	return import_apply(dir, j->conf, &j->b, &j->o, err);
}

static void
import_job_free(struct import_job *j)
{
	for (size_t i = 0; i < j->nren; i++)
		free((char *)j->ren[i].old_login);
	free(j->ren);
	free(j->files);
	import_batch_free(&j->b);
}

int
cli_import(const struct conf *conf, int argc, char **argv)
{
	struct import_job j;
	char err[IMPORT_ERR_MAX];
	int rc = 0;

	memset(&j, 0, sizeof(j));
	import_batch_init(&j.b);
	j.conf = conf;
	if (import_parse(argc, argv, &j) < 0) {
		import_usage();
		import_job_free(&j);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < j.nfiles && rc == 0; i++) {
		if (import_read_file(&j.b, j.format, j.files[i], err,
		    sizeof(err)) < 0) {
			cli_error("%s", err);
			rc = EXIT_USAGE;
		}
	}
	if (rc == 0) {
		import_check(&j.b, j.ren, j.nren);
		rc = cli_with_directory(conf, import_run, &j);
	}
	import_job_free(&j);
	return rc;
}
