// SPDX-License-Identifier: GPL-2.0
/*
 * Backing storage of the test dma-bufs: stores of pages in the physical
 * layout of enum vfio_dmabuf_test_kind. A store is reference counted, so
 * that its memory outlives the buffer's use of it while an importer still
 * has it mapped (see struct texp_store).
 *
 * Moves
 * -----
 * texp_move() gives a buffer a new store the way TTM moves a buffer object
 * (ttm_bo_validate() -> the driver's move -> ttm_bo_move_accel_cleanup()),
 * with the buffer's dma_resv held throughout:
 *  1. dma_buf_move_notify(): every attachment with importer ops hears of
 *     it, the one being pinned included when the pin op moves (as
 *     amdgpu_bo_move_notify() and xe_bo_move_notify() do, before the
 *     copy and before the buffer's resource changes);
 *  2. the buffer switches to the new store; map_dma_buf hands it out from
 *     now on, and CPU faults map it once it is filled;
 *  3. the copy is pipelined: a fence goes into the dma_resv with
 *     DMA_RESV_USAGE_KERNEL, and a work item copies the old store into the
 *     new one move_copy_delay_ms later, then signals the fence. Nothing
 *     waits for it here: importers must wait for the KERNEL fences before
 *     they let their device at the memory (a device write that lands
 *     before the copy is overwritten by it, as on a GPU);
 *  4. the CPU mappings are zapped, so that the mmap follows the buffer.
 *
 * Fence and copy lifetime: the fence, its lock and the work item are one
 * allocation (struct texp_copy), freed when the last fence reference goes.
 * References are held by the work item until it has run, by the new
 * store (->fill), and by the dma_resv and whoever took one from it. The
 * copy holds references to its source and destination until it has run:
 * the old memory therefore stays until the copy is done and every
 * importer has unmapped it. Each fence also holds a reference to this
 * module, dropped by its release op, because its ops live here and a
 * fence can outlive every buffer (a sync_file exported from the dma-buf);
 * so the module cannot be unloaded while a copy is in flight, and
 * texp_store_exit() finds the workqueue idle.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/stddef.h>
#include <linux/workqueue.h>

#include "texp.h"

static unsigned int move_copy_delay_ms = 50;
module_param(move_copy_delay_ms, uint, 0644);
MODULE_PARM_DESC(move_copy_delay_ms,
		 "Delay of the pipelined copy of a moved buffer, whose fence is in its dma_resv meanwhile (default 50 ms)");

/* Runs the pipelined copies; see "Moves" above. */
static struct workqueue_struct *texp_copy_wq;

static void texp_free_pages(struct page **pages, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		if (pages[i]) {
			__free_page(pages[i]);
			atomic64_dec(&texp_stats.pages);
		}
	}
}

/*
 * __GFP_RETRY_MAYFAIL: a test buffer larger than what is left fails with
 * ENOMEM instead of calling the OOM killer.  With plain GFP_KERNEL the
 * order-0 allocations of a near-MemAvailable buffer (torture's
 * largest_mapping on the arm64 debug kernel, where KASAN and kmemleak keep
 * more memory than MemAvailable admits) OOM-killed the test runner.
 */
#define TEXP_GFP	(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

static bool texp_pfn_adjacent(struct page *a, struct page *b)
{
	unsigned long pa = page_to_pfn(a), pb = page_to_pfn(b);

	return pa + 1 == pb || pb + 1 == pa;
}

/*
 * Order-0 pages such that no two neighbours in buffer order are physically
 * adjacent. Pages the allocator hands out next to the previous one are held
 * back until the buffer is complete, then freed.
 */
