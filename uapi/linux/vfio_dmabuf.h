/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * VFIO type1: map a dma-buf into the IOVA space of a container.
 *
 * Extension of the VFIO type1 container API (<linux/vfio.h>) provided by the
 * vfio-dmabuf build of the vfio_iommu_type1 module.  Usable from userspace
 * next to <linux/vfio.h>.
 *
 * Numbering
 * ---------
 * Mainline (including the dma-buf work of Linux 6.19) uses VFIO_BASE + 0 to
 * VFIO_BASE + 21 for the ioctls of all VFIO file descriptors, and extension
 * ids 1 to 10 for VFIO_CHECK_EXTENSION.  The container fd itself handles
 * VFIO_BASE + 0..2 (core), + 12..14 and + 17 (type1) and + 12, 15..21 (sPAPR).
 * Upstream allocates both sequentially, so this extension takes numbers far
 * above the used ones: VFIO_BASE + 60 and + 61, and extension id 60.  This
 * leaves room for 38 further upstream ioctls before a clash is even possible,
 * and any VFIO fd that does not know these numbers answers -ENOTTY (ioctls)
 * or 0 (VFIO_CHECK_EXTENSION), so userspace can probe for support safely.
 */
#ifndef _UAPI_LINUX_VFIO_DMABUF_H
#define _UAPI_LINUX_VFIO_DMABUF_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/vfio.h>

/*
 * VFIO_CHECK_EXTENSION(VFIO_TYPE1_MAP_DMABUF) returns 1 if the type1 driver
 * supports VFIO_IOMMU_MAP_DMABUF and VFIO_IOMMU_DMABUF_GET_STATE.
 */
#define VFIO_TYPE1_MAP_DMABUF		60

/**
 * VFIO_IOMMU_MAP_DMABUF - _IOW(VFIO_TYPE, VFIO_BASE + 60,
 *				struct vfio_iommu_type1_dma_map_dmabuf)
 *
 * Map bytes [offset, offset + size) of the dma-buf @fd at IO virtual
 * addresses [iova, iova + size) in every IOMMU domain of the container.
 * Caller sets argsz.  READ and/or WRITE (from the device's point of view)
 * are required; no other flag is defined.
 *
 * The mapping shares the IOVA space of VFIO_IOMMU_MAP_DMA mappings: it must
 * not overlap any existing mapping, must lie in the usable IOVA ranges
 * (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE), counts as one entry against the
 * container's DMA entry limit (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) and is not
 * charged to RLIMIT_MEMLOCK (the memory belongs to the exporter).  It is
 * removed with VFIO_IOMMU_UNMAP_DMA (type1v2 rules: no bisecting; also by
 * VFIO_DMA_UNMAP_FLAG_ALL).  VFIO_DMA_MAP_FLAG_VADDR and
 * VFIO_DMA_UNMAP_FLAG_VADDR fail with -EINVAL on it.  Dirty page tracking
 * always reports all of it dirty.
 *
 * The mapping holds a reference on the dma-buf: @fd may be closed after
 * the call.  If the exporter revokes access (dma_buf_move_notify()), the
 * range is removed from every IOMMU domain at once (device DMA to it then
 * faults), stays reserved in the IOVA space until the user unmaps it, and
 * VFIO_IOMMU_DMABUF_GET_STATE reports it as VFIO_DMABUF_STATE_REVOKED.
 *
 * Return: 0 on success, -errno on failure:
 *  -EINVAL: argsz too small, unknown flag, neither READ nor WRITE,
 *	     __reserved not 0, size 0, offset/iova/size not aligned to the
 *	     smallest IOMMU page size, arithmetic overflow (iova + size or
 *	     offset + size above 2^64 - 1; a range may not end exactly at
 *	     2^64), offset + size beyond the dma-buf, IOVA outside the usable
 *	     ranges, or @fd is not a dma-buf.
 *  -EBADF:  @fd is not an open file descriptor.
 *  -EACCES: WRITE (READ) requested but @fd is not open for writing
 *	     (reading).
 *  -EEXIST: the IOVA range overlaps an existing mapping.
 *  -ENOSPC: the container's DMA entry limit is exhausted.
 *  -ENODEV: the exporter revoked the buffer while it was being mapped.
 *  -ENXIO:  the exporter handed out addresses that cannot be mapped into
 *	     an IOMMU (not page aligned, not CPU physical addresses).
 *  -EOPNOTSUPP: this platform bounces (swiotlb) or translates DMA for the
 *	     module's importer device, so the buffer's physical addresses
 *	     cannot be learnt.
 *  other:   errors of the exporter's attach/pin/map callbacks are passed
 *	     through unchanged; -ENOMEM, -EFAULT, -EINTR as usual.
 * A failed call leaves all existing mappings untouched.
 */
struct vfio_iommu_type1_dma_map_dmabuf {
	__u32	argsz;
	__u32	flags;		/* VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE */
	__s32	fd;		/* dma-buf file descriptor */
	__u32	__reserved;	/* must be 0 */
	__u64	offset;		/* byte offset into the dma-buf */
	__u64	iova;		/* IO virtual address chosen by the caller */
	__u64	size;		/* bytes to map */
};

#define VFIO_IOMMU_MAP_DMABUF		_IO(VFIO_TYPE, VFIO_BASE + 60)

/**
 * VFIO_IOMMU_DMABUF_GET_STATE - _IOWR(VFIO_TYPE, VFIO_BASE + 61,
 *				       struct vfio_iommu_type1_dmabuf_state)
 *
 * Report the state of the dma-buf mapping that starts at @iova.  Caller
 * sets argsz, flags (0) and iova; the kernel fills in size and state.
 *
 * VFIO_DMABUF_STATE_MAPPED: the range is mapped in every IOMMU domain of
 *	the container.
 * VFIO_DMABUF_STATE_REVOKED: the exporter revoked access; the range is
 *	mapped in no IOMMU domain and stays reserved until unmapped with
 *	VFIO_IOMMU_UNMAP_DMA.  A revoked mapping never comes back.
 *
 * Return: 0 on success, -errno on failure:
 *  -EINVAL: argsz too small, flags not 0, or the mapping containing @iova
 *	     is not a dma-buf mapping or does not start at @iova.
 *  -ENOENT: no mapping contains @iova.
 */
struct vfio_iommu_type1_dmabuf_state {
	__u32	argsz;
	__u32	flags;		/* in: must be 0 */
	__u64	iova;		/* in: first IOVA of a dma-buf mapping */
	__u64	size;		/* out: size of that mapping in bytes */
	__u32	state;		/* out: VFIO_DMABUF_STATE_* */
	__u32	__reserved;	/* out: 0 */
};

#define VFIO_DMABUF_STATE_MAPPED	1
#define VFIO_DMABUF_STATE_REVOKED	2

#define VFIO_IOMMU_DMABUF_GET_STATE	_IO(VFIO_TYPE, VFIO_BASE + 61)

#endif /* _UAPI_LINUX_VFIO_DMABUF_H */
