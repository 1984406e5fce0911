/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tiny TAP-style test framework: one line per test,
 *   ok N name  /  not ok N name   (+ "# ..." diagnostics on failure)
 * and "1..N" at the end.  main() returns non-zero if any test failed.
 */
#ifndef VFD_TAP_H
#define VFD_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct tap_state {
	int n, failed, cur_failed;
	const char *cur_name;
	const char *skip;
};
static struct tap_state tap;

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__,  \
			       __LINE__, #cond);                           \
			tap.cur_failed = 1;                                \
		}                                                          \
	} while (0)

#define CHECK_EQ(a, b)                                                     \
	do {                                                               \
		long long va_ = (long long)(a), vb_ = (long long)(b);      \
		if (va_ != vb_) {                                          \
			printf("#   %s:%d: %s == %s failed: %lld != %lld\n", \
			       __FILE__, __LINE__, #a, #b, va_, vb_);      \
			tap.cur_failed = 1;                                \
		}                                                          \
	} while (0)

#define CHECK_U64(a, b)                                                    \
	do {                                                               \
		uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);         \
		if (va_ != vb_) {                                          \
			printf("#   %s:%d: %s == %s failed: 0x%" PRIx64      \
			       " != 0x%" PRIx64 "\n", __FILE__, __LINE__,  \
			       #a, #b, va_, vb_);                          \
			tap.cur_failed = 1;                                \
		}                                                          \
	} while (0)

#define CHECK_STR_HAS(s, needle)                                           \
	do {                                                               \
		const char *s_ = (s);                                      \
		if (!s_ || !strstr(s_, (needle))) {                        \
			printf("#   %s:%d: \"%s\" does not contain \"%s\"\n", \
			       __FILE__, __LINE__, s_ ? s_ : "(null)",     \
			       (needle));                                  \
			tap.cur_failed = 1;                                \
		}                                                          \
	} while (0)

/* Mark the running test as skipped (with a reason). */
#define SKIP(reason) (tap.skip = (reason))

static inline void tap_run(void (*fn)(void), const char *name)
{
	tap.cur_failed = 0;
	tap.cur_name = name;
	tap.skip = NULL;
	fflush(stdout);
	fn();
	tap.n++;
	if (tap.skip)
		printf("ok %d %s # SKIP %s\n", tap.n, name, tap.skip);
	else if (tap.cur_failed)
		printf("not ok %d %s\n", tap.n, name);
	else
		printf("ok %d %s\n", tap.n, name);
	if (tap.cur_failed)
		tap.failed++;
	fflush(stdout);
}

#define RUN(fn) tap_run(fn, #fn)

static inline int tap_done(void)
{
	printf("1..%d\n", tap.n);
	if (tap.failed)
		printf("# %d of %d tests FAILED\n", tap.failed, tap.n);
	return tap.failed ? 1 : 0;
}

#endif
