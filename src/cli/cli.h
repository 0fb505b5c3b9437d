/*
 * The admin commands of the tern binary.  main.c reads the config and
 * dispatches; each command lives in a file of its own and returns the exit
 * status: 0 success, 1 failure (one line on stderr), 2 bad usage.
 */
#ifndef TERN_CLI_H
#define TERN_CLI_H

#include "conf/conf.h"
#include "lookup/directory.h"

#define EXIT_USAGE 2

/* argv[0] is the command's own name ("domain", "user", ...). */
int cli_domain(const struct conf *conf, int argc, char **argv);
int cli_user(const struct conf *conf, int argc, char **argv);
int cli_address(const struct conf *conf, int argc, char **argv);
int cli_alias(const struct conf *conf, int argc, char **argv);
int cli_queue(const struct conf *conf, int argc, char **argv);
int cli_config(const struct conf *conf, int argc, char **argv);
int cli_sender(const struct conf *conf, int argc, char **argv);
int cli_audit(const struct conf *conf, int argc, char **argv);
int cli_tls_policy(const struct conf *conf, int argc, char **argv);
int cli_status(const struct conf *conf, int argc, char **argv);
int cli_mailbox(const struct conf *conf, int argc, char **argv);
int cli_import(const struct conf *conf, int argc, char **argv);
int cli_log(const struct conf *conf, int argc, char **argv);
/* tern mailbox sync; argv[0] is "sync". */
int cli_mailbox_sync(const struct conf *conf, int argc, char **argv);

/* What a command does with the open directory: 0, or -1 with one line in
 * err.  arg is the command's own (struct cli_args for argument lists). */
typedef int cli_dir_fn(struct directory *dir, void *arg,
    char err[DIR_ERR_MAX]);

struct cli_args {
	int argc;
	char **argv;
};

/* Switches to conf->user when run as root (so that tern.db and its WAL
 * files stay the server's), makes sure state_dir exists, opens the
 * directory, runs run, closes it, flushes what run printed, and turns a
 * failure of either into one line on stderr: the exit status.  Every
 * admin command that touches the directory goes through here. */
int cli_with_directory(const struct conf *conf, cli_dir_fn *run, void *arg);

/* Prints "tern: " and the message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
