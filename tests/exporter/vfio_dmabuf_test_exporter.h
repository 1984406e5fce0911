/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfio_dmabuf_test_exporter: a dma-buf exporter for testing dma-buf importers
 * (VFIO_IOMMU_MAP_DMABUF) inside test guests. Not for production use.
 *
 * Control device: /dev/vfio_dmabuf_test
 *
 * All ioctls take a pointer to a structure that begins with argsz and flags,
 * in the style of VFIO: argsz is the size of the structure as userspace knows
 * it and must be at least the size of the structure defined here; any bytes
 * beyond that size must be zero. Unknown flags and non-zero reserved fields
 * are rejected with EINVAL.
 */
#ifndef _UAPI_VFIO_DMABUF_TEST_EXPORTER_H
#define _UAPI_VFIO_DMABUF_TEST_EXPORTER_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VFIO_DMABUF_TEST_DEVICE		"/dev/vfio_dmabuf_test"

#define VFIO_DMABUF_TEST_TYPE		0xDB
#define VFIO_DMABUF_TEST_BASE		0x40

/* Buffer kinds (physical layout of the backing pages). */
enum vfio_dmabuf_test_kind {
	/*
	 * Order-0 pages, no two neighbours physically adjacent:
	 * every page is its own physically contiguous segment.
	 */
	VFIO_DMABUF_TEST_KIND_SCATTER = 0,
	/* One physically contiguous run, at most 4 MiB. */
	VFIO_DMABUF_TEST_KIND_CONTIG = 1,
	/*
	 * Physically contiguous, naturally aligned 2 MiB runs (the last one
	 * may be shorter), so an importer can use 2 MiB IOMMU pages.
	 */
	VFIO_DMABUF_TEST_KIND_CHUNKED = 2,
};

#define VFIO_DMABUF_TEST_CONTIG_MAX	(4ULL << 20)
#define VFIO_DMABUF_TEST_CHUNK_SIZE	(2ULL << 20)

/* Exporter behaviour. */
enum vfio_dmabuf_test_mode {
	/* Non-dynamic exporter (no pin/unpin ops), like udmabuf. */
	VFIO_DMABUF_TEST_MODE_STATIC = 0,
	/* Dynamic exporter whose pin/unpin succeed. */
	VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN = 1,
	/*
	 * Dynamic exporter whose pin fails with EOPNOTSUPP: only importers that
	 * handle move_notify can map it. Without CONFIG_DMABUF_MOVE_NOTIFY the
	 * dma-buf core pins at map time, so mapping fails there.
	 */
	VFIO_DMABUF_TEST_MODE_DYNAMIC_NOPIN = 2,
	/* The attach op fails with -attach_errno (default EPERM). */
	VFIO_DMABUF_TEST_MODE_REFUSE_ATTACH = 3,
	/*
	 * Dynamic exporter that behaves like amdgpu and xe (TTM) in 6.12. The
	 * buffer starts in VRAM (PLACEMENT_VRAM: a stand-in for device memory,
	 * made of system pages allocated apart). The first pin moves it to
	 * new system pages (PLACEMENT_SYSTEM) from inside the pin op, with
	 * the dma_resv held by the caller of dma_buf_pin():
	 *  1. dma_buf_move_notify() reaches every attachment that has
	 *     importer ops, the one being pinned included;
	 *  2. the buffer switches to the new pages; map_dma_buf returns them
	 *     from now on, and the generation (INFO) changes;
	 *  3. the copy of the contents is pipelined: a dma_fence is added to
	 *     the dma_resv with DMA_RESV_USAGE_KERNEL, and a work item that
	 *     runs move_copy_delay_ms (module parameter, default 50) later
	 *     writes the old contents over the new pages, then signals it.
	 *     Pin does not wait for it. An importer that does not wait for
	 *     the KERNEL fences after mapping sees what its device wrote to
	 *     the new pages overwritten by the copy. CPU faults on the mmap
	 *     wait for it, as TTM's do. The old pages are freed once the
	 *     copy has run and no importer has them mapped.
	 * Pins while the buffer is in system memory move nothing. A pinned
	 * buffer never moves (unpin leaves it where it is); an unpinned one is
	 * evicted, or put back into VRAM, by VFIO_DMABUF_TEST_MOVE. The kind
	 * applies to every placement the buffer gets. The contents move with
	 * the buffer; a new buffer reads zeroes.
	 */
	VFIO_DMABUF_TEST_MODE_TTM_LIKE = 4,
	/*
	 * Dynamic exporter of a buffer that is never pinned and moves when
	 * told to (VFIO_DMABUF_TEST_MOVE), like an unpinned buffer object
	 * that TTM evicts. pin fails with EOPNOTSUPP as in DYNAMIC_NOPIN: only
	 * importers that handle move_notify can map it, and without
	 * CONFIG_DMABUF_MOVE_NOTIFY (no Debian kernel has it) the dma-buf core
	 * pins at map time, so mapping fails there with EOPNOTSUPP.
	 */
	VFIO_DMABUF_TEST_MODE_MOVABLE = 5,
	/*
	 * Memory without struct pages behind a PCI BAR, exported like
	 * vfio-pci's dma-bufs of MMIO (6.19): a static exporter (no pin op:
	 * the memory never moves, it can only be revoked). The buffer is
	 * carved from BAR2 of a QEMU ivshmem-plain device (1af4:1110, with a
	 * memory backend, see VFIO_DMABUF_TEST_DEVMEM_INFO) that the module
	 * binds to. attach refuses importers that cannot do peer-to-peer
	 * (attach->peer2peer false) with EOPNOTSUPP, and every importer with
	 * ENODEV while the buffer is revoked. map_dma_buf hands out DMA
	 * addresses only, from dma_map_resource() for the attaching device;
	 * for a dynamic importer the dma-buf core (6.1, 6.12) maps once at
	 * attach and unmaps at detach. The CPU mmap maps the BAR
	 * write-combined (DMA_BUF_IOCTL_SYNC's END drains the CPU's
	 * write-combining buffers). REVOKE works as for the dynamic modes
	 * (and as vfio-pci's revoke); unbinding the device revokes every
	 * buffer in it for good. The kind chooses the layout in the BAR:
	 * SCATTER single pages, none adjacent to its neighbour in the buffer;
	 * CONTIG one run; CHUNKED one run that starts on a 2 MiB boundary of
	 * the BAR. CREATE_WITH_PAGES is refused (EINVAL).
	 */
	VFIO_DMABUF_TEST_MODE_DEVICE_MEMORY = 6,
};

