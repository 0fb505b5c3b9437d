/*
 * Maildir++ names read from a foreign tree: see maildir_name.h.  Every
 * name is checked before it becomes part of a path, so that no entry of
 * the source can point outside the folder it is copied into.
 */
#include "mailbox/maildir_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
mdname_byte_ok(unsigned char c)
{
	return c >= 0x20 && c != 0x7f && c != '/';
}

int
mdname_folder_ok(const char *name)
{
	size_t len = strlen(name);

	if (len < 2 || len > MDNAME_MAX || name[0] != '.')
		return 0;
	/* An empty component (".", "..x", "x..y", "x.") would be a name
	 * Dovecot cannot show, and ".." is the way out of the Maildir. */
	if (strstr(name, "..") != NULL || name[len - 1] == '.')
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!mdname_byte_ok((unsigned char)name[i]))
			return 0;
	return 1;
}

int
mdname_folder_subscription(const char *folder, char *out, size_t outlen)
{
	size_t len;

	if (folder[0] != '.')
		return -1;
	len = strlen(folder + 1);
	if (len + 1 > outlen)
		return -1;
	for (size_t i = 0; i < len; i++)
		out[i] = folder[1 + i] == '.' ? '\t' : folder[1 + i];
	out[len] = '\0';
	return 0;
}

/* Adds c to the sorted set s (room for max letters and a NUL). */
static void
mdname_set_add(char *s, size_t max, char c)
{
	size_t len = strlen(s), i = 0;

	while (i < len && s[i] < c)
		i++;
	if ((i < len && s[i] == c) || len >= max)
		return;
	memmove(s + i + 1, s + i, len - i + 1);
	s[i] = c;
}

static void
mdname_parse_info(const char *info, struct mdname_msg *m)
{
	for (const char *p = info; *p != '\0'; p++) {
		if (strchr("DFPRST", *p) != NULL)
			mdname_set_add(m->flags, sizeof(m->flags) - 1, *p);
		else if (*p >= 'a' && *p <= 'z')
			mdname_set_add(m->keywords, sizeof(m->keywords) - 1, *p);
	}
}

int
mdname_msg_parse(const char *name, struct mdname_msg *m)
{
	size_t len = strlen(name), blen;
	const char *colon;

	memset(m, 0, sizeof(*m));
	if (len == 0 || len > MDNAME_MAX || name[0] == '.')
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!mdname_byte_ok((unsigned char)name[i]))
			return -1;
	colon = strchr(name, ':');
	blen = colon != NULL ? (size_t)(colon - name) : len;
	if (blen == 0)
		return -1;
	memcpy(m->base, name, blen);
	m->base[blen] = '\0';
	if (colon != NULL && strncmp(colon + 1, "2,", 2) == 0) {
		m->has_info = 1;
		mdname_parse_info(colon + 3, m);
	}
	return 0;
}

/* 1 if the comma field f (len bytes, after the comma) is "X=digits". */
static int
mdname_size_field(const char *f, size_t len, char which)
{
	if (len < 3 || f[0] != which || f[1] != '=')
		return 0;
	for (size_t i = 2; i < len; i++)
		if (f[i] < '0' || f[i] > '9')
			return 0;
	return 1;
}

/* base without its ",S=" (and, when drop_w, ",W=") fields. */
static int
mdname_strip_sizes(const char *base, int drop_w, char *out, size_t outlen)
{
	const char *comma = strchr(base, ',');
	size_t o;

	o = comma != NULL ? (size_t)(comma - base) : strlen(base);
	if (o + 1 > outlen)
		return -1;
	memcpy(out, base, o);
	while (comma != NULL) {
		const char *f = comma + 1, *next = strchr(f, ',');
		size_t flen = next != NULL ? (size_t)(next - f) : strlen(f);
		if (!mdname_size_field(f, flen, 'S') &&
		    !(drop_w && mdname_size_field(f, flen, 'W'))) {
			if (o + 1 + flen + 1 > outlen)
				return -1;
			out[o++] = ',';
			memcpy(out + o, f, flen);
			o += flen;
		}
		comma = next;
	}
	out[o] = '\0';
	return 0;
}

int
mdname_msg_key(const char *base, char *out, size_t outlen)
{
	return mdname_strip_sizes(base, 1, out, outlen);
}

/* The value of the ",S=" field of base; -1 if it has none, -2 if it has
 * one too long to be any file's size. */
static long long
mdname_stated_size(const char *base)
{
	for (const char *c = strchr(base, ','); c != NULL;
	    c = strchr(c + 1, ',')) {
		const char *next = strchr(c + 1, ',');
		size_t flen = next != NULL ? (size_t)(next - c - 1) :
		    strlen(c + 1);
		if (mdname_size_field(c + 1, flen, 'S'))
			return flen <= 2 + 18 ? strtoll(c + 3, NULL, 10) : -2;
	}
	return -1;
}

int
mdname_msg_fix_size(const char *base, off_t size, char *out, size_t outlen)
{
	long long stated = mdname_stated_size(base);
	size_t len = strlen(base);

	if (stated == -1 || stated == (long long)size) {
		if (len + 1 > outlen)
			return -1;
		memcpy(out, base, len + 1);
		return 0;
	}
	return mdname_strip_sizes(base, 1, out, outlen);
}

int
mdname_msg_name(const char *base, const char *flags, const char *keywords,
    int with_info, char *out, size_t outlen)
{
	int n;

	if (with_info)
		n = snprintf(out, outlen, "%s:2,%s%s", base, flags, keywords);
	else
		n = snprintf(out, outlen, "%s", base);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
