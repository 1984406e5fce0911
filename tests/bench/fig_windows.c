// SPDX-License-Identifier: GPL-2.0-only
/*
 * map_bench: many mappings.  N windows of 4 KiB of ONE dma-buf at
 * consecutive IOVAs against N MAP_DMA entries of 4 KiB of a memfd, for
 * N = 1,000, 10,000 and 65,535 (type1's default dma_entry_limit), as far
 * as --windows, --size and the container's limit allow:
 *
 *   windows_<N>_map_vs_map_dma   per-entry map cost, MAP_DMABUF / MAP_DMA
 *   windows_<N>_flat             mean map time per window of the last B
 *                                windows / of the first B after window 0
 *                                (which creates the import), B = 1,000 or
 *                                (N - 1) / 2 when N is smaller than 2,001;
 *                                each window is timed, and a time above 10
 *                                times its block's median (the host
 *                                preempted the vCPU) is left out
 *   windows_<N>_unmap_all_vs_map_dma
 *                                UNMAP_DMA(FLAG_ALL) of the N windows / of
 *                                the N MAP_DMA entries
 *   revoke_<N>_vs_unmap_<N>_map_dma
 *                                the exporter revoking the buffer under all
 *                                N windows (VFIO_DMABUF_TEST_REVOKE, flags
 *                                0, timed around the ioctl) / UNMAP_DMA
 *                                (FLAG_ALL) of N MAP_DMA entries
 *
 * Below 5,000 windows a repetition is the median of several rounds (5,000 /
 * N, rounded up): a revoke of 1,000 windows takes about a millisecond, and
 * one host time slice taken from the vCPU would double it.
 *
 * The buffer is a pinned test-exporter buffer of 2 MiB-aligned contiguous
 * runs (KIND_CHUNKED, MODE_DYNAMIC_PIN: only a dynamic buffer can be
 * revoked); each window is one page of it, one iommu_map() of 4 KiB.
 * After a revocation the revoked windows are unmapped (timed too) and the
 * buffer is made usable again (VFIO_DMABUF_TEST_REVOKE_RESTORE).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfio-dmabuf.h>
#include <vfio_dmabuf_test_exporter.h>

#include "bench.h"

struct wsample {
	double total_us, first_us, first_blk_us, last_blk_us;
	size_t dropped;
};

/*
 * Map @n pages at consecutive IOVAs with MAP_DMA (@fd < 0) or as windows
 * of @fd.  Each call is timed; the blocks are the calls 1..@blk and the
 * last @blk (@tmp: room for 2 * @blk times).
 */
static void map_n(struct bench *b, char *va, int fd, unsigned int n,
		  unsigned int blk, double *tmp, struct wsample *o)
{
	uint64_t t0, ta, tb;
	unsigned int i;
	double us;
	size_t d1, d2;
	int e;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		uint64_t off = (uint64_t)i * PG;

		ta = now_ns();
		e = fd < 0 ? k_map_dma(b->cfd, va + off, IOVA_BASE + off, PG) :
			     k_map_dmabuf(b->cfd, fd, off, IOVA_BASE + off, PG);
		tb = now_ns();
		if (e)
			die("%s %u of %u: %s", fd < 0 ? "MAP_DMA" : "MAP_DMABUF window", i, n,
			    strerror(-e));
		us = (double)(tb - ta) / 1e3;
		if (i == 0)
			o->first_us = us;
		else if (i <= blk)
			tmp[i - 1] = us;
		if (i >= n - blk)
			tmp[blk + i - (n - blk)] = us;
	}
	o->total_us = (double)(now_ns() - t0) / 1e3;
	o->first_blk_us = mean_without_preemptions(tmp, blk, &d1);
	o->last_blk_us = mean_without_preemptions(tmp + blk, blk, &d2);
	o->dropped = d1 + d2;
}

static double unmap_all_us(struct bench *b, uint64_t bytes)
{
	uint64_t t = now_ns(), done = 0;
	int e = k_unmap_all(b->cfd, &done);
	double us = (double)(now_ns() - t) / 1e3;

	if (e)
		die("UNMAP_DMA(FLAG_ALL): %s", strerror(-e));
	if (done != bytes)
		die("UNMAP_DMA(FLAG_ALL) unmapped %llu bytes, not %llu",
		    (unsigned long long)done, (unsigned long long)bytes);
	return us;
}

