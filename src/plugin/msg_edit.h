/*
 * Changes plugins ask for at the end of DATA (a milter's SMFIR_* actions,
 * a filter's add-header), kept in the order asked and applied to the queue
 * file before the client hears 250: the file is written anew beside the
 * old one and renamed over it, so a message is never committed half
 * changed.  Header indexes follow Postfix's rules, so that every milter
 * puts its fields where it would under Postfix:
 *   - insert: index 0 is above everything, tern's own Received header
 *     included (Debian's OpenDKIM inserts DKIM-Signature there);
 *   - change and delete: the nth field of that name (1-based, name
 *     compared without case), tern's Received header not counted.
 */
#ifndef TERN_MSG_EDIT_H
#define TERN_MSG_EDIT_H

#include <stddef.h>
#include <sys/types.h>

struct queue_env;
struct msg_edits;

#define MSG_EDIT_MAX       1024         /* changes per message */
#define MSG_EDIT_FIELD_MAX (64 * 1024)  /* name + value of one field */

/* body_max bounds a replaced body (max_message_size). */
struct msg_edits *msg_edits_new(size_t body_max);
void msg_edits_free(struct msg_edits *e);
size_t msg_edits_count(const struct msg_edits *e);

/* Each returns 0, or -1 when the change is malformed (a name that is not
 * a field name, a value with a NUL or a bare CR, too long, too many): the
 * caller treats that as a broken plugin.  A value may be folded with LF
 * or CRLF followed by SP or HTAB; it is written with CRLF. */
int msg_edit_header_add(struct msg_edits *e, const char *name,
    const char *value);
int msg_edit_header_insert(struct msg_edits *e, size_t index,
    const char *name, const char *value);
/* A field is written "Name: value", with no space added when the value
 * begins with SP or HTAB (a milter's leading-space flag).
 * value NULL (or "") deletes the field; nth 0 is taken as 1; an nth past the last field of that
 * name adds one at the end (as Postfix does). */
int msg_edit_header_change(struct msg_edits *e, size_t nth,
    const char *name, const char *value);
/* Envelope: args are the ESMTP parameters ("" for none), kept for the
 * log; the address is as the plugin gave it, with or without <>. */
int msg_edit_sender(struct msg_edits *e, const char *addr, const char *args);
int msg_edit_rcpt_add(struct msg_edits *e, const char *addr,
    const char *args);
int msg_edit_rcpt_delete(struct msg_edits *e, const char *addr);
/* A new body: every piece of one replacement, in order; a later
 * replacement starts over. */
int msg_edit_body(struct msg_edits *e, const void *p, size_t len);
/* The next msg_edit_body() begins a new replacement. */
void msg_edits_body_restart(struct msg_edits *e);

/* For the session: the added recipients one by one (from *i on; NULL at
 * the end), and what lookup said of each (status a DIR_RESOLVE_*, and
 * the mailboxes or remote addresses it stands for). */
const char *msg_edits_rcpt_added(const struct msg_edits *e, size_t *i);
void msg_edits_resolved(struct msg_edits *e, size_t i, int status,
    const char *const *addrs, const int *remote, size_t n);
/* Applies every change: env in memory, and the queue file read from in
 * (its header from header_at on, field number ours being tern's Received)
 * written whole to out.  0, or -1 with errno (EINVAL: a change could not
 * be made; EFBIG: the header is over header_max). */
int msg_edits_apply(const struct msg_edits *e, struct queue_env *env,
    int in, off_t header_at, size_t ours, int out, size_t header_max);

#endif
