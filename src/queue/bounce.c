/*
 * Bounces: see bounce.h.  The notification is built part by part in
 * separate buffers so that the boundary can be checked against every
 * part before the message is assembled.  What we write ourselves is
 * printable ASCII in lines we bound; what comes from outside (remote
 * replies, host names, the original headers) is filtered on the way in:
 * diagnostics become one line of printable ASCII, the original headers
 * keep their bytes but not bare CR, bare LF or NUL, and go out
 * quoted-printable when they hold 8-bit bytes.
 */
#include "queue/bounce.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "util/addr.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define WRAP_WIDTH      76      /* where our own lines are folded */
#define ADDR_ENC_MAX    900     /* an RFC 6533 encoded address, at most */
#define HOST_MAX        255
#define QUEUE_ID_MAX    64
#define BOUNDARY_TRIES  100

static const char bounce_preamble[] =
    "This is a MIME-encapsulated message.\r\n";

_Static_assert(sizeof(off_t) == sizeof(int64_t), "64-bit off_t");

/* Appends to a buffer; the first append that fails sticks, so a sequence
 * of appends is checked once at its end. */
struct bounce_out {
	struct buf *b;
	int failed;
};

static void
out_put(struct bounce_out *o, const void *p, size_t n)
{
	if (!o->failed && buf_append(o->b, p, n) < 0)
		o->failed = 1;
}

static void
out_puts(struct bounce_out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/* Every line formatted here is bounded well below the scratch buffer;
 * one that is not fails like a full buffer. */
static void __attribute__((format(printf, 2, 3)))
out_putf(struct bounce_out *o, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		o->failed = 1;
	else
		out_put(o, tmp, (size_t)n);
}

static int __attribute__((format(printf, 3, 4)))
bounce_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* 1 if s is 1..max bytes, each in the set allowed (or an ASCII letter or
 * digit). */
static int
chars_ok(const char *s, size_t max, const char *allowed)
{
	size_t len;

	if (s == NULL || (len = strlen(s)) == 0 || len > max)
		return 0;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    is_digit(c) || (c != '\0' && strchr(allowed, c) != NULL)))
			return 0;
	}
	return 1;
}

/* A dot-atom-text (RFC 5322 3.2.3) of at most BOUNCE_MSGID_MAX. */
static int
msgid_local_ok(const char *s)
{
	size_t len;

	if (!chars_ok(s, BOUNCE_MSGID_MAX, "!#$%&'*+-/=?^_`{|}~."))
		return 0;
	len = strlen(s);
	return s[0] != '.' && s[len - 1] != '.' && strstr(s, "..") == NULL;
}

