/*
 * End-of-message changes, kept in order and applied in one pass: the
 * envelope in memory, then the queue file written anew (envelope, header
 * fields after every change, then the old body or the new one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "plugin/msg_edit.h"
#include "queue/queue_file.h"
#include "util/buf.h"
#include "util/durable.h"
#include "util/xmalloc.h"

enum msg_edit_op {
	EDIT_HEADER_ADD,
	EDIT_HEADER_INSERT,
	EDIT_HEADER_CHANGE,
	EDIT_SENDER,
	EDIT_RCPT_ADD,
	EDIT_RCPT_DELETE,
};

struct msg_edit {
	enum msg_edit_op op;
	size_t index;           /* insert: position; change: nth of name */
	char *name;             /* header name, or the address */
	char *value;            /* header value (NULL: delete), or ESMTP args */
	/* EDIT_RCPT_ADD, once resolved (msg_edits_resolved) */
	int status;
	struct msg_edit_target {
		char addr[ADDR_BUF];
		int remote;
	} *targets;
	size_t ntargets;
};

struct msg_edits {
	struct msg_edit *v;
	size_t n;
	int body_set;
	struct buf body;
};

/* One header field of the message being rewritten, CRLF included. */
struct msg_field {
	char *text;
	size_t len;
	int ours;               /* tern's Received: not counted for change */
};

struct msg_fields {
	struct msg_field *v;
	size_t n, cap;
};

struct msg_edits *
msg_edits_new(size_t body_max)
{
	struct msg_edits *e = xcalloc(1, sizeof(*e));

	buf_init(&e->body, body_max);
	return e;
}

void
msg_edits_free(struct msg_edits *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].value);
		free(e->v[i].targets);
	}
	free(e->v);
	buf_free(&e->body);
	free(e);
}

size_t
msg_edits_count(const struct msg_edits *e)
{
	return e == NULL ? 0 : e->n + (e->body_set ? 1 : 0);
}

static int
msg_edit_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 997)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 33 || name[i] > 126 || name[i] == ':')
			return 0;
	return 1;
}

/* A value may fold (LF or CRLF, then SP or HTAB) but never start a new
 * field or hold a bare CR. */
static int
msg_edit_value_ok(const char *v)
{
	for (size_t i = 0; v[i] != '\0'; i++) {
		if (v[i] == '\r' && v[i + 1] != '\n')
			return 0;
		if (v[i] == '\n' && v[i + 1] != ' ' && v[i + 1] != '\t')
			return 0;
	}
	return 1;
}

static int
msg_edit_push(struct msg_edits *e, enum msg_edit_op op, size_t index,
    const char *name, const char *value)
{
	struct msg_edit *ed;

	if (e->n >= MSG_EDIT_MAX)
		return -1;
	if ((e->n & 15) == 0)
		e->v = xreallocarray(e->v, e->n + 16, sizeof(*e->v));
	ed = &e->v[e->n++];
	memset(ed, 0, sizeof(*ed));
	ed->op = op;
	ed->index = index;
	ed->name = xstrdup(name);
	ed->value = value != NULL ? xstrdup(value) : NULL;
	return 0;
}

static int
msg_edit_header(struct msg_edits *e, enum msg_edit_op op, size_t index,
    const char *name, const char *value)
{
	if (!msg_edit_name_ok(name) || (value != NULL &&
	    (!msg_edit_value_ok(value) ||
	    strlen(name) + strlen(value) > MSG_EDIT_FIELD_MAX)))
		return -1;
	return msg_edit_push(e, op, index, name, value);
}

int
msg_edit_header_add(struct msg_edits *e, const char *name, const char *value)
{
	return msg_edit_header(e, EDIT_HEADER_ADD, 0, name, value);
}

int
msg_edit_header_insert(struct msg_edits *e, size_t index, const char *name,
    const char *value)
{
	return msg_edit_header(e, EDIT_HEADER_INSERT, index, name, value);
}

