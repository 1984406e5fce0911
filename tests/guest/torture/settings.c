// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a torture test runs with: the VFD_TORTURE_* knobs (see torture.h)
 * and, for the tests that need one, a module parameter changed for the
 * test's body only.
 */
#define _GNU_SOURCE
#include "torture.h"

#include "knob.h"

/* VFD_<name> from the environment, else from /proc/cmdline, else @def. */
static unsigned long long env_knob(const char *name, unsigned long long def)
{
	unsigned long long v;

	return vt_knob(name, &v) ? v : def;
}

unsigned int scale(void)
{
	static unsigned int s;

	if (!s) {
		unsigned long long v = env_knob("VFD_TORTURE_SCALE", 1);

		s = v < 1 ? 1 : v > 1000 ? 1000 : (unsigned int)v;
	}
	return s;
}

/* Test timeout: @base seconds per unit of scale. */
unsigned int tmo(unsigned int base)
{
	return base * scale();
}

uint64_t seed_for(const char *test)
{
	uint64_t s = env_knob("VFD_TORTURE_SEED", 0), h = 1469598103934665603ull;

	for (const char *c = test; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ull;
	return (s ? s : 1) ^ h;
}

/*
 * Run @body in a child process and restore the parameter @p here, whatever
 * happens to the child, a crash included: a parameter left changed would
 * break the tests that follow.  The child dies with this process (the
 * harness kills this one on a timeout).
 */
void with_param(const struct fx_param *p, void (*body)(void))
{
	int st = vt_run_child(body);

	fx_param_restore(p);
	vt_child_result(st, "the test's child");
}
