// SPDX-License-Identifier: GPL-2.0-only
/*
 * Baseline guest tests: prove that the harness is honest before anything
 * of ours is tested.  Plain VFIO type1 with VFIO_IOMMU_MAP_DMA: the edu
 * device reads and writes guest memory only through the emulated IOMMU,
 * and after VFIO_IOMMU_UNMAP_DMA its writes are blocked and reported.
 */
#define _GNU_SOURCE
#include "fixture.h"

#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define LOW_IOVA	0x01000000ull	/* 16 MiB: not identity with the buffer */


TEST(vfio_setup)
{
	struct fx *fx;

	fx = fx_open(0);
	ASSERT_EQ(vfd_edu_id(fx->edu) & 0xff, 0xed);
	ASSERT_OK(vfd_edu_check_liveness(fx->edu, 0x5a5a1234));
	ASSERT_NE(fx->info.pgsizes, 0);
	ASSERT_TRUE(fx->info.ranges_reported);
	ASSERT_GT(fx->info.nr_ranges, 0);
	ASSERT_EQ(ioctl(fx_cfd(fx), VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	vt_info("%s: pgsizes 0x%" PRIx64 ", %u usable IOVA ranges, first [0x%" PRIx64
		", 0x%" PRIx64 "]", fx->name, fx->info.pgsizes, fx->info.nr_ranges,
		fx->info.ranges[0].start, fx->info.ranges[0].end);
}

/* Map 2 pages at @iova, device copies page 0 to page 1, CPU checks. */
static void roundtrip_at(struct fx *fx, uint64_t iova)
{
	uint8_t *buf = fx_alloc(2 * 4096);
	uint64_t got = iova;
	long bad;

	ASSERT_TRUE(fx_iova_usable(fx, iova, 8192));
	ASSERT_OK(vfd_dma_map_mem(fx->c, buf, 8192, &got, VFD_DMA_RW));
	ASSERT_EQ(got, iova);
	fx_fill(buf, XFER_BYTES, 0x1234);
	memset(buf + 4096, 0, 4096);
	fx_edu_roundtrip(fx->edu, iova, iova + 4096, XFER_BYTES);
	bad = fx_check(buf + 4096, XFER_BYTES, 0x1234);
	if (bad >= 0)
		FAIL("byte %ld differs after RAM->device->RAM at IOVA 0x%" PRIx64, bad, iova);
	ASSERT_EQ(buf[4096 + XFER_BYTES], 0);		/* nothing beyond the transfer */
	ASSERT_OK(vfd_dma_unmap(fx->c, iova));
}

TEST(map_dma_roundtrip)
{
	struct fx *fx;

	fx = fx_open(0);
	roundtrip_at(fx, LOW_IOVA);
}

TEST(high_iova_roundtrip)
{
	struct fx *fx;
	uint64_t iova;

	fx = fx_open(0);
	iova = fx_iova_at_or_above(fx, 0x100000000ull + 0x12340000ull, 0x10000);
	vt_info("high IOVA 0x%" PRIx64, iova);
	ASSERT_GT(iova, 0xffffffffull);
	roundtrip_at(fx, iova);
}

TEST(unmap_then_dma_faults)
{
	uint8_t *buf;
	struct fx *fx;
	uint64_t iova = LOW_IOVA;

	fx = fx_open(0);
	buf = fx_alloc(8192);
	ASSERT_OK(vfd_dma_map_mem(fx->c, buf, 8192, &iova, VFD_DMA_RW));
	fx_fill(buf, XFER_BYTES, 77);
	fx_edu_roundtrip(fx->edu, iova, iova + 4096, XFER_BYTES);
	ASSERT_EQ(fx_check(buf + 4096, XFER_BYTES, 77), -1);	/* the mapping worked */
	ASSERT_OK(vfd_dma_unmap(fx->c, iova));

	/* the device write is blocked (memory unchanged) and reported */
	fx_expect_write_fault(fx->edu, -1, buf + 4096, iova + 4096);
}
