/*
 * Unit tests for queue/bounce.c.  Each case writes an original message to a
 * queue-like file (an envelope in front, so content_offset is not zero),
 * composes a bounce and splits it on its boundary with a small checker of
 * its own.  Every bounce must be a multipart/report with the three parts in
 * order, CRLF only, no line over 998 bytes, the boundary in no part, and
 * parse with Debian's python3 when it is there; then each case's table row
 * says what a part must (or must not) hold.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "queue/bounce.h"
#include "util/buf.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S(s) s, sizeof(s) - 1   /* a literal and its length, NULs kept */

#define ARRIVAL 1700000000      /* Tue, 14 Nov 2023 22:13:20 +0000 */
#define NOW     1700003600
#define QID     "BCDFGHJKLMNP"
#define ENVELOPE "tern-queue 1\nid\t" QID "\nfrom\tsender@origin.test\n\n"
#define ORIGINAL "From: Sender <sender@origin.test>\r\n" \
	"To: bob@remote.test\r\nSubject: hello\r\n" \
	"Message-ID: <orig@origin.test>\r\n\r\nsecret body line\r\n"
#define PYTHON "/usr/bin/python3"

/* The sections of a parsed bounce. */
enum { TOP, P1, P2, P3, H1, H2, H3, NSECT };

struct parsed {
	char boundary[128];
	const char *sect[NSECT];        /* bodies P1..P3, part headers H1..H3 */
	size_t len[NSECT];
	const char *preamble;
	size_t preamble_len;
};

struct want {
	int sect;
	const char *s;
	int absent;
};
#define HAS(p, s) { p, s, 0 }
#define NOT(p, s) { p, s, 1 }

struct bcase {
	const char *name;
	const char *msg;                /* NULL: made by make */
	size_t msglen;
	void (*make)(struct buf *);
	const char *boundary;           /* NULL: "tern-test-boundary" */
	struct bounce_rcpt rcpts[4];
	size_t n;
	const char *ds_exact;           /* the whole delivery-status, or NULL */
	const char *hdr_exact;          /* the whole headers part, or NULL */
	struct want wants[12];
};

static char long_diag[2400];

/* A Subject of 3000 bytes, then a header that must survive. */
static void
make_long_header(struct buf *b)
{
	assert_int_equal(buf_append(b, S("Subject: ")), 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf_append(b, "x", 1), 0);
	assert_int_equal(buf_append(b,
	    S("\r\nX-After: kept\r\n\r\nsecret\r\n")), 0);
}

/* 3000 header lines (about 230 KiB), then a body. */
static void
make_huge_headers(struct buf *b)
{
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf_appendf(b, "X-Filler-%04d: %s\r\n", i,
		    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
		    "0123456789"), 0);
	assert_int_equal(buf_append(b, S("\r\nsecret body\r\n")), 0);
}

/* A header line of 997 bytes ("X-Long: " and 'y'), then a 2-byte UTF-8
 * character straddling the 998 limit: the cut must drop it whole. */
static void
make_utf8_cut(struct buf *b)
{
	assert_int_equal(buf_append(b, S("X-Long: ")), 0);
	for (int i = 8; i < 997; i++)
		assert_int_equal(buf_append(b, "y", 1), 0);
	assert_int_equal(buf_append(b, S("\xc3\xa9zzzz\r\n\r\nbody\r\n")), 0);
}

#define BOB { "bob@remote.test", "bob@remote.test", "5.1.1", \
	"550 5.1.1 <bob@remote.test>: user unknown", "mx.remote.test", 0 }
#define ALICE { "Alias@Example.TEST", "alice@example.test", "5.2.2", \
	"mailbox full", "", 0 }

