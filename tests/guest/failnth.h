/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Allocation failure injection for the calling thread, on kernels with
 * CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC (the
 * debug kernels): /proc/thread-self/fail-nth makes the N-th allocation
 * the thread makes from then on fail, in slab (failslab) or the page
 * allocator (fail_page_alloc).  Both keep probability 0, so nothing else in
 * the guest ever fails.
 */
#ifndef VFD_TEST_FAILNTH_H
#define VFD_TEST_FAILNTH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * fail-nth cannot seek, so each arming reads the verdict through a fresh
 * fd, opened before the failure is armed (opening allocates).
 */
struct vt_failnth {
	int fd;		/* arms and disarms */
	int probe;	/* reads the verdict of one arming */
};

/*
 * Open fail-nth for the calling thread and let it reach every allocation:
 * failslab and fail_page_alloc also fail sleeping allocations and order-0
 * pages, and print nothing (verbose 0: no stack dump per failure, which the
 * runner would take for a splat).  Returns 0, or -1 with a reason in @why
 * when the kernel cannot inject.
 */
int vt_failnth_open(struct vt_failnth *f, char *why, size_t len);
void vt_failnth_close(struct vt_failnth *f);
/* Make the @n-th allocation of this thread from now on fail. */
void vt_failnth_arm(struct vt_failnth *f, unsigned int n);
/* Disarm; true if a failure was injected since vt_failnth_arm(). */
bool vt_failnth_disarm(struct vt_failnth *f);

#endif /* VFD_TEST_FAILNTH_H */
