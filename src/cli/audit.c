/*
 * tern audit [--ready] [--since DURATION] [--json]: what enforcing refused, or would
 * have refused in warn mode, as counted in the directory: one block per
 * login and client, the busiest first, each event with its protocol (smtp,
 * imap, pop3), its count and its first and last time seen.  A block's header marks a client the
 * brute-force brake slowed or refused.  Everything printed came from the network
 * (logins may hold any byte), so the text is escaped for the terminal and
 * the JSON is escaped as JSON, both valid UTF-8 whatever the input.
 * --ready keeps only what warn mode let through (a miscased login with
 * its password, a sender outside the binding) in the window (default 7d)
 * and exits 0 only when there was none: the question before a switch to
 * enforce.
 * The text ends with the legacy logins, if any: logins tern import kept
 * although they break login_pattern (--keep-logins).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "util/escape.h"
#include "util/xmalloc.h"

struct audit_event {
	char *kind, *existing, *address, *protocol;
	unsigned long long count;
	long long first, last;
};

/* The events of one login and client, held until the block is printed:
 * its header line carries their total. */
struct audit_block {
	char *login, *client;
	struct audit_event *ev;
	size_t n, cap;
	unsigned long long total;
	int slowed, refused;
};

#define AUDIT_READY_WINDOW (7 * 86400)   /* --ready without --since */

struct audit_out {
	int json;
	int ready;              /* only what warn mode let through */
	long long since;        /* events seen since then (0: all) */
	size_t rows;
	size_t blocks;          /* printed so far */
	struct audit_block block;
};

static void
audit_usage(void)
{
	fprintf(stderr, "usage: tern audit [--ready] [--since DURATION] "
	    "[--json]\n"
	    "       DURATION: e.g. 12h or 7d; default: everything "
	    "(--ready: 7d)\n");
}

/* ---- escaping (util/escape.c) ---- */

static void
audit_put_text(const char *s)
{
	escape_text(stdout, s, strlen(s), 0);
}

static void
audit_put_json(const char *s)
{
	escape_json(stdout, s, strlen(s));
}

/* Unix time as ISO 8601 in UTC: 2024-05-01T08:00:00Z. */
static const char *
audit_time(long long t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%lld", t);
	return buf;
}

/* ---- JSON: one object per row ---- */

static void
audit_json_row(struct audit_out *o, const struct dir_audit_row *r)
{
	char t[32];

	fputs(o->rows == 0 ? "[\n  {" : ",\n  {", stdout);
	fputs("\"kind\": ", stdout);
	audit_put_json(r->kind);
	fputs(", \"login\": ", stdout);
	audit_put_json(r->login);
	fputs(", \"existing_login\": ", stdout);
	audit_put_json(r->existing_login);
	fputs(", \"address\": ", stdout);
	audit_put_json(r->address);
	fputs(", \"client_ip\": ", stdout);
	audit_put_json(r->client_ip);
	fputs(", \"protocol\": ", stdout);
	audit_put_json(r->protocol);
	printf(", \"count\": %llu", r->count);
	printf(", \"first_seen\": \"%s\"", audit_time(r->first_seen, t));
	printf(", \"last_seen\": \"%s\"", audit_time(r->last_seen, t));
	printf(", \"let_in\": %llu", r->let_in);
	if (r->let_in > 0)
		printf(", \"last_let_in\": \"%s\"}",
		    audit_time(r->last_let_in, t));
	else
		fputs(", \"last_let_in\": null}", stdout);
}

/* ---- text: a block per login and client ---- */

static void
audit_block_print(struct audit_block *b)
{
	char t1[32], t2[32];

	audit_put_text(b->login);
	fputs(" from ", stdout);
	audit_put_text(b->client);
	printf(": %llu event%s", b->total, b->total == 1 ? "" : "s");
	if (b->slowed || b->refused)
		printf(" (%s%s%s)", b->slowed ? "slowed" : "",
		    b->slowed && b->refused ? ", " : "",
		    b->refused ? "refused" : "");
	putchar('\n');
	for (size_t i = 0; i < b->n; i++) {
		const struct audit_event *e = &b->ev[i];

		printf("  %8llu  %-22s  %-4s  first %s  last %s", e->count,
		    e->kind, e->protocol, audit_time(e->first, t1),
		    audit_time(e->last, t2));
		if (e->address[0] != '\0') {
			fputs("  address ", stdout);
			audit_put_text(e->address);
		}
		if (e->existing[0] != '\0') {
			fputs("  existing login ", stdout);
			audit_put_text(e->existing);
		}
		putchar('\n');
	}
}

static void
audit_block_clear(struct audit_block *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->ev[i].kind);
		free(b->ev[i].existing);
		free(b->ev[i].address);
		free(b->ev[i].protocol);
	}
	free(b->ev);
	free(b->login);
	free(b->client);
	memset(b, 0, sizeof(*b));
}

/* Prints the block held, if any, a blank line after the one before, and
 * empties it. */
