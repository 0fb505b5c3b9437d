/*
 * Unit tests of the framed IPC: a message and a descriptor cross a
 * socketpair intact; the payload reader refuses short fields, strings with
 * NUL or over their bound, and bytes left over; so does master's control
 * message; a channel set finds a channel by serial, never a later channel
 * that took a gone one's place; a channel closed from its message
 * callback reads nothing more and reports its close.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sys/socket.h>

#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "net/ipc_chan_set.h"

#define TEST_TYPE 10            /* any type: net/ knows none but its own */

static void
ignore_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	(void)chan;
	(void)msg;
	(void)arg;
}

static void
test_chan_set_finds_by_serial(void **state)
{
	struct event_base *base = event_base_new();
	struct ipc_chan_set set;
	uint64_t first, second;
	int sv[2], sv2[2];

	(void)state;
	assert_non_null(base);
	ipc_chan_set_init(&set, "test peer", base, ignore_msg, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ipc_chan_set_add(&set, sv[0]);
	assert_non_null(set.chans[0]);
	first = ipc_chan_serial(set.chans[0]);
	assert_ptr_equal(ipc_chan_set_find(&set, first), set.chans[0]);
	/* The peer goes; a new one comes, maybe at the same address. */
	ipc_chan_free(&set.chans[0]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv2), 0);
	ipc_chan_set_add(&set, sv2[0]);
	assert_non_null(set.chans[0]);
	second = ipc_chan_serial(set.chans[0]);
	assert_true(second != first);
	assert_null(ipc_chan_set_find(&set, first));
	assert_ptr_equal(ipc_chan_set_find(&set, second), set.chans[0]);
	ipc_chan_set_free(&set);
	close(sv[1]);
	close(sv2[1]);
	event_base_free(base);
}

static void
test_round_trip_with_fd(void **state)
{
	struct ipc_msg *msg = malloc(sizeof(*msg));
	struct ipc_reader r;
	struct buf b;
	char s[32];
	int sp[2], pipefd[2];

	(void)state;
	assert_int_equal(ipc_socketpair(sp), 0);
	assert_int_equal(pipe(pipefd), 0);
	buf_init(&b, IPC_MAX_PAYLOAD);
	ipc_put_u32(&b, 42);
	ipc_put_str(&b, "alice@example.test");
	assert_int_equal(ipc_send(sp[0], TEST_TYPE, b.data, b.len, pipefd[1]), 0);
	assert_int_equal(ipc_recv(sp[1], msg), 1);
	assert_int_equal(msg->type, TEST_TYPE);
	assert_true(msg->fd >= 0);
	/* The descriptor that came along is the pipe's write end. */
	assert_int_equal(write(msg->fd, "x", 1), 1);
	char c;
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	ipc_reader_init(&r, msg);
	assert_int_equal(ipc_get_u32(&r), 42);
	ipc_get_str(&r, s, sizeof(s));
	assert_string_equal(s, "alice@example.test");
	assert_int_equal(ipc_reader_end(&r), 0);
	close(msg->fd);
	close(pipefd[0]);
	close(pipefd[1]);
	/* The peer closing reads as 0. */
	close(sp[0]);
	assert_int_equal(ipc_recv(sp[1], msg), 0);
	close(sp[1]);
	buf_free(&b);
	free(msg);
}

static void
test_reader_refuses_bad_payloads(void **state)
{
	struct ipc_msg *msg = malloc(sizeof(*msg));
	struct ipc_reader r;
	char s[8];

	(void)state;
	/* Leftover bytes. */
	msg->len = 6;
	memset(msg->data, 0, 6);
	ipc_reader_init(&r, msg);
	ipc_get_u32(&r);
	assert_int_equal(ipc_reader_end(&r), -1);
	/* A u32 cut short. */
	msg->len = 3;
	ipc_reader_init(&r, msg);
	ipc_get_u32(&r);
	assert_int_equal(ipc_reader_end(&r), -1);
	/* A string longer than the message. */
	uint32_t len = 100;
	memcpy(msg->data, &len, 4);
	msg->len = 8;
	ipc_reader_init(&r, msg);
	ipc_get_str(&r, s, sizeof(s));
	assert_int_equal(ipc_reader_end(&r), -1);
	/* A string over its bound. */
	len = 8;
	memcpy(msg->data, &len, 4);
	memcpy(msg->data + 4, "12345678", 8);
	msg->len = 12;
	ipc_reader_init(&r, msg);
	ipc_get_str(&r, s, sizeof(s));
	assert_int_equal(ipc_reader_end(&r), -1);
	/* A string holding a NUL. */
	len = 3;
	memcpy(msg->data, &len, 4);
	memcpy(msg->data + 4, "a\0b", 3);
	msg->len = 7;
	ipc_reader_init(&r, msg);
	ipc_get_str(&r, s, sizeof(s));
	assert_int_equal(ipc_reader_end(&r), -1);
	free(msg);
}

