// SPDX-License-Identifier: GPL-2.0-only
/*
 * map_bench: one large mapping, MAP_DMABUF against MAP_DMA of the same
 * pages and against the IOMMU's own floor.
 *
 *   4k_<S>M        a memfd of 4 KiB shmem pages: MAP_DMA of its mapping,
 *                  MAP_DMABUF of a udmabuf of it
 *   hugetlb_<S>M   the same over a hugetlb memfd (2 MiB folios)
 *   contig_<S>M    a test-exporter buffer of 2 MiB-aligned contiguous
 *                  runs (KIND_CHUNKED): MAP_DMABUF only
 *
 * Each repetition maps and unmaps with each ioctl and asks
 * VFIO_IOMMU_DMABUF_TEST_FLOOR for the same buffer, offset, size and IOVA:
 * what importing costs (exporter attach, pin, map, fence wait, runs) and
 * what iommu_map() of exactly MAP_DMABUF's slices, their unmap, the IOTLB
 * flush and the release cost.  The floor of a MAP_DMABUF is its
 * iommu_map() time.  Sizes: 1, 16 and 256 MiB (up to --size; 2 MiB at
 * least for hugetlb and contiguous buffers).  At the largest size, one more
 * MAP_DMABUF shows the IOMMU page sizes (large_share()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <vfio_dmabuf_test_exporter.h>

#include "bench.h"

struct big {
	struct series map_dma, unmap_dma, map_buf, unmap_buf;
	struct series f_import, f_map, f_unmap, f_sync, f_release;
	unsigned int slices, domains;
};

static double us_since(uint64_t t)
{
	return (double)(now_ns() - t) / 1e3;
}

/* one timed step of a repetition: MAP_DMA, MAP_DMABUF, or the floor */
static void big_step(struct bench *b, int which, void *va, int fd, uint64_t size,
		     struct big *r, struct vfio_iommu_dmabuf_test_floor *f)
{
	uint64_t t;
	int e;

	switch (which) {
	case 0:
		if (!va)
			return;
		t = now_ns();
		if ((e = k_map_dma(b->cfd, va, IOVA_BASE, size)))
			die("MAP_DMA of %llu bytes: %s", (unsigned long long)size, strerror(-e));
		series_add(&r->map_dma, us_since(t));
		t = now_ns();
		if ((e = k_unmap(b->cfd, IOVA_BASE, size)))
			die("UNMAP_DMA: %s", strerror(-e));
		series_add(&r->unmap_dma, us_since(t));
		return;
	case 1:
		t = now_ns();
		if ((e = k_map_dmabuf(b->cfd, fd, 0, IOVA_BASE, size)))
			die("MAP_DMABUF of %llu bytes: %s", (unsigned long long)size, strerror(-e));
		series_add(&r->map_buf, us_since(t));
		t = now_ns();
		if ((e = k_unmap(b->cfd, IOVA_BASE, size)))
			die("UNMAP_DMA of the dma-buf: %s", strerror(-e));
		series_add(&r->unmap_buf, us_since(t));
		return;
	default:
		if (!b->have_floor)
			return;
		if ((e = k_floor(b->cfd, fd, 0, IOVA_BASE, size, f)))
			die("VFIO_IOMMU_DMABUF_TEST_FLOOR: %s", strerror(-e));
		series_add(&r->f_import, f->import_ns / 1e3);
		series_add(&r->f_map, f->map_ns / 1e3);
		series_add(&r->f_unmap, f->unmap_ns / 1e3);
		series_add(&r->f_sync, f->sync_ns / 1e3);
		series_add(&r->f_release, f->release_ns / 1e3);
		r->slices = f->nr_slices;
		r->domains = f->nr_domains;
	}
}

/*
 * The repetitions.  The three steps take turns in a rotating order: what
 * one leaves behind for the next (memory to free, page tables, deferred
 * work on the other vCPU) must not always burden the same one.
 */
static void big_run(struct bench *b, const char *tag, void *va, int fd, uint64_t size,
		    struct big *r)
{
	struct vfio_iommu_dmabuf_test_floor f = { 0 };
	int i, k;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < b->o.reps; i++) {
		for (k = 0; k < 3; k++)
			big_step(b, (k + i) % 3, va, fd, size, r, &f);
		info("%s rep %d: map_dma %.0f unmap_dma %.0f map_dmabuf %.0f unmap_dmabuf %.0f floor import %.0f map %.0f unmap %.0f sync %.0f release %.0f us, %u slices",
		     tag, i, va ? r->map_dma.v[i] : 0, va ? r->unmap_dma.v[i] : 0,
		     r->map_buf.v[i], r->unmap_buf.v[i], f.import_ns / 1e3, f.map_ns / 1e3,
		     f.unmap_ns / 1e3, f.sync_ns / 1e3, f.release_ns / 1e3, f.nr_slices);
	}
}

