/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The IOMMU fault reports of the kernel log, for the demo: what the kernel
 * logged while the device tried an access that the IOMMU had to block.
 * Needs /dev/kmsg (root, or CAP_SYSLOG with kernel.dmesg_restrict).
 */
#ifndef VFD_TOOLS_KMSG_WATCH_H
#define VFD_TOOLS_KMSG_WATCH_H

#include <stddef.h>

struct kmsg_watch {
	int fd;
};

/* Start watching: only messages logged from now on count.  0 or -errno. */
int kmsg_watch_start(struct kmsg_watch *w);

/*
 * Wait up to @ms for a message that reports an IOMMU fault, then collect
 * the lines the IOMMU driver adds within a short while (arm-smmu-v3
 * prints the event's words on the lines after the first).  Writes them,
 * one per line without the kernel's prefix, into @out.  Returns the
 * number of lines, 0 if no fault was reported in time.
 *
 * A fault report is a line matching $VFD_FAULT_PATTERN (an extended
 * regex, set by the project's test guests) or, without it, one of the
 * reports of intel-iommu, AMD-Vi, arm-smmu-v3 and virtio-iommu.
 */
int kmsg_watch_fault(struct kmsg_watch *w, unsigned int ms, char *out,
		     size_t len);

void kmsg_watch_stop(struct kmsg_watch *w);

#endif /* VFD_TOOLS_KMSG_WATCH_H */
