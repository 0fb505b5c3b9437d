/*
 * Private to the filter client in smtpd: one peer per filter (filter.c:
 * its socket, the handshake, the calls in flight), the report lines
 * (filter_report.c) and the hooks in the plugin chain (filter_kind.c).
 */
#ifndef TERN_FILTER_INT_H
#define TERN_FILTER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "plugin/filter_conf.h"
#include "plugin/filter_proto.h"
#include "plugin/plugin.h"
#include "util/buf.h"

struct smtpd;
struct event;
struct filter_call;
struct filter_out;

#define FILTER_OUT_MAX (4 * 1024 * 1024)  /* unread by a filter: broken past it */
#define FILTER_REPORT_LINE_MAX (64 * 1024)

enum filter_peer_state {
	FILTER_PEER_DOWN,       /* no socket: not started, or gone */
	FILTER_PEER_HELLO,      /* tern-filter 1 sent: its version comes next */
	FILTER_PEER_REGISTER,   /* register lines until ready */
	FILTER_PEER_READY,
	FILTER_PEER_REFUSED,    /* a version or handshake tern does not take */
};

struct filter_peer {
	struct filter_set *set;
	uint32_t index;
	uint32_t gen;                   /* master's count of its starts */
	char name[FILTER_NAME_MAX];
	char who[PLUGIN_WHO_MAX];       /* "filter NAME" */
	enum filter_peer_state state;
	int known;                      /* one handshake done: masks valid */
	uint32_t reports, hooks;        /* what it registered (bit masks) */
	uint32_t new_reports, new_hooks; /* during a handshake */
	int fd;
	struct event *rev, *wev, *hs_ev;
	char in[FILTER_LINE_MAX];
	size_t inlen;
	struct filter_out *out, *out_tail;
	size_t out_bytes;
	struct filter_call *calls;      /* in flight, sent or not yet */
};

struct filter_set {
	struct smtpd *sd;
	struct filter_confs confs;
	struct filter_peer peers[FILTER_MAX];
	size_t n;
	uint64_t next_token;
};

/* The answer to a call: reply NULL means the filter could not answer
 * (down, timed out, broken): the caller applies its default action. */
typedef void filter_call_fn(void *arg, struct filter_peer *p,
    const struct filter_line *reply);

/* filter.c */
struct filter_set *filter_set_get(struct smtpd *sd);
void filter_set_free(struct smtpd *sd);
/* Asks p: fields is what follows the hook's name (" SID ...", each
 * escaped), fd a file riding with the line (-1: none; taken in every
 * case).  NULL when p is not asked (it did not register the hook, or it
 * was refused); else the call, answered later through done, never from
 * inside this function. */
struct filter_call *filter_call_start(struct filter_peer *p,
    enum filter_hook hook, const struct buf *fields, int fd,
    filter_call_fn *done, void *arg);
/* The caller is gone: no answer will come. */
void filter_call_cancel(struct filter_call **c);
/* A report line ("report EVENT ...\n") to every filter that asked for
 * ev and is ready. */
void filter_report_send(struct filter_set *set, enum filter_event ev,
    const struct buf *line);
int filter_report_wanted(struct filter_set *set, enum filter_event ev);
unsigned filter_peer_timeout(const struct filter_peer *p);
/* filter_report.c: what filter_kind reports once a stage has passed. */
struct session;
void filter_report_stage(struct session *s, enum plugin_stage stage);
void filter_report_disconnect(struct session *s);
enum filter_default filter_peer_default(const struct filter_peer *p);

#endif
