/*
 * libFuzzer harness for what outbound delivery takes from a DNS answer to
 * an MX query (net/dns.c dns_mx_reply_parse, on top of c-ares's parser):
 * the input is the answer packet.  Checks that at most DNS_MX_MAX hosts
 * come back, sorted by preference, each NUL-terminated, in lower case and
 * without a final dot.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_mx mx[DNS_MX_MAX];
	size_t n = 99;
	enum dns_status st;

	if (size > 65535)
		return 0;
	st = dns_mx_reply_parse("fuzz.test", data, (int)size, mx, &n);
	if (st != DNS_OK) {
		if (n != 0)
			abort();
		return 0;
	}
	if (n == 0 || n > DNS_MX_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(mx[i].host, sizeof(mx[i].host));
		if (len == sizeof(mx[i].host) || len == 0 ||
		    mx[i].host[len - 1] == '.')
			abort();
		for (size_t j = 0; j < len; j++)
			if (isupper((unsigned char)mx[i].host[j]))
				abort();
		if (i > 0 && mx[i].pref < mx[i - 1].pref)
			abort();
	}
	return 0;
}