static void
audit_block_flush(struct audit_out *o)
{
	if (o->block.login != NULL) {
		if (o->blocks++ > 0)
			putchar('\n');
		audit_block_print(&o->block);
	}
	audit_block_clear(&o->block);
}

static void
audit_text_row(struct audit_out *o, const struct dir_audit_row *r)
{
	struct audit_block *b = &o->block;
	struct audit_event *e;

	if (b->login != NULL && (strcmp(b->login, r->login) != 0 ||
	    strcmp(b->client, r->client_ip) != 0))
		audit_block_flush(o);
	if (b->login == NULL) {
		b->login = xstrdup(r->login);
		b->client = xstrdup(r->client_ip);
	}
	b->slowed |= strcmp(r->kind, "auth-slowed") == 0;
	b->refused |= strcmp(r->kind, "auth-refused") == 0;
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		b->ev = xreallocarray(b->ev, b->cap, sizeof(*b->ev));
	}
	e = &b->ev[b->n++];
	e->kind = xstrdup(r->kind);
	e->existing = xstrdup(r->existing_login);
	e->address = xstrdup(r->address);
	e->protocol = xstrdup(r->protocol);
	e->count = r->count;
	e->first = r->first_seen;
	e->last = r->last_seen;
	b->total += r->count;
}

static void
audit_row(void *arg, const struct dir_audit_row *r)
{
	struct audit_out *o = arg;

	if (o->ready && (r->let_in == 0 || r->last_let_in < o->since))
		return;
	if (o->json)
		audit_json_row(o, r);
	else
		audit_text_row(o, r);
	o->rows++;
}

/* ---- the command ---- */

/* --ready, --since and --json, each at most once.  0, or -1 for bad
 * usage. */
static int
audit_parse(int argc, char **argv, struct audit_out *o)
{
	unsigned secs;
	int since_seen = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && !o->json) {
			o->json = 1;
		} else if (strcmp(argv[i], "--ready") == 0 && !o->ready) {
			o->ready = 1;
		} else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc &&
		    !since_seen) {
			if (conf_parse_duration(argv[++i], &secs) < 0) {
				cli_error("bad duration '%s' (use e.g. 12h or "
				    "7d)", argv[i]);
				return -1;
			}
			since_seen = 1;
			o->since = (long long)time(NULL) - (long long)secs;
		} else {
			return -1;
		}
	}
	if (o->ready && !since_seen)
		o->since = (long long)time(NULL) - AUDIT_READY_WINDOW;
	return 0;
}

/* The answer to --ready, after the blocks of those it would refuse. */
static void
audit_ready_verdict(const struct audit_out *o)
{
	char t[32];

	if (o->rows > 0)
		putchar('\n');
	printf("%s: since %s, ", o->rows == 0 ? "ready" : "not ready",
	    audit_time(o->since, t));
	if (o->rows == 0)
		printf("login_case = enforce and sender_binding = enforce "
		    "would have refused no one that warn mode let through\n");
	else
		printf("login_case = enforce or sender_binding = enforce "
		    "would refuse the client%s above\n",
		    o->blocks == 1 ? "" : "s");
}

/* ---- legacy logins: kept by tern import --keep-logins ---- */

static void
audit_legacy(void *arg, const char *login, const char *mailbox)
{
	size_t *n = arg;

	if ((*n)++ == 0)
		fputs("\nlegacy logins (imported with --keep-logins; they break "
		    "login_pattern):\n", stdout);
	fputs("  ", stdout);
	audit_put_text(login);
	putchar(' ');
	audit_put_text(mailbox);
	putchar('\n');
}

static int
audit_run(struct directory *dir, void *arg, char err[DIR_ERR_MAX])
{
	struct audit_out *o = arg;
	int rc = dir_audit_list(dir, o->since, audit_row, o, err);
	size_t legacy = 0;

	if (rc == 0 && !o->json)
		audit_block_flush(o);
	audit_block_clear(&o->block);
	if (rc == 0 && o->json)
		fputs(o->rows == 0 ? "[]\n" : "\n]\n", stdout);
	else if (rc == 0 && o->ready)
		audit_ready_verdict(o);
	else if (rc == 0 && o->rows == 0)
		printf("no events%s\n", o->since > 0 ? " in that time" : "");
	/* Not in --json: its output is one array of events; not in --ready,
	 * whose question is another. */
	if (rc == 0 && !o->json && !o->ready)
		rc = dir_legacy_list(dir, audit_legacy, &legacy, err);
	return rc;
}

int
cli_audit(const struct conf *conf, int argc, char **argv)
{
	struct audit_out o;

	int rc;

	memset(&o, 0, sizeof(o));
	if (audit_parse(argc, argv, &o) < 0) {
		audit_usage();
		return EXIT_USAGE;
	}
	rc = cli_with_directory(conf, audit_run, &o);
	/* --ready: 0 only when enforcing would refuse no one. */
	if (rc == 0 && o.ready && o.rows > 0)
		return 1;
	return rc;
}
