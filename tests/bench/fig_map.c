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
 * least for hugetlb and contiguous buffers).  At the largest size, more
 * floor calls are split into the exporter's and the importer's steps
 * (floor_steps()), and one more MAP_DMABUF shows the IOMMU page sizes
 * (large_share()).
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
	struct series unmap_floor = { 0 }, import_floor = { 0 };
	int i;

	if (r->map_dma.n) {
		ratio_of(&r->map_buf, &r->map_dma, "map_%s_vs_map_dma%s", kind, suffix);
		ratio_of(&r->unmap_buf, &r->unmap_dma, "unmap_%s_vs_map_dma%s", kind, suffix);
	}
	if (!r->f_map.n)
		return;
	for (i = 0; i < r->f_map.n; i++) {
		series_add(&unmap_floor, r->f_unmap.v[i] + r->f_sync.v[i]);
		series_add(&import_floor, r->f_import.v[i] + r->f_map.v[i]);
	}
	ratio_of(&r->map_buf, &r->f_map, "map_%s_vs_floor%s", kind, suffix);
	ratio_of(&r->unmap_buf, &unmap_floor, "unmap_%s_vs_floor%s", kind, suffix);
	/* what MAP_DMABUF costs beyond importing and the floor: its own work */
	ratio_of(&r->map_buf, &import_floor, "map_%s_vs_import_and_floor%s", kind, suffix);
}

/* ---- the steps of an import and its release, from kprobes ---- */

enum {
	S_ATTACH, S_PIN, S_MAP_ATT, S_WAIT, S_ACCOUNT, S_XMAP_UDMABUF, S_XMAP_TEXP,
	S_UNMAP_ATT, S_UNPIN, S_DETACH, S_XUNMAP_UDMABUF, S_XUNMAP_TEXP, S_N,
};

static const char *const step_fns[S_N + 1] = {
	[S_ATTACH] = "dma_buf_dynamic_attach",
	[S_PIN] = "dma_buf_pin",
	[S_MAP_ATT] = "dma_buf_map_attachment",
	[S_WAIT] = "dma_resv_wait_timeout",
	[S_ACCOUNT] = "account_locked_vm",
	[S_XMAP_UDMABUF] = "map_udmabuf",
	[S_XMAP_TEXP] = "texp_map_dma_buf",
	[S_UNMAP_ATT] = "dma_buf_unmap_attachment",
	[S_UNPIN] = "dma_buf_unpin",
	[S_DETACH] = "dma_buf_detach",
	[S_XUNMAP_UDMABUF] = "unmap_udmabuf",
	[S_XUNMAP_TEXP] = "texp_unmap_dma_buf",
};

static bool is_exp_map(int fn)
{
	return fn == S_XMAP_UDMABUF || fn == S_XMAP_TEXP;
}

static bool is_exp_unmap(int fn)
{
	return fn == S_XUNMAP_UDMABUF || fn == S_XUNMAP_TEXP;
}

/* the time of calls of kind @pred made inside calls of @outer */
static double nested(const struct tr_call *c, int n, int outer, bool (*pred)(int))
{
	double t = 0;
	int i, j;

	for (i = 0; i < n; i++) {
		if (c[i].fn != outer)
			continue;
		for (j = 0; j < n; j++)
			if (pred(c[j].fn) && c[j].start_us >= c[i].start_us &&
			    c[j].start_us + c[j].us <= c[i].start_us + c[i].us)
				t += c[j].us;
	}
	return t;
}

enum {
	P_IMPORT, P_XMAP, P_ATTACH, P_PIN, P_MAP_ATT, P_WAIT, P_CHARGE, P_RUNS,
	P_IOMMU_MAP, P_IOMMU_UNMAP, P_SYNC, P_RELEASE, P_XUNMAP, P_DETACH, P_UNMAP_ATT,
	P_UNPIN, P_UNCHARGE, P_RELEASE_OTHER, P_N,
};

static const char *const step_names[P_N] = {
	"import", "exporter_map", "attach", "pin", "map_attachment", "fence_wait",
	"charge", "runs_other", "iommu_map", "iommu_unmap", "iotlb_sync", "release",
	"exporter_unmap", "detach", "unmap_attachment", "unpin", "uncharge",
	"release_other",
};

