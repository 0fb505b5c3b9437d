/*
 * tern queue list|show ID|delete ID|flush: reads the queue folder directly
 * (as the server's user) and works while the server runs; flush asks the
 * running server, through master's pid file, to retry everything now.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "queue/queue_file.h"
#include "util/privsep.h"

#define QUEUE_SHOW_HEADER_MAX (256 * 1024)

static int
queue_usage(void)
{
	fprintf(stderr, "usage: tern queue list | show ID | delete ID | flush\n");
	return EXIT_USAGE;
}

static void
format_time(time_t t, char *out, size_t len)
{
	struct tm tm;

	if (t == 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, len, "-");
}

static void
print_message(const struct queue_env *env)
{
	char when[32];

	format_time(env->created, when, sizeof(when));
	printf("%s  %lld bytes  %s  from=<%s>\n", env->id,
	    (long long)(env->file_size - env->content_offset), when, env->sender);
	for (size_t i = 0; i < env->nrcpt; i++) {
		const struct queue_rcpt *rc = &env->rcpts[i];
		format_time(rc->next_attempt, when, sizeof(when));
		printf("    to=<%s> orig_to=<%s> %s %s", rc->addr, rc->orig,
		    rc->remote ? "remote" : "local", queue_rcpt_state_name(rc->state));
		if (rc->state == QUEUE_RCPT_DEFERRED)
			printf(" attempts=%u next=%s (%s)", rc->attempts, when,
			    rc->last_error);
		printf("\n");
	}
}

static int
queue_list(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (d == NULL) {
		cli_error("cannot read %s: %s", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		struct queue_env env;
		char err[512];
		if (!queue_id_valid(de->d_name))
			continue;
		if (queue_env_load(dir, de->d_name, &env, err, sizeof(err)) < 0) {
			/* Delivered and removed while we were reading. */
			if (errno != ENOENT)
				cli_error("%s", err);
			continue;
		}
		print_message(&env);
		queue_env_free(&env);
		n++;
	}
	closedir(d);
	printf("%zu message%s in the queue\n", n, n == 1 ? "" : "s");
	return 0;
}

/* The envelope, then the message's header section. */
static int
queue_show(const char *dir, const char *id)
{
	struct queue_env env;
	char err[512], path[PATH_MAX + QUEUE_ID_BUF + 2], line[1024];
	size_t shown = 0;
	FILE *f;

	if (queue_env_load(dir, id, &env, err, sizeof(err)) < 0) {
		cli_error("%s", errno == ENOENT ? "no such message in the queue" : err);
		return 1;
	}
	print_message(&env);
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if ((f = fopen(path, "re")) == NULL || fseeko(f, env.content_offset, SEEK_SET) < 0) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		queue_env_free(&env);
		return 1;
	}
	printf("\n");
	while (shown < QUEUE_SHOW_HEADER_MAX && fgets(line, sizeof(line), f) != NULL) {
		if (strcmp(line, "\r\n") == 0 || strcmp(line, "\n") == 0)
			break;
		line[strcspn(line, "\r\n")] = '\0';
		printf("%s\n", line);
		shown += strlen(line);
	}
	fclose(f);
	queue_env_free(&env);
	return 0;
}

/* Signals the running server's master; -1 when none runs. */
static int
server_signal(const struct conf *conf, int sig)
{
	char path[PATH_MAX];
	long pid;
	FILE *f;
	int r = -1;

	snprintf(path, sizeof(path), "%s/tern.pid", conf->state_dir);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) == 1 && pid > 1 && kill((pid_t)pid, sig) == 0)
		r = 0;
	fclose(f);
	return r;
}

static int
queue_delete(const struct conf *conf, const char *dir, const char *id)
{
	if (!queue_id_valid(id)) {
		cli_error("not a queue id: %s", id);
		return 1;
	}
	if (queue_remove(dir, id) < 0) {
		cli_error("%s", errno == ENOENT ? "no such message in the queue" :
		    strerror(errno));
		return 1;
	}
	printf("deleted %s\n", id);
	/* The server forgets it and says so in its log; if none runs, the
	 * message is simply not there at the next start. */
	(void)server_signal(conf, SIGUSR2);
	return 0;
}

static int
queue_flush(const struct conf *conf)
{
	if (server_signal(conf, SIGUSR1) < 0) {
		cli_error("the server is not running; the queue is processed when it starts");
		return 1;
	}
	printf("asked the server to retry every message now\n");
	return 0;
}

int
cli_queue(const struct conf *conf, int argc, char **argv)
{
	char dir[PATH_MAX];

	if (argc < 2)
		return queue_usage();
	if (privsep_drop(conf->user) < 0) {
		cli_error("cannot switch to user %s", conf->user);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/queue", conf->state_dir);
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return queue_list(dir);
	if (strcmp(argv[1], "show") == 0 && argc == 3)
		return queue_show(dir, argv[2]);
	if (strcmp(argv[1], "delete") == 0 && argc == 3)
		return queue_delete(conf, dir, argv[2]);
	if (strcmp(argv[1], "flush") == 0 && argc == 2)
		return queue_flush(conf);
	return queue_usage();
}
