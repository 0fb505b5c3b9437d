/*
 * tern user add|del|list|passwd: accounts.  Reads passwords only from
 * stdin (never from the command line, where ps would show them), holds
 * new logins and passwords to the config's rules (login_pattern,
 * password_min_length) and hashes them here; a hash imported with
 * --password-hash is taken apart before it is stored bare.  The directory
 * checks and stores.  `user del --purge` also removes the account's
 * Maildir.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "deliver/maildir.h"
#include "lookup/login_rules.h"
#include "lookup/password.h"
#include "mailbox/dovecot_kick.h"

#define USER_ERR_MAX 512

struct user_args {
	const char *name;       /* ADDRESS for add, LOGIN otherwise */
	const char *login;      /* --login */
	const char *hash;       /* --password-hash */
	int password_stdin;     /* --password-stdin */
	int purge;              /* --purge */
};

static void
user_usage(void)
{
	fprintf(stderr, "usage: tern user add ADDRESS [--login NAME] "
	    "[--password-stdin | --password-hash HASH]\n"
	    "       tern user del LOGIN [--purge] | tern user list\n"
	    "       tern user passwd LOGIN --password-stdin | "
	    "--password-hash HASH\n");
}

/* Sorts out the words after the subcommand, in any order.  0, or -1 for
 * anything unknown, repeated or missing a value. */
static int
user_parse(int argc, char **argv, struct user_args *a)
{
	int words_only = 0;

	memset(a, 0, sizeof(*a));
	for (int i = 2; i < argc; i++) {
		const char *w = argv[i];

		/* "--" ends the options: a login may start with '-'. */
		if (words_only || (w[0] != '-' && a->name == NULL)) {
			if (a->name != NULL)
				return -1;
			a->name = w;
		} else if (strcmp(w, "--") == 0)
			words_only = 1;
		else if (strcmp(w, "--login") == 0 && i + 1 < argc && !a->login)
			a->login = argv[++i];
		else if (strcmp(w, "--password-hash") == 0 && i + 1 < argc &&
		    !a->hash)
			a->hash = argv[++i];
		else if (strcmp(w, "--password-stdin") == 0 &&
		    !a->password_stdin)
			a->password_stdin = 1;
		else if (strcmp(w, "--purge") == 0 && !a->purge)
			a->purge = 1;
		else
			return -1;
	}
	return a->name != NULL ? 0 : -1;
}

/* Reads the password from stdin, holds it to the rules and hashes it
 * into hash. */
static int
user_read_password(const struct conf *conf, const char *login,
    char hash[PASSWORD_HASH_BUF])
{
	char password[PASSWORD_MAX + 1];
	char err[USER_ERR_MAX];
	int rc;

	if (password_read_stdin(password, sizeof(password)) < 0) {
		cli_error("no password on stdin: it must be one line of 1 to "
		    "%d bytes", PASSWORD_MAX);
		return -1;
	}
	if ((rc = password_check(conf, login, password, err,
	    sizeof(err))) < 0)
		cli_error("%s", err);
	else if ((rc = password_hash(password, hash, PASSWORD_HASH_BUF)) < 0)
		cli_error("cannot hash the password (yescrypt)");
	explicit_bzero(password, sizeof(password));
	return rc;
}

/* The new hash of login, read from stdin or imported; "" when neither
 * option was given. */
static int
user_new_hash(const struct conf *conf, const struct user_args *a,
    const char *login, char hash[PASSWORD_HASH_BUF])
{
	char err[USER_ERR_MAX];

	hash[0] = '\0';
	if (a->password_stdin)
		return user_read_password(conf, login, hash);
	if (a->hash == NULL)
		return 0;
	if (password_import(a->hash, hash, PASSWORD_HASH_BUF, err,
	    sizeof(err)) < 0) {
		cli_error("%s", err);
		return -1;
	}
	return 0;
}

/* What user add and user passwd hand the directory. */
struct user_job {
	const struct user_args *a;
	const char *login;
	const char *hash;       /* NULL: no password */
	char mailbox[ADDR_BUF]; /* user del: the account's mailbox */
};

static int
user_add_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	struct user_job *j = arg;

	if (dir_user_add(dir, j->a->name, j->login, j->hash, err) < 0)
		return -1;
	printf("added user '%s' with address %s\n", j->login, j->a->name);
	return 0;
}

static int
user_add(const struct conf *conf, const struct user_args *a)
{
	struct user_job job;
	char hash[PASSWORD_HASH_BUF];
	char addr[ADDR_BUF];
	char err[USER_ERR_MAX];
	const char *login = a->login, *reason;
	int addr_ok, rc;

	memset(&job, 0, sizeof(job));

	/* The default login is the address as the directory stores it, the
	 * domain folded: the form a mail client is set up with.  A bad
	 * address is left for the directory to refuse: it is the first
	 * thing wrong. */
	addr_ok = addr_parse(a->name, strnlen(a->name, ADDR_MAX + 1), 1, addr,
	    &reason) == 0;
	if (login == NULL)
		login = addr_ok ? addr : a->name;
	/* The login is judged before the password is asked for. */
	if (addr_ok && login_check(conf, login, err, sizeof(err)) < 0) {
		cli_error("%s%s", err, a->login == NULL ? " (the login is "
		    "the address unless --login gives another)" : "");
		return 1;
	}
	if (user_new_hash(conf, a, login, hash) < 0)
		return 1;
	job.a = a;
	job.login = login;
	job.hash = hash[0] ? hash : NULL;
	rc = cli_with_directory(conf, user_add_run, &job);
	explicit_bzero(hash, sizeof(hash));
	return rc;
}

