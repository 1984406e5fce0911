/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small test harness for the guest test programs, in the spirit of the
 * kernel's kselftest_harness.h: TEST(name) { ... } registers a test; each
 * test runs in its own forked child with a timeout, so a crash or a hang
 * is one failed test, not a lost run.  Output is KTAP-like, one line per
 * test ("ok 3 name", "not ok 4 name # why", "ok 5 name # SKIP why"), which
 * tests/harness/run-vm.sh parses.
 *
 * Environment: VFD_TEST_FILTER (fnmatch glob on "program/test"),
 * VFD_TEST_TIMEOUT (seconds per test, default 120).
 */
#ifndef VFD_TEST_HARNESS_H
#define VFD_TEST_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*vt_fn)(void);

void vt_register(const char *name, vt_fn fn, unsigned int timeout_s);
/* Report and end the current test (in the child). */
__attribute__((noreturn, format(printf, 3, 4)))
void vt_fail(const char *file, int line, const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2)))
void vt_skip(const char *fmt, ...);
/* A detail for the passing test's result line ("ok 3 name # detail"):
 * what was measured, or what passed with a known exception.  Call it at
 * the end of the test (a later FAIL appends its reason to it); the
 * detail must not start with "SKIP". */
__attribute__((format(printf, 1, 2)))
void vt_note(const char *fmt, ...);
/* Diagnostic line ("# ..."), shown in the console log. */
__attribute__((format(printf, 1, 2)))
void vt_info(const char *fmt, ...);

/*
 * Lifetime of what a test sets up.  The runner calls the test function,
 * and only after it has returned runs the test's deferred clean-ups
 * (FAIL() and SKIP() run them from inside the test, then end it), so an
 * object that a clean-up is given must outlive the test function's stack
 * frame.  Such objects live on the test's arena: fixtures that defer
 * their own clean-up (fx_open(), ...) return pointers to arena memory.
 * Both calls below belong to the test's main thread, like FAIL().
 */

/*
 * @n zeroed bytes on the test's arena, aligned for any type.  They stay
 * valid until the test's deferred clean-ups have run, then they are freed
 * (and the test's process exits).  FAILs the test when memory runs out.
 */
void *vt_calloc(size_t n);

/*
 * Register @fn(@arg), run at the end of the test, also after a FAIL or a
 * SKIP; the last registered runs first.  @arg is NULL, arena, heap or
 * static memory, never the stack, where it would be a dead frame by the
 * time @fn runs: vt_defer() FAILs the test, saying so, when @arg points
 * into the stack of the test's main thread (the only thread that may
 * call it).
 */
#define vt_defer(fn, arg) vt_defer_at(__FILE__, __LINE__, #fn, #arg, fn, arg)
void vt_defer_at(const char *file, int line, const char *fn_name, const char *arg_name,
		 void (*fn)(void *), void *arg);

/* Write @s to the file @path (a /proc or /sys knob): false, with errno set,
 * if it could not be opened or written. */
bool vt_write_file(const char *path, const char *s);

/*
 * Run @fn in a child process that dies with the test, and wait for it:
 * returns its wait status.  For tests that must clean up after a crash
 * (e.g. restore a module parameter) before reporting.
 */
int vt_run_child(void (*fn)(void));
/* End the test as that child did: return if it passed, pass its FAIL or
 * SKIP on, FAIL if a signal killed it (@what: who, and how to reproduce). */
void vt_child_result(int status, const char *what);

#define TEST_TIMEOUT(name, secs)					\
	static void vt_test_##name(void);				\
	__attribute__((constructor)) static void vt_reg_##name(void)	\
	{ vt_register(#name, vt_test_##name, secs); }			\
	static void vt_test_##name(void)
#define TEST(name) TEST_TIMEOUT(name, 0)

#define FAIL(...) vt_fail(__FILE__, __LINE__, __VA_ARGS__)
#define SKIP(...) vt_skip(__VA_ARGS__)

#define ASSERT_TRUE(c) do {						\
	if (!(c))							\
		FAIL("%s is false", #c);				\
} while (0)
#define ASSERT_FALSE(c) ASSERT_TRUE(!(c))

#define VT_CMP(a, op, b) do {						\
	long long vt_a = (long long)(a), vt_b = (long long)(b);	\
	if (!(vt_a op vt_b))						\
		FAIL("%s %s %s: %lld (0x%llx) vs %lld (0x%llx)",	\
		     #a, #op, #b, vt_a, (unsigned long long)vt_a,	\
		     vt_b, (unsigned long long)vt_b);			\
} while (0)
#define ASSERT_EQ(a, b) VT_CMP(a, ==, b)
#define ASSERT_NE(a, b) VT_CMP(a, !=, b)
#define ASSERT_GE(a, b) VT_CMP(a, >=, b)
#define ASSERT_GT(a, b) VT_CMP(a, >, b)
#define ASSERT_LE(a, b) VT_CMP(a, <=, b)
#define ASSERT_LT(a, b) VT_CMP(a, <, b)

/* A library or syscall call that must succeed (returns >= 0). */
#define ASSERT_OK(expr) do {						\
	long long vt_r = (long long)(expr);				\
	if (vt_r < 0)							\
		FAIL("%s failed: %lld (%s)", #expr, vt_r,		\
		     strerror(vt_r == -1 ? errno : (int)-vt_r));	\
} while (0)

/* A raw ioctl/syscall that must fail with errno @e. */
#define ASSERT_ERRNO(expr, e) do {					\
	errno = 0;							\
	long long vt_r = (long long)(expr);				\
	int vt_e = errno;						\
	if (vt_r != -1 || vt_e != (e))					\
		FAIL("%s: expected -1/%s, got %lld/%s", #expr,		\
		     strerrorname(e), vt_r, strerrorname(vt_e));	\
} while (0)

/* A library call that must return -@e. */
#define ASSERT_NEG(expr, e) do {					\
	long long vt_r = (long long)(expr);				\
	if (vt_r != -(e))						\
		FAIL("%s: expected -%s, got %lld (%s)", #expr,		\
		     strerrorname(e), vt_r,				\
		     vt_r < 0 ? strerrorname((int)-vt_r) : "success");	\
} while (0)

const char *strerrorname(int e);

#endif /* VFD_TEST_HARNESS_H */
