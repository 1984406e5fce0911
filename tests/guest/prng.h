/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The seeded pseudo-random numbers of the torture tests and the fuzzer
 * (xorshift64*): reproducible from the printed seed.
 */
#ifndef VFD_TEST_PRNG_H
#define VFD_TEST_PRNG_H

#include <stdint.h>

static inline uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 2685821657736338717ull;
}

/* Uniform-ish in [0, n); 0 for n == 0. */
static inline uint64_t rndn(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

#endif /* VFD_TEST_PRNG_H */
