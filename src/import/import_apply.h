/*
 * tern import's second half: a checked batch written to the directory in
 * one transaction, with the report (see import_apply.c).
 */
#ifndef TERN_IMPORT_APPLY_H
#define TERN_IMPORT_APPLY_H

#include "conf/conf.h"
#include "import/import.h"
#include "lookup/directory.h"

struct import_opts {
	int dry_run;            /* --dry-run: report, never write */
	int keep_logins;        /* --keep-logins: legacy logins kept */
	int allow_no_password;  /* --allow-no-password */
	int create_domains;     /* --create-domains */
	int verbose;            /* -v: unchanged items too */
};

/* Prints the report and commits when nothing conflicts and o->dry_run is
 * not set.  0, or -1 with a one-line reason in err (DIR_ERR_MAX): "N
 * conflicts: nothing written", or a database failure. */
int import_apply(struct directory *dir, const struct conf *conf,
    struct import_batch *b, const struct import_opts *o, char *err);

#endif
