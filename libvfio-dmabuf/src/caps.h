/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bounds-checked parsing of VFIO info buffers and their capability chains
 * (struct vfio_info_cap_header).  Pure functions: they only look at the
 * buffer they are given, so they are unit tested with crafted and
 * malformed buffers.  Malformed data gives -EPROTO and a message.
 */
#ifndef VFD_CAPS_H
#define VFD_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "vfio-dmabuf.h"

#define VFD_HIDDEN __attribute__((visibility("hidden")))

/* Called for each capability: @cap points at its header, @cap_len is the
 * number of bytes that belong to it (up to the next capability or the end
 * of the buffer).  Return 0 to continue, < 0 to stop with that error. */
typedef int (*vfd_cap_fn)(const void *cap, size_t cap_len, uint16_t id,
			  uint16_t version, void *ctx, struct vfd_error *e);

/*
 * Walk the chain that starts at @first (offset from @buf; 0 = empty).
 * @min_off: capabilities may not start below it (the fixed part of the
 * info struct).  Every header must lie inside @len, be 4-byte aligned,
 * and each `next` must point strictly forward (so no loops).
 */
VFD_HIDDEN int vfd_cap_walk(const void *buf, size_t len, uint32_t first,
			    size_t min_off, vfd_cap_fn fn, void *ctx,
			    struct vfd_error *e);

/* Parse a struct vfio_iommu_type1_info buffer of @len valid bytes. */
VFD_HIDDEN int vfd_parse_iommu_info(const void *buf, size_t len,
				    struct vfd_iommu_info *out,
				    struct vfd_error *e);

/* Parse a struct vfio_region_info buffer of @len valid bytes. */
VFD_HIDDEN int vfd_parse_region_info(const void *buf, size_t len,
				     struct vfd_region_info *out,
				     struct vfd_error *e);

#endif