static const struct bcase cases[] = {
	{ "two recipients", S(ORIGINAL), NULL, NULL, { BOB, ALICE }, 2,
	    "Reporting-MTA: dns; mx.example.test\r\n"
	    "X-Tern-Queue-ID: " QID "\r\n"
	    "X-Tern-Sender: rfc822; sender@origin.test\r\n"
	    "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "\r\n"
	    "Final-Recipient: rfc822; bob@remote.test\r\n"
	    "Action: failed\r\n"
	    "Status: 5.1.1\r\n"
	    "Remote-MTA: dns; mx.remote.test\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.test>: user unknown\r\n"
	    "\r\n"
	    "Final-Recipient: rfc822; alice@example.test\r\n"
	    "Original-Recipient: rfc822; Alias@Example.TEST\r\n"
	    "Action: failed\r\n"
	    "Status: 5.2.2\r\n"
	    "Diagnostic-Code: X-Tern; mailbox full\r\n",
	    "From: Sender <sender@origin.test>\r\nTo: bob@remote.test\r\n"
	    "Subject: hello\r\nMessage-ID: <orig@origin.test>\r\n", {
		HAS(TOP, "From: \"Mail Delivery System\" "
		    "<MAILER-DAEMON@mx.example.test>\r\n"),
		HAS(TOP, "\r\nTo: <sender@origin.test>\r\n"),
		HAS(TOP, "\r\nSubject: Undelivered Mail Returned to Sender\r\n"),
		HAS(TOP, "\r\nDate: Tue, 14 Nov 2023 23:13:20 +0000\r\n"),
		HAS(TOP, "\r\nMessage-ID: <test1@mx.example.test>\r\n"),
		HAS(TOP, "\r\nAuto-Submitted: auto-replied\r\n"
		    "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
		    "report-type=delivery-status;\r\n\tboundary="
		    "\"tern-test-boundary\"\r\n"),
		HAS(P1, "\r\n<bob@remote.test>: host mx.remote.test said:\r\n"
		    "    550 5.1.1 <bob@remote.test>: user unknown\r\n"),
		HAS(P1, "\r\n<alice@example.test> (originally to "
		    "<Alias@Example.TEST>):\r\n    mailbox full\r\n"),
		HAS(P1, "\r\nQueue ID: " QID "\r\n"),
		HAS(H1, "Content-Type: text/plain; charset=us-ascii\r\n"),
		NOT(P1, "shortened"),
		NOT(P3, "secret") } },
	{ "status validation", S(ORIGINAL), NULL, NULL, {
		{ NULL, "a@r.test", "5.1", "550 x", "", 0 },
		{ NULL, "b@r.test", "5.1.1 ", "550 x", "", 0 },
		{ NULL, "c@r.test", "5.1.1234", "550 x", "", 0 },
		{ NULL, "d@r.test", "4.4.1", "451 x", "", 0 } }, 4, NULL, NULL, {
		HAS(P2, "Final-Recipient: rfc822; a@r.test\r\nAction: failed\r\n"
		    "Status: 5.0.0\r\n"),
		HAS(P2, "Final-Recipient: rfc822; b@r.test\r\nAction: failed\r\n"
		    "Status: 5.0.0\r\n"),
		HAS(P2, "Final-Recipient: rfc822; c@r.test\r\nAction: failed\r\n"
		    "Status: 5.0.0\r\n"),
		HAS(P2, "Final-Recipient: rfc822; d@r.test\r\nAction: failed\r\n"
		    "Status: 4.4.1\r\n"),
		NOT(P2, "Original-Recipient"),
		NOT(P2, "Remote-MTA") } },
	{ "more statuses", S(ORIGINAL), NULL, NULL, {
		{ "", "a@r.test", NULL, "", NULL, 0 },
		{ "a@r.test", "b@r.test", "2.0.0", NULL, NULL, 0 },
		{ "c@r.test", "c@r.test", "5.999.999", "x", NULL, 0 },
		{ NULL, "d@r.test", "x.1.1", "y", NULL, 0 } }, 4, NULL, NULL, {
		HAS(P2, "Final-Recipient: rfc822; a@r.test\r\nAction: failed\r\n"
		    "Status: 5.0.0\r\n\r\n"),
		HAS(P2, "Final-Recipient: rfc822; b@r.test\r\n"
		    "Original-Recipient: rfc822; a@r.test\r\nAction: failed\r\n"
		    "Status: 5.0.0\r\n\r\n"),
		HAS(P2, "Final-Recipient: rfc822; c@r.test\r\nAction: failed\r\n"
		    "Status: 5.999.999\r\nDiagnostic-Code: X-Tern; x\r\n"),
		HAS(P2, "Final-Recipient: rfc822; d@r.test\r\nAction: failed\r\n"
		    "Status: 5.0.0\r\n"),
		HAS(P1, "<a@r.test>:\r\n    (no reason given)\r\n") } },
	{ "delayed only", S(ORIGINAL), NULL, NULL, {
		{ NULL, "a@r.test", NULL, "451 4.3.0 later", "mx.r.test", 1 } },
	    1, NULL, NULL, {
		HAS(TOP, "\r\nSubject: Delayed Mail (still being retried)\r\n"),
		HAS(P2, "Action: delayed\r\nStatus: 4.0.0\r\n"),
		HAS(P1, "recipients\r\nhas been delayed"),
		NOT(P1, "given up") } },
	{ "failed and delayed", S(ORIGINAL), NULL, NULL, {
		{ NULL, "a@r.test", "4.4.7", "451 later", "mx.r.test", 1 },
		BOB }, 2, NULL, NULL, {
		HAS(TOP, "\r\nSubject: Undelivered Mail Returned to Sender\r\n"),
		HAS(P2, "Final-Recipient: rfc822; a@r.test\r\nAction: delayed\r\n"
		    "Status: 4.4.7\r\n"),
		HAS(P1, "given up on them.\r\n\r\n<bob@remote.test>"),
		HAS(P1, "been delayed"),
		HAS(P1, "need not send it again.\r\n\r\n<a@r.test>: host mx.r.test") } },
	{ "controls in a diagnostic", S(ORIGINAL), NULL, NULL, {
		{ NULL, "a@r.test", "5.7.1",
		    "550 5.7.1 bad\r\nInjected: yes\x01\x7f\tend  ", "mx.r.test",
		    0 },
		{ NULL, "b@r.test", "5.7.1", "550 caf\xc3\xa9\r\n", "", 0 } },
	    2, NULL, NULL, {
		HAS(P2, "Diagnostic-Code: smtp; 550 5.7.1 bad Injected: yes "
		    "end\r\n"),
		HAS(P2, "Diagnostic-Code: smtp; 550 caf??\r\n"),
		HAS(P1, "    550 5.7.1 bad Injected: yes end\r\n"),
		NOT(P2, "\r\nInjected"),
		NOT(P1, "\r\nInjected"),
		NOT(P2, "\x01"),
		NOT(P2, "\x7f"),
		NOT(P2, "\t"),
		NOT(P2, "\xc3") } },
	{ "own reason, odd remote host", S(ORIGINAL), NULL, NULL, {
		{ NULL, "a@r.test", "4.4.1", "connection refused",
		    "mx.r.test\r\nX: y", 0 } }, 1, NULL, NULL, {
		HAS(P2, "Status: 4.4.1\r\nDiagnostic-Code: X-Tern; "
		    "connection refused\r\n"),
		NOT(P2, "Remote-MTA"),
		NOT(P1, "host "),
		HAS(P1, "<a@r.test>:\r\n    connection refused\r\n") } },
	{ "long diagnostic", S(ORIGINAL), NULL, NULL, {
		{ NULL, "a@r.test", "5.0.0", long_diag, "mx.r.test", 0 } },
	    1, NULL, NULL, {
		HAS(P2, "Diagnostic-Code: smtp; 550 w0000 w0001"),
		HAS(P2, "\r\n w"),      /* folded */
		HAS(P2, "...\r\n"),     /* and cut */
		NOT(P2, "w0399"),
		HAS(P1, "\r\n    w") } },
	{ "long original header", NULL, 0, make_long_header, NULL, {
		BOB }, 1, NULL, NULL, {
		HAS(P3, "\r\nX-After: kept\r\n"),
		HAS(P3, "xxxxxxxx\r\nX-After"),
		NOT(P3, "secret"),
		HAS(P1, "shortened") } },
	{ "cut not inside a UTF-8 character", NULL, 0, make_utf8_cut, NULL, {
		BOB }, 1, NULL, NULL, {
		NOT(H3, "quoted-printable"),
		HAS(P3, "yyy\r\n"),
		NOT(P3, "\xc3"),
		NOT(P3, "zz"),
		HAS(P1, "shortened") } },
	{ "huge header section", NULL, 0, make_huge_headers, NULL, { BOB },
	    1, NULL, NULL, {
		HAS(P3, "X-Filler-0000: abc"),
		HAS(P3, "X-Filler-0500: abc"),
		NOT(P3, "X-Filler-2999"),
		NOT(P3, "secret"),
		HAS(P1, "shortened") } },
	{ "boundary in the original headers",
	    S("Subject: a\r\nX-Trap: --tern-b\r\n--tern-b.1\r\n\r\n"),
	    NULL, "tern-b", { BOB }, 1, NULL,
	    "Subject: a\r\nX-Trap: --tern-b\r\n--tern-b.1\r\n", {
		HAS(TOP, "boundary=\"tern-b.2\"\r\n") } },
	{ "boundary in a diagnostic", S(ORIGINAL), NULL, "Zz9", {
		{ NULL, "a@r.test", "5.0.0", "550 --Zz9--", "", 0 } }, 1, NULL,
	    NULL, {
		HAS(TOP, "boundary=\"Zz9.1\"\r\n"),
		HAS(P2, "smtp; 550 --Zz9--\r\n") } },
	{ "8-bit original header", S("Subject: caf\xc3\xa9 =x\r\n\r\nb\r\n"),
	    NULL, NULL, { BOB }, 1, NULL, "Subject: caf=C3=A9 =3Dx\r\n", {
		HAS(H3, "Content-Type: text/rfc822-headers\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n") } },
	{ "UTF-8 recipient", S(ORIGINAL), NULL, NULL, {
		{ "J\xc3\xb6rg+x=y\\@b\xc3\xbc" "cher.test",
		    "j\xc3\xb6rg@b\xc3\xbc" "cher.test", "5.1.1", "550 no", "",
		    0 } }, 1, NULL, NULL, {
		HAS(P2, "Final-Recipient: utf-8; j\\x{F6}rg@b\\x{FC}cher.test\r\n"),
		HAS(P2, "Original-Recipient: utf-8; "
		    "J\\x{F6}rg\\x{2B}x\\x{3D}y\\x{5C}@b\\x{FC}cher.test\r\n"),
		HAS(H1, "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n"),
		HAS(P1, "<j=C3=B6rg@b=C3=BCcher.test>") } },
	{ "quoted local part with a space", S(ORIGINAL), NULL, NULL, {
		{ NULL, "\"a b\"@r.test", "5.1.1", "550 no", "", 0 } }, 1, NULL,
	    NULL, {
		HAS(P2, "Final-Recipient: rfc822; \"a b\"@r.test\r\n") } },
	{ "bare LF, bare CR and NUL in the original",
	    S("Subject: a\nX-B: b\rc\r\nX-N: 1\0002\r\n\nbody\n"), NULL, NULL,
	    { BOB }, 1, NULL, "Subject: a\r\nX-B: b c\r\nX-N: 1 2\r\n", {
		NOT(P3, "body") } },
	{ "no empty line, no final line end",
	    S("Subject: only\r\nX-Last: no newline"), NULL, NULL, { BOB }, 1,
	    NULL, "Subject: only\r\nX-Last: no newline\r\n", {
		HAS(P1, "Queue ID") } },
	{ "empty header section", S("\r\nbody only\r\n"), NULL, NULL, { BOB },
	    1, NULL, "", { NOT(P3, "body") } },
	{ "empty message", S(""), NULL, NULL, { BOB }, 1, NULL, "", {
		HAS(H3, "Content-Type: text/rfc822-headers\r\n") } },
};

