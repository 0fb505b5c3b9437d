/*
 * The Sendmail milter protocol, version 6, as Postfix speaks it (the MTA
 * side): packet framing, the packets tern writes, and the checks of every
 * packet a milter sends back.  Pure code over byte arrays, so that it can
 * be unit-tested and fuzzed; trusts nothing the milter sends: every length
 * is checked against the packet and against a bound before use.
 *
 * A packet is a 32-bit length in network order (counting the command
 * byte), the command byte, then the data.
 */
#ifndef TERN_MILTER_PROTO_H
#define TERN_MILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define MILTER_VERSION     6
#define MILTER_CHUNK_MAX   65535        /* body chunk: libmilter's limit */
/* The largest reply packet read: a body replacement chunk or a header
 * field of MSG_EDIT_FIELD_MAX, with room to spare.  Postfix allows far
 * more (INT_MAX / 2); nothing a real milter sends comes near this. */
#define MILTER_PKT_MAX     (256 * 1024)
#define MILTER_SYMLIST_MAX 1024         /* one SMFIR_SETSYMLIST list */

/* Commands, MTA to milter. */
#define SMFIC_ABORT   'A'
#define SMFIC_BODY    'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO   'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO    'H'
#define SMFIC_HEADER  'L'
#define SMFIC_MAIL    'M'
#define SMFIC_EOH     'N'
#define SMFIC_OPTNEG  'O'
#define SMFIC_QUIT    'Q'
#define SMFIC_RCPT    'R'
#define SMFIC_DATA    'T'

/* Replies, milter to MTA. */
#define SMFIR_ADDRCPT     '+'
#define SMFIR_DELRCPT     '-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN    '4'
#define SMFIR_ACCEPT      'a'
#define SMFIR_REPLBODY    'b'
#define SMFIR_CONTINUE    'c'
#define SMFIR_DISCARD     'd'
#define SMFIR_CHGFROM     'e'
#define SMFIR_CONN_FAIL   'f'
#define SMFIR_ADDHEADER   'h'
#define SMFIR_INSHEADER   'i'
#define SMFIR_CHGHEADER   'm'
#define SMFIR_PROGRESS    'p'
#define SMFIR_QUARANTINE  'q'
#define SMFIR_REJECT      'r'
#define SMFIR_SKIP        's'
#define SMFIR_TEMPFAIL    't'
#define SMFIR_REPLYCODE   'y'

/* Actions a milter may ask for (SMFIF_*); tern offers them all. */
#define SMFIF_ADDHDRS     0x001u
#define SMFIF_CHGBODY     0x002u
#define SMFIF_ADDRCPT     0x004u
#define SMFIF_DELRCPT     0x008u
#define SMFIF_CHGHDRS     0x010u
#define SMFIF_QUARANTINE  0x020u
#define SMFIF_CHGFROM     0x040u
#define SMFIF_ADDRCPT_PAR 0x080u
#define SMFIF_SETSYMLIST  0x100u
#define MILTER_ACTIONS    0x1ffu

/* Protocol steps (SMFIP_*): events not to send, replies not to wait for. */
#define SMFIP_NOCONNECT   0x000001u
#define SMFIP_NOHELO      0x000002u
#define SMFIP_NOMAIL      0x000004u
#define SMFIP_NORCPT      0x000008u
#define SMFIP_NOBODY      0x000010u
#define SMFIP_NOHDRS      0x000020u
#define SMFIP_NOEOH       0x000040u
#define SMFIP_NR_HDR      0x000080u
#define SMFIP_NOUNKNOWN   0x000100u
#define SMFIP_NODATA      0x000200u
#define SMFIP_SKIP        0x000400u
#define SMFIP_RCPT_REJ    0x000800u
#define SMFIP_NR_CONN     0x001000u
#define SMFIP_NR_HELO     0x002000u
#define SMFIP_NR_MAIL     0x004000u
#define SMFIP_NR_RCPT     0x008000u
#define SMFIP_NR_DATA     0x010000u
#define SMFIP_NR_UNKN     0x020000u
#define SMFIP_NR_EOH      0x040000u
#define SMFIP_NR_BODY     0x080000u
#define SMFIP_HDR_LEADSPC 0x100000u
/* What Postfix offers for version 6: every step above. */
#define MILTER_PROTOCOL   0x1fffffu

/* Macro classes of SMFIR_SETSYMLIST (SMFIM_*). */
enum milter_macro_class {
	SMFIM_CONNECT, SMFIM_HELO, SMFIM_ENVFROM, SMFIM_ENVRCPT, SMFIM_DATA,
	SMFIM_EOM, SMFIM_EOH, MILTER_MACRO_CLASSES
};

/* One packet as read: data points into the caller's bytes. */
struct milter_pkt {
	char cmd;
	const uint8_t *data;
	size_t len;
};

enum { MILTER_ERR = -1, MILTER_NEED = 0, MILTER_DONE = 1 };

/* Frames one packet at the start of in (n bytes available): MILTER_DONE
 * with *pkt and *used (bytes the packet took), MILTER_NEED when more bytes
 * must come, MILTER_ERR with why (a length of 0 or past MILTER_PKT_MAX). */
int milter_pkt_take(const uint8_t *in, size_t n, struct milter_pkt *pkt,
    size_t *used, char *why, size_t whylen);

/* Writing: begin a packet, append fields, end it (fills the length).
 * Each returns 0, or -1 when out's maximum would be passed. */
int milter_put_begin(struct buf *out, char cmd, size_t *start_r);
int milter_put_u32(struct buf *out, uint32_t v);
int milter_put_u16(struct buf *out, uint16_t v);
int milter_put_str(struct buf *out, const char *s);     /* with its NUL */
int milter_put_bytes(struct buf *out, const void *p, size_t n);
void milter_put_end(struct buf *out, size_t start);

/* The milter's answer to SMFIC_OPTNEG. */
struct milter_optneg {
	uint32_t version, actions, protocol;
	/* SMFIR_SETSYMLIST lists, "" when the milter sent none for a class */
	int has_list[MILTER_MACRO_CLASSES];
	char list[MILTER_MACRO_CLASSES][MILTER_SYMLIST_MAX];
};
/* Checks the reply as Postfix does: version 2..6, only actions and steps
 * tern offered; 0 or -1 with why. */
int milter_optneg_parse(const struct milter_pkt *pkt,
    struct milter_optneg *o, char *why, size_t whylen);

/* The NUL-terminated strings of a packet's data, from offset skip: up to
 * max of them into v; every string must end with its NUL and nothing may
 * follow the last.  Returns how many, or -1. */
int milter_strings(const struct milter_pkt *pkt, size_t skip,
    const char **v, size_t max);
/* The 32-bit number at the start of a packet's data; 0 or -1. */
int milter_u32(const struct milter_pkt *pkt, uint32_t *v);

/* A SMFIR_REPLYCODE text made into an SMTP reply (lines joined by CRLF,
 * no final CRLF) in out: every line "[45]NN" then '-' (all but the last)
 * or ' ' (the last) or nothing, all with the same code, printable ASCII;
 * "%%" becomes "%" (Sendmail's format-string escape) as Postfix does.
 * 0, or -1 with why. */
int milter_reply_text(const struct milter_pkt *pkt, char *out,
    size_t outlen, char *why, size_t whylen);

/* The name of a reply byte for logs ("SMFIR_ACCEPT"), or NULL. */
const char *milter_reply_name(char cmd);

#endif