/* The steps of one traced floor call, from its calls @c. */
static void steps_of(const struct vfio_iommu_dmabuf_test_floor *f,
		     const struct tr_call *c, int n, double *p)
{
	double t[S_N] = { 0 }, first_account = -1, x;
	int i;

	for (i = 0; i < n; i++) {
		t[c[i].fn] += c[i].us;
		if (c[i].fn == S_ACCOUNT && (first_account < 0 || c[i].start_us < first_account))
			first_account = c[i].start_us;
	}
	p[P_CHARGE] = p[P_UNCHARGE] = 0;
	for (i = 0; i < n; i++)		/* the import charges, its release gives back */
		if (c[i].fn == S_ACCOUNT)
			p[c[i].start_us == first_account ? P_CHARGE : P_UNCHARGE] += c[i].us;
	p[P_IMPORT] = f->import_ns / 1e3;
	p[P_XMAP] = t[S_XMAP_UDMABUF] + t[S_XMAP_TEXP];
	p[P_ATTACH] = t[S_ATTACH] - nested(c, n, S_ATTACH, is_exp_map);
	p[P_PIN] = t[S_PIN];
	p[P_MAP_ATT] = t[S_MAP_ATT] - nested(c, n, S_MAP_ATT, is_exp_map);
	p[P_WAIT] = t[S_WAIT];
	x = p[P_IMPORT] - (t[S_ATTACH] + t[S_PIN] + t[S_MAP_ATT] + t[S_WAIT] + p[P_CHARGE]);
	p[P_RUNS] = x > 0 ? x : 0;
	p[P_IOMMU_MAP] = f->map_ns / 1e3;
	p[P_IOMMU_UNMAP] = f->unmap_ns / 1e3;
	p[P_SYNC] = f->sync_ns / 1e3;
	p[P_RELEASE] = f->release_ns / 1e3;
	p[P_XUNMAP] = t[S_XUNMAP_UDMABUF] + t[S_XUNMAP_TEXP];
	p[P_DETACH] = t[S_DETACH] - nested(c, n, S_DETACH, is_exp_unmap);
	p[P_UNMAP_ATT] = t[S_UNMAP_ATT] - nested(c, n, S_UNMAP_ATT, is_exp_unmap);
	p[P_UNPIN] = t[S_UNPIN];
	x = p[P_RELEASE] - (t[S_DETACH] + t[S_UNMAP_ATT] + t[S_UNPIN] + p[P_UNCHARGE]);
	p[P_RELEASE_OTHER] = x > 0 ? x : 0;
}

/*
 * Floor calls of the buffer with the dma-buf calls timed: where the
 * import's and the release's time goes.  Of 5 calls (after a warm-up
 * call: the first after arming the probes is slow), the one with the
 * median import is shown, so that its steps add up.  A static exporter
 * (udmabuf) maps in dma_buf_dynamic_attach() and unmaps in
 * dma_buf_detach(), a dynamic one in dma_buf_(un)map_attachment(); the
 * exporter's callbacks are timed on their own and taken out of the
 * dma-buf call around them.  What the calls do not explain is the
 * importer's own work: building the runs from the exporter's table, the
 * allocations, the locks.
 */
#define STEP_CALLS	5
static void floor_steps(struct bench *b, const char *tag, int fd, uint64_t size)
{
	struct vfio_iommu_dmabuf_test_floor f;
	double p[STEP_CALLS][P_N], imp[STEP_CALLS], mid;
	struct tr_call c[TR_MAX_CALLS];
	int n, i, k, e;

	if (!b->have_floor || !b->have_steps)
		return;
	if ((e = tr_steps_begin())) {
		info("%s: kprobe events: %s: the import is not split into steps", tag,
		     strerror(-e));
		return;
	}
	e = k_floor(b->cfd, fd, 0, IOVA_BASE, size, &f);
	for (i = 0; !e && i < STEP_CALLS; i++) {
		tr_steps_clear();
		e = k_floor(b->cfd, fd, 0, IOVA_BASE, size, &f);
		n = tr_steps_collect(c, TR_MAX_CALLS);
		steps_of(&f, c, n, p[i]);
		imp[i] = p[i][P_IMPORT];
	}
	tr_steps_end();
	if (e)
		die("VFIO_IOMMU_DMABUF_TEST_FLOOR (%s): %s", tag, strerror(-e));
	mid = median_of(imp, STEP_CALLS);	/* an odd count: one of them */
	for (i = 0; i < STEP_CALLS - 1 && p[i][P_IMPORT] != mid; i++)
		;
	for (k = 0; k < P_N; k++)
		fig(p[i][k], "us", "step_%s_%s", tag, step_names[k]);
}

void steps_setup(struct bench *b)
{
	int e;

	if (!b->have_steps || !b->have_floor)
		return;
	if ((e = tr_steps_setup(step_fns))) {
		info("kprobe events: %s: imports are not split into steps", strerror(-e));
		b->have_steps = false;
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
		if (last) {
			floor_steps(b, tag, m.dmabuf, sizes[i]);
			large_share(b, "4k_large_page_share", tag, m.dmabuf, NULL, sizes[i]);
		}
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
			floor_steps(b, tag, m.dmabuf, sizes[i]);
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
		if (last) {
			floor_steps(b, tag, fd, sizes[i]);
			large_share(b, "contig_large_page_share", tag, fd, NULL, sizes[i]);
		}
		close(fd);
	}
}

void fig_large(struct bench *b)
{
	group_4k(b);
	group_hugetlb(b);
	group_contig(b);
}