/* s made printable for a failure message. */
static const char *
show(const char *s, size_t len)
{
	static char out[4096];
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < sizeof(out); i++) {
		unsigned char c = (unsigned char)s[i];
		size_t room = sizeof(out) - o;
		if (c == '\r')
			o += (size_t)snprintf(out + o, room, "\\r");
		else if (c == '\n')
			o += (size_t)snprintf(out + o, room, "\\n\n");
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, room, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

/* Writes envelope and message to a temporary file; returns its fd. */
static int
queue_file(const char *msg, size_t len, off_t *offset_r)
{
	char path[] = "/tmp/tern-test-bounce.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(write(fd, ENVELOPE, strlen(ENVELOPE)),
	    (ssize_t)strlen(ENVELOPE));
	if (len > 0)
		assert_int_equal(write(fd, msg, len), (ssize_t)len);
	*offset_r = (off_t)strlen(ENVELOPE);
	return fd;
}

/* Splits a bounce on its boundary. NULL, or what is wrong. */
static const char *
parse_bounce(const char *m, size_t mlen, struct parsed *p)
{
	const char *end = m + mlen, *hdr_end, *b, *q, *cur;
	char delim[160];
	size_t dl;
	int k;

	memset(p, 0, sizeof(*p));
	if ((hdr_end = memmem(m, mlen, "\r\n\r\n", 4)) == NULL)
		return "no end of header section";
	p->sect[TOP] = m;
	p->len[TOP] = (size_t)(hdr_end + 2 - m);
	if ((b = memmem(m, p->len[TOP], "boundary=\"", 10)) == NULL)
		return "no boundary parameter";
	b += 10;
	if ((q = memchr(b, '"', (size_t)(hdr_end - b))) == NULL ||
	    (size_t)(q - b) >= 100 || q == b)
		return "bad boundary parameter";
	memcpy(p->boundary, b, (size_t)(q - b));
	p->boundary[q - b] = '\0';
	dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", p->boundary);

	cur = hdr_end + 4;
	p->preamble = cur;
	for (k = 0; ; k++) {
		const char *d = memmem(cur - (k == 0 ? 2 : 0),
		    (size_t)(end - cur) + (k == 0 ? 2 : 0), delim, dl);
		if (d == NULL)
			return "missing delimiter";
		if (k == 0)
			p->preamble_len = (size_t)(d < cur ? 0 : d - cur);
		else {
			const char *ph = cur, *pe;
			if (k > 3)
				return "more than three parts";
			if ((pe = memmem(ph, (size_t)(d - ph), "\r\n\r\n", 4))
			    == NULL)
				return "part without header section";
			p->sect[H1 + k - 1] = ph;
			p->len[H1 + k - 1] = (size_t)(pe + 2 - ph);
			p->sect[P1 + k - 1] = pe + 4;
			p->len[P1 + k - 1] = (size_t)(d - (pe + 4));
		}
		d += dl;
		if ((size_t)(end - d) >= 4 && memcmp(d, "--\r\n", 4) == 0) {
			if (d + 4 != end)
				return "bytes after the close delimiter";
			break;
		}
		if ((size_t)(end - d) < 2 || memcmp(d, "\r\n", 2) != 0)
			return "delimiter not followed by CRLF";
		cur = d + 2;
	}
	if (k != 3)
		return "not three parts";
	return NULL;
}