enum {
	W_DMA, W_DMA_FIRST_BLK, W_DMA_LAST_BLK, W_BUF, W_BUF_FIRST, W_BUF_FIRST_BLK,
	W_BUF_LAST_BLK, W_UNMAP_DMA, W_UNMAP_BUF, W_REVOKE, W_RELEASED, W_UNMAP_REVOKED, W_N,
};

/* One round of everything: MAP_DMA, windows, windows again and a revoke. */
static size_t windows_once(struct bench *b, char *va, int fd, unsigned int n,
			   unsigned int blk, double *tmp, struct series *w)
{
	uint64_t bytes = (uint64_t)n * PG, t;
	struct wsample s;
	size_t dropped;
	int e, a;

	map_n(b, va, -1, n, blk, tmp, &s);
	series_add(&w[W_DMA], s.total_us / n);
	series_add(&w[W_DMA_FIRST_BLK], s.first_blk_us);
	series_add(&w[W_DMA_LAST_BLK], s.last_blk_us);
	series_add(&w[W_UNMAP_DMA], unmap_all_us(b, bytes));

	map_n(b, NULL, fd, n, blk, tmp, &s);
	dropped = s.dropped;
	series_add(&w[W_BUF], s.total_us / n);
	series_add(&w[W_BUF_FIRST], s.first_us);
	series_add(&w[W_BUF_FIRST_BLK], s.first_blk_us);
	series_add(&w[W_BUF_LAST_BLK], s.last_blk_us);
	series_add(&w[W_UNMAP_BUF], unmap_all_us(b, bytes));

	/* the same windows again, and the exporter takes the buffer away */
	map_n(b, NULL, fd, n, blk, tmp, &s);
	t = now_ns();
	if ((e = texp_revoke(fd, 0)))
		die("VFIO_DMABUF_TEST_REVOKE: %s", strerror(-e));
	series_add(&w[W_REVOKE], (double)(now_ns() - t) / 1e3);
	/* the importer gives the buffer back from a worker */
	while ((a = texp_attachments(fd)) > 0 && now_ns() - t < 10000000000ull)
		;
	if (a)
		die("the revoked buffer still has %d attachments (%s)", a,
		    a < 0 ? strerror(-a) : "after 10 s");
	series_add(&w[W_RELEASED], (double)(now_ns() - t) / 1e3);
	series_add(&w[W_UNMAP_REVOKED], unmap_all_us(b, bytes));
	if ((e = texp_revoke(fd, VFIO_DMABUF_TEST_REVOKE_RESTORE)))
		die("VFIO_DMABUF_TEST_REVOKE_RESTORE: %s", strerror(-e));
	return dropped;
}

