// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fuzzer's knobs, from the environment or the kernel command line:
 * VFD_FUZZ_CALLS, VFD_FUZZ_SEED and VFD_FUZZ_FAIL_PCT (see fuzz.h).
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include "knob.h"

#include <time.h>

uint64_t ncalls(void)
{
	static unsigned long long n;

	if (!n && (!vt_knob("VFD_FUZZ_CALLS", &n) || !n))
		n = 20000;
	return n;
}

/* VFD_FUZZ_FAIL_PCT: percent of calls with an injected allocation failure */
unsigned int fail_pct(void)
{
	unsigned long long pct;

	if (!vt_knob("VFD_FUZZ_FAIL_PCT", &pct))
		pct = 10;
	return pct > 100 ? 100 : (unsigned int)pct;
}

unsigned int fuzz_timeout(void)
{
	return 120 + (unsigned int)(ncalls() / 100);
}

/* VFD_FUZZ_SEED, or one from the clock, the same for the whole test */
unsigned long long fuzz_seed(void)
{
	static unsigned long long seed;

	if (!seed && (!vt_knob("VFD_FUZZ_SEED", &seed) || !seed))
		seed = (unsigned long long)time(NULL) * 2654435761u ^ (unsigned long long)getpid();
	return seed;
}