int
msg_edit_header_change(struct msg_edits *e, size_t nth, const char *name,
    const char *value)
{
	if (nth == 0)
		nth = 1;        /* libmilter counts from 1; 0 means the first */
	return msg_edit_header(e, EDIT_HEADER_CHANGE, nth, name,
	    value != NULL && *value != '\0' ? value : NULL);
}

/* An address as plugins give it: <a@b>, a@b or <> for the null sender. */
static int
msg_edit_addr(const char *in, char out[ADDR_BUF])
{
	size_t n = strlen(in);

	if (n >= 2 && in[0] == '<' && in[n - 1] == '>') {
		in++;
		n -= 2;
	}
	if (n >= ADDR_BUF)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)in[i] <= ' ' || in[i] == '<' || in[i] == '>' ||
		    in[i] == 0x7f)
			return -1;
	memcpy(out, in, n);
	out[n] = '\0';
	return 0;
}

static int
msg_edit_envelope(struct msg_edits *e, enum msg_edit_op op, const char *addr,
    const char *args)
{
	char a[ADDR_BUF];

	if (msg_edit_addr(addr, a) < 0 || (op != EDIT_SENDER && a[0] == '\0'))
		return -1;
	return msg_edit_push(e, op, 0, a, args != NULL ? args : "");
}

int
msg_edit_sender(struct msg_edits *e, const char *addr, const char *args)
{
	return msg_edit_envelope(e, EDIT_SENDER, addr, args);
}

int
msg_edit_rcpt_add(struct msg_edits *e, const char *addr, const char *args)
{
	return msg_edit_envelope(e, EDIT_RCPT_ADD, addr, args);
}

int
msg_edit_rcpt_delete(struct msg_edits *e, const char *addr)
{
	return msg_edit_envelope(e, EDIT_RCPT_DELETE, addr, "");
}

int
msg_edit_body(struct msg_edits *e, const void *p, size_t len)
{
	if (!e->body_set) {
		buf_reset(&e->body);
		e->body_set = 1;
	}
	return buf_append(&e->body, p, len);
}

void
msg_edits_body_restart(struct msg_edits *e)
{
	e->body_set = 0;
}

const char *
msg_edits_rcpt_added(const struct msg_edits *e, size_t *i)
{
	for (; *i < e->n; (*i)++)
		if (e->v[*i].op == EDIT_RCPT_ADD)
			return e->v[*i].name;
	return NULL;
}

void
msg_edits_resolved(struct msg_edits *e, size_t i, int status,
    const char *const *addrs, const int *remote, size_t n)
{
	struct msg_edit *ed = &e->v[i];

	ed->status = status;
	ed->targets = xreallocarray(NULL, n ? n : 1, sizeof(*ed->targets));
	ed->ntargets = n;
	for (size_t k = 0; k < n; k++) {
		snprintf(ed->targets[k].addr, sizeof(ed->targets[k].addr), "%s",
		    addrs[k]);
		ed->targets[k].remote = remote[k];
	}
}

/* The envelope's changes, in order, on env. */
static void
msg_edits_apply_envelope(const struct msg_edits *e, struct queue_env *env)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct msg_edit *ed = &e->v[i];
		switch (ed->op) {
		case EDIT_SENDER:
			snprintf(env->sender, sizeof(env->sender), "%s",
			    ed->name);
			break;
		case EDIT_RCPT_ADD:
			for (size_t k = 0; k < ed->ntargets; k++)
				queue_env_add_rcpt(env, ed->name,
				    ed->targets[k].addr, ed->targets[k].remote);
			break;
		case EDIT_RCPT_DELETE:
			for (size_t k = 0; k < env->nrcpt;)
				if (strcasecmp(env->rcpts[k].orig, ed->name) == 0)
					env->rcpts[k] = env->rcpts[--env->nrcpt];
				else
					k++;
			break;
		default:
			break;
		}
	}
}

