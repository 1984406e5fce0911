// SPDX-License-Identifier: GPL-2.0-only
/*
 * map_bench: 4 KiB map+unmap cycles at one IOVA, as fast as they go.
 *
 *   map_dma      MAP_DMA of one memfd page, UNMAP_DMA
 *   map_dmabuf   MAP_DMABUF of a one-page udmabuf of that page, UNMAP_DMA,
 *                raw ioctls: every cycle imports the buffer (attach, the
 *                exporter's map, pin, runs) and gives it back
 *   library      the same cycle through libvfio-dmabuf:
 *                vfd_dma_map_dmabuf() at the same fixed IOVA, vfd_dma_unmap()
 *   window_held  MAP_DMABUF of page 0 of a two-page udmabuf whose page 1
 *                stays mapped elsewhere, so the import is kept and a cycle
 *                only maps a window (informational: where the time goes)
 *
 * The kinds run --seconds in all, split evenly over the repetitions.
 * Within a repetition the kinds take turns chunk by chunk (16 cycles, a rotating
 * order), and the rate of a kind is 16 cycles / its median chunk time: a
 * chunk in which the host preempted the vCPU is an outlier the median
 * ignores, where a plain cycles / elapsed time would charge it to
 * whichever kind happened to run.  The figure is the median over the
 * repetitions.  The floor of one page is the median of 5 calls per
 * repetition.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfio-dmabuf.h>
#include <vfio_dmabuf_test_exporter.h>

#include "bench.h"

#define HELD_IOVA	(IOVA_BASE + 64 * MiB)
/* cycles per timed chunk */
#define CHUNK		16

struct cyc {
	struct bench *b;
	void *va;		/* the memfd page */
	int fd;			/* one-page dma-buf of it */
	int fd2;		/* two-page dma-buf, page 1 mapped at HELD_IOVA */
};

static int c_dma(struct cyc *c)
{
	int e = k_map_dma(c->b->cfd, c->va, IOVA_BASE, PG);

	return e ? e : k_unmap(c->b->cfd, IOVA_BASE, PG);
}

static int c_raw(struct cyc *c)
{
	int e = k_map_dmabuf(c->b->cfd, c->fd, 0, IOVA_BASE, PG);

	return e ? e : k_unmap(c->b->cfd, IOVA_BASE, PG);
}

static int c_lib(struct cyc *c)
{
	uint64_t iova = IOVA_BASE;
	int e = vfd_dma_map_dmabuf(c->b->c, c->fd, 0, PG, &iova, VFD_DMA_RW);

	return e ? e : vfd_dma_unmap(c->b->c, IOVA_BASE);
}

static int c_held(struct cyc *c)
{
	int e = k_map_dmabuf(c->b->cfd, c->fd2, 0, IOVA_BASE, PG);

	return e ? e : k_unmap(c->b->cfd, IOVA_BASE, PG);
}

static const struct kind {
	const char *name;
	int (*fn)(struct cyc *c);
} kinds[] = {
	{ "map_dma", c_dma },
	{ "map_dmabuf", c_raw },
	{ "library", c_lib },
	{ "window_held", c_held },
};
#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

/* One timed chunk of CHUNK cycles of @k: nanoseconds. */
static double cycle_chunk(struct cyc *c, const struct kind *k)
{
	uint64_t t0 = now_ns();
	int i, e;

	for (i = 0; i < CHUNK; i++)
		if ((e = k->fn(c)))
			die("4 KiB cycle %s: %s", k->name, strerror(-e));
	return (double)(now_ns() - t0);
}

struct chunks {
	double *ns;
	size_t n, cap;
};

static void chunks_add(struct chunks *ch, double ns)
{
	if (ch->n == ch->cap) {
		ch->cap = ch->cap ? 2 * ch->cap : 1024;
		ch->ns = realloc(ch->ns, ch->cap * sizeof(*ch->ns));
		if (!ch->ns)
			die("out of memory");
	}
	ch->ns[ch->n++] = ns;
}

/* A dma-buf of @pages pages of @m's memfd (udmabuf), or of the test exporter. */
static int cycle_buf(struct bench *b, struct membuf *m, uint64_t pages)
{
	int e, fd;

	if (b->have_udmabuf) {
		if ((e = membuf_make(m, pages * PG, false, true)))
			die("memfd + udmabuf of %llu pages: %s", (unsigned long long)pages,
			    strerror(-e));
		return m->dmabuf;
	}
	if ((e = membuf_make(m, pages * PG, false, false)))
		die("memfd of %llu pages: %s", (unsigned long long)pages, strerror(-e));
	if ((e = texp_create(pages * PG, VFIO_DMABUF_TEST_KIND_SCATTER,
			     VFIO_DMABUF_TEST_MODE_STATIC, &fd)))
		die("test exporter buffer: %s", strerror(-e));
	return fd;
}