/* An address from the queue: 1..ADDR_MAX bytes, no controls. */
static int
addr_ok(const char *s)
{
	size_t len;

	if (s == NULL || (len = strlen(s)) == 0 || len > ADDR_MAX)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int
has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* RFC 5322 date-time in UTC, with English names whatever the locale. */
static int
format_date(time_t t, char *dst, size_t len)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return -1;
	n = snprintf(dst, len, "%s, %d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
random_hex(char *dst, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[32];

	if (nbytes > sizeof(r) ||
	    getrandom(r, nbytes, 0) != (ssize_t)nbytes)
		return -1;
	for (size_t i = 0; i < nbytes; i++) {
		dst[2 * i] = hex[r[i] >> 4];
		dst[2 * i + 1] = hex[r[i] & 15];
	}
	dst[2 * nbytes] = '\0';
	return 0;
}

/*
 * Makes text one line of printable ASCII in dst (dstlen > 3): controls
 * become spaces and other bytes '?', runs of spaces one space, none at
 * either end; past dstlen - 4 bytes it is cut and ends in "...".  A remote
 * reply is arbitrary bytes; this is all of it that reaches the bounce.
 */
static void
sanitize_text(const char *text, char *dst, size_t dstlen)
{
	size_t o = 0;
	int cut = 0;

	for (const char *p = text != NULL ? text : ""; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		else if (c >= 0x80)
			c = '?';
		if (c == ' ' && (o == 0 || dst[o - 1] == ' '))
			continue;
		if (o + 4 >= dstlen) {
			cut = 1;
			break;
		}
		dst[o++] = (char)c;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	if (cut) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* Appends first, then text (single spaces only), breaking at a space where
 * a line would pass WRAP_WIDTH; continuation lines start with indent.
 * With indent " " this is header folding: the field unfolds to the same
 * text.  A word longer than the width stays whole on its line. */
static void
put_wrapped(struct bounce_out *o, const char *first, const char *text,
    const char *indent)
{
	size_t col = strlen(first);
	const char *p = text;

	out_puts(o, first);
	for (int start = 1; *p; start = 0) {
		const char *sp = strchr(p, ' ');
		size_t wl = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (!start && col + 1 + wl > WRAP_WIDTH) {
			out_puts(o, "\r\n");
			out_puts(o, indent);
			col = strlen(indent);
		} else if (!start) {
			out_put(o, " ", 1);
			col++;
		}
		out_put(o, p, wl);
		col += wl;
		p += wl;
		if (*p == ' ')
			p++;
	}
	out_puts(o, "\r\n");
}

/*
 * Appends an address as a delivery-status field value: "rfc822; addr" when
 * it is ASCII, else (SMTPUTF8) "utf-8; " and the 7-bit utf-8-addr-xtext of
 * RFC 6533 3, each character outside QCHAR as \x{HEX}.  An encoding that
 * would pass ADDR_ENC_MAX (only a long all-UTF-8 domain gets near) is cut
 * at a character, to keep the line under the RFC 5322 limit.
 */
static void
put_dsn_addr(struct bounce_out *o, const char *field, const char *addr)
{
	const unsigned char *p = (const unsigned char *)addr;
	char enc[ADDR_ENC_MAX + 1], tok[16];
	size_t e = 0, n, tl, left = strlen(addr);
	unsigned long cp;

	if (!has_8bit(addr, left)) {
		out_putf(o, "%s: rfc822; %s\r\n", field, addr);
		return;
	}
	while (*p) {
		if ((n = utf8_char(p, left, 0, &cp)) == 0) {
			snprintf(tok, sizeof(tok), "?");
			n = 1;
		} else if (cp > 0x20 && cp < 0x7f && cp != '+' && cp != '=' &&
		    cp != '\\')
			snprintf(tok, sizeof(tok), "%c", (char)cp);
		else
			snprintf(tok, sizeof(tok), "\\x{%lX}", cp);
		tl = strlen(tok);
		if (e + tl > ADDR_ENC_MAX)
			break;
		memcpy(enc + e, tok, tl);
		e += tl;
		p += n;
		left -= n;
	}
	enc[e] = '\0';
	out_putf(o, "%s: utf-8; %s\r\n", field, enc);
}

/* A diagnostic that is an SMTP reply ("550 ...", "421-..."). */
static int
is_smtp_reply(const char *d)
{
	return d[0] >= '2' && d[0] <= '5' && is_digit((unsigned char)d[1]) &&
	    is_digit((unsigned char)d[2]) &&
	    (d[3] == ' ' || d[3] == '-' || d[3] == '\0');
}

/* A remote host name as it may appear in Remote-MTA: "" if none or odd. */
static const char *
remote_host(const struct bounce_rcpt *r)
{
	if (r->remote_mta == NULL ||
	    !chars_ok(r->remote_mta, HOST_MAX, ".-_:[]"))
		return "";
	return r->remote_mta;
}

static int
has_orig(const struct bounce_rcpt *r)
{
	return r->orig != NULL && r->orig[0] != '\0' &&
	    strcmp(r->orig, r->addr) != 0;
}

/* Quoted-printable (RFC 2045 6.7) of body, whose lines all end in CRLF;
 * encoded lines stay within 76 characters. */
static void
put_qp(struct bounce_out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char tok[3];
		size_t tl = 1;
		int at_eol = i + 1 == len ||
		    (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n');

		if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
			out_puts(o, "\r\n");
			col = 0;
			i++;
			continue;
		}
		if ((c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !at_eol))
			tok[0] = (char)c;
		else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			tl = 3;
		}
		if (col + tl > 75) {
			out_puts(o, "=\r\n");
			col = 0;
		}
		out_put(o, tok, tl);
		col += tl;
	}
}

/*
 * Copies the header section of the message at fd/off into hdr: lines up to
 * the first empty one, each with CRLF, bare CR and NUL made spaces.  At
 * most BOUNCE_HEADERS_MAX bytes are read and kept, so a larger section is
 * cut after its last whole line that fits; a line over BOUNCE_LINE_MAX is
 * cut at that length (not inside a UTF-8 character).  Either sets *cut_r,
 * and the human-readable part says that the headers were shortened.
 */
static int
copy_headers(int fd, off_t off, struct buf *hdr, int *cut_r, char *err,
    size_t errlen)
{
	char *data = xmalloc(BOUNCE_HEADERS_MAX);
	size_t got = 0, i = 0;
	int eof = 0, r = -1;
	struct bounce_out o = { hdr, 0 };

	*cut_r = 0;
	if (off < 0 || off > INT64_MAX - BOUNCE_HEADERS_MAX) {
		bounce_fail(err, errlen, "bad message offset");
		goto done;
	}
	while (got < BOUNCE_HEADERS_MAX) {
		ssize_t n = pread(fd, data + got, BOUNCE_HEADERS_MAX - got,
		    off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bounce_fail(err, errlen, "reading the message: %s",
			    strerror(errno));
			goto done;
		}
		if (n == 0) {
			eof = 1;
			break;
		}
		got += (size_t)n;
	}
	while (i < got) {
		const char *nl = memchr(data + i, '\n', got - i);
		size_t end, next, len;

		if (nl == NULL && !eof) {
			*cut_r = 1;     /* a line runs past what we read */
			break;
		}
		end = nl != NULL ? (size_t)(nl - data) : got;
		next = nl != NULL ? end + 1 : got;
		len = end - i;
		if (len > 0 && data[end - 1] == '\r')
			len--;
		if (len == 0)
			break;          /* the empty line: the body follows */
		if (len > BOUNCE_LINE_MAX) {
			len = BOUNCE_LINE_MAX;
			for (int b = 0; b < 3 &&
			    ((unsigned char)data[i + len] & 0xc0) == 0x80; b++)
				len--;  /* not inside a UTF-8 character */
			*cut_r = 1;
		}
		if (hdr->len + len + 2 > BOUNCE_HEADERS_MAX) {
			*cut_r = 1;
			break;
		}
		for (size_t k = i; k < i + len; k++) {
			if (data[k] == '\r' || data[k] == '\0')
				data[k] = ' ';
		}
		out_put(&o, data + i, len);
		out_puts(&o, "\r\n");
		i = next;
	}
	if (o.failed)
		bounce_fail(err, errlen, "bounce too large");
	else
		r = 0;
done:
	free(data);
	return r;
}

/* Part 1: the human-readable explanation. */
static void
put_notification(struct bounce_out *o, const struct bounce_info *info,
    const struct bounce_rcpt *rcpts, size_t n, const char *arrival,
    int headers_cut)
{
	char diag[BOUNCE_DIAG_MAX + 1];
	size_t nfailed = 0;

	for (size_t i = 0; i < n; i++)
		nfailed += !rcpts[i].action_delayed;
	out_putf(o, "This is the mail system at %s.\r\n\r\n",
	    info->reporting_mta);
	for (int delayed = 0; delayed < 2; delayed++) {
		if (delayed ? nfailed == n : nfailed == 0)
			continue;
		out_puts(o, delayed ?
		    "Delivery of your message to the following recipients\r\n"
		    "has been delayed. The mail system will keep trying;\r\n"
		    "you need not send it again.\r\n\r\n" :
		    "Your message could not be delivered to the following\r\n"
		    "recipients; the mail system has given up on them.\r\n"
		    "\r\n");
		for (size_t i = 0; i < n; i++) {
			const struct bounce_rcpt *r = &rcpts[i];
			const char *host = remote_host(r);

			if (r->action_delayed != delayed)
				continue;
			/* At most 2 * ADDR_MAX + HOST_MAX + 40 bytes. */
			out_putf(o, "<%s>", r->addr);
			if (has_orig(r))
				out_putf(o, " (originally to <%s>)", r->orig);
			if (*host != '\0')
				out_putf(o, ": host %s said:\r\n", host);
			else
				out_puts(o, ":\r\n");
			sanitize_text(r->diagnostic, diag, sizeof(diag));
			put_wrapped(o, "    ",
			    *diag != '\0' ? diag : "(no reason given)", "    ");
			out_puts(o, "\r\n");
		}
	}
	out_puts(o, "The delivery report and the headers of your message "
	    "are attached.\r\n");
	if (headers_cut)
		out_puts(o, "The headers were too long and are shortened.\r\n");
	out_putf(o, "\r\nQueue ID: %s\r\nArrival date: %s\r\n", info->queue_id,
	    arrival);
}

/* Part 2: message/delivery-status (RFC 3464 2.2, 2.3). */
static void
put_status(struct bounce_out *o, const struct bounce_info *info,
    const struct bounce_rcpt *rcpts, size_t n, const char *arrival)
{
	char diag[BOUNCE_DIAG_MAX + 1];

	out_putf(o, "Reporting-MTA: dns; %s\r\n", info->reporting_mta);
	out_putf(o, "X-Tern-Queue-ID: %s\r\n", info->queue_id);
	put_dsn_addr(o, "X-Tern-Sender", info->sender);
	out_putf(o, "Arrival-Date: %s\r\n", arrival);
	for (size_t i = 0; i < n; i++) {
		const struct bounce_rcpt *r = &rcpts[i];
		const char *status = r->status != NULL ? r->status : "";
		const char *host = remote_host(r);

		/* A failure's status: class 4 or 5, nothing after it. */
		if (status[0] == '2' || smtp_status_span(status) == 0 ||
		    smtp_status_span(status) != strlen(status))
			status = r->action_delayed ? "4.0.0" : "5.0.0";
		out_puts(o, "\r\n");
		put_dsn_addr(o, "Final-Recipient", r->addr);
		if (has_orig(r))
			put_dsn_addr(o, "Original-Recipient", r->orig);
		out_putf(o, "Action: %s\r\nStatus: %s\r\n",
		    r->action_delayed ? "delayed" : "failed", status);
		if (*host != '\0')
			out_putf(o, "Remote-MTA: dns; %s\r\n", host);
		sanitize_text(r->diagnostic, diag, sizeof(diag));
		if (*diag != '\0')
			put_wrapped(o, is_smtp_reply(diag) ?
			    "Diagnostic-Code: smtp; " :
			    "Diagnostic-Code: X-Tern; ", diag, " ");
	}
}

/* Checks what the caller gave; 0 or -1 with a reason. */
static int
check_input(const struct bounce_info *info, const struct bounce_rcpt *rcpts,
    size_t n, char *err, size_t errlen)
{
	if (!chars_ok(info->reporting_mta, HOST_MAX, ".-"))
		return bounce_fail(err, errlen, "bad reporting MTA name");
	if (info->sender == NULL || info->sender[0] == '\0')
		return bounce_fail(err, errlen, "no bounce to the null sender");
	if (!addr_ok(info->sender))
		return bounce_fail(err, errlen, "bad sender address");
	if (!chars_ok(info->queue_id, QUEUE_ID_MAX, ""))
		return bounce_fail(err, errlen, "bad queue id");
	if (info->boundary != NULL &&
	    !chars_ok(info->boundary, BOUNCE_BOUNDARY_MAX, "'()+_,-./:=?"))
		return bounce_fail(err, errlen, "bad MIME boundary");
	if (info->message_id != NULL && !msgid_local_ok(info->message_id))
		return bounce_fail(err, errlen, "bad Message-ID");
	if (n == 0)
		return bounce_fail(err, errlen, "no recipients to report");
	for (size_t i = 0; i < n; i++) {
		if (!addr_ok(rcpts[i].addr) ||
		    (rcpts[i].orig != NULL && rcpts[i].orig[0] != '\0' &&
		    !addr_ok(rcpts[i].orig)))
			return bounce_fail(err, errlen,
			    "bad recipient address (#%zu)", i + 1);
	}
	return 0;
}

/* Picks a boundary that occurs in none of the parts nor the preamble. */
static int
choose_boundary(const struct bounce_info *info, const struct buf *parts,
    size_t nparts, char *bnd, size_t bndlen)
{
	char base[BOUNCE_BOUNDARY_MAX + 1];

	if (info->boundary != NULL)
		snprintf(base, sizeof(base), "%s", info->boundary);
	else {
		memcpy(base, "=_tern_", 8);
		if (random_hex(base + 7, 16) < 0)
			return -1;
	}
	for (int t = 0; t < BOUNDARY_TRIES; t++) {
		size_t k;
		if (t == 0)
			snprintf(bnd, bndlen, "%s", base);
		else
			snprintf(bnd, bndlen, "%s.%d", base, t);
		for (k = 0; k < nparts; k++)
			if (memmem(parts[k].data, parts[k].len, bnd,
			    strlen(bnd)) != NULL)
				break;
		if (k == nparts && strstr(bounce_preamble, bnd) == NULL)
			return 0;
	}
	return -1;
}

int
bounce_compose(const struct bounce_info *info,
    const struct bounce_rcpt *rcpts, size_t n, int fd, off_t content_offset,
    struct buf *out, char *err, size_t errlen)
{
	struct buf parts[3], hdr, text;
	struct bounce_out o = { out, 0 }, po;
	char date[64], arrival[64], msgid[2 * BOUNCE_MSGID_MAX], rnd[17];
	char bnd[BOUNCE_BOUNDARY_MAX + 8];
	size_t nfailed = 0;
	int cut = 0, r = -1;

	buf_init(&hdr, BOUNCE_HEADERS_MAX);
	buf_init(&text, out->max);
	for (size_t i = 0; i < 3; i++)
		buf_init(&parts[i], out->max);
	if (check_input(info, rcpts, n, err, errlen) < 0)
		goto done;
	if (format_date(info->now, date, sizeof(date)) < 0 ||
	    format_date(info->arrival, arrival, sizeof(arrival)) < 0) {
		bounce_fail(err, errlen, "bad date");
		goto done;
	}
	if (info->message_id != NULL)
		snprintf(msgid, sizeof(msgid), "%s", info->message_id);
	else if (random_hex(rnd, 8) == 0)
		snprintf(msgid, sizeof(msgid), "%lld.%s.%s",
		    (long long)info->now, info->queue_id, rnd);
	else {
		bounce_fail(err, errlen, "getrandom: %s", strerror(errno));
		goto done;
	}
	if (copy_headers(fd, content_offset, &hdr, &cut, err, errlen) < 0)
		goto done;

	/* Part 1, quoted-printable if an address is UTF-8. */
	po = (struct bounce_out){ &text, 0 };
	put_notification(&po, info, rcpts, n, arrival, cut);
	o.failed |= po.failed;
	po = (struct bounce_out){ &parts[0], 0 };
	out_puts(&po, "Content-Description: Notification\r\n");
	if (has_8bit(text.data, text.len)) {
		out_puts(&po, "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		put_qp(&po, text.data, text.len);
	} else {
		out_puts(&po,
		    "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
		out_put(&po, text.data, text.len);
	}
	o.failed |= po.failed;

	/* Part 2. */
	po = (struct bounce_out){ &parts[1], 0 };
	out_puts(&po, "Content-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n");
	put_status(&po, info, rcpts, n, arrival);
	o.failed |= po.failed;

	/* Part 3, quoted-printable if the headers hold 8-bit bytes. */
	po = (struct bounce_out){ &parts[2], 0 };
	out_puts(&po, "Content-Description: Undelivered Message Headers\r\n"
	    "Content-Type: text/rfc822-headers\r\n");
	if (has_8bit(hdr.data, hdr.len)) {
		out_puts(&po, "Content-Transfer-Encoding: quoted-printable\r\n"
		    "\r\n");
		put_qp(&po, hdr.data, hdr.len);
	} else {
		out_puts(&po, "\r\n");
		out_put(&po, hdr.data, hdr.len);
	}
	o.failed |= po.failed;
	if (o.failed) {
		bounce_fail(err, errlen, "bounce too large");
		goto done;
	}
	if (choose_boundary(info, parts, 3, bnd, sizeof(bnd)) < 0) {
		bounce_fail(err, errlen, "no MIME boundary found");
		goto done;
	}

	for (size_t i = 0; i < n; i++)
		nfailed += !rcpts[i].action_delayed;
	out_putf(&o, "From: \"Mail Delivery System\" <MAILER-DAEMON@%s>\r\n",
	    info->reporting_mta);
	out_putf(&o, "To: <%s>\r\n", info->sender);
	out_putf(&o, "Subject: %s\r\n", nfailed > 0 ?
	    "Undelivered Mail Returned to Sender" :
	    "Delayed Mail (still being retried)");
	out_putf(&o, "Date: %s\r\n", date);
	out_putf(&o, "Message-ID: <%s@%s>\r\n", msgid, info->reporting_mta);
	out_puts(&o, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
	out_putf(&o, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", bnd);
	out_puts(&o, bounce_preamble);
	for (size_t i = 0; i < 3; i++) {
		/* Every part ends in CRLF; the delimiter adds its own. */
		out_putf(&o, "\r\n--%s\r\n", bnd);
		out_put(&o, parts[i].data, parts[i].len);
	}
	out_putf(&o, "\r\n--%s--\r\n", bnd);
	if (o.failed)
		bounce_fail(err, errlen, "bounce too large");
	else
		r = 0;
done:
	buf_free(&hdr);
	buf_free(&text);
	for (size_t i = 0; i < 3; i++)
		buf_free(&parts[i]);
	return r;
}
