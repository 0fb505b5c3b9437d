/*
 * UTF-8 characters: see utf8.h.  Reads at most n bytes of its input.
 */
#include "util/utf8.h"

size_t
utf8_char(const unsigned char *p, size_t n, int flags, unsigned long *cp_r)
{
	static const unsigned long min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned long cp;
	size_t len;

	if (p[0] < 0x80)
		len = 1, cp = p[0];
	else if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if ((flags & UTF8_NO_C1) && cp >= 0x80 && cp <= 0x9f)
		return 0;
	if (cp_r != NULL)
		*cp_r = cp;
	return len;
}
