/*
 * libFuzzer harness for the IPC framing and payload reader (net/ipc.c):
 * every child reads what its peers send through it, and a peer is trusted
 * no more than the network.  The input goes through a real socketpair as
 * one datagram (header and payload as a peer would send them); when
 * ipc_recv() takes it, the payload is read as a sequence of u32 and
 * string fields chosen by the input's first byte.  Checks that a taken
 * message's length matches what was sent, that strings come back
 * NUL-terminated and within their buffer, and that a reader never passes
 * the end of the payload.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ipc_msg msg;

static void
read_fields(unsigned pattern)
{
	struct ipc_reader r;
	char str[64];

	ipc_reader_init(&r, &msg);
	for (int i = 0; i < 16 && !r.error; i++) {
		size_t left = r.left;
		if (pattern & (1u << (i % 8))) {
			ipc_get_str(&r, str, sizeof(str));
			if (strnlen(str, sizeof(str)) == sizeof(str))
				abort();
		} else {
			(void)ipc_get_u32(&r);
		}
		if (r.left > left || r.p < msg.data ||
		    r.p + r.left != msg.data + msg.len)
			abort();
	}
	(void)ipc_reader_end(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[2];
	int r;

	if (size < 1 || size > sizeof(msg.data) + 16)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) < 0)
		abort();
	if (send(fds[0], data + 1, size - 1, 0) != (ssize_t)(size - 1))
		abort();
	close(fds[0]);
	r = ipc_recv(fds[1], &msg);
	close(fds[1]);
	if (r == 1) {
		if (msg.len > sizeof(msg.data) || msg.len + 8 != size - 1 ||
		    msg.fd != -1)
			abort();
		read_fields(data[0]);
	}
	return 0;
}
