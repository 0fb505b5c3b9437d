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

struct session;
struct msg_edits;

#define MSG_EDIT_MAX       1024         /* changes per message */
#define MSG_EDIT_FIELD_MAX (64 * 1024)  /* name + value of one field */

struct msg_edits *msg_edits_new(void);
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
/* value NULL (or "") deletes the field; an nth past the last field of that
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

#endif