static void big_print(const char *tag, const struct big *r)
{
	if (r->map_dma.n) {
		fig(series_median(&r->map_dma), "us", "map_dma_%s", tag);
		fig(series_median(&r->unmap_dma), "us", "unmap_dma_%s", tag);
	}
	fig(series_median(&r->map_buf), "us", "map_dmabuf_%s", tag);
	fig(series_median(&r->unmap_buf), "us", "unmap_dmabuf_%s", tag);
	if (!r->f_map.n)
		return;
	fig(series_median(&r->f_import), "us", "floor_import_%s", tag);
	fig(series_median(&r->f_map), "us", "floor_map_%s", tag);
	fig(series_median(&r->f_unmap), "us", "floor_unmap_%s", tag);
	fig(series_median(&r->f_sync), "us", "floor_sync_%s", tag);
	fig(series_median(&r->f_release), "us", "floor_release_%s", tag);
	fig(r->slices, "calls", "iommu_map_calls_%s", tag);
	fig(r->domains, "domains", "iommu_domains_%s", tag);
}

/* the ratios of one group; @kind "4k" or "hugetlb" or "contig" */
static void big_ratios(const char *kind, const char *suffix, const struct big *r)
{
	double unmap_floor = series_median(&r->f_unmap) + series_median(&r->f_sync);

	if (r->map_dma.n) {
		ratio(series_median(&r->map_buf), series_median(&r->map_dma),
		      "map_%s_vs_map_dma%s", kind, suffix);
		ratio(series_median(&r->unmap_buf), series_median(&r->unmap_dma),
		      "unmap_%s_vs_map_dma%s", kind, suffix);
	}
	if (r->f_map.n) {
		ratio(series_median(&r->map_buf), series_median(&r->f_map),
		      "map_%s_vs_floor%s", kind, suffix);
		ratio(series_median(&r->unmap_buf), unmap_floor,
		      "unmap_%s_vs_floor%s", kind, suffix);
	}
}

/* ---- large pages, from the iommu:map tracepoint ---- */

/*
 * Map @fd (or @va with MAP_DMA) once more, untimed, with iommu:map on,
 * and print the share of the bytes that went into pages of 2 MiB or more.
 */
static void large_share(struct bench *b, const char *name, const char *tag,
			int fd, void *va, uint64_t size)
{
	struct tr_map m;
	int e, et;

	if (!b->have_trace) {
		info("%s: no tracefs with events/iommu/map: not measured", name);
		return;
	}
	et = tr_map_begin();
	e = va ? k_map_dma(b->cfd, va, IOVA_BASE, size) :
		 k_map_dmabuf(b->cfd, fd, 0, IOVA_BASE, size);
	if (!et)
		et = tr_map_end(b->pgsizes, &m);
	if (e)
		die("%s: map: %s", name, strerror(-e));
	if ((e = k_unmap(b->cfd, IOVA_BASE, size)))
		die("%s: unmap: %s", name, strerror(-e));
	if (et) {
		info("%s: tracing failed (%s): not measured", name, strerror(-et));
		return;
	}
	tr_map_pages_info(tag, &m);
	/* one IOMMU domain here: the events must add up to the mapping */
	if (!m.bytes || m.bytes % size || m.unaligned) {
		info("%s: the iommu:map events cover %llu bytes (%llu unaligned), not %llu per domain: not computed",
		     name, (unsigned long long)m.bytes, (unsigned long long)m.unaligned,
		     (unsigned long long)size);
		return;
	}
	fig((double)m.events, "calls", "%s_iommu_map_calls", tag);
	ratio((double)tr_map_bytes_from(&m, 21), (double)m.bytes, "%s", name);
}

/* ---- the groups ---- */

/* the sizes of a group: 1, 16, 256 MiB up to --size, and --size */
static int group_sizes(const struct bench *b, uint64_t align, uint64_t *sizes)
{
	static const uint64_t scale[] = { 1 * MiB, 16 * MiB, 256 * MiB };
	uint64_t s, max = (b->o.size + align - 1) / align * align;
	int n = 0;
	unsigned int i;

	for (i = 0; i <= sizeof(scale) / sizeof(scale[0]); i++) {
		s = i < sizeof(scale) / sizeof(scale[0]) ? scale[i] : max;
		s = (s + align - 1) / align * align;
		if (s > max || (n && sizes[n - 1] >= s))
			continue;
		sizes[n++] = s;
	}
	return n;
}

