/*
 * The hand-over message, written by the screen and read by smtpd in one
 * place, so that the two ends cannot drift apart.  smtpd reads it as it
 * reads anything a peer sends: every field checked.
 */
#include "screen/screen_proto.h"

#include "net/hostport.h"
#include "net/ipc.h"
#include "util/buf.h"

const char *
screen_verdict_name(enum screen_verdict v)
{
	static const char *const names[SCREEN_VERDICT_COUNT] = {
		"pass-new", "pass-old", "permit", "enforce", "ignored",
	};

	return (unsigned)v < SCREEN_VERDICT_COUNT ? names[v] : "unknown";
}

void
screen_handoff_put(struct buf *b, const char *ip, unsigned port,
    const struct screen_handoff *h)
{
	ipc_put_str(b, ip);
	ipc_put_u32(b, port);
	ipc_put_u32(b, h->verdict);
	ipc_put_str(b, h->reason);
	ipc_put_u32(b, (uint32_t)h->dnsbl_score);
	ipc_put_str(b, h->dnsbl_zone);
	ipc_put_u32(b, h->flags);
	ipc_put_u32(b, h->waited_ms);
	ipc_put_u32(b, h->count_gen);
}

int
screen_handoff_parse(const struct ipc_msg *msg, char *ip, size_t iplen,
    unsigned *port_r, struct screen_handoff *h)
{
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	ipc_get_str(&r, ip, iplen);
	*port_r = ipc_get_u32(&r);
	h->verdict = (enum screen_verdict)ipc_get_u32(&r);
	ipc_get_str(&r, h->reason, sizeof(h->reason));
	h->dnsbl_score = (int)ipc_get_u32(&r);
	ipc_get_str(&r, h->dnsbl_zone, sizeof(h->dnsbl_zone));
	h->flags = ipc_get_u32(&r);
	h->waited_ms = ipc_get_u32(&r);
	h->count_gen = ipc_get_u32(&r);
	if (ipc_reader_end(&r) < 0 || !hostport_is_ip(ip) || *port_r > 65535 ||
	    (unsigned)h->verdict >= SCREEN_VERDICT_COUNT)
		return -1;
	return 0;
}
