/*
 * Framed messages between tern's processes, over the SOCK_SEQPACKET
 * socketpairs that master sets up: one datagram per message, a header of
 * type and length, a payload of at most IPC_MAX_PAYLOAD bytes, and at most
 * one file descriptor riding along (SCM_RIGHTS).  A peer is trusted no more
 * than the network: every payload is read through ipc_reader, which checks
 * each field's size and fails when bytes are left over.
 */
#ifndef TERN_IPC_H
#define TERN_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define IPC_MAX_PAYLOAD (64 * 1024 - 16)

/* The messages between master and every child; the messages between
 * the children are declared by the process that answers them
 * (lookup/lookup_proto.h, queue/queue_proto.h), numbered apart from it. */
enum ipc_type {
	/* master -> child */
	IPC_CTL_PEER = 1,       /* fd: a new channel; u32 peer kind */
	IPC_CTL_STRESS = 2,     /* u32 1: stress mode on, 0: off */
	/* child -> master */
	IPC_CTL_LOAD = 3,       /* u32 what (ipc_load_what), u32 n, u32 max */
	IPC_CTL_STATS = 4,      /* the child's counters (net/stats.h) */
	/* filters (master/master_filter.h) */
	IPC_CTL_FILTER = 5,     /* master -> smtpd: fd: a filter's socket */
	IPC_CTL_FILTER_STOP = 6, /* smtpd -> master: kill a broken filter */
};

enum ipc_peer_kind { IPC_PEER_LOOKUP = 1, IPC_PEER_QUEUE, IPC_PEER_SMTPD,
	IPC_PEER_SCREEN };

/* What an IPC_CTL_LOAD counts: smtpd's sessions (against max_sessions),
 * the clients waiting in the screen (against screen_max_clients). */
enum ipc_load_what { IPC_LOAD_SESSIONS = 1, IPC_LOAD_SCREEN = 2 };

struct ipc_msg {
	uint32_t type;
	uint32_t len;
	int fd;                 /* -1 when none came along */
	unsigned char data[IPC_MAX_PAYLOAD];
};

/* Creates a SOCK_SEQPACKET pair, close-on-exec. 0 or -1. */
int ipc_socketpair(int fds[2]);

/* Sends one message; fd < 0 for none.  Never waits: master, its only
 * caller, must not hang on a child that stopped reading, so a full channel
 * gives -1 with errno EAGAIN and the message is lost (the caller logs it).
 * 0 or -1. */
int ipc_send(int sock, uint32_t type, const void *data, size_t len, int fd);

/* Receives one message.  1: a message; 0: the peer closed; -1: error
 * (errno, EAGAIN included; EMSGSIZE for a truncated or malformed one). */
int ipc_recv(int sock, struct ipc_msg *msg);

/* ---- payload encoding ---- */

void ipc_put_u32(struct buf *b, uint32_t v);
void ipc_put_str(struct buf *b, const char *s);

struct ipc_reader {
	const unsigned char *p;
	size_t left;
	int error;
};

void ipc_reader_init(struct ipc_reader *r, const struct ipc_msg *msg);
uint32_t ipc_get_u32(struct ipc_reader *r);
/* Copies a string of at most max-1 bytes into out (size max); a longer one
 * or one holding a NUL is an error. */
void ipc_get_str(struct ipc_reader *r, char *out, size_t max);
/* 0 when every field was read whole and nothing is left over, else -1. */
int ipc_reader_end(struct ipc_reader *r);

/* An IPC_CTL_PEER message from master: its fd and exactly one u32, the
 * peer's kind (any value: the caller decides which it takes).  0 with
 * *kind_r set, or -1 for anything else, whose fd the caller closes. */
int ipc_ctl_peer_parse(const struct ipc_msg *msg, uint32_t *kind_r);

/* An IPC_CTL_STRESS message: exactly one u32, 0 or 1, and no fd.  0 with
 * *on_r set, or -1. */
int ipc_ctl_stress_parse(const struct ipc_msg *msg, int *on_r);

/* An IPC_CTL_LOAD message: exactly three u32, a known what, n no more than
 * max, and no fd.  0 with the fields set, or -1. */
int ipc_ctl_load_parse(const struct ipc_msg *msg, uint32_t *what_r,
    uint32_t *n_r, uint32_t *max_r);
/* The payload of an IPC_CTL_LOAD, into b (buf_init'd). */
void ipc_ctl_load_put(struct buf *b, uint32_t what, uint32_t n, uint32_t max);

#endif
