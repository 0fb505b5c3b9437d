/*
 * One line of tern's log file, as `tern log` reads it:
 * "STAMP proc[pid]: [warn: |error: ][ID: ]message key=value ...".
 * Parsing points into the caller's bytes (an mmap of the file) and
 * copies nothing; the line is trusted no more than any file: every field
 * is bounded by the line's length.
 */
#ifndef TERN_CLI_LOG_LINE_H
#define TERN_CLI_LOG_LINE_H

#include <stddef.h>
#include <time.h>

#include "util/cidr.h"

#define LOG_ID_MIN 8
#define LOG_ID_MAX 32

enum log_kind {
	LOG_KIND_OTHER,         /* no session or queue id */
	LOG_KIND_SESSION,       /* smtpd's lines: the id is the session's */
	LOG_KIND_QUEUE,         /* the queue's lines: the id is the message's */
};

struct log_line {
	const char *text;       /* the whole line, without its newline */
	size_t len;
	const char *proc;       /* "smtpd", "queue", ...; NULL when none */
	size_t proc_len;
	const char *pid;
	size_t pid_len;
	const char *level;      /* "info", "warn" or "error" */
	const char *msg;        /* after the prefix, the level and the id */
	size_t msg_len;
	const char *id;         /* NULL for LOG_KIND_OTHER */
	size_t id_len;
	enum log_kind kind;
};

/* Fills l from the line at p (len bytes, no newline).  Any line parses:
 * one without the proc[pid] prefix is all message. */
void log_line_parse(const char *p, size_t len, struct log_line *l);

/* Only the kind and id of the line at p, as log_line_parse would find
 * them, and cheaper: what the second pass of tern log asks of every line.
 * The id is set for LOG_KIND_SESSION and _QUEUE. */
enum log_kind log_line_key(const char *p, size_t len, const char **id_r,
    size_t *len_r);

/* The stamp at the start of the line, as seconds.  0, or -1 for none. */
int log_line_time(const struct log_line *l, time_t *when_r);

/* The value of key=... in the message, without its <> or [] brackets.
 * 1 when found, else 0. */
int log_line_value(const struct log_line *l, const char *key,
    const char **v_r, size_t *len_r);

/* The client address of the line: client=[IP], or "from [IP]" (connect,
 * reject, timeout lines), into ip (size len).  1 when found, else 0. */
int log_line_client(const struct log_line *l, char *ip, size_t len);

/* For "ID: queued id=QID ...": the queue id.  1 when found, else 0. */
int log_line_queued(const struct log_line *l, const char **qid_r,
    size_t *len_r);

/* A session's last line ("disconnect from"). */
int log_line_ends_session(const struct log_line *l);

/* A failed or would-refuse login or sender check: 1 with a short reason
 * ("unknown", "password", "case-mismatch", "sender-binding", ...) in
 * reason, else 0. */
int log_line_failure(const struct log_line *l, char *reason, size_t len);

/* What to look for.  Each filter a line satisfies sets its bit. */
enum {
	LOG_F_LOGIN = 1, LOG_F_CLIENT = 2, LOG_F_ADDRESS = 4, LOG_F_ID = 8,
};

struct log_filter {
	const char *login;      /* exact bytes: login= or existing= */
	int has_client;
	struct cidr client;
	const char *address;    /* any case: from=, to=, orig_to=, address= */
	const char *id;         /* the session or queue id, or id= */
	int failures;
};

/* The bits of the filters that are set. */
unsigned log_filter_want(const struct log_filter *f);
/* The bits of the filters that line l satisfies. */
unsigned log_filter_hits(const struct log_filter *f, const struct log_line *l);

#endif
