/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of vfio_dmabuf_test_exporter, one composite module:
 *
 *   texp_main.c	the control device /dev/vfio_dmabuf_test, its ioctls,
 *			module init and exit
 *   texp_store.c	the backing storage: stores of pages and their layouts,
 *			moving a buffer to a new store, the pipelined copy
 *			and its fence
 *   texp_ops.c		the dma_buf_ops: attach, pin, map, CPU access, mmap;
 *			revocation
 *   texp_devmem.c	device memory: the PCI driver for the ivshmem BAR that
 *			DEVICE_MEMORY buffers are carved from, their DMA
 *			mappings
 *
 * Locking:
 * - dmabuf->resv is held by the dma-buf core around pin, unpin and, for the
 *   dynamic modes, map_dma_buf and unmap_dma_buf; REVOKE and moves take it
 *   too, so "revoked", "pinned" and the buffer's store only change under
 *   it, and dma_buf_move_notify() is only called with it held.
 * - texp_buf.lock protects the attachment list, each attachment's mapping
 *   list, and the revoked flag and the store as seen by CPU faults (which
 *   cannot take the resv). It nests inside the resv lock and inside
 *   mmap_lock, and is never held while calling into importers or while
 *   waiting for a fence.
 * - A store is reference counted and otherwise constant (struct
 *   texp_store): whoever holds a reference may use its memory.
 * - texp_devmem.c has its own locks, taken outside the dma_resv (device
 *   removal) or as leaf locks (the BAR allocator); see there.
 *
 * Lifetime:
 * - A buffer (texp_buf) lives from CREATE to its dma-buf's release op, and
 *   every dma-buf holds a reference to this module.
 * - Its memory (texp_store) lives until the buffer, every importer mapping
 *   of that memory and a copy still to run from or into it are all gone:
 *   after a move, the old pages are freed by whichever lets go last.
 * - The fence and work item of a move (texp_store.c) may outlive the
 *   buffer. Every fence holds a module reference, so the module is never
 *   unloaded with a copy in flight.
 * - Device memory (texp_devmem.c) lives until its last store is gone, even
 *   once the PCI device is unbound.
 * - Module parameters live with their users: max_buffer_size in
 *   texp_main.c, move_copy_delay_ms in texp_store.c.
 */
#ifndef TEXP_H
#define TEXP_H

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/types.h>

#include "vfio_dmabuf_test_exporter.h"

struct texp_stats {
	atomic64_t created;
	atomic64_t released;
	atomic64_t pages;
	atomic64_t attaches;
	atomic64_t attach_refused;
	atomic64_t detaches;
	atomic64_t maps;
	atomic64_t map_failed;
	atomic64_t unmaps;
	atomic64_t pins;
	atomic64_t pin_refused;
	atomic64_t unpins;
	atomic64_t move_notifies;
	atomic64_t revokes;
	atomic64_t cpu_faults;
	atomic64_t migrations;
	atomic64_t pin_move_notifies;
	atomic64_t copies_done;
	atomic64_t moves;
};

extern struct texp_stats texp_stats;

/*
 * The memory behind a buffer. Everything in it is constant once it is
 * made; only its reference count changes. References are held by:
 * - the buffer, for its current store (texp_buf.store);
 * - every texp_map, for the store it mapped: an importer may keep a
 *   mapping of the old memory after a move until it unmaps it;
 * - a pipelined copy (texp_store.c), for its source and destination until
 *   it has run.
 * The memory is freed when the last of them is gone.
 */
struct texp_store {
	struct kref kref;
	u32 placement;		/* enum vfio_dmabuf_test_placement */
	unsigned long npages;
	/* SYSTEM and VRAM: the pages */
	struct page **pages;
	/* DEVICE: the device, a reference, and the BAR page of each page */
	struct texp_devmem *devmem;
	phys_addr_t bar_phys;
	unsigned long *bar_pages;
	u32 phys_segments;	/* physically contiguous runs */
	u64 max_segment;	/* longest run, bytes */
	/*
	 * The fence of the copy that fills this store, one reference; NULL
	 * if the store was valid from the start. The contents are only
	 * valid once it has signalled.
	 */
	struct dma_fence *fill;
};

static inline unsigned long texp_store_pfn(const struct texp_store *st,
					   unsigned long i)
{
	if (st->placement == VFIO_DMABUF_TEST_PLACEMENT_DEVICE)
		return PHYS_PFN(st->bar_phys) + st->bar_pages[i];
	return page_to_pfn(st->pages[i]);
}

