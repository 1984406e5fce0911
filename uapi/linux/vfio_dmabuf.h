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
 * above the used ones: VFIO_BASE + 60 to + 62, and extension id 60.  This
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
 * supports VFIO_IOMMU_MAP_DMABUF, VFIO_IOMMU_DMABUF_GET_STATE and
 * VFIO_IOMMU_DMABUF_SET_EVENTFD.
 */
#define VFIO_TYPE1_MAP_DMABUF		60

/**
 * struct vfio_iommu_type1_dma_map_dmabuf - argument of VFIO_IOMMU_MAP_DMABUF
 * @argsz: size of the structure, set by the caller; at least up to @size
 * @flags: VFIO_DMA_MAP_FLAG_READ and/or VFIO_DMA_MAP_FLAG_WRITE, from the
 *	   device's point of view; no other flag is defined
 * @fd: the dma-buf file descriptor
 * @__reserved: must be 0
 * @offset: byte offset into the dma-buf of the first byte to map
 * @iova: IO virtual address chosen by the caller for that byte
 * @size: number of bytes to map
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
 * (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) and counts as one entry against
 * the container's DMA entry limit (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL).  All
 * of that is checked before the exporter is asked for anything: a refused
 * request never attaches to, pins or moves the buffer.  It is removed with
 * VFIO_IOMMU_UNMAP_DMA (type1v2 rules: no bisecting; also by
 * VFIO_DMA_UNMAP_FLAG_ALL).  Dirty page tracking always reports all of it
 * dirty.  Device memory (a peer device's BAR) is mapped with IOMMU_MMIO.
 *
 * Live update: VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_VADDR (with or
 * without VFIO_DMA_UNMAP_FLAG_ALL) leaves dma-buf mappings alone, and does
 * not count them in the size it reports: they have no vaddr, hold their own
 * reference on the buffer and stay usable by the device throughout.
 * VFIO_DMA_MAP_FLAG_VADDR on a dma-buf mapping fails with -EINVAL.
 *
 * Pinning and accounting: the buffer is pinned (dma_buf_pin()) for as long
 * as the container maps any of it, so that the exporter cannot move it.
 * The system memory the mapping keeps in place is charged, once per
 * dma-buf and container however many ranges of it are mapped, to the
 * locked memory of the calling process (RLIMIT_MEMLOCK, mm->locked_vm, as
 * VFIO_IOMMU_MAP_DMA charges the memory it pins; CAP_IPC_LOCK lifts the
 * limit).  Device memory is not charged, nor is the memory of an exporter
 * that cannot pin.  The charge is given back when the last range of the
 * buffer is unmapped, or when the exporter revokes it.
 *
 * The mapping holds a reference on the dma-buf: @fd may be closed after
 * the call.  If the exporter revokes access (dma_buf_move_notify() once
 * the mapping exists; an exporter that cannot pin does so whenever it moves
 * the buffer), the range is removed from every IOMMU domain at once
 * (device DMA to it then faults), the container gives the exporter its
 * buffer back (unpin, detach, dma-buf reference), the revoke eventfd
 * (VFIO_IOMMU_DMABUF_SET_EVENTFD) is signalled, and the range stays
 * reserved in the IOVA space until the user unmaps it;
 * VFIO_IOMMU_DMABUF_GET_STATE reports it as VFIO_DMABUF_STATE_REVOKED.
 * The buffer may be mapped again, at another IOVA or, after the unmap, at
 * the same one.  A move of the buffer while this call maps it (amdgpu and
 * xe migrate a buffer out of VRAM when it is pinned) is not a revocation:
 * the buffer is mapped where it ends up, once the exporter's move is done.
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
 *  -ENOMEM: the pinned memory would exceed RLIMIT_MEMLOCK (the kernel log
 *	     says so), or out of memory.
 *  -ENODEV: the exporter revoked the buffer while it was being mapped.
 *  -ENXIO:  the exporter handed out addresses that cannot be mapped into
 *	     an IOMMU (not page aligned, not CPU physical addresses).
 *  -EOPNOTSUPP: this platform bounces (swiotlb) or translates DMA for the
 *	     module's importer device, so the buffer's physical addresses
 *	     cannot be learnt.
 *  -ETIMEDOUT: the exporter did not finish moving the buffer within 10
 *	     seconds.
 *  -EINTR:  a signal arrived while waiting for the exporter (the call is
 *	     restarted where the signal's disposition allows).
 *  other:   errors of the exporter's attach/pin/map callbacks are passed
 *	     through unchanged; -EFAULT as usual.
 * A failed call leaves all existing mappings untouched.
 */
#define VFIO_IOMMU_MAP_DMABUF		_IO(VFIO_TYPE, VFIO_BASE + 60)

