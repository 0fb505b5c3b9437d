/*
 * tern queue list|show ID|delete ID|hold ID|release ID|flush: reads the
 * queue folder and its hold folder directly (as the server's user) and
 * works while the server runs; delete, hold and release tell the running
 * server, through master's pid file, that the folder changed, and flush
 * asks it to retry everything now.
 * What it prints came from the network (addresses, headers, replies): it
 * is escaped for the terminal, or as JSON with --json (docs/cli.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "queue/queue_file.h"
#include "queue/queue_hold.h"
#include "util/escape.h"
#include "util/privsep.h"
#include "util/xmalloc.h"

#define QUEUE_SHOW_HEADER_MAX (256 * 1024)

static int
queue_usage(void)
{
	fprintf(stderr, "usage: tern queue list [--json] | show ID [--json] | "
	    "delete ID | hold ID | release ID | flush\n");
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

/* For JSON, as tern audit: ISO 8601 in UTC; "" when there is none. */
static void
format_time_utc(time_t t, char *out, size_t len)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%s", "");
}

/* Text from the queue file, which came from the network: escaped. */
static void
put_text(const char *s)
{
	escape_text(stdout, s, strlen(s), 0);
}

static void
put_json(const char *s)
{
	escape_json(stdout, s, strlen(s));
}

/* A held message's id is followed by "!", as in Postfix's mailq. */
static void
print_message(const struct queue_env *env, int held)
{
	char when[32];

	format_time(env->created, when, sizeof(when));
	printf("%s%s  %lld bytes  %s  from=<", env->id, held ? "!" : "",
	    (long long)(env->file_size - env->content_offset), when);
	put_text(env->sender);
	printf(">\n");
	for (size_t i = 0; i < env->nrcpt; i++) {
		const struct queue_rcpt *rc = &env->rcpts[i];
		format_time(rc->next_attempt, when, sizeof(when));
		printf("    to=<");
		put_text(rc->addr);
		printf("> orig_to=<");
		put_text(rc->orig);
		printf("> %s %s", rc->remote ? "remote" : "local",
		    queue_rcpt_state_name(rc->state));
		if (rc->state == QUEUE_RCPT_DEFERRED) {
			printf(" attempts=%u next=%s (", rc->attempts, when);
			put_text(rc->last_error);
			printf(")");
		}
		printf("\n");
	}
}

static void
print_rcpt_json(const struct queue_rcpt *rc)
{
	char next[32];

	format_time_utc(rc->next_attempt, next, sizeof(next));
	fputs("{\"to\": ", stdout);
	put_json(rc->addr);
	fputs(", \"orig_to\": ", stdout);
	put_json(rc->orig);
	printf(", \"route\": \"%s\", \"status\": \"%s\", \"attempts\": %u, "
	    "\"next_attempt\": \"%s\", \"last_error\": ",
	    rc->remote ? "remote" : "local", queue_rcpt_state_name(rc->state),
	    rc->attempts, next);
	put_json(rc->last_error);
	putchar('}');
}

/* One message as a JSON object, without its closing brace (show adds
 * the header lines). */
static void
print_message_json(const struct queue_env *env, int held)
{
	char when[32];

	format_time_utc(env->created, when, sizeof(when));
	printf("{\"id\": \"%s\", \"held\": %s, \"arrival\": \"%s\", "
	    "\"size\": %lld, \"sender\": ", env->id, held ? "true" : "false",
	    when,
	    (long long)(env->file_size - env->content_offset));
	put_json(env->sender);
	fputs(", \"client_ip\": ", stdout);
	put_json(env->client);
	printf(", \"body\": \"%s\", \"smtputf8\": %s, \"recipients\": [",
	    env->body_8bit ? "8bitmime" : "7bit", env->smtputf8 ? "true" : "false");
	for (size_t i = 0; i < env->nrcpt; i++) {
		fputs(i == 0 ? "" : ", ", stdout);
		print_rcpt_json(&env->rcpts[i]);
	}
	putchar(']');
}