/* Python's email package reads it as multipart/report with the parts in
 * order and one per-message plus n per-recipient delivery-status blocks. */
static void
python_check(const char *name, const struct buf *out, size_t n)
{
	static const char script[] =
	    "import email,sys\n"
	    "m=email.message_from_binary_file(open(sys.argv[1],'rb'))\n"
	    "assert m.get_content_type()=='multipart/report'\n"
	    "ps=m.get_payload()\n"
	    "assert [p.get_content_type() for p in ps]=="
	    "['text/plain','message/delivery-status','text/rfc822-headers']\n"
	    "assert len(ps[1].get_payload())==1+int(sys.argv[2])\n"
	    "assert not m.defects and not any(p.defects for p in ps)\n";
	char path[] = "/tmp/tern-test-bounce-py.XXXXXX", nbuf[32];
	int fd, status;
	pid_t pid;

	if (access(PYTHON, X_OK) != 0)
		return;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, out->data, out->len), (ssize_t)out->len);
	assert_int_equal(close(fd), 0);
	snprintf(nbuf, sizeof(nbuf), "%zu", n);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(PYTHON, "python3", "-c", script, path, nbuf,
		    (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(path);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: python3 email parse: got status %d, want 0", name,
		    status);
}

/* What every bounce must be. */
static void
check_invariants(const char *name, const struct buf *out, size_t n,
    struct parsed *p)
{
	const char *why, *s = out->data;
	size_t col = 0, nfinal = 0;