/* Where a buffer's memory is (VFIO_DMABUF_TEST_INFO). */
enum vfio_dmabuf_test_placement {
	/*
	 * System memory: the modes up to REFUSE_ATTACH and MOVABLE always,
	 * TTM_LIKE once pinned or evicted.
	 */
	VFIO_DMABUF_TEST_PLACEMENT_SYSTEM = 0,
	/* The VRAM stand-in of TTM_LIKE (system pages, not device memory). */
	VFIO_DMABUF_TEST_PLACEMENT_VRAM = 1,
	/* A PCI BAR: DEVICE_MEMORY, always. */
	VFIO_DMABUF_TEST_PLACEMENT_DEVICE = 2,
};

/**
 * VFIO_DMABUF_TEST_CREATE - _IO(VFIO_DMABUF_TEST_TYPE, BASE + 0),
 *			     struct vfio_dmabuf_test_create
 *
 * Create a test dma-buf and return a new file descriptor for it (O_CLOEXEC).
 * The file is opened O_RDWR, or O_RDONLY with
 * VFIO_DMABUF_TEST_CREATE_RDONLY. The pages are zeroed.
 *
 * By default the sg_table handed to importers carries only DMA addresses and
 * lengths, no page links (sg_page() returns NULL): importers must not touch
 * the pages. VFIO_DMABUF_TEST_CREATE_WITH_PAGES hands out the table that was
 * passed to dma_map_sgtable(), page links included.
 *
 * Return: 0 on success; EINVAL for bad arguments (size 0 or not a multiple of
 * the page size, too large, unknown kind, mode or flag, attach_errno outside
 * 1..4095 or set in a mode other than REFUSE_ATTACH, reserved fields set,
 * WITH_PAGES for DEVICE_MEMORY), ENOMEM, EAGAIN if a SCATTER layout could
 * not be produced; for DEVICE_MEMORY: ENODEV if there is no device memory
 * (no ivshmem device), ENOSPC if its BAR has no room for the buffer.
 */
struct vfio_dmabuf_test_create {
	__u32	argsz;
	__u32	flags;
#define VFIO_DMABUF_TEST_CREATE_RDONLY		0x1
#define VFIO_DMABUF_TEST_CREATE_WITH_PAGES	0x2
	__u64	size;		/* in: bytes, a multiple of the page size */
	__u32	kind;		/* in: enum vfio_dmabuf_test_kind */
	__u32	mode;		/* in: enum vfio_dmabuf_test_mode */
	__s32	attach_errno;	/* in: REFUSE_ATTACH only; 0 means EPERM */
	__s32	fd;		/* out: the dma-buf file descriptor */
	__u64	id;		/* out: buffer id, unique while loaded, > 0 */
	__u64	reserved[2];	/* in: must be zero */
};

