/*
 * SipHash-2-4 (Aumasson and Bernstein) under a random key: the hash of
 * the tables keyed by client addresses (connection counts, remembered
 * clients, DNSBL answers), which clients choose (a whole IPv6 /64) and
 * must not be able to pile into one bucket.
 */
#ifndef TERN_SIPHASH_H
#define TERN_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
	uint64_t k0, k1;
};

/* A fresh key from getrandom(); fatal if the kernel gives none. */
void siphash_key_random(struct siphash_key *k);
uint64_t siphash24(const struct siphash_key *k, const void *in, size_t len);

#endif
