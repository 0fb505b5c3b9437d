/*
 * libFuzzer harness for the screen's byte handling: what a client sends
 * before the greeting ends is shown in the log through log_escape
 * (checked: always terminated, within its buffer, no control byte), and
 * the hand-over message smtpd reads from the screen (screen_proto.c) is
 * parsed like anything from a peer (checked: a message taken has a
 * valid address, verdict and port, and writing it again gives the same
 * bytes).  The input's first byte picks the part.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ipc.h"
#include "screen/screen_proto.h"
#include "util/buf.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ipc_msg msg;

static void
fuzz_pregreet_text(const uint8_t *data, size_t size)
{
	char shown[64 * 4 + 1];

	memset(shown, 'X', sizeof(shown));
	log_escape(shown, sizeof(shown), (const char *)data, size > 64 ? 64 : size);
	size_t n = strnlen(shown, sizeof(shown));
	if (n == sizeof(shown))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)shown[i] < 0x20 || shown[i] == 0x7f)
			abort();
}

static void
fuzz_handoff(const uint8_t *data, size_t size)
{
	struct screen_handoff h;
	char ip[64];
	unsigned port;
	struct buf b;

	if (size > sizeof(msg.data))
		return;
	memcpy(msg.data, data, size);
	msg.len = (uint32_t)size;
	msg.fd = -1;
	if (screen_handoff_parse(&msg, ip, sizeof(ip), &port, &h) < 0)
		return;
	if (port > 65535 || (unsigned)h.verdict >= SCREEN_VERDICT_COUNT ||
	    strnlen(ip, sizeof(ip)) == sizeof(ip) ||
	    strnlen(h.reason, sizeof(h.reason)) == sizeof(h.reason) ||
	    strnlen(h.dnsbl_zone, sizeof(h.dnsbl_zone)) == sizeof(h.dnsbl_zone))
		abort();
	buf_init(&b, 64);
	screen_handoff_put(&b, ip, port, &h);
	if (b.len != size || memcmp(b.data, data, size) != 0)
		abort();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_pregreet_text(data + 1, size - 1);
	else
		fuzz_handoff(data + 1, size - 1);
	return 0;
}