/* The end of stdout: its errors, unseen until now, are the command's. */
static int
queue_flush_stdout(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_error("cannot write: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* Prints every message of dir (the queue, or its hold folder); n counts
 * them across both.  0, or -1 when dir cannot be read. */
static int
queue_list_dir(const char *dir, int held, int json, size_t *n)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL) {
		cli_error("cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct queue_env env;
		char err[512];
		if (!queue_id_valid(de->d_name))
			continue;
		if (queue_env_load(dir, de->d_name, &env, err, sizeof(err)) < 0) {
			/* Delivered, released or removed while we were reading. */
			if (errno != ENOENT)
				cli_error("%s", err);
			continue;
		}
		if (json) {
			fputs(*n == 0 ? "[\n  " : ",\n  ", stdout);
			print_message_json(&env, held);
			putchar('}');
		} else {
			print_message(&env, held);
		}
		queue_env_free(&env);
		(*n)++;
	}
	closedir(d);
	return 0;
}

static int
queue_list(const char *dir, int json)
{
	char hold[PATH_MAX];
	size_t n = 0, nqueue;

	queue_hold_dir(dir, hold, sizeof(hold));
	if (queue_list_dir(dir, 0, json, &n) < 0)
		return 1;
	nqueue = n;
	/* A server from before the hold folder existed has none yet. */
	if (access(hold, F_OK) == 0 && queue_list_dir(hold, 1, json, &n) < 0)
		return 1;
	if (json)
		fputs(n == 0 ? "[]\n" : "\n]\n", stdout);
	else if (n > nqueue)
		printf("%zu message%s in the queue (%zu on hold)\n", n,
		    n == 1 ? "" : "s", n - nqueue);
	else
		printf("%zu message%s in the queue\n", n, n == 1 ? "" : "s");
	return queue_flush_stdout();
}

/* The message's header section, without the empty line that ends it: at
 * most QUEUE_SHOW_HEADER_MAX bytes of it, into *buf_r (malloc'd, to be
 * freed).  0, or -1 with errno. */
static int
queue_read_headers(const char *path, const struct queue_env *env,
    char **buf_r, size_t *len_r)
{
	off_t avail = env->file_size - env->content_offset;
	size_t want = avail <= 0 ? 0 : avail < QUEUE_SHOW_HEADER_MAX ?
	    (size_t)avail : QUEUE_SHOW_HEADER_MAX;
	char *buf = xmalloc(want + 1);
	size_t n = 0, pos = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		free(buf);
		return -1;
	}
	while (n < want) {
		ssize_t r = pread(fd, buf + n, want - n, env->content_offset + (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			free(buf);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	/* The first empty line (CRLF, or a bare LF) ends the section. */
	while (pos < n) {
		char *nl = memchr(buf + pos, '\n', n - pos);
		size_t end = nl != NULL ? (size_t)(nl - buf) : n;
		if (end == pos || (end == pos + 1 && buf[pos] == '\r'))
			break;
		pos = nl != NULL ? end + 1 : n;
	}
	*buf_r = buf;
	*len_r = pos;
	return 0;
}

/* Calls put for each line of the n bytes at h (without its line end). */
static void
queue_header_lines(const char *h, size_t n,
    void (*put)(const char *line, size_t len, size_t i))
{
	size_t pos = 0, i = 0;

	while (pos < n) {
		const char *nl = memchr(h + pos, '\n', n - pos);
		size_t end = nl != NULL ? (size_t)(nl - h) : n;
		size_t len = end - pos;
		if (len > 0 && h[end - 1] == '\r')
			len--;
		put(h + pos, len, i++);
		pos = end + 1;
	}
}

/* A header line for the terminal: control bytes escaped, tabs (of folded
 * lines) kept. */
static void
put_header_text(const char *line, size_t len, size_t i)
{
	(void)i;
	escape_text(stdout, line, len, ESCAPE_KEEP_TAB);
	putchar('\n');
}

static void
put_header_json(const char *line, size_t len, size_t i)
{
	fputs(i == 0 ? "" : ", ", stdout);
	escape_json(stdout, line, len);
}

/* The envelope, then the message's header section; a held message is
 * looked for in the hold folder when the queue does not have it. */
static int
queue_show(const char *dir, const char *id, int json)
{
	struct queue_env env;
	char err[512], hold[PATH_MAX], path[PATH_MAX + QUEUE_ID_BUF + 2], *head;
	size_t hlen;
	int held = 0;

	queue_hold_dir(dir, hold, sizeof(hold));
	if (queue_env_load(dir, id, &env, err, sizeof(err)) < 0) {
		if (errno != ENOENT ||
		    queue_env_load(hold, id, &env, err, sizeof(err)) < 0) {
			cli_error("%s", errno == ENOENT ?
			    "no such message in the queue" : err);
			return 1;
		}
		held = 1;
		dir = hold;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (queue_read_headers(path, &env, &head, &hlen) < 0) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		queue_env_free(&env);
		return 1;
	}
	if (json) {
		print_message_json(&env, held);
		fputs(", \"headers\": [", stdout);
		queue_header_lines(head, hlen, put_header_json);
		fputs("]}\n", stdout);
	} else {
		print_message(&env, held);
		printf("\n");
		queue_header_lines(head, hlen, put_header_text);
	}
	free(head);
	queue_env_free(&env);
	return queue_flush_stdout();
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
	/* In the queue, or else on hold. */
	if (queue_remove(dir, id) < 0 &&
	    (errno != ENOENT || queue_hold_remove(dir, id) < 0)) {
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

/* tern queue hold ID (postsuper -h) and release ID (postsuper -H): the
 * message moves between the queue and its hold folder, and the running
 * server is told (as for delete).  A server that does not run finds the
 * queue as it is at its next start. */
static int
queue_hold_cmd(const struct conf *conf, const char *dir, const char *id,
    int release)
{
	int r;

	if (!queue_id_valid(id)) {
		cli_error("not a queue id: %s", id);
		return 1;
	}
	r = release ? queue_hold_release(dir, id) : queue_hold_put(dir, id);
	if (r < 0) {
		cli_error("%s", errno != ENOENT ? strerror(errno) : release ?
		    "no such message on hold" : "no such message in the queue "
		    "(a held message is released with tern queue release)");
		return 1;
	}
	printf("%s %s\n", release ? "released" : "held", id);
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
	/* --json, where it is taken, may come before or after the ID. */
	if (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "show") == 0) {
		const char *id = NULL;
		int json = 0;
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--json") == 0 && !json)
				json = 1;
			else if (argv[i][0] != '-' && id == NULL)
				id = argv[i];
			else
				return queue_usage();
		}
		if (argv[1][0] == 'l' && id == NULL)
			return queue_list(dir, json);
		if (argv[1][0] == 's' && id != NULL)
			return queue_show(dir, id, json);
		return queue_usage();
	}
	if (strcmp(argv[1], "delete") == 0 && argc == 3)
		return queue_delete(conf, dir, argv[2]);
	if (strcmp(argv[1], "hold") == 0 && argc == 3)
		return queue_hold_cmd(conf, dir, argv[2], 0);
	if (strcmp(argv[1], "release") == 0 && argc == 3)
		return queue_hold_cmd(conf, dir, argv[2], 1);
	if (strcmp(argv[1], "flush") == 0 && argc == 2)
		return queue_flush(conf);
	return queue_usage();
}
