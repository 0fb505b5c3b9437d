/*
 * tern mailbox: moving mailboxes over from the old server.  Dispatches to
 * one file per subcommand (mailbox_sync.c, ...).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int
cli_mailbox(const struct conf *conf, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "sync") == 0)
		return cli_mailbox_sync(conf, argc - 1, argv + 1);
	fprintf(stderr, "usage: tern mailbox sync LOGIN "
	    "--from imaps://HOST[:PORT] "
	    "--user OLDLOGIN --password-file FILE [--ca-file FILE]\n"
	    "       tern mailbox sync --all FILE --from imaps://HOST[:PORT] "
	    "[--ca-file FILE]\n");
	return EXIT_USAGE;
}
