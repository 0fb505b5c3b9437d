/*
 * tern's filter protocol, version 1 (docs/filters.md): the words of the
 * protocol, the escaping of the fields tern writes, and the parser of the
 * lines a filter writes.  Pure code, no I/O, so that it is unit-tested and
 * fuzzed alone (tests/unit/test_filter_proto.c, tests/fuzz/fuzz_filter.c).
 * A filter is trusted no more than the network: every line it writes is
 * parsed here, bounded, and anything not exactly as documented is refused.
 */
#ifndef TERN_FILTER_PROTO_H
#define TERN_FILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define FILTER_PROTO_VERSION 1
#define FILTER_LINE_MAX      4096   /* a line from a filter, LF included */
#define FILTER_TEXT_MAX      512    /* reply text, enhanced code included */
#define FILTER_HNAME_MAX     77     /* a header field name (RFC 5322: 76) */

/* Report events: tern writes them, the filter answers nothing. */
enum filter_event {
	FILTER_EV_CONNECT, FILTER_EV_TLS, FILTER_EV_AUTH, FILTER_EV_HELO,
	FILTER_EV_MAIL, FILTER_EV_RCPT, FILTER_EV_QUEUED, FILTER_EV_DELIVERED,
	FILTER_EV_DEFERRED, FILTER_EV_BOUNCED, FILTER_EV_DISCONNECT,
	FILTER_EV_COUNT
};

/* Hooks: tern asks, the filter answers with the same token. */
enum filter_hook {
	FILTER_HOOK_CONNECT, FILTER_HOOK_HELO, FILTER_HOOK_MAIL,
	FILTER_HOOK_RCPT, FILTER_HOOK_DATA_END, FILTER_HOOK_COUNT
};

enum filter_action {
	FILTER_PROCEED, FILTER_REJECT, FILTER_DEFER, FILTER_DISCONNECT,
	FILTER_ADD_HEADER, FILTER_HOLD
};

enum filter_line_kind {
	FILTER_LINE_VERSION,    /* tern-filter N */
	FILTER_LINE_REPORT,     /* register report EVENT */
	FILTER_LINE_HOOK,       /* register hook HOOK */
	FILTER_LINE_READY,      /* ready */
	FILTER_LINE_REPLY,      /* reply TOKEN ACTION ... */
};

/* One line from a filter, parsed and checked. */
struct filter_line {
	enum filter_line_kind kind;
	unsigned version;               /* VERSION */
	int which;                      /* REPORT: event; HOOK: hook */
	uint64_t token;                 /* REPLY */
	enum filter_action action;
	unsigned code;                  /* REJECT, DEFER, DISCONNECT */
	/* REJECT, DEFER, DISCONNECT: "X.Y.Z text" (the enhanced code the
	 * filter gave, or the default one); HOLD: the reason, may be "". */
	char text[FILTER_TEXT_MAX];
	char hname[FILTER_HNAME_MAX];   /* ADD_HEADER */
	char hvalue[FILTER_LINE_MAX];   /* ADD_HEADER */
};

const char *filter_event_name(enum filter_event ev);
const char *filter_hook_name(enum filter_hook h);
const char *filter_action_name(enum filter_action a);

/*
 * One line a filter wrote, without its LF (len bytes, may hold anything).
 * 0 with *out filled, or -1 with why in err (printable: safe to log).
 */
int filter_line_parse(const char *line, size_t len, struct filter_line *out,
    char *err, size_t errlen);

/*
 * Appends one field to b, escaped: bytes from '!' to '~' except '%' stay
 * as they are, every other byte (space, '%', controls, DEL, non-ASCII)
 * becomes %XX (uppercase hex); an empty field is written "-" and a field
 * that is exactly "-" as "%2D".  So a field never holds a space or a line
 * end, whatever the client sent.  0, or -1 past b's maximum.
 */
int filter_field(struct buf *b, const char *s, size_t len);
/* The same for a NUL-terminated string, preceded by a space. */
int filter_field_sp(struct buf *b, const char *s);

/* The reverse (for the tests and the fuzzer): decodes one field of len
 * bytes into out (size outlen, NUL-terminated).  The decoded length, or -1
 * for a field that is not a valid escape of anything. */
long filter_field_decode(const char *s, size_t len, char *out, size_t outlen);

#endif
