// SPDX-License-Identifier: GPL-2.0-only
/*
 * map_unmap_cycles: many map/unmap cycles of dma-bufs of every exporter,
 * layout and size, windows of them, their fds closed early or late; the
 * exporter's counters and the guest's free memory must come back.
 */
#define _GNU_SOURCE
#include "torture.h"

struct source {
	enum src_type src;
	unsigned int kind, mode;
	uint64_t max;		/* largest buffer */
};

static unsigned int sources(struct source *s)
{
	static const unsigned int kinds[] = {
		VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_KIND_CONTIG,
		VFIO_DMABUF_TEST_KIND_CHUNKED,
	};
	static const unsigned int modes[] = {
		VFIO_DMABUF_TEST_MODE_STATIC, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN,
	};
	unsigned int n = 0;

	for (unsigned int k = 0; k < 3; k++)
		for (unsigned int m = 0; m < 2; m++)
			s[n++] = (struct source){ SRC_TX, kinds[k], modes[m],
				kinds[k] == VFIO_DMABUF_TEST_KIND_SCATTER ? 2 * MiB : 4 * MiB };
	if (!access("/dev/udmabuf", F_OK))
		s[n++] = (struct source){ SRC_UDMABUF, 0, 0, 4 * MiB };
	if (!access("/dev/dma_heap/system", F_OK))
		s[n++] = (struct source){ SRC_HEAP, 0, 0, 4 * MiB };
	return n;
}

#define RING 8

struct ring_slot {
	struct buf b;
	bool live;		/* mapped */
	uint64_t iova, off, len;
};

struct cycles {
	struct fx *fx;
	int cfd;
	uint64_t pg, base, rng;
	struct source src[8];
	unsigned int nsrc;
	struct ring_slot ring[RING];
	/* figures */
	uint64_t cycles, bytes, tx_buffers, verified, early_close, partial;
	uint64_t create_failed, per_src[3];
};

static void cycle_retire(struct cycles *c, struct ring_slot *r)
{
	if (!r->live)
		return;
	unmap_exact(c->cfd, r->iova, r->len);
	expect_no_mapping(c->cfd, r->iova);
	buf_free(&r->b);
	r->live = false;
}

static void cycle_one(struct cycles *c, uint64_t i, bool count)
{
	struct ring_slot *r = &c->ring[i % RING];
	const struct source *s = &c->src[i % c->nsrc];
	uint64_t pages, size, maxp = s->max / c->pg;
	bool verify = count && i % 100 == 50;
	int e;

	cycle_retire(c, r);
	/* sizes: one page, a few, odd, and up to the source's maximum */
	switch (rndn(&c->rng, 4)) {
	case 0:  pages = 1 + rndn(&c->rng, 3); break;
	case 1:  pages = 1 + rndn(&c->rng, 64); break;
	case 2:  pages = (MiB / c->pg) << rndn(&c->rng, 3); break;
	default: pages = 1 + rndn(&c->rng, maxp); break;
	}
	if (pages > maxp)
		pages = maxp;
	if (verify && pages < 2)
		pages = 2;
	size = pages * c->pg;
	e = buf_new(&r->b, s->src, s->kind, s->mode, size, verify);
	if (e == ENOMEM || e == EAGAIN) {	/* fragmentation: not our business */
		c->create_failed++;
		return;
	}
	if (e)
		FAIL("creating a %s dma-buf of %" PRIu64 " bytes: %s", src_names[s->src],
		     size, strerror(e));
	r->off = 0;
	r->len = size;
	if (pages > 2 && rndn(&c->rng, 4) == 0) {	/* a window of the buffer */
		r->off = rndn(&c->rng, pages - 2) * c->pg;
		r->len = (2 + rndn(&c->rng, pages - r->off / c->pg - 1)) * c->pg;
		if (r->off + r->len > size)
			r->len = size - r->off;
		if (count)
			c->partial++;
	}
	r->iova = c->base + (i % RING) * 16 * MiB;
	if (fx_map_dmabuf_raw(c->cfd, r->b.fd, r->off, r->iova, r->len, RW) < 0)
		FAIL("cycle %" PRIu64 ": MAP_DMABUF %s kind %u mode %u size 0x%" PRIx64
		     " off 0x%" PRIx64 " len 0x%" PRIx64 ": %s", i, src_names[s->src],
		     s->kind, s->mode, size, r->off, r->len, strerrorname(errno));
	r->live = true;
	expect_state(c->cfd, r->iova, VFIO_DMABUF_STATE_MAPPED, r->len);
	if (verify && r->len >= 2 * c->pg) {
		fx_verify_rw(c->fx->edu, r->b.fd, r->b.cpu + r->off, r->iova, r->len,
			     (uint32_t)i);
		c->verified++;
	}
	/* the mapping holds its own reference: drop ours now, sometimes */
	if (rndn(&c->rng, 3) == 0) {
		buf_free(&r->b);
		if (count)
			c->early_close++;
	}
	if (count) {
		c->cycles++;
		c->bytes += r->len;
		c->per_src[s->src]++;
		c->tx_buffers += s->src == SRC_TX;
	}
}

