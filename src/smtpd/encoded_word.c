/*
 * RFC 2047 encoded-words, decoded as leniently as the mail readers that
 * will show them: the charset is not converted (an address is ASCII in
 * every charset a reader shows as text), base64 skips what is not in its
 * alphabet and needs no padding, Q takes '_' for a space and "=XX" for a
 * byte.  Being lenient is the point: the decoded text is searched for
 * addresses a reader would display, so it must see at least what a reader
 * sees.  Trusts nothing in its input; never writes past len bytes.
 */
#include "smtpd/encoded_word.h"

#include <string.h>

#include "util/base64.h"

#define EW_CHARSET_MAX 75       /* RFC 2047 2: a whole word is at most 75 */
/* The encoded text looked at for its end: lenient (RFC 2047 allows 75
 * for the whole word), yet bounded, so that a field of unclosed "=?"
 * starts costs time in proportion to its length, not its square. */
#define EW_TEXT_MAX 1024

static int
ew_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Base64 text of len bytes to out; returns the bytes written (at most
 * len * 3 / 4). */
static size_t
ew_decode_b(const unsigned char *p, size_t len, char *out)
{
	unsigned acc = 0, bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len && p[i] != '='; i++) {
		int v = base64_value(p[i]);

		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

/* Q text of len bytes to out; returns the bytes written (at most len). */
static size_t
ew_decode_q(const unsigned char *p, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (p[i] == '_')
			out[o++] = ' ';
		else if (p[i] == '=' && i + 2 < len &&
		    (hi = ew_hex_value(p[i + 1])) >= 0 &&
		    (lo = ew_hex_value(p[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = (char)p[i];
	}
	return o;
}

/*
 * An encoded-word at p (len bytes available, p[0] '=' and p[1] '?'):
 * its length, with the decoded bytes written to out, or 0 when it is not
 * one.
 */
static size_t
ew_word(const unsigned char *p, size_t len, char *out, size_t *outlen_r)
{
	size_t i = 2, text;
	unsigned char enc;

	while (i < len && i - 2 <= EW_CHARSET_MAX && p[i] != '?' &&
	    p[i] > ' ' && p[i] < 127)
		i++;
	if (i == 2 || i + 2 >= len || p[i] != '?' || p[i + 2] != '?')
		return 0;
	enc = p[i + 1];
	if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q')
		return 0;
	text = i + 3;
	for (i = text; i + 1 < len && i - text <= EW_TEXT_MAX; i++) {
		if (p[i] == '?' && p[i + 1] == '=')
			break;
		if (p[i] <= ' ' || p[i] >= 127)
			return 0;
	}
	if (i + 1 >= len || p[i] != '?' || p[i + 1] != '=')
		return 0;
	*outlen_r = (enc == 'B' || enc == 'b') ?
	    ew_decode_b(p + text, i - text, out) :
	    ew_decode_q(p + text, i - text, out);
	return i + 2;
}

size_t
encoded_word_decode(const char *in, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0, after_word = 0;
	int last_was_word = 0;

	while (i < len) {
		size_t n, wlen;

		if (p[i] == '=' && i + 1 < len && p[i + 1] == '?' &&
		    (n = ew_word(p + i, len - i, out + o, &wlen)) > 0) {
			/* Only white space since the last word: it goes, and
			 * this word's bytes move back over it. */
			if (last_was_word && o > after_word) {
				memmove(out + after_word, out + o, wlen);
				o = after_word;
			}
			o += wlen;
			i += n;
			after_word = o;
			last_was_word = 1;
			continue;
		}
		if (p[i] != ' ' && p[i] != '\t')
			last_was_word = 0;
		out[o++] = (char)p[i++];
	}
	return o;
}
