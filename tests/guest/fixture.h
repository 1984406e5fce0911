/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fixtures shared by the guest tests: a container with an edu device,
 * DMA round trips checked byte for byte, and a watcher of the kernel log
 * that proves an IOMMU fault was reported.
 */
#ifndef VFD_TEST_FIXTURE_H
#define VFD_TEST_FIXTURE_H

#include "harness.h"

#include <vfio-dmabuf.h>
#include <vfio-dmabuf/edu.h>

struct fx {
	struct vfd_container *c;
	struct vfd_edu *edu;
	char name[64];
	struct vfd_iommu_info info;
};

/* Open a type1 container and edu device number @index (0 or 1); FAILs (or
 * SKIPs when the guest has no such device).  Closed at the end of the test. */
void fx_open(struct fx *fx, unsigned int index);
/* Add edu device @index to an open container (second group). */
struct vfd_edu *fx_add_edu(struct fx *fx, unsigned int index);
int fx_cfd(const struct fx *fx);
/* Minimum IOMMU page size of the container. */
uint64_t fx_pgsize(const struct fx *fx);
/* Is [iova, iova + size) inside one usable IOVA range? */
bool fx_iova_usable(const struct fx *fx, uint64_t iova, uint64_t size);
/* The lowest usable, @size-aligned IOVA at or above @min. */
uint64_t fx_iova_at_or_above(const struct fx *fx, uint64_t min, uint64_t size);

/* Anonymous, populated, page-aligned memory; unmapped at test end. */
void *fx_alloc(size_t size);

void fx_fill(void *buf, size_t len, uint32_t seed);
/* Index of the first byte that differs from the pattern, or -1. */
long fx_check(const void *buf, size_t len, uint32_t seed);

/*
 * Device round trip through the IOMMU: the device reads @len bytes at
 * @src_iova into its buffer, then writes them back to @dst_iova.  The CPU
 * filled @src_cpu with pattern @seed before; the caller checks @dst_cpu.
 */
void fx_edu_roundtrip(struct vfd_edu *e, uint64_t src_iova, uint64_t dst_iova,
		      uint32_t len);
/* The device writes @len bytes of its buffer (first loaded from @src_iova)
 * to @dst_iova; returns the library's result (the DMA itself "completes"
 * even when the IOMMU blocks it). */
int fx_edu_write(struct vfd_edu *e, uint64_t dst_iova, uint32_t len);

/* Kernel log watcher: start before the DMA, then expect a fault line. */
struct fx_kmsg {
	int fd;
};
void fx_kmsg_start(struct fx_kmsg *k);
/* Wait up to @ms for a kernel log line matching VFD_FAULT_PATTERN.
 * Returns true and the line in @line if found. */
bool fx_kmsg_fault(struct fx_kmsg *k, unsigned int ms, char *line, size_t len);
/* Wait up to @ms for a kernel log line containing @needle. */
bool fx_kmsg_grep(struct fx_kmsg *k, const char *needle, unsigned int ms,
		  char *line, size_t len);

#endif /* VFD_TEST_FIXTURE_H */
