/*
 * The From and Sender addresses of a message's header (RFC 5322 3.6.2,
 * 3.4, with the obsolete forms of 4.4 that real clients send; RFC 6532
 * UTF-8), and those of Resent-From and Resent-Sender (3.6.6), collected
 * while the message streams in so that a submission session can check
 * them against the account that sent it.  An address written in a display
 * name or a comment beside a mailbox counts too (in_name): it is what a
 * reader sees.  Resumable:
 * the message may arrive split at any byte.  Bounded: only the From and
 * Sender fields are stored, each up to HEADER_FROM_MAX_FIELD bytes, and
 * the whole header section may not pass HEADER_FROM_MAX_HEADER_BYTES.
 * Anything it cannot parse is an error, never an address skipped.
 */
#ifndef TERN_HEADER_FROM_H
#define TERN_HEADER_FROM_H

#include <stddef.h>

#include "util/addr.h"
#include "util/buf.h"

#define HEADER_FROM_MAX_HEADER_BYTES (256 * 1024)
#define HEADER_FROM_MAX_FIELD        (16 * 1024)  /* one From or Sender */
#define HEADER_FROM_MAX_ADDRS        32           /* From and Sender */
#define HEADER_FROM_MAX_DEPTH        16           /* nested comments */

/* The one error a caller may choose to forgive: the header had no From
 * field (and nothing else was wrong with it). */
#define HEADER_FROM_ERR_NO_FROM      "no From header"

/* Which field an address came from. */
enum header_from_kind {
	HEADER_FROM_FROM = 1,
	HEADER_FROM_SENDER = 2,
	HEADER_FROM_RESENT_FROM = 3,
	HEADER_FROM_RESENT_SENDER = 4,
};

struct header_from_addr {
	enum header_from_kind kind;
	int in_name;            /* found in a display name or comment */
	char addr[ADDR_BUF];    /* addr_parse()'s form, domain folded */
};

/* "From", "Sender", "Resent-From", "Resent-Sender". */
const char *header_from_kind_name(enum header_from_kind kind);

struct header_from {
	/* Private: where the reader is. */
	int state;              /* in the header section's lines */
	int name_state;         /* in the current field's name */
	int field;              /* the current field's kind, 0: other */
	char name[16];
	size_t name_len;
	size_t header_bytes;
	struct buf value;       /* the current From or Sender, unfolded */

	/* Results: final once done is set. */
	int done;               /* header section over, or an error */
	const char *error;      /* NULL, or a static one-line reason */
	unsigned from_fields;   /* From fields seen (RFC 5322: exactly 1) */
	unsigned sender_fields; /* Sender fields seen (at most 1) */
	size_t naddrs;
	struct header_from_addr *addrs; /* naddrs of them, in header order */
	/* Resent-From and Resent-Sender may come once per resending: they are
	 * not counted, only checked. */
};

/* Starts on a new message: h is fresh or was freed. */
void header_from_init(struct header_from *h);

/*
 * Feeds len bytes of the message as it arrives: unstuffed, lines ending
 * in CRLF.  The header section ends at the first empty line; bytes after
 * it are ignored, and so is anything fed once done is set.  A bare CR, a
 * bare LF or a NUL in the header section is an error.
 */
void header_from_feed(struct header_from *h, const char *p, size_t len);

/*
 * The message ended: finishes a header section that had no body (and no
 * empty line), and sets done.  After it, error is NULL only when at least
 * one From field was found and every From and Sender field parsed: the
 * caller still refuses from_fields != 1 or sender_fields > 1, and checks
 * every address.  When error is set the other results are incomplete.
 */
void header_from_end(struct header_from *h);

/* Releases what h holds; h may then be freed again or initialised. */
void header_from_free(struct header_from *h);

#endif