static inline bool texp_store_is_device(const struct texp_store *st)
{
	return st->placement == VFIO_DMABUF_TEST_PLACEMENT_DEVICE;
}

struct texp_buf {
	u64 id;
	struct dma_buf *dmabuf;
	u32 kind;
	u32 mode;
	u32 flags;
	int attach_errno;
	size_t size;
	unsigned long npages;
	/* Fence context of the buffer's moves (its timeline). */
	u64 fence_context;

	/* Protected by dmabuf->resv. */
	unsigned int pinned;
	/* Moves so far; the seqno of the last move's fence. */
	u64 generation;

	/* Protects the fields below; nests inside dmabuf->resv. */
	struct mutex lock;
	/* Written under both dmabuf->resv and lock. */
	bool revoked;
	/* The backing memory, one reference; written under resv and lock. */
	struct texp_store *store;
	/* Protected by lock. */
	struct list_head attachments;
	unsigned int nr_attachments;
	unsigned int nr_mapped;

	/*
	 * DEVICE_MEMORY: on the device's list of buffers (texp_devmem.c),
	 * and a reference to the inode of the dma-buf file, whose
	 * address_space holds the CPU mappings, for device removal.
	 */
	struct list_head devmem_node;
	struct inode *inode;
};

struct texp_attachment {
	struct list_head node;
	struct dma_buf_attachment *attach;
	struct list_head maps;
};

struct texp_map {
	struct list_head node;
	enum dma_data_direction dir;
	/* Mapped with dma_map_sgtable(); has page links. Not for devmem. */
	struct sg_table sgt;
	/* DMA addresses and lengths only; handed to the importer. */
	struct sg_table dma_only;
	bool with_pages;
	/* What sgt maps; one reference, dropped at unmap. */
	struct texp_store *store;
};

extern const struct dma_buf_ops texp_static_ops;
extern const struct dma_buf_ops texp_dynamic_ops;
extern const struct dma_buf_ops texp_devmem_ops;

static inline bool texp_is_dynamic(const struct texp_buf *buf)
{
	return buf->mode == VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN ||
	       buf->mode == VFIO_DMABUF_TEST_MODE_DYNAMIC_NOPIN ||
	       buf->mode == VFIO_DMABUF_TEST_MODE_TTM_LIKE ||
	       buf->mode == VFIO_DMABUF_TEST_MODE_MOVABLE;
}

/* Can VFIO_DMABUF_TEST_REVOKE revoke it? */
static inline bool texp_is_revocable(const struct texp_buf *buf)
{
	return texp_is_dynamic(buf) ||
	       buf->mode == VFIO_DMABUF_TEST_MODE_DEVICE_MEMORY;
}

/* Can VFIO_DMABUF_TEST_MOVE move it? */
static inline bool texp_is_movable(const struct texp_buf *buf)
{
	return buf->mode == VFIO_DMABUF_TEST_MODE_TTM_LIKE ||
	       buf->mode == VFIO_DMABUF_TEST_MODE_MOVABLE;
}

/* Why a buffer moves (texp_move()). */
enum texp_move_reason {
	TEXP_MOVE_PIN,		/* migration out of VRAM by the pin op */
	TEXP_MOVE_COMMAND,	/* VFIO_DMABUF_TEST_MOVE */
};

/* texp_ops.c */
int texp_revoke(struct texp_buf *buf, struct address_space *mapping);

/* texp_store.c */
struct texp_store *texp_store_alloc(u32 kind, size_t size, u32 placement);
void texp_store_count_segments(struct texp_store *st);
struct texp_store *texp_store_get(struct texp_store *st);
void texp_store_put(struct texp_store *st);
bool texp_store_filling(const struct texp_store *st);
int texp_move(struct texp_buf *buf, u32 placement,
	      enum texp_move_reason why);
int texp_store_init(void);
void texp_store_exit(void);

/* texp_devmem.c */
struct texp_store *texp_devmem_store_alloc(u32 kind, size_t size);
void texp_devmem_store_free(struct texp_store *st);
int texp_devmem_add_buf(struct texp_buf *buf);
void texp_devmem_del_buf(struct texp_buf *buf);
bool texp_devmem_removed(const struct texp_store *st);
int texp_devmem_map(struct texp_map *map, struct device *dev);
void texp_devmem_unmap(struct texp_map *map, struct device *dev);
int texp_devmem_info(struct vfio_dmabuf_test_devmem_info *info);
int texp_devmem_init(void);
void texp_devmem_exit(void);

#endif /* TEXP_H */
