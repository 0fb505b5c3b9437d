/*
 * What the screen and smtpd say to each other.  The screen hands over the
 * socket of a client it let through, with what it learned; smtpd reports
 * back the clients its in-session protocol tests caught, so that the
 * screen remembers them (screen.c keeps the store).
 */
#ifndef TERN_SCREEN_PROTO_H
#define TERN_SCREEN_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SCREEN_REASON_MAX 24    /* "pregreet", "dnsbl", "non-smtp-command", NUL included */
#define SCREEN_ZONE_MAX   256   /* a DNS zone, with its NUL */

enum screen_msg_type {
	/* screen -> smtpd.  fd: the client's socket.  str ip, u32 port,
	 * u32 screen_verdict, str reason ("" when it passed), u32 dnsbl score
	 * (two's complement), str zone of the heaviest listing (""),
	 * u32 SCREEN_TEASER... flags, u32 milliseconds the client waited,
	 * u32 count_gen. */
	IPC_SCREEN_CLIENT = 40,
	/* smtpd -> screen.  str ip, str reason: a client that failed a
	 * protocol test inside its session. */
	IPC_SCREEN_REPORT = 41,
	/* smtpd -> screen.  str ip, u32 count_gen: a client the screen
	 * counted (client_connection_limit) has gone. */
	IPC_SCREEN_CLOSED = 42,
};

/* What the screen decided about a client it hands over. */
enum screen_verdict {
	SCREEN_PASS_NEW,        /* waited out the tests and passed them */
	SCREEN_PASS_OLD,        /* passed before, remembered: no wait */
	SCREEN_PERMIT,          /* screen_access or relay_networks */
	SCREEN_ENFORCE,         /* failed with action enforce: every RCPT 550 */
	SCREEN_IGNORED,         /* failed with action ignore: served, not remembered */
	SCREEN_VERDICT_COUNT,
};

#define SCREEN_TEASER   0x1     /* the client heard "220-" already */

/* What came with a socket, as smtpd keeps it for the session. */
struct screen_handoff {
	enum screen_verdict verdict;
	char reason[SCREEN_REASON_MAX];
	int dnsbl_score;
	char dnsbl_zone[SCREEN_ZONE_MAX];
	uint32_t flags;
	unsigned waited_ms;
	/* The screen counts the client against client_connection_limit
	 * until smtpd says it has gone (IPC_SCREEN_CLOSED, echoing this);
	 * 0: not counted. */
	uint32_t count_gen;
};

/* For log lines, "pass-new"... */
const char *screen_verdict_name(enum screen_verdict v);

struct buf;
struct ipc_msg;
/* IPC_SCREEN_CLIENT's payload, written and read. */
void screen_handoff_put(struct buf *b, const char *ip, unsigned port,
    const struct screen_handoff *h);
/* 0, or -1 for a message that is not one (bad field, bad address). */
int screen_handoff_parse(const struct ipc_msg *msg, char *ip, size_t iplen,
    unsigned *port_r, struct screen_handoff *h);

#endif
