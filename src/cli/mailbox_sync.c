/*
 * tern mailbox sync: pulls accounts' mail from the old server over IMAP
 * into their tern Maildirs (the work is mailbox/mbsync.c's).
 *
 *   tern mailbox sync LOGIN --from imaps://HOST[:PORT] --user OLDLOGIN
 *       --password-file FILE [--ca-file FILE]
 *   tern mailbox sync --all FILE --from imaps://HOST[:PORT] [--ca-file FILE]
 *
 * Password files are read here, as root when run by root (they may be
 * root's alone), before the drop to tern's user; the sync itself runs as
 * that user, so every file it writes in the mailbox is the server's.
 * One summary line per account on stdout; a failed account also gets one
 * line on stderr, and the exit status is 1 if any failed (the others
 * still run); 2 for bad usage or a bad URL.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "deliver/maildir.h"
#include "mailbox/imap_url.h"
#include "mailbox/mbsync.h"
#include "mailbox/sync_list.h"

#define SYNC_PASSWORD_MAX 1024

struct sync_args {
	const char *login, *from, *user, *password_file, *all, *ca_file;
};

struct sync_account {
	const struct sync_entry *entry;
	char password[SYNC_PASSWORD_MAX];
	char mailbox[ADDR_BUF];         /* "" until the login is found */
	char other[DIR_LOGIN_MAX];      /* a login differing only in case */
	char err[MBSYNC_ERR_MAX];       /* "" while nothing failed */
	struct mbsync_result r;
};

struct sync_run {
	const struct conf *conf;
	const struct sync_args *args;
	struct imap_url url;
	struct sync_account *acct;
	size_t n;
	size_t failed;
};

static void
sync_usage(void)
{
	fprintf(stderr, "usage: tern mailbox sync LOGIN "
	    "--from imaps://HOST[:PORT] "
	    "--user OLDLOGIN --password-file FILE [--ca-file FILE]\n"
	    "       tern mailbox sync --all FILE --from imaps://HOST[:PORT] "
	    "[--ca-file FILE]\n");
}

/* Takes an option's value: 0, or -1 if it is missing or repeated. */
static int
sync_opt(int argc, char **argv, int *i, const char **slot)
{
	if (*slot != NULL || *i + 1 >= argc)
		return -1;
	*slot = argv[++*i];
	return 0;
}

/* The words after "sync", in any order.  0, or -1 for anything unknown,
 * repeated, missing, or a mix of the two forms. */
static int
sync_parse(int argc, char **argv, struct sync_args *a)
{
	int words_only = 0;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];
		int rc = 0;

		/* "--" ends the options: a login may start with '-'. */
		if (words_only || w[0] != '-') {
			if (a->login != NULL)
				return -1;
			a->login = w;
		} else if (strcmp(w, "--") == 0)
			words_only = 1;
		else if (strcmp(w, "--from") == 0)
			rc = sync_opt(argc, argv, &i, &a->from);
		else if (strcmp(w, "--user") == 0)
			rc = sync_opt(argc, argv, &i, &a->user);
		else if (strcmp(w, "--password-file") == 0)
			rc = sync_opt(argc, argv, &i, &a->password_file);
		else if (strcmp(w, "--ca-file") == 0)
			rc = sync_opt(argc, argv, &i, &a->ca_file);
		else if (strcmp(w, "--all") == 0)
			rc = sync_opt(argc, argv, &i, &a->all);
		else
			return -1;
		if (rc < 0)
			return -1;
	}
	if (a->from == NULL)
		return -1;
	if (a->all != NULL)
		return a->login == NULL && a->user == NULL &&
		    a->password_file == NULL ? 0 : -1;
	return a->login != NULL && a->user != NULL &&
	    a->password_file != NULL ? 0 : -1;
}

/* The password: the file's first line, without its line end; no control
 * bytes, not empty.  0, or -1 with the reason in the account. */