static void group_4k(struct bench *b)
{
	uint64_t sizes[4];
	char tag[32];
	struct membuf m;
	struct big r;
	int n = group_sizes(b, PG, sizes), i, e;
	bool last;

	if (!b->have_udmabuf) {
		info("4k: this kernel has no udmabuf: MAP_DMABUF of a memfd's pages not measured");
		return;
	}
	for (i = 0; i < n; i++) {
		last = i == n - 1;
		snprintf(tag, sizeof(tag), "4k_%lluM", (unsigned long long)(sizes[i] / MiB));
		if ((e = membuf_make(&m, sizes[i], false, true)))
			die("memfd + udmabuf of %llu bytes: %s (udmabuf.size_limit_mb?)",
			    (unsigned long long)sizes[i], strerror(-e));
		info("%s: MAP_DMA of a memfd of 4 KiB pages vs MAP_DMABUF of a udmabuf of it (the same pages), %d reps",
		     tag, b->o.reps);
		big_run(b, tag, m.va, m.dmabuf, sizes[i], &r);
		big_print(tag, &r);
		big_ratios("4k", tag + 2, &r);	/* "_<S>M" */
		if (last)
			big_ratios("4k", "", &r);
		if (last)
			large_share(b, "4k_large_page_share", tag, m.dmabuf, NULL, sizes[i]);
		membuf_free(&m);
	}
}

static void group_hugetlb(struct bench *b)
{
	long have = meminfo_kb("HugePages_Total");
	uint64_t sizes[4];
	char tag[32];
	struct membuf m;
	struct big r;
	int n = group_sizes(b, HPAGE, sizes), i, e;
	bool last;

	if (!b->have_udmabuf) {
		info("hugetlb: this kernel has no udmabuf: not measured");
		return;
	}
	for (i = 0; i < n; i++) {
		last = i == n - 1;
		snprintf(tag, sizeof(tag), "hugetlb_%lluM", (unsigned long long)(sizes[i] / MiB));
		if (have < 0 || (uint64_t)have * HPAGE < sizes[i]) {
			info("%s: only %ld hugetlb pages of 2 MiB reserved: not measured", tag, have);
			continue;
		}
		if ((e = membuf_make(&m, sizes[i], true, true))) {
			info("%s: hugetlb memfd + udmabuf: %s: not measured", tag, strerror(-e));
			continue;
		}
		info("%s: MAP_DMA of a hugetlb memfd (2 MiB folios) vs MAP_DMABUF of a udmabuf of it, %d reps",
		     tag, b->o.reps);
		big_run(b, tag, m.va, m.dmabuf, sizes[i], &r);
		big_print(tag, &r);
		big_ratios("hugetlb", tag + 7, &r);
		if (last)
			big_ratios("hugetlb", "", &r);
		if (last) {
			large_share(b, "hugetlb_large_page_share", tag, m.dmabuf, NULL, sizes[i]);
			large_share(b, "hugetlb_map_dma_large_page_share", "hugetlb_map_dma",
				    -1, m.va, sizes[i]);
		}
		membuf_free(&m);
	}
}

static void group_contig(struct bench *b)
{
	uint64_t sizes[4];
	char tag[32];
	struct big r;
	int n = group_sizes(b, HPAGE, sizes), i, e, fd;
	bool last;

	if (!b->have_texp) {
		info("contig: no test exporter: not measured");
		return;
	}
	for (i = 0; i < n; i++) {
		last = i == n - 1;
		snprintf(tag, sizeof(tag), "contig_%lluM", (unsigned long long)(sizes[i] / MiB));
		e = texp_create(sizes[i], VFIO_DMABUF_TEST_KIND_CHUNKED,
				VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, &fd);
		if (e) {
			info("%s: test exporter KIND_CHUNKED: %s: not measured", tag, strerror(-e));
			continue;
		}
		info("%s: MAP_DMABUF of a test-exporter buffer of 2 MiB-aligned contiguous runs (KIND_CHUNKED, pinned), %d reps",
		     tag, b->o.reps);
		big_run(b, tag, NULL, fd, sizes[i], &r);
		big_print(tag, &r);
		big_ratios("contig", tag + 6, &r);
		if (last)
			big_ratios("contig", "", &r);
		if (last)
			large_share(b, "contig_large_page_share", tag, fd, NULL, sizes[i]);
		close(fd);
	}
}

void fig_large(struct bench *b)
{
	group_4k(b);
	group_hugetlb(b);
	group_contig(b);
}
