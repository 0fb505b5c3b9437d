/*
 * The tern command: `tern serve` and the admin commands.  Reads the config
 * (-c FILE, anywhere on the line, default /etc/tern/tern.conf) and hands
 * the rest of the arguments to the command.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "master/master.h"
#include "util/log.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tern [-c FILE] COMMAND [ARGS]\n"
	    "  serve                         run the server in the foreground\n"
	    "  domain add|del|list [DOMAIN]\n"
	    "  user add ADDRESS [--login NAME] [--password-stdin | --password-hash HASH]\n"
	    "  user del LOGIN [--purge] | user list\n"
	    "  user passwd LOGIN --password-stdin | --password-hash HASH\n"
	    "  address add ADDRESS LOGIN | address del ADDRESS\n"
	    "  sender allow|revoke LOGIN PATTERN | sender list [LOGIN]\n"
	    "  alias add SOURCE TARGET... | alias del SOURCE | alias list\n"
	    "  queue list | show ID | delete ID | flush\n"
	    "  tls-policy set DOMAIN may|encrypt|verify | del DOMAIN | list\n"
	    "  audit [--since DURATION] [--json]\n"
	    "  status [--json]               ask the running server how it is\n"
	    "  mailbox import LOGIN PATH     copy an old server's Maildir in\n"
	    "  mailbox sync LOGIN --from imaps://HOST[:PORT] --user OLDLOGIN\n"
	    "      --password-file FILE [--ca-file FILE]\n"
	    "  mailbox sync --all FILE --from imaps://HOST[:PORT] [--ca-file FILE]\n"
	    "  import [--dry-run] [--rename OLD=NEW]... [--keep-logins] [--allow-no-password]\n"
	    "      [--create-domains] [--domain DOMAIN] [-v] FORMAT FILE...\n"
	    "                                bring an old server's accounts over\n"
	    "  log [--follow] [--since DURATION] [--login LOGIN] [--client IP|CIDR]\n"
	    "      [--address ADDRESS] [--id ID] [--failures] [--json]\n"
	    "  config check\n");
}

/* Takes "-c FILE" out of argv wherever it stands before "--" (after it,
 * "-c..." is an argument: a login may start with '-'); returns the new
 * argc. */
static int
take_config_option(int argc, char **argv, const char **path_r)
{
	int out = 0, i;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			*path_r = argv[++i];
			continue;
		}
		if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2] != '\0') {
			*path_r = argv[i] + 2;
			continue;
		}
		argv[out++] = argv[i];
	}
	while (i < argc)
		argv[out++] = argv[i++];
	argv[out] = NULL;
	return out;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct conf *, int, char **);
	} commands[] = {
		{ "domain", cli_domain }, { "user", cli_user },
		{ "address", cli_address }, { "alias", cli_alias },
		{ "queue", cli_queue }, { "config", cli_config },
		{ "sender", cli_sender }, { "audit", cli_audit },
		{ "tls-policy", cli_tls_policy }, { "status", cli_status },
		{ "mailbox", cli_mailbox }, { "import", cli_import },
		{ "log", cli_log },
	};
	const char *path = CONF_DEFAULT_PATH;
	char err[512];
	struct conf conf;
	int status;

	log_init("tern");
	/* tern.db holds password hashes and the queue holds mail: nothing
	 * tern creates is for other users. */
	umask(027);
	argc = take_config_option(argc - 1, argv + 1, &path);
	argv++;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (conf_load(&conf, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "tern: %s\n", err);
		return 1;
	}
	log_set_level(conf.log_level);
	if (strcmp(argv[0], "serve") == 0) {
		if (argc != 1) {
			usage(stderr);
			status = EXIT_USAGE;
		} else {
			status = master_main(&conf);
		}
		conf_free(&conf);
		return status;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			status = commands[i].fn(&conf, argc, argv);
			conf_free(&conf);
			return status;
		}
	}
	fprintf(stderr, "tern: unknown command '%s'\n", argv[0]);
	usage(stderr);
	conf_free(&conf);
	return EXIT_USAGE;
}