/* the floor of one page, @n calls: the median of each step */
static void floor_page(struct bench *b, int fd, struct series *out)
{
	struct vfio_iommu_dmabuf_test_floor f;
	struct series st[5] = { 0 };
	int i, e;

	for (i = 0; i < 5; i++) {
		if ((e = k_floor(b->cfd, fd, 0, IOVA_BASE, PG, &f)))
			die("VFIO_IOMMU_DMABUF_TEST_FLOOR of one page: %s", strerror(-e));
		series_add(&st[0], f.import_ns / 1e3);
		series_add(&st[1], f.map_ns / 1e3);
		series_add(&st[2], f.unmap_ns / 1e3);
		series_add(&st[3], f.sync_ns / 1e3);
		series_add(&st[4], f.release_ns / 1e3);
	}
	for (i = 0; i < 5; i++)
		series_add(&out[i], series_median(&st[i]));
}

void fig_cycles(struct bench *b)
{
	static const char *const steps[5] = { "import", "map", "unmap", "sync", "release" };
	struct series s[NKINDS] = { 0 }, fl[5] = { 0 };
	struct chunks ch[NKINDS] = { 0 };
	struct membuf m1, m2;
	struct cyc c = { .b = b };
	uint64_t budget = (uint64_t)(b->o.seconds / b->o.reps * 1e9), t0;
	unsigned int k, j, round;
	int r, i, e;

	c.fd = cycle_buf(b, &m1, 1);
	c.fd2 = cycle_buf(b, &m2, 2);
	c.va = m1.va;
	info("cycle_4k: 4 KiB map+unmap cycles at one IOVA: MAP_DMA of a memfd page, MAP_DMABUF of %s of it (raw ioctls and libvfio-dmabuf); %d reps of %.2f s, in chunks of %d cycles, the %zu kinds taking turns",
	     b->have_udmabuf ? "a one-page udmabuf" : "a one-page test-exporter buffer (no udmabuf)",
	     b->o.reps, b->o.seconds / b->o.reps, CHUNK, NKINDS);
	if ((e = k_map_dmabuf(b->cfd, c.fd2, PG, HELD_IOVA, PG)))
		die("MAP_DMABUF of the held page: %s", strerror(-e));
	for (k = 0; k < NKINDS; k++)		/* warm up, untimed */
		cycle_chunk(&c, &kinds[k]);
	for (r = 0; r < b->o.reps; r++) {
		for (k = 0; k < NKINDS; k++)
			ch[k].n = 0;
		t0 = now_ns();
		for (round = (unsigned int)r; now_ns() - t0 < budget; round++) {
			for (k = 0; k < NKINDS; k++) {
				j = (k + round) % NKINDS;
				chunks_add(&ch[j], cycle_chunk(&c, &kinds[j]));
			}
		}
		for (k = 0; k < NKINDS; k++)
			series_add(&s[k], CHUNK / (median_of(ch[k].ns, ch[k].n) / 1e9));
		info("cycle_4k rep %d: map_dma %.0f map_dmabuf %.0f library %.0f window_held %.0f cycles/s (%zu chunks each)",
		     r, s[0].v[r], s[1].v[r], s[2].v[r], s[3].v[r], ch[0].n);
		if (b->have_floor)
			floor_page(b, c.fd, fl);
	}
	if ((e = k_unmap(b->cfd, HELD_IOVA, PG)))
		die("UNMAP_DMA of the held page: %s", strerror(-e));
	for (k = 0; k < NKINDS; k++)
		free(ch[k].ns);

	for (k = 0; k < NKINDS; k++)
		fig(series_median(&s[k]), "cycles/s", "cycle_4k_%s", kinds[k].name);
	ratio_of(&s[1], &s[0], "cycle_4k_vs_map_dma");
	ratio_of(&s[2], &s[1], "library_cycle_vs_raw");
	ratio_of(&s[3], &s[0], "cycle_4k_window_held_vs_map_dma");
	for (i = 0; b->have_floor && i < 5; i++)
		fig(series_median(&fl[i]), "us", "floor_%s_cycle_4k", steps[i]);
	if (!b->have_udmabuf) {
		close(c.fd);
		close(c.fd2);
	}
	membuf_free(&m1);
	membuf_free(&m2);
}
