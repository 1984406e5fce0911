/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IOVA allocator: pure logic, no system calls, no locking (the container
 * lock protects it).  Tracks the usable IOVA ranges and the used blocks;
 * hands out blocks that honour the minimum IOMMU page size and a
 * requested alignment and never overlap.
 */
#ifndef VFD_IOVA_ALLOC_H
#define VFD_IOVA_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "vfio-dmabuf.h"

#define VFD_HIDDEN __attribute__((visibility("hidden")))

struct vfd_iova_block {
	uint64_t start;
	uint64_t last;		/* inclusive */
};

struct vfd_iova_alloc {
	struct vfd_iova_range *ranges;	/* usable, sorted, disjoint */
	size_t nr_ranges;
	uint64_t min_page;		/* power of two */
	uint64_t lo, hi;		/* allocation window (inclusive) */
	struct vfd_iova_block *used;	/* sorted, disjoint */
	size_t nr_used, cap_used;
};

/* Initialise with usable @ranges (any order; they are sorted and merged;
 * start > end is -EINVAL) and the IOMMU page size bitmap @pgsizes (its
 * lowest bit is the minimum page size; 0 = 4096). */
VFD_HIDDEN int vfd_iova_init(struct vfd_iova_alloc *a,
			     const struct vfd_iova_range *ranges, size_t n,
			     uint64_t pgsizes, struct vfd_error *e);
VFD_HIDDEN void vfd_iova_destroy(struct vfd_iova_alloc *a);

/* Replace the usable ranges, keeping the used blocks (which may now lie
 * outside them: they stay reserved until freed). */
VFD_HIDDEN int vfd_iova_set_ranges(struct vfd_iova_alloc *a,
				   const struct vfd_iova_range *ranges,
				   size_t n, struct vfd_error *e);

/* Allocations only come from [lo, hi] (intersected with previous). */
VFD_HIDDEN int vfd_iova_restrict(struct vfd_iova_alloc *a, uint64_t lo,
				 uint64_t hi, struct vfd_error *e);

/* Allocate @size bytes (multiple of min_page) aligned to @align (power of
 * two; 0 or less than min_page = min_page).  Lowest fit; never returns
 * IOVA 0.  -EINVAL bad size/align, -ENOSPC no room. */
VFD_HIDDEN int vfd_iova_alloc(struct vfd_iova_alloc *a, uint64_t size,
			      uint64_t align, uint64_t *iova,
			      struct vfd_error *e);

/* Reserve exactly [iova, iova+size): -EINVAL unaligned/zero/overflow,
 * -ERANGE not inside one usable range, -EEXIST overlaps a used block. */
VFD_HIDDEN int vfd_iova_reserve(struct vfd_iova_alloc *a, uint64_t iova,
				uint64_t size, struct vfd_error *e);

/* Free the block that starts at @iova.  -ENOENT if none. */
VFD_HIDDEN int vfd_iova_free(struct vfd_iova_alloc *a, uint64_t iova);

/* Check-only: would [iova, iova+size) fit?  Same errors as reserve. */
VFD_HIDDEN int vfd_iova_check(const struct vfd_iova_alloc *a, uint64_t iova,
			      uint64_t size, struct vfd_error *e);

/* Default alignment for a library-chosen IOVA: the largest page size in
 * @pgsizes that is <= @size (at least the minimum page size, at most
 * 1 GiB). */
VFD_HIDDEN uint64_t vfd_iova_default_align(uint64_t pgsizes, uint64_t size);

#endif
