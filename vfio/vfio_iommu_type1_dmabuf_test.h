/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Test-only ioctls of the vfio-dmabuf test builds of vfio_iommu_type1
 * (VFIO_DMABUF_TEST=y, vfio_iommu_type1_dmabuf_test.c).  The module users
 * install answers them with -ENOTTY.  Usable from userspace next to
 * <linux/vfio.h> (tests/bench).
 */
#ifndef _VFIO_IOMMU_TYPE1_DMABUF_TEST_H
#define _VFIO_IOMMU_TYPE1_DMABUF_TEST_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/vfio.h>

/**
 * VFIO_IOMMU_DMABUF_TEST_FLOOR - _IOWR(VFIO_TYPE, VFIO_BASE + 63,
 *				       struct vfio_iommu_dmabuf_test_floor)
 *
 * What VFIO_IOMMU_MAP_DMABUF of [@offset, @offset + @size) of dma-buf @fd
 * at @iova costs, step by step, and what the IOMMU alone costs for it (the
 * floor): import the buffer as MAP_DMABUF does (attach, pin, map, fence
 * wait, runs: @import_ns), then, with iommu->lock held, iommu_map() exactly
 * the slices MAP_DMABUF maps, at the same IOVAs, into every IOMMU domain of
 * the container (@map_ns), then iommu_unmap_fast() them (@unmap_ns) and
 * flush the IOTLB once per domain (@sync_ns), and give the import back
 * (@release_ns).  No vfio_dma is made.  The range must be free (-EEXIST)
 * and usable (-EINVAL).  @nr_slices: the iommu_map() calls per domain;
 * @nr_domains: the domains.
 */
struct vfio_iommu_dmabuf_test_floor {
	__u32	argsz;
	__u32	flags;		/* must be 0 */
	__s32	fd;
	__u32	__reserved;
	__u64	offset;
	__u64	iova;
	__u64	size;
	__u64	import_ns;	/* out */
	__u64	map_ns;		/* out */
	__u64	unmap_ns;	/* out */
	__u64	sync_ns;	/* out */
	__u64	release_ns;	/* out */
	__u32	nr_slices;	/* out */
	__u32	nr_domains;	/* out */
};

#define VFIO_IOMMU_DMABUF_TEST_FLOOR	_IO(VFIO_TYPE, VFIO_BASE + 63)

#endif /* _VFIO_IOMMU_TYPE1_DMABUF_TEST_H */