/* ---- user del ---- */

/* Removes one entry, the contents of a folder before the folder; links
 * are removed, never followed. */
static int
user_purge_one(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	/* 1, not -1, so that user_purge can tell our stop (reported here)
	 * from a failure of nftw itself. */
	if (type == FTW_DNR || type == FTW_NS) {
		cli_error("cannot read %s", path);
		return 1;
	}
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0) {
		cli_error("cannot remove %s: %s", path, strerror(errno));
		return 1;
	}
	return 0;
}

static int
user_purge(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) < 0 && errno == ENOENT) {
		printf("no Maildir at %s\n", path);
		return 0;
	}
	switch (nftw(path, user_purge_one, 16, FTW_DEPTH | FTW_PHYS)) {
	case 0:
		break;
	case -1:
		cli_error("cannot purge %s: %s", path, strerror(errno));
		return -1;
	default:
		return -1;
	}
	printf("removed %s\n", path);
	return 0;
}

/* The Maildir is named by maildir_path(), the function delivery uses, so
 * purge removes exactly the folder mail went to; it escapes '/' and a
 * leading '.', so no address can name a path outside state_dir/mail. */
/* A deleted account, or one whose password changed, keeps no IMAP or POP3
 * session open: whoever was in must log in again, and cannot. */
static int
user_end_sessions(const struct conf *conf, const char *login)
{
	char err[256];

	if (conf->mailbox_server != CONF_MAILBOX_DOVECOT)
		return 0;
	if (dovecot_kick(conf->state_dir, login, err, sizeof(err)) < 0) {
		cli_error("the IMAP and POP3 sessions of '%s' may still be "
		    "open: %s", login, err);
		return -1;
	}
	return 0;
}

static int
user_del_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	struct user_job *j = arg;

	if (dir_user_del(dir, j->a->name, j->mailbox, err) < 0)
		return -1;
	printf("deleted user '%s' (%s)\n", j->a->name, j->mailbox);
	return 0;
}

static int
user_del(const struct conf *conf, const struct user_args *a)
{
	struct user_job job;
	char path[PATH_MAX];

	memset(&job, 0, sizeof(job));
	job.a = a;
	if (cli_with_directory(conf, user_del_run, &job) != 0)
		return 1;
	if (user_end_sessions(conf, a->name) < 0)
		return 1;
	if (!a->purge)
		return 0;
	if (maildir_path(conf->state_dir, job.mailbox, path, sizeof(path)) < 0) {
		cli_error("Maildir path of %s too long: not purged", job.mailbox);
		return 1;
	}
	return user_purge(path) < 0 ? 1 : 0;
}

/* ---- user list, user passwd ---- */

static void
user_print(void *arg, const char *login, const char *mailbox,
    const char *addresses)
{
	(void)arg;
	printf("%s\t%s\t%s\n", login, mailbox, addresses);
}

static int
user_list_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	(void)arg;
	return dir_user_list(dir, user_print, NULL, err);
}

static int
user_passwd_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	struct user_job *j = arg;

	if (dir_user_passwd(dir, j->a->name, j->hash, err) < 0)
		return -1;
	printf("changed the password of '%s'\n", j->a->name);
	return 0;
}

static int
user_passwd(const struct conf *conf, const struct user_args *a)
{
	struct user_job job;
	char hash[PASSWORD_HASH_BUF];
	int rc;

	if (user_new_hash(conf, a, a->name, hash) < 0)
		return 1;
	memset(&job, 0, sizeof(job));
	job.a = a;
	job.hash = hash;
	rc = cli_with_directory(conf, user_passwd_run, &job);
	explicit_bzero(hash, sizeof(hash));
	if (rc == 0 && user_end_sessions(conf, a->name) < 0)
		return 1;
	return rc;
}

/* Which options each subcommand takes; anything else is bad usage. */
static int
user_args_fit(const char *cmd, const struct user_args *a)
{
	if (strcmp(cmd, "add") == 0)
		return !a->purge;
	if (strcmp(cmd, "del") == 0)
		return !a->login && !a->hash && !a->password_stdin;
	if (strcmp(cmd, "passwd") == 0)
		return !a->login && !a->purge && (a->password_stdin || a->hash);
	return 0;
}

int
cli_user(const struct conf *conf, int argc, char **argv)
{
	struct user_args a;

	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return cli_with_directory(conf, user_list_run, NULL);
	if (argc < 3 || user_parse(argc, argv, &a) < 0) {
		user_usage();
		return EXIT_USAGE;
	}
	if (a.password_stdin && a.hash) {
		cli_error("--password-stdin and --password-hash exclude each "
		    "other");
		user_usage();
		return EXIT_USAGE;
	}
	if (!user_args_fit(argv[1], &a)) {
		user_usage();
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "add") == 0)
		return user_add(conf, &a);
	if (strcmp(argv[1], "del") == 0)
		return user_del(conf, &a);
	return user_passwd(conf, &a);
}
