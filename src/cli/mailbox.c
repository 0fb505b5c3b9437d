/*
 * tern mailbox: moving mailboxes over from the old server.  `import LOGIN
 * PATH` copies a Maildir++ tree (the old server's mailbox, as rsync left
 * it) into the account's Maildir; `sync` lives in mailbox_sync.c.  The
 * login is resolved exactly in the directory; the copying is
 * mailbox/maildir_import.c's.  Like every admin command it runs as the
 * server's user once the directory is open (cli_with_directory), so the
 * copies belong to that user and PATH must be readable by it.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "deliver/maildir.h"
#include "mailbox/maildir_import.h"
#include "util/escape.h"

struct mailbox_import_args {
	const struct conf *conf;
	const char *login;
	const char *path;
};

static void
mailbox_usage(void)
{
	fprintf(stderr, "usage: tern mailbox import [--] LOGIN PATH\n"
	    "       tern mailbox sync LOGIN --from imaps://HOST[:PORT] "
	    "--user OLDLOGIN --password-file FILE [--ca-file FILE]\n"
	    "       tern mailbox sync --all FILE --from imaps://HOST[:PORT] "
	    "[--ca-file FILE]\n");
}

static void
mailbox_print_name(const char *name)
{
	escape_text(stdout, name, strlen(name), 0);
}

/* One line per source folder. */
static void
mailbox_import_report(void *arg, const struct mdimport_folder *f)
{
	(void)arg;
	mailbox_print_name(f->name);
	if (f->skipped != NULL) {
		printf(": skipped: %s\n", f->skipped);
		return;
	}
	printf(": %lu copied, %lu already present", f->copied, f->present);
	if (f->skipped_msgs > 0) {
		printf(", %lu skipped (", f->skipped_msgs);
		mailbox_print_name(f->first_skip);
		printf("%s)", f->skipped_msgs > 1 ? ", and others" : "");
	}
	if (f->keywords_dropped > 0)
		printf(", %u keyword flags dropped (no name for them in "
		    "dovecot-keywords, or all 26 letters taken)",
		    f->keywords_dropped);
	putchar('\n');
}

static int
mailbox_import_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	const struct mailbox_import_args *a = arg;
	char mailbox[ADDR_BUF], maildir[4096], ierr[MDIMPORT_ERR_MAX];
	struct mdimport_totals t;

	if (dir_user_mailbox(dir, a->login, mailbox, err) < 0)
		return -1;
	/* Run as root, we are the server's user by now: say so, the
	 * likeliest reason for a copy the user cannot read. */
	if (access(a->path, R_OK | X_OK) < 0 && errno == EACCES) {
		const struct passwd *pw = getpwuid(geteuid());
		const char *me = pw != NULL ? pw->pw_name : a->conf->user;
		snprintf(err, DIR_ERR_MAX, "cannot read %s as user %s: %s "
		    "(make it readable to %s, e.g. chown -R)", a->path, me,
		    strerror(EACCES), me);
		return -1;
	}
	if (maildir_path(a->conf->state_dir, mailbox, maildir,
	    sizeof(maildir)) < 0) {
		snprintf(err, DIR_ERR_MAX, "Maildir path of %s too long",
		    mailbox);
		return -1;
	}
	if (mdimport_run(a->path, maildir, mailbox_import_report, NULL, &t,
	    ierr) < 0) {
		snprintf(err, DIR_ERR_MAX, "%s", ierr);
		return -1;
	}
	if (t.subscriptions_old)
		printf("subscriptions: left alone (%s/subscriptions is in "
		    "Dovecot's old form): subscribe the folders by hand\n",
		    maildir);
	printf("total: %lu folders, %lu copied, %lu already present, "
	    "%lu skipped, %lu folders skipped%s\n", t.folders, t.copied,
	    t.present, t.skipped_msgs, t.skipped_folders,
	    t.copied == 0 ? ": nothing to copy" : "");
	return 0;
}

static int
mailbox_import(const struct conf *conf, int argc, char **argv)
{
	struct mailbox_import_args a = { conf, NULL, NULL };
	int i = 2;

	/* "--" first: a login may start with '-'. */
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (argc - i != 2 || (i == 2 && argv[i][0] == '-')) {
		mailbox_usage();
		return EXIT_USAGE;
	}
	a.login = argv[i];
	a.path = argv[i + 1];
	return cli_with_directory(conf, mailbox_import_run, &a);
}

/* mailbox_sync.c takes its arguments from "sync" on. */
static int
mailbox_sync(const struct conf *conf, int argc, char **argv)
{
	return cli_mailbox_sync(conf, argc - 1, argv + 1);
}

int
cli_mailbox(const struct conf *conf, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct conf *, int, char **);
	} subcommands[] = {
		{ "import", mailbox_import },
		{ "sync", mailbox_sync },
	};

	for (size_t i = 0; argc >= 2 &&
	    i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(conf, argc, argv);
	mailbox_usage();
	return EXIT_USAGE;
}