static void cycles_retire_all(void *arg)
{
	struct cycles *c = arg;

	for (unsigned int i = 0; i < RING; i++)
		cycle_retire(c, &c->ring[i]);
}

TEST_TIMEOUT(map_unmap_cycles, tmo(150))
{
	struct vfio_dmabuf_test_stats st0, st1;
	uint64_t n = 1000ull * scale(), i, t0, t1;
	struct cycles *c = vt_calloc(sizeof(*c));
	long free0, free1, tol;

	c->fx = fx_open(0);
	c->cfd = fx_cfd(c->fx);
	c->pg = granule(c->fx);
	c->rng = seed_for("map_unmap_cycles");
	c->nsrc = sources(c->src);
	c->base = fx_iova_at_or_above(c->fx, 0x40000000ull, RING * 16 * MiB);
	/* warm up the caches, then measure */
	for (i = 0; i < 4 * RING; i++)
		cycle_one(c, i, false);
	cycles_retire_all(c);
	vt_defer(cycles_retire_all, c);
	tx_stats(&st0);
	free0 = fx_free_kb();
	t0 = now_ms();
	for (i = 0; i < n; i++)
		cycle_one(c, i, true);
	cycles_retire_all(c);
	t1 = now_ms();
	tx_wait_released(st0.buffers_released + c->tx_buffers);
	tx_stats(&st1);
	free1 = fx_free_kb();
	FIGURE("map_unmap_cycles", "cycles=%" PRIu64 " bytes=%" PRIu64 " tx=%" PRIu64
	       " udmabuf=%" PRIu64 " heap=%" PRIu64 " partial=%" PRIu64
	       " early_close=%" PRIu64 " dma_verified=%" PRIu64 " create_enomem=%" PRIu64
	       " contig_fallbacks=%u"
	       " released=%llu free_kb_before=%ld free_kb_after=%ld ms=%" PRIu64,
	       c->cycles, c->bytes, c->per_src[SRC_TX], c->per_src[SRC_UDMABUF],
	       c->per_src[SRC_HEAP], c->partial, c->early_close, c->verified,
	       c->create_failed, tx_layout_fallbacks(),
	       (unsigned long long)(st1.buffers_released - st0.buffers_released),
	       free0, free1, t1 - t0);
	ASSERT_EQ(st1.buffers_created - st0.buffers_created, c->tx_buffers);
	ASSERT_EQ(st1.buffers_released - st0.buffers_released, c->tx_buffers);
	ASSERT_EQ(st1.attaches - st0.attaches, c->per_src[SRC_TX]);
	expect_balanced(&st0, &st1);
	ASSERT_GT(c->cycles, n * 9 / 10);
	/* a page per cycle would be 4 MiB at scale 1; the buffers GiBs */
	tol = 4096 + (long)(c->bytes / 1024 / 1000);
	if (free1 < free0 - tol)
		FAIL("free memory %ld -> %ld KiB after %" PRIu64 " cycles of %" PRIu64
		     " MiB in all: more than %ld KiB lost", free0, free1, c->cycles,
		     c->bytes >> 20, tol);
}