#define VFIO_DMABUF_TEST_CREATE	_IO(VFIO_DMABUF_TEST_TYPE, VFIO_DMABUF_TEST_BASE + 0)

/**
 * VFIO_DMABUF_TEST_REVOKE - _IO(VFIO_DMABUF_TEST_TYPE, BASE + 1),
 *			     struct vfio_dmabuf_test_revoke
 *
 * Operate on a dynamic or DEVICE_MEMORY test dma-buf, under its dma_resv
 * lock:
 * flags == 0: mark it revoked, zap its CPU mappings and call
 *	dma_buf_move_notify(). Afterwards map_dma_buf and pin fail with ENODEV,
 *	mmap fails with ENODEV and touching an existing CPU mapping raises
 *	SIGBUS. Returns EALREADY if already revoked.
 * VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY: call dma_buf_move_notify() only (the
 *	buffer stays usable, as after a migration).
 * VFIO_DMABUF_TEST_REVOKE_RESTORE: clear the revoked state (no notify).
 *
 * Return: 0; EINVAL for a STATIC or REFUSE_ATTACH buffer, bad flags or
 * reserved fields; EBADF if fd is not a dma-buf of this module; ENODEV to
 * RESTORE a DEVICE_MEMORY buffer whose device has been unbound.
 */
struct vfio_dmabuf_test_revoke {
	__u32	argsz;
	__u32	flags;
#define VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY	0x1
#define VFIO_DMABUF_TEST_REVOKE_RESTORE		0x2
	__s32	fd;		/* in: dma-buf file descriptor */
	__u32	reserved;	/* in: must be zero */
};

#define VFIO_DMABUF_TEST_REVOKE	_IO(VFIO_DMABUF_TEST_TYPE, VFIO_DMABUF_TEST_BASE + 1)

/**
 * VFIO_DMABUF_TEST_STATS - _IO(VFIO_DMABUF_TEST_TYPE, BASE + 2),
 *			    struct vfio_dmabuf_test_stats
 *
 * Read global counters (since module load). flags must be 0.
 * move_notifies counts every dma_buf_move_notify() call: those of REVOKE and
 * those of moves alike. pages_allocated counts every page allocated now:
 * those of VRAM stand-ins, and old pages that wait for their copy or for an
 * importer to unmap them, too.
 */
struct vfio_dmabuf_test_stats {
	__u32	argsz;
	__u32	flags;
	__u64	buffers_created;	/* dma-bufs exported */
	__u64	buffers_released;	/* dma-buf release op ran */
	__u64	buffers_live;		/* created - released */
	__u64	pages_allocated;	/* backing pages allocated now */
	__u64	attaches;		/* successful attach ops */
	__u64	attach_refused;		/* attach ops that failed */
	__u64	detaches;
	__u64	maps;			/* successful map_dma_buf */
	__u64	map_failed;		/* failed map_dma_buf */
	__u64	unmaps;
	__u64	pins;			/* successful pin ops */
	__u64	pin_refused;		/* failed pin ops */
	__u64	unpins;
	__u64	move_notifies;		/* dma_buf_move_notify() calls */
	__u64	revokes;		/* buffers revoked */
	__u64	cpu_faults;		/* CPU mmap faults served */
	/* pin ops that moved a TTM_LIKE buffer out of VRAM */
	__u64	migrations;
	/* dma_buf_move_notify() calls made from inside the pin op */
	__u64	pin_move_notifies;
	/* pipelined copies done (their fence signalled) */
	__u64	copies_done;
	/* moves done by VFIO_DMABUF_TEST_MOVE */
	__u64	moves;
};

#define VFIO_DMABUF_TEST_STATS	_IO(VFIO_DMABUF_TEST_TYPE, VFIO_DMABUF_TEST_BASE + 2)

/**
 * VFIO_DMABUF_TEST_INFO - _IO(VFIO_DMABUF_TEST_TYPE, BASE + 3),
 *			   struct vfio_dmabuf_test_info
 *
 * Describe one test dma-buf, given its fd. flags must be 0 on input; on
 * output VFIO_DMABUF_TEST_INFO_REVOKED tells that the buffer is revoked and
 * VFIO_DMABUF_TEST_INFO_COPY_PENDING that the pipelined copy into its
 * current memory has not run yet (its fence in the dma_resv is unsignalled).
 * The counts are a snapshot taken under the buffer's dma_resv lock; the
 * layout (phys_segments, max_segment) is that of the current memory.
 * generation and placement must be zero on input.
 *
 * Return: 0; EBADF if fd is not a dma-buf of this module; EINVAL for flags
 * or fields that must be zero and are not.
 */