static int
sync_read_password(struct sync_account *a)
{
	const char *path = a->entry->password_file;
	FILE *f = fopen(path, "re");
	char *p = a->password;
	size_t len;

	if (f == NULL) {
		snprintf(a->err, sizeof(a->err), "cannot read password file "
		    "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(p, sizeof(a->password), f) == NULL)
		p[0] = '\0';
	fclose(f);
	len = strcspn(p, "\r\n");
	if (p[len] == '\0' && len == sizeof(a->password) - 1)
		len = 0;                        /* too long: refused */
	p[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			len = 0;
	if (len == 0) {
		explicit_bzero(a->password, sizeof(a->password));
		snprintf(a->err, sizeof(a->err), "password file %s: want one "
		    "line of at most %d bytes, no control bytes", path,
		    SYNC_PASSWORD_MAX - 2);
		return -1;
	}
	return 0;
}

/* dir_user_list's callback: the mailbox of each account asked for, by
 * its exact login. */
static void
sync_found(void *arg, const char *login, const char *mailbox,
    const char *addresses)
{
	struct sync_run *run = arg;

	(void)addresses;
	for (size_t i = 0; i < run->n; i++) {
		struct sync_account *a = &run->acct[i];

		if (strcmp(a->entry->login, login) == 0)
			snprintf(a->mailbox, sizeof(a->mailbox), "%s", mailbox);
		else if (strcasecmp(a->entry->login, login) == 0 &&
		    a->other[0] == '\0')
			snprintf(a->other, sizeof(a->other), "%s", login);
	}
}

/* The error of a login not found, as the other commands word it. */
static void
sync_unknown(struct sync_account *a)
{
	if (a->other[0] != '\0')
		snprintf(a->err, sizeof(a->err), "no account with login '%s' "
		    "(did you mean '%s'?)", a->entry->login, a->other);
	else
		snprintf(a->err, sizeof(a->err), "no account with login '%s'",
		    a->entry->login);
}

/* Appends s to out at *o with every byte but [A-Za-z0-9@+_-] and a '.'
 * that is not first written as %XX: one safe file name per login. */
static int
sync_escape(char *out, size_t outlen, size_t *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int first = p == (const unsigned char *)s;
		int keep = (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '@' || *p == '+' || *p == '_' || *p == '-' ||
		    (*p == '.' && !first);

		if (*o + 4 > outlen)
			return -1;
		if (keep) {
			out[(*o)++] = (char)*p;
		} else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[*p >> 4];
			out[(*o)++] = hex[*p & 15];
		}
	}
	out[*o] = '\0';
	return 0;
}

/* state_dir/sync/LOGIN/OLDLOGIN@HOST:PORT: the state of one account's
 * pull from one source, so that a new source starts afresh. */
static int
sync_state_path(const struct sync_run *run, const struct sync_account *a,
    char *out, size_t outlen)
{
	char source[IMAP_URL_HOST_MAX + 16];
	int n = snprintf(out, outlen, "%s/sync/", run->conf->state_dir);
	size_t o;

	if (n < 0 || (size_t)n >= outlen)
		return -1;
	o = (size_t)n;
	snprintf(source, sizeof(source), "@%s:%u", run->url.host,
	    run->url.port);
	if (sync_escape(out, outlen, &o, a->entry->login) < 0 || o + 2 > outlen)
		return -1;
	out[o++] = '/';
	if (sync_escape(out, outlen, &o, a->entry->old_user) < 0 ||
	    sync_escape(out, outlen, &o, source) < 0)
		return -1;
	return 0;
}

/* Pulls one account whose login is known. */
static void
sync_one(struct sync_run *run, struct sync_account *a)
{
	char maildir[PATH_MAX], state[PATH_MAX];
	struct mbsync_job job = {
		.host = run->url.host, .port = run->url.port,
		.user = a->entry->old_user, .password = a->password,
		.ca_file = run->args->ca_file, .maildir = maildir,
		.state = state,
	};

	if (maildir_path(run->conf->state_dir, a->mailbox, maildir,
	    sizeof(maildir)) < 0 ||
	    sync_state_path(run, a, state, sizeof(state)) < 0) {
		snprintf(a->err, sizeof(a->err), "path too long");
		return;
	}
	(void)mbsync_run(&job, &a->r, a->err, sizeof(a->err));
}

/* The summary line of one account, and its error line. */
static void
sync_report(struct sync_run *run, struct sync_account *a)
{
	const char *login = a->entry->login;

	if (a->err[0] != '\0' && a->r.errors == 0)
		a->r.errors = 1;
	printf("%s: copied=%lu skipped=%lu errors=%lu%s\n", login,
	    a->r.copied, a->r.skipped, a->r.errors,
	    a->err[0] != '\0' ? " status=failed" : " status=ok");
	if (a->err[0] != '\0') {
		run->failed++;
		fflush(stdout);
		cli_error("mailbox sync %s: %s", login, a->err);
	}
}

/* Runs as tern's user, with the directory open. */
static int
sync_run_all(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	struct sync_run *run = arg;
	unsigned long copied = 0, skipped = 0, errors = 0;

	if (dir_user_list(dir, sync_found, run, err) < 0)
		return -1;
	for (size_t i = 0; i < run->n; i++) {
		struct sync_account *a = &run->acct[i];

		if (a->err[0] == '\0' && a->mailbox[0] == '\0')
			sync_unknown(a);
		if (a->err[0] == '\0')
			sync_one(run, a);
		explicit_bzero(a->password, sizeof(a->password));
		sync_report(run, a);
		copied += a->r.copied;
		skipped += a->r.skipped;
		errors += a->r.errors;
		fflush(stdout);
	}
	if (run->args->all != NULL)
		printf("total: accounts=%zu failed=%zu copied=%lu skipped=%lu "
		    "errors=%lu\n", run->n, run->failed, copied, skipped, errors);
	return 0;
}

/* The accounts of the command line, or of the --all list. */
static int
sync_accounts(const struct sync_args *args, struct sync_list *list,
    struct sync_entry *single)
{
	char err[MBSYNC_ERR_MAX];

	if (args->all == NULL) {
		single->login = (char *)args->login;
		single->old_user = (char *)args->user;
		single->password_file = (char *)args->password_file;
		single->line = 0;
		list->v = single;
		list->n = 1;
		return 0;
	}
	if (sync_list_read(args->all, list, err, sizeof(err)) < 0) {
		cli_error("mailbox sync: %s", err);
		return -1;
	}
	return 0;
}

int
cli_mailbox_sync(const struct conf *conf, int argc, char **argv)
{
	struct sync_run run = { .conf = conf };
	struct sync_list list = { 0 };
	struct sync_entry single;
	struct sync_args args;
	char err[MBSYNC_ERR_MAX];
	int rc;

	if (sync_parse(argc, argv, &args) < 0) {
		sync_usage();
		return EXIT_USAGE;
	}
	if (imap_url_parse(args.from, &run.url, err, sizeof(err)) < 0) {
		cli_error("mailbox sync: %s", err);
		return EXIT_USAGE;
	}
	if (args.ca_file != NULL && access(args.ca_file, R_OK) < 0) {
		cli_error("mailbox sync: cannot read CA file %s: %s",
		    args.ca_file, strerror(errno));
		return 1;
	}
	if (sync_accounts(&args, &list, &single) < 0)
		return 1;
	run.args = &args;
	run.n = list.n;
	run.acct = calloc(list.n, sizeof(*run.acct));
	if (run.acct == NULL) {
		cli_error("mailbox sync: out of memory");
		rc = 1;
		goto out;
	}
	/* As root still: the password files may be root's alone. */
	for (size_t i = 0; i < list.n; i++) {
		run.acct[i].entry = &list.v[i];
		(void)sync_read_password(&run.acct[i]);
	}
	rc = cli_with_directory(conf, sync_run_all, &run);
	if (rc == 0 && run.failed > 0)
		rc = 1;
out:
	if (run.acct != NULL) {
		explicit_bzero(run.acct, list.n * sizeof(*run.acct));
		free(run.acct);
	}
	if (args.all != NULL)
		sync_list_free(&list);
	return rc;
}
