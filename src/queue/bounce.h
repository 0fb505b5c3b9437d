/*
 * Bounces: a delivery status notification (RFC 3464) for the recipients of
 * one message that failed (or are delayed), sent to its envelope sender.
 * The notification is a multipart/report (RFC 6522) of a human-readable
 * part, a message/delivery-status part and the original message's header
 * section (text/rfc822-headers, never the body).
 *
 * Trusts the caller's struct fields only as far as checking them: our host
 * name, sender, boundary and Message-ID are validated; recipient addresses,
 * remote host names and diagnostics (remote replies) are sanitized.  The
 * original message read from fd is untrusted: its header section is copied
 * bounded, with every line cut to the RFC 5322 limit and CRLF line ends.
 * Deciding whether to bounce at all (never to the null sender, never a
 * bounce of a bounce) is the caller's; an empty sender is refused here too.
 */
#ifndef TERN_BOUNCE_H
#define TERN_BOUNCE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "deliver/smtp_reply.h"
#include "util/buf.h"

#define BOUNCE_LINE_MAX     998         /* RFC 5322 2.1.1, without CRLF */
#define BOUNCE_HEADERS_MAX  (64 * 1024) /* original headers returned */
#define BOUNCE_DIAG_MAX     900         /* diagnostic text kept */
#define BOUNCE_BOUNDARY_MAX 60          /* caller's boundary, chars */
#define BOUNCE_MSGID_MAX    64          /* caller's Message-ID local part */
#define BOUNCE_STATUS_BUF   SMTP_STATUS_BUF

struct bounce_info {
	const char *reporting_mta;      /* our host name (LDH) */
	const char *sender;             /* the original envelope sender: To */
	const char *queue_id;           /* the original message's queue id */
	time_t arrival;                 /* when the original was queued */
	time_t now;                     /* the bounce's Date */
	const char *boundary;           /* NULL: random */
	const char *message_id;         /* Message-ID local part; NULL: random */
};

struct bounce_rcpt {
	const char *orig;               /* as the client gave it; NULL or "" */
	const char *addr;               /* the final address */
	const char *status;             /* "5.1.1"; malformed: 5.0.0 / 4.0.0 */
	const char *diagnostic;         /* remote reply, or our own reason */
	const char *remote_mta;         /* host name; NULL or "" when none */
	int action_delayed;             /* 0 failed, 1 delayed */
};

/*
 * Appends the whole notification (RFC 5322, CRLF line ends, no line over
 * BOUNCE_LINE_MAX) to out.  The original message is read with pread() from
 * fd at content_offset.  A diagnostic that starts with an SMTP reply code
 * is reported as "smtp;", anything else as "X-Tern;".  The output is 7-bit
 * unless the sender's address itself is UTF-8 (SMTPUTF8); 8-bit bytes of
 * the original headers or of a recipient address are sent quoted-printable.
 * If info->boundary occurs in a part, a suffix ".N" is added until it does
 * not.  Returns 0, or -1 with a reason in err (out then holds a partial
 * message, which the caller discards).
 */
int bounce_compose(const struct bounce_info *info,
    const struct bounce_rcpt *rcpts, size_t n, int fd, off_t content_offset,
    struct buf *out, char *err, size_t errlen);

#endif