static void
test_header_mismatch_refused(void **state)
{
	struct ipc_msg *msg = malloc(sizeof(*msg));
	uint32_t hdr[3] = { TEST_TYPE, 100, 0 };   /* says 100, carries 4 */
	int sp[2];

	(void)state;
	assert_int_equal(ipc_socketpair(sp), 0);
	assert_int_equal(write(sp[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(ipc_recv(sp[1], msg), -1);
	close(sp[0]);
	close(sp[1]);
	free(msg);
}

/* IPC_CTL_PEER: its fd and one u32, nothing left over, nothing short. */
static void
test_ctl_peer_exact(void **state)
{
	struct ipc_msg *msg = malloc(sizeof(*msg));
	uint32_t kind = 0, v = IPC_PEER_SMTPD;

	(void)state;
	msg->type = IPC_CTL_PEER;
	msg->fd = 7;
	memcpy(msg->data, &v, 4);
	msg->len = 4;
	assert_int_equal(ipc_ctl_peer_parse(msg, &kind), 0);
	assert_int_equal(kind, IPC_PEER_SMTPD);
	msg->len = 5;           /* a byte left over */
	assert_int_equal(ipc_ctl_peer_parse(msg, &kind), -1);
	msg->len = 3;           /* cut short */
	assert_int_equal(ipc_ctl_peer_parse(msg, &kind), -1);
	msg->len = 4;
	msg->fd = -1;           /* no channel came along */
	assert_int_equal(ipc_ctl_peer_parse(msg, &kind), -1);
	msg->fd = 7;
	msg->type = TEST_TYPE;  /* not the control message */
	assert_int_equal(ipc_ctl_peer_parse(msg, &kind), -1);
	free(msg);
}

/* IPC_CTL_LOAD: three u32 exactly, a known what, n within max, no fd. */
static void
test_ctl_load_exact(void **state)
{
	struct ipc_msg *msg = malloc(sizeof(*msg));
	uint32_t what = 0, n = 0, max = 0;
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	ipc_ctl_load_put(&b, IPC_LOAD_SESSIONS, 3, 10);
	msg->type = IPC_CTL_LOAD;
	msg->fd = -1;
	memcpy(msg->data, b.data, b.len);
	msg->len = (uint32_t)b.len;
	assert_int_equal(ipc_ctl_load_parse(msg, &what, &n, &max), 0);
	assert_int_equal(what, IPC_LOAD_SESSIONS);
	assert_int_equal(n, 3);
	assert_int_equal(max, 10);
	msg->len = 13;          /* a byte left over */
	assert_int_equal(ipc_ctl_load_parse(msg, &what, &n, &max), -1);
	msg->len = 8;           /* cut short */
	assert_int_equal(ipc_ctl_load_parse(msg, &what, &n, &max), -1);
	msg->len = 12;
	msg->fd = 7;            /* a descriptor has no business here */
	assert_int_equal(ipc_ctl_load_parse(msg, &what, &n, &max), -1);
	msg->fd = -1;
	msg->type = IPC_CTL_STRESS;
	assert_int_equal(ipc_ctl_load_parse(msg, &what, &n, &max), -1);
	msg->type = IPC_CTL_LOAD;
	b.len = 0;
	ipc_ctl_load_put(&b, IPC_LOAD_SCREEN, 11, 10);  /* more than max */
	memcpy(msg->data, b.data, b.len);
	assert_int_equal(ipc_ctl_load_parse(msg, &what, &n, &max), -1);
	b.len = 0;
	ipc_ctl_load_put(&b, 9, 1, 10);                 /* unknown what */
	memcpy(msg->data, b.data, b.len);
	assert_int_equal(ipc_ctl_load_parse(msg, &what, &n, &max), -1);
	buf_free(&b);
	free(msg);
}

/* IPC_CTL_STRESS: one u32, 0 or 1, no fd. */
static void
test_ctl_stress_exact(void **state)
{
	struct ipc_msg *msg = malloc(sizeof(*msg));
	uint32_t v = 1;
	int on = -1;

	(void)state;
	msg->type = IPC_CTL_STRESS;
	msg->fd = -1;
	memcpy(msg->data, &v, 4);
	msg->len = 4;
	assert_int_equal(ipc_ctl_stress_parse(msg, &on), 0);
	assert_int_equal(on, 1);
	v = 2;
	memcpy(msg->data, &v, 4);
	assert_int_equal(ipc_ctl_stress_parse(msg, &on), -1);
	v = 0;
	memcpy(msg->data, &v, 4);
	msg->len = 5;
	assert_int_equal(ipc_ctl_stress_parse(msg, &on), -1);
	msg->len = 4;
	assert_int_equal(ipc_ctl_stress_parse(msg, &on), 0);
	assert_int_equal(on, 0);
	msg->fd = 7;
	assert_int_equal(ipc_ctl_stress_parse(msg, &on), -1);
	free(msg);
}

struct close_seen {
	struct event_base *base;
	int msgs;
	int closed;
};

static void
close_on_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct close_seen *seen = arg;

	(void)msg;
	seen->msgs++;
	ipc_chan_close(chan);
}

static void
close_on_close(struct ipc_chan *chan, void *arg)
{
	struct close_seen *seen = arg;

	(void)chan;
	seen->closed++;
	event_base_loopbreak(seen->base);
}

/* What lookup does to a peer that asks what it may not: the message after
 * is never read, and the owner hears of the close from the loop. */
static void
test_chan_close_from_callback(void **state)
{
	struct close_seen seen = { event_base_new(), 0, 0 };
	struct ipc_chan *chan;
	int sp[2];

	(void)state;
	assert_non_null(seen.base);
	assert_int_equal(ipc_socketpair(sp), 0);
	assert_int_equal(ipc_send(sp[0], TEST_TYPE, "a", 1, -1), 0);
	assert_int_equal(ipc_send(sp[0], TEST_TYPE, "b", 1, -1), 0);
	chan = ipc_chan_new(seen.base, sp[1], close_on_msg, close_on_close, &seen);
	assert_int_equal(event_base_dispatch(seen.base), 0);
	assert_int_equal(seen.msgs, 1);
	assert_int_equal(seen.closed, 1);
	assert_int_equal(ipc_chan_send(chan, TEST_TYPE, "c", 1, -1), -1);
	ipc_chan_free(&chan);
	assert_null(chan);
	close(sp[0]);
	event_base_free(seen.base);
}

/* A reader that stopped reading never blocks the sender: the channel
 * fills, and the next send fails with EAGAIN at once. */
static void
test_send_never_waits(void **state)
{
	char payload[1024];
	int sp[2], rc = 0, sent = 0;

	(void)state;
	memset(payload, 'x', sizeof(payload));
	assert_int_equal(ipc_socketpair(sp), 0);
	while (sent < 100000 &&
	    (rc = ipc_send(sp[0], TEST_TYPE, payload, sizeof(payload), -1)) == 0)
		sent++;
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EAGAIN);
	assert_true(sent > 0);
	close(sp[0]);
	close(sp[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_with_fd),
		cmocka_unit_test(test_chan_set_finds_by_serial),
		cmocka_unit_test(test_reader_refuses_bad_payloads),
		cmocka_unit_test(test_header_mismatch_refused),
		cmocka_unit_test(test_ctl_peer_exact),
		cmocka_unit_test(test_ctl_load_exact),
		cmocka_unit_test(test_ctl_stress_exact),
		cmocka_unit_test(test_chan_close_from_callback),
		cmocka_unit_test(test_send_never_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