/**
 * struct vfio_iommu_type1_dmabuf_state - argument of
 *					  VFIO_IOMMU_DMABUF_GET_STATE
 * @argsz: size of the structure, set by the caller; at least up to
 *	   @__reserved
 * @flags: 0 or VFIO_DMABUF_STATE_FLAG_FIND_REVOKED
 * @iova: in: the IOVA to look at; out (FIND_REVOKED): the start of the
 *	  mapping found
 * @size: out: the size of that mapping in bytes
 * @state: out: VFIO_DMABUF_STATE_MAPPED, _REVOKED or _UNMAPPED
 * @__reserved: out: 0
 */
struct vfio_iommu_type1_dmabuf_state {
	__u32	argsz;
	__u32	flags;
#define VFIO_DMABUF_STATE_FLAG_FIND_REVOKED	0x1
	__u64	iova;		/* in: IOVA; out (FIND_REVOKED): found */
	__u64	size;		/* out: size of that mapping in bytes */
	__u32	state;		/* out: VFIO_DMABUF_STATE_* */
	__u32	__reserved;	/* out: 0 */
};

#define VFIO_DMABUF_STATE_MAPPED	1
#define VFIO_DMABUF_STATE_REVOKED	2
#define VFIO_DMABUF_STATE_UNMAPPED	3

/**
 * VFIO_IOMMU_DMABUF_GET_STATE - _IOWR(VFIO_TYPE, VFIO_BASE + 61,
 *				       struct vfio_iommu_type1_dmabuf_state)
 *
 * Report the state of a dma-buf mapping.  Caller sets argsz, flags and
 * iova; the kernel fills in size, state and, with
 * VFIO_DMABUF_STATE_FLAG_FIND_REVOKED, iova.
 *
 * flags 0: the dma-buf mapping that starts at @iova.
 * VFIO_DMABUF_STATE_FLAG_FIND_REVOKED: the revoked dma-buf mapping with the
 *	lowest IOVA at or above @iova; @iova is set to its start.  To list
 *	every revoked mapping (after the revoke eventfd fired), start at 0
 *	and continue at iova + size until -ENOENT.
 *
 * VFIO_DMABUF_STATE_MAPPED: the range is mapped in every IOMMU domain of
 *	the container.
 * VFIO_DMABUF_STATE_REVOKED: the exporter revoked access; the range is
 *	mapped in no IOMMU domain and stays reserved until unmapped with
 *	VFIO_IOMMU_UNMAP_DMA.  A revoked mapping never comes back.
 * VFIO_DMABUF_STATE_UNMAPPED: not revoked, but the container has no IOMMU
 *	domain now (only groups without one are attached): nothing
 *	translates the range.  It is mapped into the next domain that
 *	appears.
 *
 * Return: 0 on success, -errno on failure:
 *  -EINVAL: argsz too small, unknown flags, or (flags 0) the mapping
 *	     containing @iova is not a dma-buf mapping or does not start at
 *	     @iova.
 *  -ENOENT: (flags 0) no mapping contains @iova; (FIND_REVOKED) no
 *	     revoked dma-buf mapping at or above @iova.
 */
#define VFIO_IOMMU_DMABUF_GET_STATE	_IO(VFIO_TYPE, VFIO_BASE + 61)

/**
 * struct vfio_iommu_type1_dmabuf_eventfd - argument of
 *					    VFIO_IOMMU_DMABUF_SET_EVENTFD
 * @argsz: size of the structure, set by the caller; at least up to
 *	   @__reserved
 * @flags: the events to signal: VFIO_DMABUF_EVENT_REVOKED (required)
 * @fd: an eventfd, or -1 to unregister
 * @__reserved: must be 0
 */
struct vfio_iommu_type1_dmabuf_eventfd {
	__u32	argsz;
	__u32	flags;
#define VFIO_DMABUF_EVENT_REVOKED		0x1
	__s32	fd;		/* eventfd, or -1 */
	__u32	__reserved;	/* must be 0 */
};

/**
 * VFIO_IOMMU_DMABUF_SET_EVENTFD - _IOW(VFIO_TYPE, VFIO_BASE + 62,
 *					struct vfio_iommu_type1_dmabuf_eventfd)
 *
 * Register an eventfd that the container signals (adds 1 to) whenever an
 * exporter revokes a buffer of which it maps at least one range, so that a
 * driver's event loop learns of it without polling.  VFIO_IOMMU_DMABUF_
 * GET_STATE with VFIO_DMABUF_STATE_FLAG_FIND_REVOKED then says which
 * mappings.  One eventfd per container; a new one replaces the old, @fd -1
 * unregisters.  The container holds its own reference on the eventfd.
 *
 * @flags selects the events: VFIO_DMABUF_EVENT_REVOKED is required (and
 * the only event so far).  Further events, or eventfds per mapping, would
 * come as further flags and fields (argsz).
 *
 * Return: 0 on success, -errno on failure:
 *  -EINVAL: argsz too small, unknown flags or no event, __reserved not 0,
 *	     or @fd is not an eventfd.
 *  -EBADF:  @fd is neither -1 nor an open file descriptor.
 */
#define VFIO_IOMMU_DMABUF_SET_EVENTFD	_IO(VFIO_TYPE, VFIO_BASE + 62)

#endif /* _UAPI_LINUX_VFIO_DMABUF_H */
