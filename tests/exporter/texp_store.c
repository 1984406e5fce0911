// SPDX-License-Identifier: GPL-2.0
/*
 * Backing storage of the test dma-bufs: the pages and their physical layout
 * (enum vfio_dmabuf_test_kind).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "texp.h"

void texp_free_pages(struct page **pages, unsigned long npages)
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

static void texp_count_segments(struct texp_buf *buf)
{
	unsigned long i, run = 1;

	buf->phys_segments = 1;
	buf->max_segment = 0;
	for (i = 1; i <= buf->npages; i++) {
		if (i < buf->npages &&
		    page_to_pfn(buf->pages[i]) == page_to_pfn(buf->pages[i - 1]) + 1) {
			run++;
			continue;
		}
		buf->max_segment = max_t(u64, buf->max_segment,
					 (u64)run << PAGE_SHIFT);
		if (i < buf->npages)
			buf->phys_segments++;
		run = 1;
	}
}

int texp_alloc_buf_pages(struct texp_buf *buf)
{
	int ret;

	buf->pages = kvcalloc(buf->npages, sizeof(*buf->pages), GFP_KERNEL);
	if (!buf->pages)
		return -ENOMEM;

	switch (buf->kind) {
	case VFIO_DMABUF_TEST_KIND_SCATTER:
		ret = texp_alloc_scatter(buf->pages, buf->npages);
		break;
	case VFIO_DMABUF_TEST_KIND_CONTIG:
		ret = texp_alloc_runs(buf->pages, buf->size, buf->size);
		break;
	default:
		ret = texp_alloc_runs(buf->pages, buf->size,
				      VFIO_DMABUF_TEST_CHUNK_SIZE);
		break;
	}
	if (ret) {
		texp_free_pages(buf->pages, buf->npages);
		kvfree(buf->pages);
		buf->pages = NULL;
		return ret;
	}

	texp_count_segments(buf);
	if (buf->kind == VFIO_DMABUF_TEST_KIND_SCATTER &&
	    WARN_ON(buf->phys_segments != buf->npages)) {
		texp_free_pages(buf->pages, buf->npages);
		kvfree(buf->pages);
		buf->pages = NULL;
		return -EAGAIN;
	}
	return 0;
}

