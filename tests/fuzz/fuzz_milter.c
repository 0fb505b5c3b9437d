/*
 * libFuzzer harness for what tern reads from a milter (milter_proto.c):
 * the input is framed into packets as the connection does, and each
 * packet is given to every parser a reply may reach: the negotiation
 * reply, a custom reply text, the strings and index of a modification.
 * Checks that a framed packet lies inside the input and that an accepted
 * reply text is printable ASCII with lines joined by CRLF.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/milter_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reply(const struct milter_pkt *p)
{
	char out[2048], why[128];

	if (milter_reply_text(p, out, sizeof(out), why, sizeof(why)) < 0)
		return;
	if (out[0] != '4' && out[0] != '5')
		abort();
	for (const char *c = out; *c; c++) {
		if (*c == '\r' && c[1] == '\n') {
			c++;
			continue;
		}
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			abort();
	}
}

static void
check_packet(const struct milter_pkt *p)
{
	struct milter_optneg o;
	const char *v[4];
	uint32_t u;
	char why[128];
	int n;

	(void)milter_optneg_parse(p, &o, why, sizeof(why));
	for (int i = 0; i < MILTER_MACRO_CLASSES; i++)
		if (strlen(o.list[i]) >= MILTER_SYMLIST_MAX)
			abort();
	check_reply(p);
	n = milter_strings(p, 0, v, 4);
	for (int i = 0; i < n; i++)
		if ((const uint8_t *)v[i] < p->data ||
		    (const uint8_t *)v[i] + strlen(v[i]) >= p->data + p->len)
			abort();
	if (milter_u32(p, &u) == 0)
		(void)milter_strings(p, 4, v, 4);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct milter_pkt p;
		size_t used;
		char why[128];

		if (milter_pkt_take(data + off, size - off, &p, &used, why,
		    sizeof(why)) != MILTER_DONE)
			break;
		if (used > size - off || p.data + p.len != data + off + used)
			abort();
		check_packet(&p);
		off += used;
	}
	return 0;
}
