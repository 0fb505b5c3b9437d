/*
 * Unit tests of the framed IPC: a message and a descriptor cross a
 * socketpair intact; the payload reader refuses short fields, strings with
 * NUL or over their bound, and bytes left over; a channel set finds a
 * channel by serial, never a later channel that took a gone one's place.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sys/socket.h>

#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "net/ipc_chan_set.h"

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
	assert_int_equal(ipc_send(sp[0], IPC_LOOKUP_RESOLVE, b.data, b.len, pipefd[1]), 0);
	assert_int_equal(ipc_recv(sp[1], msg), 1);
	assert_int_equal(msg->type, IPC_LOOKUP_RESOLVE);
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
	uint32_t hdr[3] = { IPC_QUEUE_NEW, 100, 0 };   /* says 100, carries 4 */
	int sp[2];

	(void)state;
	assert_int_equal(ipc_socketpair(sp), 0);
	assert_int_equal(write(sp[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(ipc_recv(sp[1], msg), -1);
	close(sp[0]);
	close(sp[1]);
	free(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_with_fd),
		cmocka_unit_test(test_chan_set_finds_by_serial),
		cmocka_unit_test(test_reader_refuses_bad_payloads),
		cmocka_unit_test(test_header_mismatch_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
