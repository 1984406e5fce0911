// SPDX-License-Identifier: GPL-2.0
/*
 * Backing storage of the test dma-bufs: stores of pages in the physical
 * layout of enum vfio_dmabuf_test_kind. A store is reference counted, so
 * that its memory outlives the buffer's use of it while an importer still
 * has it mapped (see struct texp_store).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "texp.h"

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
static void texp_count_segments(struct texp_store *st)
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
	if (st->pages) {
		texp_free_pages(st->pages, st->npages);
		kvfree(st->pages);
	}
	kfree(st);
}

/*
 * A new store of @size bytes in system memory, laid out as @kind says,
 * zeroed, with one reference for the caller.
 */
struct texp_store *texp_store_alloc(u32 kind, size_t size)
{
	struct texp_store *st;
	int ret;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return ERR_PTR(-ENOMEM);
	kref_init(&st->kref);
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

	texp_count_segments(st);
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