static void windows_n(struct bench *b, char *va, int fd, unsigned int n)
{
	unsigned int blk = n > 2000 ? 1000 : (n - 1) / 2;
	/* a repetition of a few windows takes a few host time slices at least */
	int inner = n >= 5000 ? 1 : (int)((5000 + n - 1) / n), r, i, k;
	double *tmp = malloc(2 * blk * sizeof(*tmp));
	struct series w[W_N] = { 0 }, in[W_N];
	size_t dropped = 0;

	if (!tmp)
		die("out of memory");
	info("windows_%u: %u windows of 4 KiB of one test-exporter buffer (KIND_CHUNKED, pinned) vs %u MAP_DMA entries of 4 KiB of a memfd, consecutive IOVAs; flatness over blocks of %u windows; %d reps%s",
	     n, n, n, blk, b->o.reps,
	     inner > 1 ? ", each the median of several rounds" : "");
	for (r = 0; r < b->o.reps; r++) {
		memset(in, 0, sizeof(in));
		for (i = 0; i < inner; i++)
			dropped += windows_once(b, va, fd, n, blk, tmp, in);
		for (k = 0; k < W_N; k++)
			series_add(&w[k], series_median(&in[k]));
		info("windows_%u rep %d: MAP_DMA %.2f us each, windows %.2f us each (first %.0f us, blocks %.2f / %.2f us), UNMAP_DMA(ALL) %.0f / %.0f us, revoke %.0f us, released %.0f us",
		     n, r, w[W_DMA].v[r], w[W_BUF].v[r], w[W_BUF_FIRST].v[r],
		     w[W_BUF_FIRST_BLK].v[r], w[W_BUF_LAST_BLK].v[r], w[W_UNMAP_DMA].v[r],
		     w[W_UNMAP_BUF].v[r], w[W_REVOKE].v[r], w[W_RELEASED].v[r]);
	}
	free(tmp);
	info("windows_%u: %zu of %d x %d x %u per-window times above 10 x their block's median left out (host preemptions)",
	     n, dropped, b->o.reps, inner, 2 * blk);
	fig(series_median(&w[W_DMA]), "us", "windows_%u_map_dma_each", n);
	fig(series_median(&w[W_BUF]), "us", "windows_%u_map_dmabuf_each", n);
	fig(series_median(&w[W_BUF_FIRST]), "us", "windows_%u_first_window", n);
	fig(series_median(&w[W_BUF_FIRST_BLK]), "us", "windows_%u_first_block_each", n);
	fig(series_median(&w[W_BUF_LAST_BLK]), "us", "windows_%u_last_block_each", n);
	fig(series_median(&w[W_DMA_FIRST_BLK]), "us", "map_dma_%u_first_block_each", n);
	fig(series_median(&w[W_DMA_LAST_BLK]), "us", "map_dma_%u_last_block_each", n);
	fig(series_median(&w[W_UNMAP_DMA]) / 1e3, "ms", "unmap_all_%u_map_dma", n);
	fig(series_median(&w[W_UNMAP_BUF]) / 1e3, "ms", "unmap_all_%u_windows", n);
	fig(series_median(&w[W_REVOKE]) / 1e3, "ms", "revoke_%u", n);
	fig(series_median(&w[W_RELEASED]) / 1e3, "ms", "revoke_%u_released", n);
	fig(series_median(&w[W_UNMAP_REVOKED]) / 1e3, "ms", "unmap_all_%u_revoked", n);
	ratio_of(&w[W_BUF], &w[W_DMA], "windows_%u_map_vs_map_dma", n);
	ratio_of(&w[W_BUF_LAST_BLK], &w[W_BUF_FIRST_BLK], "windows_%u_flat", n);
	ratio_of(&w[W_DMA_LAST_BLK], &w[W_DMA_FIRST_BLK], "map_dma_%u_flat", n);
	ratio_of(&w[W_UNMAP_BUF], &w[W_UNMAP_DMA], "windows_%u_unmap_all_vs_map_dma", n);
	ratio_of(&w[W_REVOKE], &w[W_UNMAP_DMA], "revoke_%u_vs_unmap_%u_map_dma", n, n);
}

void fig_windows(struct bench *b)
{
	static const unsigned int counts[] = { 1000, 10000, 65535 };
	struct vfd_iommu_info ii;
	unsigned int nmax = b->o.windows, i, last = 0;
	uint64_t bufsize;
	struct membuf m;
	int e, fd;

	if (!b->have_texp) {
		info("windows: no test exporter: not measured");
		return;
	}
	if (!vfd_container_iommu_info(b->c, &ii) && ii.dma_avail_reported &&
	    ii.dma_avail < nmax) {
		info("windows: the container has room for %u mappings (dma_entry_limit): at most that many windows",
		     ii.dma_avail);
		nmax = ii.dma_avail;
	}
	if (nmax > b->o.size / PG)
		nmax = (unsigned int)(b->o.size / PG);
	if (nmax < 3) {
		info("windows: %u windows are too few to measure", nmax);
		return;
	}
	bufsize = ((uint64_t)nmax * PG + HPAGE - 1) / HPAGE * HPAGE;
	if ((e = membuf_make(&m, (uint64_t)nmax * PG, false, false)))
		die("memfd of %u pages: %s", nmax, strerror(-e));
	if ((e = texp_create(bufsize, VFIO_DMABUF_TEST_KIND_CHUNKED,
			     VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, &fd)))
		die("test exporter buffer of %llu bytes: %s", (unsigned long long)bufsize,
		    strerror(-e));
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		if (counts[i] > nmax)
			break;
		windows_n(b, m.va, fd, counts[i]);
		last = counts[i];
	}
	if (last != nmax)
		windows_n(b, m.va, fd, nmax);
	close(fd);
	membuf_free(&m);
}
