/*
 * Framed IPC over SOCK_SEQPACKET: see ipc.h.  Nothing read here is trusted:
 * sizes are checked against the datagram received, and a message with a
 * header that does not match its datagram is refused.
 */
#include "net/ipc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/log.h"

struct ipc_header {
	uint32_t type;
	uint32_t len;
};

int
ipc_socketpair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

int
ipc_send(int sock, uint32_t type, const void *data, size_t len, int fd)
{
	struct ipc_header hdr = { type, (uint32_t)len };
	struct iovec iov[2] = {
		{ &hdr, sizeof(hdr) }, { (void *)(uintptr_t)data, len },
	};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct msghdr mh;

	if (len > IPC_MAX_PAYLOAD)
		bug("ipc_send: payload of %zu bytes", len);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = len ? 2 : 1;
	if (fd >= 0) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		mh.msg_control = cmsgbuf.buf;
		mh.msg_controllen = sizeof(cmsgbuf.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Takes the descriptor out of the control data, closing any extra ones a
 * confused or hostile peer sent. */
static int
ipc_take_fd(struct msghdr *mh)
{
	int fd = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL;
	    c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	return fd;
}

int
ipc_recv(int sock, struct ipc_msg *msg)
{
	struct ipc_header hdr;
	struct iovec iov[2] = {
		{ &hdr, sizeof(hdr) }, { msg->data, sizeof(msg->data) },
	};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cmsgbuf;
	struct msghdr mh;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	msg->fd = ipc_take_fd(&mh);
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (size_t)n < sizeof(hdr) || hdr.len != (size_t)n - sizeof(hdr)) {
		if (msg->fd >= 0)
			close(msg->fd);
		errno = EMSGSIZE;
		return -1;
	}
	msg->type = hdr.type;
	msg->len = hdr.len;
	return 1;
}

void
ipc_put_u32(struct buf *b, uint32_t v)
{
	if (buf_append(b, &v, sizeof(v)) < 0)
		bug("ipc message too large");
}

void
ipc_put_str(struct buf *b, const char *s)
{
	size_t len = strlen(s);

	if (len > UINT32_MAX)
		bug("ipc string too large");
	ipc_put_u32(b, (uint32_t)len);
	if (buf_append(b, s, len) < 0)
		bug("ipc message too large");
}

void
ipc_reader_init(struct ipc_reader *r, const struct ipc_msg *msg)
{
	r->p = msg->data;
	r->left = msg->len;
	r->error = 0;
}

uint32_t
ipc_get_u32(struct ipc_reader *r)
{
	uint32_t v;

	if (r->error || r->left < sizeof(v)) {
		r->error = 1;
		return 0;
	}
	memcpy(&v, r->p, sizeof(v));
	r->p += sizeof(v);
	r->left -= sizeof(v);
	return v;
}

void
ipc_get_str(struct ipc_reader *r, char *out, size_t max)
{
	uint32_t len = ipc_get_u32(r);

	out[0] = '\0';
	if (r->error || len >= max || len > r->left ||
	    memchr(r->p, '\0', len) != NULL) {
		r->error = 1;
		return;
	}
	memcpy(out, r->p, len);
	out[len] = '\0';
	r->p += len;
	r->left -= len;
}

int
ipc_reader_end(struct ipc_reader *r)
{
	return (r->error || r->left != 0) ? -1 : 0;
}

int
ipc_ctl_peer_parse(const struct ipc_msg *msg, uint32_t *kind_r)
{
	struct ipc_reader r;

	if (msg->type != IPC_CTL_PEER || msg->fd < 0)
		return -1;
	ipc_reader_init(&r, msg);
	*kind_r = ipc_get_u32(&r);
	return ipc_reader_end(&r);
}

int
ipc_ctl_stress_parse(const struct ipc_msg *msg, int *on_r)
{
	struct ipc_reader r;
	uint32_t on;

	if (msg->type != IPC_CTL_STRESS || msg->fd >= 0)
		return -1;
	ipc_reader_init(&r, msg);
	on = ipc_get_u32(&r);
	if (ipc_reader_end(&r) < 0 || on > 1)
		return -1;
	*on_r = (int)on;
	return 0;
}

int
ipc_ctl_load_parse(const struct ipc_msg *msg, uint32_t *what_r,
    uint32_t *n_r, uint32_t *max_r)
{
	struct ipc_reader r;
	uint32_t what, n, max;

	if (msg->type != IPC_CTL_LOAD || msg->fd >= 0)
		return -1;
	ipc_reader_init(&r, msg);
	what = ipc_get_u32(&r);
	n = ipc_get_u32(&r);
	max = ipc_get_u32(&r);
	if (ipc_reader_end(&r) < 0 || n > max ||
	    (what != IPC_LOAD_SESSIONS && what != IPC_LOAD_SCREEN))
		return -1;
	*what_r = what;
	*n_r = n;
	*max_r = max;
	return 0;
}

void
ipc_ctl_load_put(struct buf *b, uint32_t what, uint32_t n, uint32_t max)
{
	ipc_put_u32(b, what);
	ipc_put_u32(b, n);
	ipc_put_u32(b, max);
}
