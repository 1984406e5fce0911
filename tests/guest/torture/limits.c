// SPDX-License-Identifier: GPL-2.0-only
/*
 * The limits: the container's DMA entry limit filled with dma-buf
 * mappings (and all of them revoked at once), and the largest mapping the
 * guest can hold.  Both set a module parameter for their body only.
 */
#define _GNU_SOURCE
#include "torture.h"

#define LIMIT_PARAM	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"
#define MAXBUF_PARAM	"/sys/module/vfio_dmabuf_test_exporter/parameters/max_buffer_size"

static unsigned int entry_limit(void)
{
	unsigned int limit = 6554 * scale();

	return limit > 65535 ? 65535 : limit;
}

static void entry_limit_body(void);

TEST_TIMEOUT(dma_entry_limit_filled, tmo(60))
{
	/* read when a container opens */
	with_param(fx_param_set(LIMIT_PARAM, entry_limit()), entry_limit_body);
}

static void entry_limit_body(void)
{
	struct vfio_iommu_type1_dmabuf_state s;
	unsigned int limit = entry_limit(), i;
	uint64_t pg, base, t0, t_map, t_revoke, t_unmap, got, probe;
	struct vfd_iommu_info info;
	uint8_t *mem;
	struct buf *b, *b2;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	pg = granule(fx);
	ASSERT_TRUE(fx->info.dma_avail_reported);
	ASSERT_EQ(fx->info.dma_avail, limit);
	b = buf_on_arena();
	ASSERT_EQ(buf_new(b, SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER,
			  VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 2 * pg, false), 0);
	b2 = buf_on_arena();
	ASSERT_EQ(buf_new(b2, SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER,
			  VFIO_DMABUF_TEST_MODE_STATIC, pg, false), 0);
	mem = fx_alloc(pg);
	base = fx_iova_at_or_above(fx, 1ull << 32, (uint64_t)(limit + 64) * pg);
	t0 = now_ms();
	for (i = 0; i < limit; i++)
		if (fx_map_dmabuf_raw(cfd, b->fd, (i & 1) * pg, base + (uint64_t)i * pg, pg, RW) < 0)
			FAIL("mapping %u of %u: %s", i, limit, strerrorname(errno));
	t_map = now_ms() - t0;
	ASSERT_OK(vfd_container_iommu_info(fx->c, &info));
	ASSERT_EQ(info.dma_avail, 0);
	/* full: ENOSPC, precisely, for both kinds of mapping ... */
	probe = base + (uint64_t)(limit + 1) * pg;
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, probe, pg, RW), ENOSPC);
	ASSERT_ERRNO(fx_map_mem_raw(cfd, mem, probe, pg, RW), ENOSPC);
	/* ... but an overlap is still EEXIST: that check comes first */
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, base + 7 * pg, pg, RW), EEXIST);
	/* one entry back, one mapping more, full again */
	unmap_exact(cfd, base, pg);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, probe, pg, RW));
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, probe + pg, pg, RW), ENOSPC);
	expect_state(cfd, probe, VFIO_DMABUF_STATE_MAPPED, pg);
	/* the exporter revokes the buffer under all of them at once */
	t0 = now_ms();
	ASSERT_EQ(tx_revoke_fd(b->fd, 0), 0);
	t_revoke = now_ms() - t0;
	for (i = 1; i < limit; i += limit / 7)
		expect_state(cfd, base + (uint64_t)i * pg, VFIO_DMABUF_STATE_REVOKED, pg);
	expect_state(cfd, probe, VFIO_DMABUF_STATE_REVOKED, pg);
	ASSERT_ERRNO(fx_dmabuf_state_raw(cfd, base, &s), ENOENT);
	/* still reserved, still counted: the container refuses before the
	 * exporter is asked (which would say ENODEV for the revoked buffer) */
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, probe + pg, pg, RW), ENOSPC);
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b2->fd, 0, probe + pg, pg, RW), ENOSPC);
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b2->fd, 0, probe, pg, RW), EEXIST);
	t0 = now_ms();
	ASSERT_OK(fx_unmap_raw(cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &got));
	t_unmap = now_ms() - t0;
	ASSERT_EQ(got, (uint64_t)limit * pg);
	ASSERT_OK(vfd_container_iommu_info(fx->c, &info));
	ASSERT_EQ(info.dma_avail, limit);
	expect_detached(b->fd, "after UNMAP_DMA(ALL) of the full container");
	/* with room again, the exporter itself refuses the revoked buffer */
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, probe + pg, pg, RW), ENODEV);
	ASSERT_EQ(tx_revoke_fd(b->fd, VFIO_DMABUF_TEST_REVOKE_RESTORE), 0);
	FIGURE("dma_entry_limit_filled", "limit=%u map_ms=%" PRIu64 " map_us_each=%" PRIu64
	       " revoke_all_ms=%" PRIu64 " unmap_all_ms=%" PRIu64, limit, t_map,
	       t_map * 1000 / limit, t_revoke, t_unmap);
}

