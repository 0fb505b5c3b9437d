/*
 * Queue files: one per message in state_dir/queue, named by its queue id.
 * A file holds a versioned envelope (text lines, fields separated by tabs,
 * which no valid address can contain), a blank line, then the message as
 * received (CRLF line ends, dot-stuffing undone).  The file never changes
 * once it is in the queue; what delivery learns (done, deferred, next
 * attempt, last error) lives in ID.state beside it, replaced durably.
 * Files are written to queue/tmp first and renamed in, so the queue folder
 * only ever holds whole messages.
 *
 * Two envelope lines are optional and written only when set, so that a
 * file from before they existed still loads, with their defaults:
 * "body<TAB>8bitmime" (RFC 6152; absent means 7bit) and "smtputf8"
 * (RFC 6531: the client declared it; absent means it did not).  Whether
 * the message needs SMTPUTF8 at the next hop is decided when it is sent
 * (queue_utf8.h).
 */
#ifndef TERN_QUEUE_FILE_H
#define TERN_QUEUE_FILE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util/addr.h"
#include "util/buf.h"

#define QUEUE_ID_LEN 12
#define QUEUE_ID_BUF (QUEUE_ID_LEN + 1)
#define QUEUE_ERR_MAX 256
#define QUEUE_VERSION 1

enum queue_rcpt_state { QUEUE_RCPT_PENDING, QUEUE_RCPT_DEFERRED, QUEUE_RCPT_DONE };

struct queue_rcpt {
	char orig[ADDR_BUF];    /* the envelope recipient as the client gave it */
	char addr[ADDR_BUF];    /* the mailbox, or the remote address */
	int remote;
	enum queue_rcpt_state state;
	time_t next_attempt;
	unsigned attempts;
	char last_error[QUEUE_ERR_MAX];
};

struct queue_env {
	char id[QUEUE_ID_BUF];
	time_t created;
	char sender[ADDR_BUF];  /* "" for the null sender */
	char client[64];        /* client IP address */
	int body_8bit;          /* MAIL FROM carried BODY=8BITMIME */
	int smtputf8;           /* MAIL FROM carried SMTPUTF8 */
	struct queue_rcpt *rcpts;
	size_t nrcpt;
	off_t content_offset;   /* where the message starts in the file */
	off_t file_size;
};

/* A fresh random queue id (base32, never all zero). */
void queue_id_new(char id_r[QUEUE_ID_BUF]);
/* 1 if s looks like a queue id (so it can name a file safely). */
int queue_id_valid(const char *s);

/* Appends the envelope, ending with the blank line, to out. */
void queue_env_format(const struct queue_env *env, struct buf *out);
void queue_env_add_rcpt(struct queue_env *env, const char *orig,
    const char *addr, int remote);

/* Reads queue_dir/ID and its state file. 0, or -1 with a reason in err. */
int queue_env_load(const char *queue_dir, const char *id,
    struct queue_env *env, char *err, size_t errlen);
/* Durably replaces queue_dir/ID.state with the recipients' states. */
int queue_state_save(const char *queue_dir, const struct queue_env *env);
/* Removes a message and its state. 0 or -1. */
int queue_remove(const char *queue_dir, const char *id);
void queue_env_free(struct queue_env *env);

const char *queue_rcpt_state_name(enum queue_rcpt_state s);

#endif