static void
msg_fields_put(struct msg_fields *f, size_t at, char *text, size_t len,
    int ours)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 32;
		f->v = xreallocarray(f->v, f->cap, sizeof(*f->v));
	}
	if (at > f->n)
		at = f->n;
	memmove(&f->v[at + 1], &f->v[at], (f->n - at) * sizeof(*f->v));
	f->v[at].text = text;
	f->v[at].len = len;
	f->v[at].ours = ours;
	f->n++;
}

static void
msg_fields_free(struct msg_fields *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].text);
	free(f->v);
}

/* "Name: value\r\n", the value's line ends made CRLF. */
static char *
msg_field_format(const char *name, const char *value, size_t *len)
{
	struct buf b;
	const char *sep = (value[0] == ' ' || value[0] == '\t') ? ":" : ": ";
	char *out;

	buf_init(&b, 2 * MSG_EDIT_FIELD_MAX + 16);
	if (buf_appendf(&b, "%s%s", name, sep) < 0)
		return NULL;
	for (size_t i = 0; value[i] != '\0'; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r') &&
		    buf_append(&b, "\r", 1) < 0)
			return NULL;
		if (buf_append(&b, &value[i], 1) < 0)
			return NULL;
	}
	if (buf_append(&b, "\r\n", 2) < 0)
		return NULL;
	*len = b.len;
	out = xmalloc(b.len);
	memcpy(out, b.data, b.len);
	buf_free(&b);
	return out;
}

/* Does field f carry this name? */
static int
msg_field_named(const struct msg_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->len > n && f->text[n] == ':' &&
	    strncasecmp(f->text, name, n) == 0;
}

static int
msg_fields_change(struct msg_fields *f, const struct msg_edit *ed)
{
	size_t seen = 0, len;
	char *text;

	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i].ours || !msg_field_named(&f->v[i], ed->name) ||
		    ++seen < ed->index)
			continue;
		free(f->v[i].text);
		if (ed->value == NULL) {
			memmove(&f->v[i], &f->v[i + 1],
			    (f->n - i - 1) * sizeof(*f->v));
			f->n--;
			return 0;
		}
		if ((f->v[i].text = msg_field_format(ed->name, ed->value,
		    &f->v[i].len)) == NULL) {
			f->v[i].len = 0;
			f->v[i].text = xstrdup("");
			return -1;
		}
		return 0;
	}
	if (ed->value == NULL)
		return 0;
	if ((text = msg_field_format(ed->name, ed->value, &len)) == NULL)
		return -1;
	msg_fields_put(f, f->n, text, len, 0);
	return 0;
}

static int
msg_fields_edit(struct msg_fields *f, const struct msg_edits *e)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct msg_edit *ed = &e->v[i];
		char *text;
		size_t len;

		switch (ed->op) {
		case EDIT_HEADER_ADD:
		case EDIT_HEADER_INSERT:
			if ((text = msg_field_format(ed->name, ed->value,
			    &len)) == NULL)
				return -1;
			msg_fields_put(f, ed->op == EDIT_HEADER_ADD ? f->n :
			    ed->index, text, len, 0);
			break;
		case EDIT_HEADER_CHANGE:
			if (msg_fields_change(f, ed) < 0)
				return -1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Splits the header block into fields; ours is the index of tern's
 * Received field. */
static void
msg_fields_split(struct msg_fields *f, const char *h, size_t len, size_t ours)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (h[i] != '\n')
			continue;
		if (i + 1 < len && (h[i + 1] == ' ' || h[i + 1] == '\t'))
			continue;       /* folded: the same field */
		size_t n = i + 1 - start;
		char *text = xmalloc(n);
		memcpy(text, h + start, n);
		msg_fields_put(f, f->n, text, n, f->n == ours);
		start = i + 1;
	}
}