static int texp_alloc_scatter(struct page **pages, unsigned long npages)
{
	unsigned long i, rejected = 0, limit = 2 * npages + 64;
	struct page *page, *tmp;
	LIST_HEAD(held);
	int ret = 0;

	for (i = 0; i < npages; ) {
		page = alloc_page(TEXP_GFP);
		if (!page) {
			ret = -ENOMEM;
			break;
		}
		if (i && texp_pfn_adjacent(pages[i - 1], page)) {
			list_add(&page->lru, &held);
			if (++rejected > limit) {
				ret = -EAGAIN;
				break;
			}
			continue;
		}
		atomic64_inc(&texp_stats.pages);
		pages[i++] = page;
	}

	list_for_each_entry_safe(page, tmp, &held, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	return ret;
}

/* Physically contiguous, naturally aligned runs of at most @chunk bytes. */
static int texp_alloc_runs(struct page **pages, size_t size, size_t chunk)
{
	unsigned long i = 0, j, n;
	size_t len;
	void *va;

	while (size) {
		len = min(size, chunk);
		va = alloc_pages_exact(len, TEXP_GFP);
		if (!va)
			return -ENOMEM;
		n = len >> PAGE_SHIFT;
		for (j = 0; j < n; j++)
			pages[i + j] = virt_to_page(va + j * PAGE_SIZE);
		atomic64_add(n, &texp_stats.pages);
		i += n;
		size -= len;
	}
	return 0;
}

/* Count the physically contiguous runs of @st and find the longest. */
void texp_store_count_segments(struct texp_store *st)
{
	unsigned long i, run = 1;

	st->phys_segments = 1;
	st->max_segment = 0;
	for (i = 1; i <= st->npages; i++) {
		if (i < st->npages &&
		    texp_store_pfn(st, i) == texp_store_pfn(st, i - 1) + 1) {
			run++;
			continue;
		}
		st->max_segment = max_t(u64, st->max_segment,
					(u64)run << PAGE_SHIFT);
		if (i < st->npages)
			st->phys_segments++;
		run = 1;
	}
}

static void texp_store_free(struct texp_store *st)
{
	if (st->fill)
		dma_fence_put(st->fill);
	if (texp_store_is_device(st))
		texp_devmem_store_free(st);
	if (st->pages) {
		texp_free_pages(st->pages, st->npages);
		kvfree(st->pages);
	}
	kfree(st);
}

/*
 * A new store of @size bytes, laid out as @kind says, zeroed, with one
 * reference for the caller. @placement: SYSTEM, or VRAM for the stand-in of
 * TTM_LIKE, which is system memory too.
 */
struct texp_store *texp_store_alloc(u32 kind, size_t size, u32 placement)
{
	struct texp_store *st;
	int ret;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return ERR_PTR(-ENOMEM);
	kref_init(&st->kref);
	st->placement = placement;
	st->npages = size >> PAGE_SHIFT;

	st->pages = kvcalloc(st->npages, sizeof(*st->pages), GFP_KERNEL);
	if (!st->pages) {
		ret = -ENOMEM;
		goto err;
	}

	switch (kind) {
	case VFIO_DMABUF_TEST_KIND_SCATTER:
		ret = texp_alloc_scatter(st->pages, st->npages);
		break;
	case VFIO_DMABUF_TEST_KIND_CONTIG:
		ret = texp_alloc_runs(st->pages, size, size);
		break;
	default:
		ret = texp_alloc_runs(st->pages, size,
				      VFIO_DMABUF_TEST_CHUNK_SIZE);
		break;
	}
	if (ret)
		goto err;

	texp_store_count_segments(st);
	if (kind == VFIO_DMABUF_TEST_KIND_SCATTER &&
	    WARN_ON(st->phys_segments != st->npages)) {
		ret = -EAGAIN;
		goto err;
	}
	return st;

err:
	texp_store_free(st);
	return ERR_PTR(ret);
}

static void texp_store_release(struct kref *kref)
{
	texp_store_free(container_of(kref, struct texp_store, kref));
}

struct texp_store *texp_store_get(struct texp_store *st)
{
	kref_get(&st->kref);
	return st;
}

void texp_store_put(struct texp_store *st)
{
	if (st)
		kref_put(&st->kref, texp_store_release);
}

/* Is the copy into @st still to run? */
bool texp_store_filling(const struct texp_store *st)
{
	return st->fill && !dma_fence_is_signaled(st->fill);
}

/* A pipelined copy and its fence: see "Moves" at the top of this file. */
struct texp_copy {
	struct dma_fence base;		/* first: dma_fence_free() frees it all */
	spinlock_t lock;		/* the fence's */
	struct delayed_work work;
	struct texp_store *src;		/* one reference until the copy ran */
	struct texp_store *dst;		/* one reference until the copy ran */
};

static const char *texp_fence_driver_name(struct dma_fence *fence)
{
	return KBUILD_MODNAME;
}

static const char *texp_fence_timeline_name(struct dma_fence *fence)
{
	return "move";
}

static void texp_fence_release(struct dma_fence *fence)
{
	dma_fence_free(fence);
	/* Taken in texp_move(): the ops of this fence live in this module. */
	module_put(THIS_MODULE);
}

static const struct dma_fence_ops texp_fence_ops = {
	.get_driver_name = texp_fence_driver_name,
	.get_timeline_name = texp_fence_timeline_name,
	.release = texp_fence_release,
};

static void texp_copy_work(struct work_struct *work)
{
	struct texp_copy *copy = container_of(to_delayed_work(work),
					      struct texp_copy, work);
	struct texp_store *src = copy->src, *dst = copy->dst;
	unsigned long i;
	bool cookie;

	/*
	 * The moves of one buffer are copied in order: a store that is
	 * itself still being filled is copied once it is. Polling rather
	 * than waiting keeps one copy from holding a worker for another.
	 */
	if (texp_store_filling(src)) {
		queue_delayed_work(texp_copy_wq, &copy->work, 1);
		return;
	}

	cookie = dma_fence_begin_signalling();
	for (i = 0; i < dst->npages; i++) {
		copy_highpage(dst->pages[i], src->pages[i]);
		cond_resched();
	}
	dma_fence_signal(&copy->base);
	dma_fence_end_signalling(cookie);
	atomic64_inc(&texp_stats.copies_done);

	copy->src = NULL;
	copy->dst = NULL;
	texp_store_put(src);
	texp_store_put(dst);
	/* The work's reference; may free @copy and drop the module's. */
	dma_fence_put(&copy->base);
}

/*
 * Move @buf to a new store in @placement: see "Moves" at the top of this
 * file. The caller holds the dma_resv and has checked that the buffer may
 * move (not pinned, not revoked). On failure nothing has changed and no
 * importer has been told anything.
 */
int texp_move(struct texp_buf *buf, u32 placement, enum texp_move_reason why)
{
	struct dma_buf *dmabuf = buf->dmabuf;
	struct texp_store *old = buf->store, *new;
	struct texp_copy *copy;
	int ret;

	dma_resv_assert_held(dmabuf->resv);
	BUILD_BUG_ON(offsetof(struct texp_copy, base));

	new = texp_store_alloc(buf->kind, buf->size, placement);
	if (IS_ERR(new))
		return PTR_ERR(new);
	copy = kzalloc(sizeof(*copy), GFP_KERNEL);
	if (!copy) {
		ret = -ENOMEM;
		goto err_put;
	}
	ret = dma_resv_reserve_fences(dmabuf->resv, 1);
	if (ret)
		goto err_free;

	/* Nothing fails from here on. */
	__module_get(THIS_MODULE);	/* dropped by texp_fence_release() */
	spin_lock_init(&copy->lock);
	dma_fence_init(&copy->base, &texp_fence_ops, &copy->lock,
		       buf->fence_context, buf->generation + 1);
	INIT_DELAYED_WORK(&copy->work, texp_copy_work);
	copy->src = texp_store_get(old);
	copy->dst = texp_store_get(new);
	new->fill = dma_fence_get(&copy->base);

	/* 1. Everyone with importer ops, before anything changes. */
	dma_buf_move_notify(dmabuf);
	atomic64_inc(&texp_stats.move_notifies);
	if (why == TEXP_MOVE_PIN)
		atomic64_inc(&texp_stats.pin_move_notifies);

	/* 2. New mappings and CPU faults get the new store. */
	mutex_lock(&buf->lock);
	buf->store = new;	/* the reference of texp_store_alloc() */
	buf->generation++;
	mutex_unlock(&buf->lock);

	/* 3. The copy: fenced now, done later. */
	dma_resv_add_fence(dmabuf->resv, &copy->base, DMA_RESV_USAGE_KERNEL);

	/*
	 * 4. CPU mappings of the old store go; faults wait for the copy. The
	 * copy is queued after the zap, so that what the CPU wrote to the
	 * old store until now is copied too.
	 */
	unmap_mapping_range(dmabuf->file->f_mapping, 0, 0, 1);
	queue_delayed_work(texp_copy_wq, &copy->work,
			   msecs_to_jiffies(READ_ONCE(move_copy_delay_ms)));

	/* The buffer's reference; maps and the copy may still hold theirs. */
	texp_store_put(old);

	if (why == TEXP_MOVE_PIN)
		atomic64_inc(&texp_stats.migrations);
	else
		atomic64_inc(&texp_stats.moves);
	return 0;

err_free:
	kfree(copy);
err_put:
	texp_store_put(new);
	return ret;
}

int texp_store_init(void)
{
	/* Fence signalling may be waited for from memory reclaim. */
	texp_copy_wq = alloc_workqueue("vfio_dmabuf_test_copy",
				       WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	return texp_copy_wq ? 0 : -ENOMEM;
}

/*
 * Module unload: every copy holds a fence reference and every fence a
 * module reference, so no copy is pending or running any more; this only
 * waits for the last work item to return.
 */
void texp_store_exit(void)
{
	destroy_workqueue(texp_copy_wq);
}
