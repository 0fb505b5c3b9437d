/*
 * Base64: see base64.h.  The input comes from the network (AUTH): every
 * length is checked before it is used.
 */
#include "util/base64.h"

#include <stdint.h>

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	size_t o = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			/* '=' only at the end, and only as the last one or two. */
			if (c == '=' && i + 4 == len && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad > 0 || (v[k] = base64_value(c)) < 0)
				return -1;
		}
		uint32_t n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Canonical: the bits the padding hides must be zero. */
		if ((pad == 1 && (n & 0xff)) || (pad == 2 && (n & 0xffff)))
			return -1;
		size_t bytes = 3 - (size_t)pad;
		if (o + bytes > outlen)
			return -1;
		out[o++] = (unsigned char)(n >> 16);
		if (bytes > 1)
			out[o++] = (unsigned char)(n >> 8);
		if (bytes > 2)
			out[o++] = (unsigned char)n;
	}
	return (long)o;
}

int
base64_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3 || (len + 2) / 3 * 4 + 1 > outlen)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t n = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			n |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			n |= in[i + 2];
		out[o++] = b64[n >> 18 & 63];
		out[o++] = b64[n >> 12 & 63];
		out[o++] = i + 1 < len ? b64[n >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64[n & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}