static void largest_body(void);

TEST_TIMEOUT(largest_mapping, tmo(90))
{
	/* the test exporter's default limit is 256 MiB */
	with_param(fx_param_set(MAXBUF_PARAM, GiB), largest_body);
}

static void largest_body(void)
{
	struct vfio_dmabuf_test_stats st0, st1;
	uint64_t target = GiB, size, avail, iova, align, t0, t_create, t_map, t_unmap;
	unsigned int tries;
	struct buf *b;
	struct fx *fx;
	int e = ENOMEM, cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	/* what fits: leave the guest 160 MiB, in 2 MiB chunks */
	avail = (uint64_t)fx_meminfo_kb("MemAvailable") * 1024;
	size = avail > target + 160 * MiB ? target : avail - 160 * MiB;
	size &= ~(2 * MiB - 1);
	if (size < 64 * MiB)
		SKIP("only %" PRIu64 " MiB available", avail >> 20);
	tx_stats(&st0);
	b = buf_on_arena();
	t0 = now_ms();
	for (tries = 0; tries < 10 && size >= 64 * MiB; tries++) {
		e = buf_new(b, SRC_TX, VFIO_DMABUF_TEST_KIND_CHUNKED,
			    VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, size, true);
		if (e != ENOMEM)
			break;
		size = (size - size / 8) & ~(2 * MiB - 1);
	}
	if (e)
		FAIL("creating a %" PRIu64 " MiB buffer: %s", size >> 20, strerror(e));
	t_create = now_ms() - t0;
	for (align = 2 * MiB; align < size; align <<= 1)
		;
	iova = fx_iova_at_or_above(fx, 1ull << 32, align);
	t0 = now_ms();
	if (fx_map_dmabuf_raw(cfd, b->fd, 0, iova, size, RW) < 0)
		FAIL("MAP_DMABUF of %" PRIu64 " MiB at 0x%" PRIx64 ": %s", size >> 20, iova,
		     strerrorname(errno));
	t_map = now_ms() - t0;
	expect_state(cfd, iova, VFIO_DMABUF_STATE_MAPPED, size);
	/* the device copies from the first page to the last, and within the
	 * middle 2 MiB chunk */
	fx_verify_rw(fx->edu, b->fd, b->cpu, iova, size, 0x1a);
	fx_verify_rw(fx->edu, b->fd, b->cpu + size / 2, iova + size / 2, 2 * MiB, 0x2b);
	t0 = now_ms();
	unmap_exact(cfd, iova, size);
	t_unmap = now_ms() - t0;
	expect_detached(b->fd, "the large buffer after unmap");
	buf_free(b);
	tx_wait_released(st0.buffers_released + 1);
	tx_stats(&st1);
	expect_balanced(&st0, &st1);
	FIGURE("largest_mapping", "bytes=%" PRIu64 " target_bytes=%" PRIu64 " reached=%d"
	       " mem_available_kb=%" PRIu64 " create_ms=%" PRIu64 " map_ms=%" PRIu64
	       " unmap_ms=%" PRIu64 " iova=0x%" PRIx64, size, target, size >= target,
	       avail >> 10, t_create, t_map, t_unmap, iova);
}