struct vfio_dmabuf_test_info {
	__u32	argsz;
	__u32	flags;
#define VFIO_DMABUF_TEST_INFO_REVOKED		0x1
#define VFIO_DMABUF_TEST_INFO_COPY_PENDING	0x2
	__s32	fd;		/* in: dma-buf file descriptor */
	__u32	reserved0;	/* in: must be zero */
	__u64	id;		/* out */
	__u64	size;		/* out: bytes */
	__u32	kind;		/* out */
	__u32	mode;		/* out */
	__u32	attachments;	/* out: attachments now */
	__u32	pinned;		/* out: pins now (pin minus unpin) */
	__u32	mapped;		/* out: map_dma_buf minus unmap_dma_buf now */
	__u32	phys_segments;	/* out: physically contiguous runs */
	__u64	max_segment;	/* out: longest run, bytes */
	__u64	generation;	/* out: 0 at creation, + 1 on every move */
	__u32	placement;	/* out: enum vfio_dmabuf_test_placement */
	__u32	reserved1;	/* out: zero */
};

#define VFIO_DMABUF_TEST_INFO	_IO(VFIO_DMABUF_TEST_TYPE, VFIO_DMABUF_TEST_BASE + 3)

/**
 * VFIO_DMABUF_TEST_MOVE - _IO(VFIO_DMABUF_TEST_TYPE, BASE + 4),
 *			   struct vfio_dmabuf_test_move
 *
 * Move a MOVABLE or TTM_LIKE buffer to new memory, the way TTM evicts or
 * validates an unpinned buffer object. Under the buffer's dma_resv lock:
 *  1. dma_buf_move_notify();
 *  2. the buffer switches to new pages: map_dma_buf returns them from now
 *     on, and its generation (INFO) changes;
 *  3. the copy of the contents is pipelined as for TTM_LIKE's migration
 *     on pin: a fence is added to the dma_resv with DMA_RESV_USAGE_KERNEL
 *     and the copy runs move_copy_delay_ms later, overwriting the new
 *     pages with the old contents, then signals it;
 *  4. the CPU mappings are zapped, so that the mmap follows the buffer
 *     (CPU faults wait for the copy).
 * The old pages stay valid until the copy has run and every importer that
 * still has them mapped has unmapped them; then they are freed.
 *
 * flags == 0: to new system pages (for a TTM_LIKE buffer in VRAM: an
 *	eviction to system memory).
 * VFIO_DMABUF_TEST_MOVE_TO_VRAM: TTM_LIKE only: into a new VRAM stand-in,
 *	from where its next pin migrates it again.
 *
 * Return: 0; EINVAL for a buffer of another mode, MOVE_TO_VRAM for a
 * MOVABLE buffer, bad flags or reserved fields; EBADF if fd is not a
 * dma-buf of this module; EBUSY if the buffer is pinned (pinned buffers
 * never move); ENODEV if it is revoked; ENOMEM; EAGAIN if a SCATTER layout
 * could not be produced; EINTR if interrupted while waiting for the
 * dma_resv lock. Nothing has moved unless 0 is returned.
 */
struct vfio_dmabuf_test_move {
	__u32	argsz;
	__u32	flags;
#define VFIO_DMABUF_TEST_MOVE_TO_VRAM		0x1
	__s32	fd;		/* in: dma-buf file descriptor */
	__u32	reserved;	/* in: must be zero */
	__u64	generation;	/* out: the buffer's generation after the move */
};

#define VFIO_DMABUF_TEST_MOVE	_IO(VFIO_DMABUF_TEST_TYPE, VFIO_DMABUF_TEST_BASE + 4)

/**
 * VFIO_DMABUF_TEST_DEVMEM_INFO - _IO(VFIO_DMABUF_TEST_TYPE, BASE + 5),
 *				  struct vfio_dmabuf_test_devmem_info
 *
 * Describe the device memory that DEVICE_MEMORY buffers are carved from:
 * BAR2 of the ivshmem-plain device the module is bound to (the first one
 * found). flags must be 0.
 *
 * Return: 0; ENODEV if there is none; EINVAL for flags set.
 */
struct vfio_dmabuf_test_devmem_info {
	__u32	argsz;
	__u32	flags;
	__u32	pci_domain;	/* out: PCI address of the device */
	__u32	pci_bdf;	/* out: bus << 8 | devfn */
	__u64	size;		/* out: bytes of the BAR for buffers */
	__u64	used;		/* out: bytes held by buffers and their mappings */
	__u64	reserved[2];	/* out: zero */
};

#define VFIO_DMABUF_TEST_DEVMEM_INFO	_IO(VFIO_DMABUF_TEST_TYPE, VFIO_DMABUF_TEST_BASE + 5)

#endif /* _UAPI_VFIO_DMABUF_TEST_EXPORTER_H */