	for (size_t i = 0; i < out->len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			fail_msg("%s: bare LF at %zu", name, i);
		if (s[i] == '\r' && (i + 1 == out->len || s[i + 1] != '\n'))
			fail_msg("%s: bare CR at %zu", name, i);
		if (s[i] == '\0')
			fail_msg("%s: NUL at %zu", name, i);
		if (s[i] == '\r')
			continue;
		if (s[i] == '\n')
			col = 0;
		else if (++col > BOUNCE_LINE_MAX)
			fail_msg("%s: line over %d bytes at %zu", name,
			    BOUNCE_LINE_MAX, i);
	}
	if ((why = parse_bounce(s, out->len, p)) != NULL)
		fail_msg("%s: got \"%s\", want a multipart/report:\n%s", name,
		    why, show(s, out->len));
	if (memmem(p->sect[TOP], p->len[TOP],
	    S("\r\nContent-Type: multipart/report; "
	    "report-type=delivery-status;")) == NULL)
		fail_msg("%s: top Content-Type: got %s", name,
		    show(p->sect[TOP], p->len[TOP]));
	static const char *const types[3] = {
		"Content-Type: text/plain;",
		"Content-Type: message/delivery-status\r\n",
		"Content-Type: text/rfc822-headers\r\n",
	};
	for (int k = 0; k < 3; k++) {
		if (memmem(p->sect[H1 + k], p->len[H1 + k], types[k],
		    strlen(types[k])) == NULL)
			fail_msg("%s: part %d headers: got %s, want %s", name,
			    k + 1, show(p->sect[H1 + k], p->len[H1 + k]),
			    types[k]);
		for (int h = 0; h < 2; h++) {
			int sect = h ? H1 + k : P1 + k;
			if (memmem(p->sect[sect], p->len[sect], p->boundary,
			    strlen(p->boundary)) != NULL)
				fail_msg("%s: boundary %s inside part %d", name,
				    p->boundary, k + 1);
		}
	}
	if (memmem(p->preamble, p->preamble_len, p->boundary,
	    strlen(p->boundary)) != NULL)
		fail_msg("%s: boundary inside the preamble", name);
	for (const char *f = p->sect[P2];
	    (f = memmem(f, (size_t)(p->sect[P2] + p->len[P2] - f),
	    S("Final-Recipient: "))) != NULL; f++)
		nfinal++;
	if (nfinal != n)
		fail_msg("%s: got %zu Final-Recipient fields, want %zu", name,
		    nfinal, n);
	if (memmem(p->sect[H3], p->len[H3], S("quoted-printable")) == NULL &&
	    p->len[P3] > BOUNCE_HEADERS_MAX)
		fail_msg("%s: headers part of %zu bytes, want at most %d", name,
		    p->len[P3], BOUNCE_HEADERS_MAX);
	python_check(name, out, n);
}

