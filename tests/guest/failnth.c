// SPDX-License-Identifier: GPL-2.0-only
/* Allocation failure injection for the calling thread: see failnth.h. */
#include "failnth.h"
#include "harness.h"

#include <fcntl.h>
#include <unistd.h>

#define FAIL_NTH "/proc/thread-self/fail-nth"

int vt_failnth_open(struct vt_failnth *f, char *why, size_t len)
{
	static const char *const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	};

	f->fd = f->probe = -1;
	if (access(FAIL_NTH, F_OK)) {
		snprintf(why, len, "no %s: kernel without CONFIG_FAULT_INJECTION", FAIL_NTH);
		return -1;
	}
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		if (!vt_write_file(knobs[i][0], knobs[i][1])) {
			snprintf(why, len, "%s: %s (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, debugfs?)",
				 knobs[i][0], strerror(errno));
			return -1;
		}
	}
	f->fd = open(FAIL_NTH, O_WRONLY | O_CLOEXEC);
	if (f->fd < 0) {
		snprintf(why, len, "%s: %s", FAIL_NTH, strerror(errno));
		return -1;
	}
	return 0;
}

void vt_failnth_close(struct vt_failnth *f)
{
	if (f->probe >= 0)
		close(f->probe);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = f->probe = -1;
}

static void failnth_set(struct vt_failnth *f, unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n);

	if (write(f->fd, b, len) != len)
		FAIL("fail-nth <- %u: %s", n, strerror(errno));
}

void vt_failnth_arm(struct vt_failnth *f, unsigned int n)
{
	if (f->probe < 0)
		f->probe = open(FAIL_NTH, O_RDONLY | O_CLOEXEC);
	if (f->probe < 0)
		FAIL("%s: %s", FAIL_NTH, strerror(errno));
	failnth_set(f, n);
}

bool vt_failnth_disarm(struct vt_failnth *f)
{
	char b[16] = { 0 };
	ssize_t len;

	/* the verdict first: writing 0 clears it */
	len = read(f->probe, b, sizeof(b) - 1);
	failnth_set(f, 0);
	close(f->probe);
	f->probe = -1;
	if (len <= 0)
		FAIL("fail-nth: read %zd: %s", len, strerror(errno));
	return atoi(b) == 0;
}
