/*
 * SipHash-2-4: see siphash.h.  Input words are read little-endian, as
 * the reference implementation does, whatever the machine.
 */
#include "util/siphash.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "util/log.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {                                                   \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);       \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                          \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                          \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);       \
} while (0)

void
siphash_key_random(struct siphash_key *k)
{
	ssize_t r;

	while ((r = getrandom(k, sizeof(*k), 0)) != (ssize_t)sizeof(*k))
		if (r >= 0 || errno != EINTR)
			fatal("getrandom: %s", r < 0 ? strerror(errno) :
			    "short read");
}

static uint64_t
siphash_le64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t
siphash24(const struct siphash_key *k, const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t v0 = k->k0 ^ 0x736f6d6570736575ULL, v1 = k->k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k->k0 ^ 0x6c7967656e657261ULL, v3 = k->k1 ^ 0x7465646279746573ULL;
	uint64_t m;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		m = siphash_le64(in + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	m = siphash_le64(in + i, len - i) | ((uint64_t)(len & 0xff) << 56);
	v3 ^= m;
	SIPROUND;
	SIPROUND;
	v0 ^= m;
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