static void
info_for(struct bounce_info *info, const char *boundary)
{
	memset(info, 0, sizeof(*info));
	info->reporting_mta = "mx.example.test";
	info->sender = "sender@origin.test";
	info->queue_id = QID;
	info->arrival = ARRIVAL;
	info->now = NOW;
	info->boundary = boundary;
	info->message_id = "test1";
}

static void
test_compose(void **state)
{
	(void)state;
	snprintf(long_diag, sizeof(long_diag), "550");
	for (int i = 0; i < 400; i++) {
		size_t l = strlen(long_diag);
		snprintf(long_diag + l, sizeof(long_diag) - l, " w%04d", i);
	}

	for (size_t i = 0; i < N(cases); i++) {
		const struct bcase *c = &cases[i];
		struct bounce_info info;
		struct buf msg, out;
		struct parsed p;
		char err[256] = "";
		off_t off;
		int fd;

		buf_init(&msg, 1 << 20);
		if (c->make != NULL)
			c->make(&msg);
		else
			assert_int_equal(buf_append(&msg, c->msg, c->msglen),
			    0);
		fd = queue_file(msg.data, msg.len, &off);
		buf_init(&out, 1 << 20);
		info_for(&info, c->boundary != NULL ? c->boundary :
		    "tern-test-boundary");
		if (bounce_compose(&info, c->rcpts, c->n, fd, off, &out, err,
		    sizeof(err)) != 0)
			fail_msg("%s: got error \"%s\", want a bounce", c->name,
			    err);
		check_invariants(c->name, &out, c->n, &p);
		if (c->ds_exact != NULL && (p.len[P2] != strlen(c->ds_exact) ||
		    memcmp(p.sect[P2], c->ds_exact, p.len[P2]) != 0))
			fail_msg("%s: delivery-status: got\n%s\nwant\n%s",
			    c->name, show(p.sect[P2], p.len[P2]), c->ds_exact);
		if (c->hdr_exact != NULL &&
		    (p.len[P3] != strlen(c->hdr_exact) ||
		    memcmp(p.sect[P3], c->hdr_exact, p.len[P3]) != 0))
			fail_msg("%s: headers part: got \"%s\", want \"%s\"",
			    c->name, show(p.sect[P3], p.len[P3]), c->hdr_exact);
		for (size_t w = 0; w < N(c->wants) && c->wants[w].s; w++) {
			const struct want *wt = &c->wants[w];
			int found = memmem(p.sect[wt->sect], p.len[wt->sect],
			    wt->s, strlen(wt->s)) != NULL;
			if (found == wt->absent)
				fail_msg("%s: section %d: got\n%s\nwant it %s "
				    "\"%s\"", c->name, wt->sect,
				    show(p.sect[wt->sect], p.len[wt->sect]),
				    wt->absent ? "without" : "with", wt->s);
		}
		buf_free(&out);
		buf_free(&msg);
		close(fd);
	}
}

