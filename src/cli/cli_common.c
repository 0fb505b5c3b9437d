/*
 * What every admin command shares: one-line errors, and opening the
 * directory as the server's user so that the files it creates stay
 * readable by the server.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"
#include "util/privsep.h"

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tern: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static struct directory *
cli_open_directory(const struct conf *conf)
{
	struct directory *dir;
	char err[DIR_ERR_MAX];

	if (privsep_mkdir_owned(conf->state_dir, conf->user, 0750,
	    PRIVSEP_FOLLOW) < 0 ||
	    privsep_drop(conf->user) < 0) {
		cli_error("cannot prepare %s as user %s", conf->state_dir, conf->user);
		return NULL;
	}
	if (dir_open(conf->state_dir, &dir, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return NULL;
	}
	return dir;
}

int
cli_with_directory(const struct conf *conf, cli_dir_fn *run, void *arg)
{
	struct directory *dir;
	char err[DIR_ERR_MAX] = "";
	int rc;

	if ((dir = cli_open_directory(conf)) == NULL)
		return 1;
	rc = run(dir, arg, err);
	dir_close(&dir);
	if (rc < 0) {
		cli_error("%s", err);
		return 1;
	}
	/* A listing cut short by a full disk or a closed pipe fails. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_error("cannot write: %s", strerror(errno));
		return 1;
	}
	return 0;
}