/* Reads from fd at off up to and including the blank line that ends the
 * header (or to the end): *hlen is the header, *sep the blank line's
 * length (0 when there is none). */
static int
msg_read_header(int fd, off_t off, struct buf *h, size_t *hlen, size_t *sep)
{
	char chunk[8192];
	ssize_t n;
	size_t scanned = 0;

	for (;;) {
		/* A line at a time is found from where the scan stopped. */
		for (; scanned < h->len; scanned++) {
			const char *p = h->data + scanned;
			int bol = scanned == 0 || h->data[scanned - 1] == '\n';
			if (!bol)
				continue;
			if (h->len - scanned >= 2 && p[0] == '\r' && p[1] == '\n') {
				*hlen = scanned;
				*sep = 2;
				return 0;
			}
			if (p[0] == '\n') {
				*hlen = scanned;
				*sep = 1;
				return 0;
			}
			if (p[0] == '\r' && h->len - scanned < 2)
				break;  /* need the next byte */
		}
		n = pread(fd, chunk, sizeof(chunk), off + (off_t)h->len);
		if (n < 0)
			return -1;
		if (n == 0) {
			*hlen = h->len;
			*sep = 0;
			return 0;
		}
		if (buf_append(h, chunk, (size_t)n) < 0) {
			errno = EFBIG;
			return -1;
		}
	}
}

static int
msg_copy_rest(int in, off_t off, int out)
{
	char chunk[65536];
	ssize_t n;

	while ((n = pread(in, chunk, sizeof(chunk), off)) > 0) {
		if (durable_write_all(out, chunk, (size_t)n) < 0)
			return -1;
		off += n;
	}
	return n < 0 ? -1 : 0;
}

/* The new body, its bare LFs made CRLF as the queue keeps them. */
static int
msg_write_body(const struct buf *body, int out)
{
	struct buf b;
	int r = 0;

	buf_init(&b, 64 * 1024);
	for (size_t i = 0; i < body->len && r == 0; i++) {
		if (body->data[i] == '\n' && (i == 0 || body->data[i - 1] != '\r'))
			r = buf_append(&b, "\r", 1);
		if (r == 0)
			r = buf_append(&b, &body->data[i], 1);
		if (r == 0 && b.len >= b.max - 2) {
			r = durable_write_all(out, b.data, b.len);
			buf_reset(&b);
		}
	}
	if (r == 0)
		r = durable_write_all(out, b.data, b.len);
	buf_free(&b);
	return r;
}

int
msg_edits_apply(const struct msg_edits *e, struct queue_env *env, int in,
    off_t header_at, size_t ours, int out, size_t header_max)
{
	struct msg_fields f = { 0 };
	struct buf h, envelope;
	size_t hlen, sep;
	int r = -1;

	buf_init(&h, header_max);
	buf_init(&envelope, 512 * 1024 * 1024);
	if (msg_read_header(in, header_at, &h, &hlen, &sep) < 0)
		goto done;
	msg_edits_apply_envelope(e, env);
	msg_fields_split(&f, h.data, hlen, ours);
	if (msg_fields_edit(&f, e) < 0) {
		errno = EINVAL;
		goto done;
	}
	queue_env_format(env, &envelope);
	if (durable_write_all(out, envelope.data, envelope.len) < 0)
		goto done;
	for (size_t i = 0; i < f.n; i++)
		if (durable_write_all(out, f.v[i].text, f.v[i].len) < 0)
			goto done;
	if (e->body_set) {
		if (durable_write_all(out, "\r\n", 2) < 0 ||
		    msg_write_body(&e->body, out) < 0)
			goto done;
	} else if ((sep > 0 && durable_write_all(out, h.data + hlen, sep) < 0) ||
	    msg_copy_rest(in, header_at + (off_t)(hlen + sep), out) < 0)
		goto done;
	r = 0;
done:
	msg_fields_free(&f);
	buf_free(&h);
	buf_free(&envelope);
	return r;
}