/* With no boundary or Message-ID given, both are random. */
static void
test_random_defaults(void **state)
{
	struct bounce_rcpt r[1] = { BOB };
	struct bounce_info info;
	struct buf out[2];
	struct parsed p[2];
	char err[256];
	off_t off;
	int fd = queue_file(S(ORIGINAL), &off);

	(void)state;
	info_for(&info, NULL);
	info.message_id = NULL;
	for (int i = 0; i < 2; i++) {
		buf_init(&out[i], 1 << 20);
		assert_int_equal(bounce_compose(&info, r, 1, fd, off, &out[i],
		    err, sizeof(err)), 0);
		check_invariants("random defaults", &out[i], 1, &p[i]);
		assert_non_null(memmem(p[i].sect[TOP], p[i].len[TOP],
		    S("\r\nMessage-ID: <1700003600." QID ".")));
	}
	assert_string_not_equal(p[0].boundary, p[1].boundary);
	assert_int_equal(strncmp(p[0].boundary, "=_tern_", 7), 0);
	const char *id0 = strstr(out[0].data, "\r\nMessage-ID: ");
	const char *id1 = strstr(out[1].data, "\r\nMessage-ID: ");
	assert_non_null(id0);
	assert_non_null(id1);
	assert_memory_not_equal(id0, id1, strcspn(id0 + 2, "\r") + 2);
	buf_free(&out[0]);
	buf_free(&out[1]);
	close(fd);
}

