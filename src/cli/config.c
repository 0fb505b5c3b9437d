/*
 * `tern config check`: prints the settings in effect, defaults included.
 * main.c has already loaded and checked the file (and exited with its
 * error when it was bad), so reaching here means the config is good.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int
config_usage(void)
{
	fprintf(stderr, "usage: tern [-c FILE] config check\n");
	return EXIT_USAGE;
}

int
cli_config(const struct conf *conf, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "check") != 0)
		return config_usage();
	conf_print(conf, stdout);
	/* A full disk or closed pipe must not pass for a good check. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_error("config check: cannot write the settings");
		return 1;
	}
	return 0;
}
