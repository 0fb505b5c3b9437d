/*
 * The DATA reader: a resumable state machine that finds the end of the
 * message (CRLF . CRLF), undoes dot-stuffing, and notes what the policy
 * refuses: bare LF, bare CR (the SMTP smuggling family, CVE-2023-51764) and
 * NUL bytes.  Only CRLF . CRLF ends the message: LF . LF or CR . CR never
 * does, so a smuggled second message stays inside the refused first one.
 */
#ifndef TERN_DATA_READER_H
#define TERN_DATA_READER_H

#include <stddef.h>
#include <stdint.h>

#define DATA_BARE_LF 0x01
#define DATA_BARE_CR 0x02
#define DATA_NUL     0x04

/* Room the output needs beyond the input length for bytes held back
 * across calls (a pending CR, a pending dot at the start of a line). */
#define DATA_READER_SLACK 8

struct data_reader {
	int state;              /* private */
	unsigned flags;         /* DATA_BARE_LF | DATA_BARE_CR | DATA_NUL seen */
	uint64_t size;          /* message bytes written out so far */
};

void data_reader_init(struct data_reader *r);

/*
 * Feeds len bytes.  Writes the unstuffed message bytes to out (room for
 * len + DATA_READER_SLACK bytes) and their count to *outlen_r.  Returns the
 * number of input bytes consumed: all of them, unless the end of the
 * message was found, in which case *done_r is set to 1 and the bytes after
 * the final CRLF . CRLF are left unconsumed (they are the next command).
 * The message written out ends with the CRLF before the final dot.
 */
size_t data_reader_feed(struct data_reader *r, const char *in, size_t len,
    char *out, size_t *outlen_r, int *done_r);

#endif