struct ecase {
	const char *name;
	const char *mta, *sender, *qid, *boundary, *msgid;
	struct bounce_rcpt rcpt;
	size_t n;
	int bad_fd;
	size_t outmax;
	const char *want;
};

static void
test_errors(void **state)
{
	static const struct ecase ecases[] = {
		{ "null sender", "mx.t", "", QID, "b", "m", BOB, 1, 0, 0,
		    "null sender" },
		{ "no sender", "mx.t", NULL, QID, "b", "m", BOB, 1, 0, 0,
		    "null sender" },
		{ "sender with CR", "mx.t", "a\r@b", QID, "b", "m", BOB, 1, 0, 0,
		    "bad sender" },
		{ "no recipients", "mx.t", "a@b", QID, "b", "m", BOB, 0, 0, 0,
		    "no recipients" },
		{ "bad MTA name", "mx example", "a@b", QID, "b", "m", BOB, 1, 0,
		    0, "reporting MTA" },
		{ "no MTA name", NULL, "a@b", QID, "b", "m", BOB, 1, 0, 0,
		    "reporting MTA" },
		{ "bad queue id", "mx.t", "a@b", "../x", "b", "m", BOB, 1, 0, 0,
		    "queue id" },
		{ "bad boundary", "mx.t", "a@b", QID, "a b", "m", BOB, 1, 0, 0,
		    "boundary" },
		{ "long boundary", "mx.t", "a@b", QID,
		    "0123456789012345678901234567890123456789012345678901234567890",
		    "m", BOB, 1, 0, 0, "boundary" },
		{ "bad Message-ID", "mx.t", "a@b", QID, "b", "a..b", BOB, 1, 0,
		    0, "Message-ID" },
		{ "Message-ID with @", "mx.t", "a@b", QID, "b", "a@b", BOB, 1, 0,
		    0, "Message-ID" },
		{ "recipient with LF", "mx.t", "a@b", QID, "b", "m",
		    { NULL, "x\n@y", "5.0.0", "", "", 0 }, 1, 0, 0, "recipient" },
		{ "empty recipient", "mx.t", "a@b", QID, "b", "m",
		    { NULL, "", "5.0.0", "", "", 0 }, 1, 0, 0, "recipient" },
		{ "unreadable message", "mx.t", "a@b", QID, "b", "m", BOB, 1, 1,
		    0, "reading the message" },
		{ "output too small", "mx.t", "a@b", QID, "b", "m", BOB, 1, 0,
		    600, "too large" },
	};

	(void)state;
	for (size_t i = 0; i < N(ecases); i++) {
		const struct ecase *c = &ecases[i];
		struct bounce_info info = { c->mta, c->sender, c->qid, ARRIVAL,
		    NOW, c->boundary, c->msgid };
		struct buf out;
		char err[256] = "";
		off_t off;
		int fd = queue_file(S(ORIGINAL), &off), r;

		buf_init(&out, c->outmax ? c->outmax : 1 << 20);
		r = bounce_compose(&info, &c->rcpt, c->n, c->bad_fd ? -1 : fd,
		    off, &out, err, sizeof(err));
		if (r != -1 || strstr(err, c->want) == NULL)
			fail_msg("%s: got %d \"%s\", want -1 \"%s\"",
			    c->name, r, err, c->want);
		buf_free(&out);
		close(fd);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compose),
		cmocka_unit_test(test_random_defaults),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
