/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of VFIO info / capability chain parsing
 * (libvfio-dmabuf/src/caps.c) with crafted and malformed buffers. */
#include <errno.h>
#include <stdlib.h>

#include <linux/vfio.h>

#include "caps.h"
#include "tap.h"

/* A buffer under construction. */
struct buf {
	unsigned char b[8192];
	size_t len;
};

static void put32(struct buf *b, size_t off, uint32_t v)
{
	memcpy(b->b + off, &v, 4);
}

static void put64(struct buf *b, size_t off, uint64_t v)
{
	memcpy(b->b + off, &v, 8);
}

static void put16(struct buf *b, size_t off, uint16_t v)
{
	memcpy(b->b + off, &v, 2);
}

#define INFO_SZ sizeof(struct vfio_iommu_type1_info)	/* 24 */

static void iommu_hdr(struct buf *b, uint32_t flags, uint64_t pgsizes,
		      uint32_t cap_off)
{
	memset(b->b, 0, sizeof(b->b));
	put32(b, 0, 0);	/* argsz */
	put32(b, 4, flags);
	put64(b, 8, pgsizes);
	put32(b, 16, cap_off);
	b->len = INFO_SZ;
}

static void cap_hdr(struct buf *b, size_t off, uint16_t id, uint16_t ver,
		    uint32_t next)
{
	put16(b, off, id);
	put16(b, off + 2, ver);
	put32(b, off + 4, next);
}

/* IOVA range cap at @off with @n ranges; returns its end offset. */
static size_t iova_cap(struct buf *b, size_t off, uint32_t next,
		       const uint64_t (*r)[2], uint32_t n)
{
	cap_hdr(b, off, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, next);
	put32(b, off + 8, n);
	put32(b, off + 12, 0);
	for (uint32_t i = 0; i < n; i++) {
		put64(b, off + 16 + i * 16, r[i][0]);
		put64(b, off + 24 + i * 16, r[i][1]);
	}
	size_t end = off + 16 + (size_t)n * 16;
	if (end > b->len)
		b->len = end;
	return end;
}

static size_t avail_cap(struct buf *b, size_t off, uint32_t next, uint32_t avail)
{
	cap_hdr(b, off, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, next);
	put32(b, off + 8, avail);
	size_t end = off + 16;	/* padded to 8 like the kernel */
	if (end > b->len)
		b->len = end;
	return end;
}

static const uint64_t q35[2][2] = {
	{ 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffff },
};

static void test_valid_chain(void)
{
	struct buf b;
	struct vfd_iommu_info info;
	struct vfd_error e;

	iommu_hdr(&b, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS,
		  0x40201000, INFO_SZ);
	size_t end = iova_cap(&b, INFO_SZ, INFO_SZ + 48, q35, 2);
	CHECK_EQ((long long)end, INFO_SZ + 48);
	avail_cap(&b, end, 0, 65535);
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), 0);
	CHECK_U64(info.pgsizes, 0x40201000);
	CHECK(info.ranges_reported);
	CHECK(!info.ranges_truncated);
	CHECK_EQ(info.nr_ranges, 2);
	CHECK_U64(info.ranges[0].start, 0);
	CHECK_U64(info.ranges[0].end, 0xfedfffff);
	CHECK_U64(info.ranges[1].start, 0xfef00000);
	CHECK_U64(info.ranges[1].end, 0x7fffffffff);
	CHECK(info.dma_avail_reported);
	CHECK_EQ(info.dma_avail, 65535);
	CHECK(!info.migration_reported);
}

static void test_no_caps(void)
{
	struct buf b;
	struct vfd_iommu_info info;
	struct vfd_error e;

	iommu_hdr(&b, VFIO_IOMMU_INFO_PGSIZES, 0x1000, 0);
	CHECK_EQ(vfd_parse_iommu_info(b.b, 16, &info, &e), 0);	/* old kernel */
	CHECK(!info.ranges_reported);
	CHECK_EQ(info.nr_ranges, 1);
	CHECK_U64(info.ranges[0].end, UINT64_MAX);
	/* CAPS flag set but cap_offset 0: empty chain */
	iommu_hdr(&b, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, 0x1000, 0);
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), 0);
	CHECK(!info.ranges_reported);
	/* no PGSIZES flag: pgsizes reported as 0 */
	iommu_hdr(&b, 0, 0x1000, 0);
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), 0);
	CHECK_U64(info.pgsizes, 0);
}

static void test_truncated_info(void)
{
	struct buf b;
	struct vfd_iommu_info info;
	struct vfd_error e;

	iommu_hdr(&b, VFIO_IOMMU_INFO_PGSIZES, 0x1000, 0);
	CHECK_EQ(vfd_parse_iommu_info(b.b, 8, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "truncated");
	CHECK_EQ(vfd_parse_iommu_info(NULL, 100, &info, &e), -EPROTO);
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	CHECK_EQ(vfd_parse_iommu_info(b.b, 18, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "cap_offset");
}

static void test_self_loop(void)
{
	struct buf b;
	struct vfd_iommu_info info;
	struct vfd_error e;

	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	avail_cap(&b, INFO_SZ, INFO_SZ, 1);	/* next = itself */
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "loop");
}

static void test_backward_loop(void)
{
	struct buf b;
	struct vfd_iommu_info info;
	struct vfd_error e;

	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	size_t second = avail_cap(&b, INFO_SZ, INFO_SZ + 16, 1);
	avail_cap(&b, second, INFO_SZ, 2);	/* back to the first */
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "loop");
}

static void test_next_out_of_bounds(void)
{
	struct buf b;
	struct vfd_iommu_info info;
	struct vfd_error e;

	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	avail_cap(&b, INFO_SZ, 4096, 1);
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "beyond");
	/* next inside the buffer but leaving no room for a header */
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	avail_cap(&b, INFO_SZ, INFO_SZ + 16, 1);
	b.len = INFO_SZ + 20;		/* 4 bytes of the next header */
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "exceeds");
	/* next == len exactly: header cannot fit */
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	avail_cap(&b, INFO_SZ, INFO_SZ + 16, 1);
	CHECK_EQ(vfd_parse_iommu_info(b.b, INFO_SZ + 16, &info, &e), -EPROTO);
}

static void test_bad_first_offset(void)
{
	struct buf b;
	struct vfd_iommu_info info;
	struct vfd_error e;

	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, 8);	/* inside header */
	b.len = 64;
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "overlaps the info header");
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, 0xfffffff0u);
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ + 2);	/* misaligned */
	b.len = 64;
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "misaligned");
	/* truncated header: 4 of its 8 bytes */
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	CHECK_EQ(vfd_parse_iommu_info(b.b, INFO_SZ + 4, &info, &e), -EPROTO);
}

static void test_iova_cap_malformed(void)
{
	struct buf b;
	struct vfd_iommu_info info;
	struct vfd_error e;

	/* nr_iovas far beyond the capability: no overflow, -EPROTO */
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	iova_cap(&b, INFO_SZ, 0, q35, 2);
	put32(&b, INFO_SZ + 8, 0xffffffffu);
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "do not fit");
	/* one range too many for the cap's extent (bounded by next) */
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	size_t end = iova_cap(&b, INFO_SZ, INFO_SZ + 32, q35, 2);
	avail_cap(&b, end, 0, 3);
	put32(&b, INFO_SZ + 4, INFO_SZ + 32);	/* next cuts range 2 off */
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	/* start > end */
	const uint64_t bad[1][2] = { { 0x2000, 0x1000 } };
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	iova_cap(&b, INFO_SZ, 0, bad, 1);
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "start");
	/* zero ranges */
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	iova_cap(&b, INFO_SZ, 0, q35, 0);
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "no usable range");
	/* truncated cap: header only */
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	cap_hdr(&b, INFO_SZ, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, 0);
	CHECK_EQ(vfd_parse_iommu_info(b.b, INFO_SZ + 8, &info, &e), -EPROTO);
}

static void test_iova_cap_many_and_unsorted(void)
{
	uint64_t r[100][2];
	struct buf b;
	struct vfd_iommu_info info;
	struct vfd_error e;

	for (int i = 0; i < 100; i++) {
		r[i][0] = (uint64_t)(99 - i) * 0x10000;
		r[i][1] = r[i][0] + 0xfff;
	}
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	iova_cap(&b, INFO_SZ, 0, (const uint64_t (*)[2])r, 100);
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), 0);
	CHECK(info.ranges_truncated);
	CHECK_EQ(info.nr_ranges, VFD_MAX_IOVA_RANGES);
	for (uint32_t i = 1; i < info.nr_ranges; i++)
		CHECK(info.ranges[i - 1].start < info.ranges[i].start);
}

static void test_unknown_and_migration_caps(void)
{
	struct buf b;
	struct vfd_iommu_info info;
	struct vfd_error e;

	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	cap_hdr(&b, INFO_SZ, 0x7777, 1, INFO_SZ + 16);	/* unknown: skipped */
	cap_hdr(&b, INFO_SZ + 16, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1, 0);
	put32(&b, INFO_SZ + 24, 0);
	put64(&b, INFO_SZ + 32, 0x1000);
	put64(&b, INFO_SZ + 40, 1 << 20);
	b.len = INFO_SZ + 48;
	CHECK_EQ(vfd_parse_iommu_info(b.b, b.len, &info, &e), 0);
	CHECK(info.migration_reported);
	CHECK_U64(info.migration_pgsize_bitmap, 0x1000);
	CHECK_U64(info.migration_max_dirty_bitmap_size, 1 << 20);
	/* migration cap truncated */
	CHECK_EQ(vfd_parse_iommu_info(b.b, INFO_SZ + 40, &info, &e), -EPROTO);
	/* dma avail truncated: 10 bytes */
	iommu_hdr(&b, VFIO_IOMMU_INFO_CAPS, 0x1000, INFO_SZ);
	avail_cap(&b, INFO_SZ, 0, 5);
	CHECK_EQ(vfd_parse_iommu_info(b.b, INFO_SZ + 10, &info, &e), -EPROTO);
}

/* ---- region info ---- */

#define REG_SZ sizeof(struct vfio_region_info)	/* 32 */

static void region_hdr(struct buf *b, uint32_t flags, uint32_t index,
		       uint32_t cap_off, uint64_t size, uint64_t offset)
{
	memset(b->b, 0, sizeof(b->b));
	put32(b, 4, flags);
	put32(b, 8, index);
	put32(b, 12, cap_off);
	put64(b, 16, size);
	put64(b, 24, offset);
	b->len = REG_SZ;
}

static void test_region_plain(void)
{
	struct buf b;
	struct vfd_region_info r;
	struct vfd_error e;

	region_hdr(&b, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
		   VFIO_REGION_INFO_FLAG_MMAP, 0, 0, 1 << 20, 0);
	CHECK_EQ(vfd_parse_region_info(b.b, b.len, &r, &e), 0);
	CHECK_EQ(r.flags, VFD_REGION_READ | VFD_REGION_WRITE | VFD_REGION_MMAP);
	CHECK_U64(r.size, 1 << 20);
	CHECK(!r.sparse_reported && !r.type_reported && !r.msix_mappable);
	CHECK_EQ(vfd_parse_region_info(b.b, REG_SZ - 1, &r, &e), -EPROTO);
}

static void test_region_caps(void)
{
	struct buf b;
	struct vfd_region_info r;
	struct vfd_error e;
	size_t o = REG_SZ;

	region_hdr(&b, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP |
		   VFIO_REGION_INFO_FLAG_CAPS, 2, o, 0x10000, 0x20000000000ull);
	cap_hdr(&b, o, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, o + 48);
	put32(&b, o + 8, 2);
	put64(&b, o + 16, 0);
	put64(&b, o + 24, 0x3000);
	put64(&b, o + 32, 0x5000);
	put64(&b, o + 40, 0xb000);
	cap_hdr(&b, o + 48, VFIO_REGION_INFO_CAP_TYPE, 1, o + 64);
	put32(&b, o + 56, 3);
	put32(&b, o + 60, 1);
	cap_hdr(&b, o + 64, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, 0);
	b.len = o + 72;
	CHECK_EQ(vfd_parse_region_info(b.b, b.len, &r, &e), 0);
	CHECK_EQ(r.index, 2);
	CHECK_EQ(r.flags, VFD_REGION_READ | VFD_REGION_MMAP);	/* CAPS masked */
	CHECK_U64(r.offset, 0x20000000000ull);
	CHECK(r.sparse_reported);
	CHECK_EQ(r.nr_sparse, 2);
	CHECK_U64(r.sparse[1].offset, 0x5000);
	CHECK_U64(r.sparse[1].size, 0xb000);
	CHECK(r.type_reported);
	CHECK_EQ(r.type, 3);
	CHECK_EQ(r.subtype, 1);
	CHECK(r.msix_mappable);

	/* sparse area beyond the region */
	put64(&b, o + 40, 0xb001);
	CHECK_EQ(vfd_parse_region_info(b.b, b.len, &r, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "exceeds the region");
	put64(&b, o + 40, 0xb000);
	/* area offset + size overflow */
	put64(&b, o + 32, UINT64_MAX - 0x10);
	CHECK_EQ(vfd_parse_region_info(b.b, b.len, &r, &e), -EPROTO);
	put64(&b, o + 32, 0x5000);
	/* type cap truncated: cut the buffer inside it */
	cap_hdr(&b, o + 48, VFIO_REGION_INFO_CAP_TYPE, 1, 0);
	CHECK_EQ(vfd_parse_region_info(b.b, o + 60, &r, &e), -EPROTO);
	/* loop in a region chain */
	cap_hdr(&b, o + 48, VFIO_REGION_INFO_CAP_TYPE, 1, o);
	CHECK_EQ(vfd_parse_region_info(b.b, b.len, &r, &e), -EPROTO);
	CHECK_STR_HAS(e.msg, "loop");
}

static void test_region_many_sparse(void)
{
	struct buf b;
	struct vfd_region_info r;
	struct vfd_error e;
	size_t o = REG_SZ;

	region_hdr(&b, VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS,
		   0, o, 0x100000, 0);
	cap_hdr(&b, o, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, 0);
	put32(&b, o + 8, 40);
	for (int i = 0; i < 40; i++) {
		put64(&b, o + 16 + i * 16, (uint64_t)i * 0x1000);
		put64(&b, o + 24 + i * 16, 0x1000);
	}
	b.len = o + 16 + 40 * 16;
	CHECK_EQ(vfd_parse_region_info(b.b, b.len, &r, &e), 0);
	CHECK(r.sparse_truncated);
	CHECK_EQ(r.nr_sparse, VFD_MAX_SPARSE_AREAS);
}

/* ---- fuzz: random and mutated buffers must never crash ---- */

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static void test_fuzz(void)
{
	struct buf good, b;
	struct vfd_iommu_info info;
	struct vfd_region_info r;
	struct vfd_error e;
	unsigned ok = 0, bad = 0;

	iommu_hdr(&good, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS,
		  0x40201000, INFO_SZ);
	size_t end = iova_cap(&good, INFO_SZ, INFO_SZ + 48, q35, 2);
	avail_cap(&good, end, 0, 65535);

	for (int it = 0; it < 200000; it++) {
		size_t len;
		if (it & 1) {
			/* mutate a few bytes of a valid buffer */
			b = good;
			len = good.len;
			for (int k = 0, n = 1 + (int)(rnd() % 4); k < n; k++)
				b.b[rnd() % len] = (unsigned char)rnd();
			if (rnd() % 4 == 0)
				len = rnd() % (len + 1);
		} else {
			/* random bytes with a plausible header */
			len = rnd() % 256;
			for (size_t k = 0; k < len; k++)
				b.b[k] = (unsigned char)rnd();
			if (len >= 24 && (rnd() & 1))
				put32(&b, 16, (uint32_t)(rnd() % 64) & ~3u);
		}
		/* exact-size heap copy so ASan catches any over-read */
		unsigned char *h = malloc(len ? len : 1);
		memcpy(h, b.b, len);
		int ret1 = vfd_parse_iommu_info(h, len, &info, &e);
		int ret2 = vfd_parse_region_info(h, len, &r, &e);
		free(h);
		CHECK(ret1 == 0 || ret1 == -EPROTO);
		CHECK(ret2 == 0 || ret2 == -EPROTO);
		if (ret1 == 0) {
			ok++;
			CHECK(info.nr_ranges >= 1 &&
			      info.nr_ranges <= VFD_MAX_IOVA_RANGES);
			for (uint32_t i = 0; i < info.nr_ranges; i++)
				CHECK(info.ranges[i].start <= info.ranges[i].end);
		} else {
			bad++;
		}
		if (tap.cur_failed)
			break;
	}
	printf("#   fuzz: %u parsed, %u rejected\n", ok, bad);
}

int main(void)
{
	RUN(test_valid_chain);
	RUN(test_no_caps);
	RUN(test_truncated_info);
	RUN(test_self_loop);
	RUN(test_backward_loop);
	RUN(test_next_out_of_bounds);
	RUN(test_bad_first_offset);
	RUN(test_iova_cap_malformed);
	RUN(test_iova_cap_many_and_unsorted);
	RUN(test_unknown_and_migration_caps);
	RUN(test_region_plain);
	RUN(test_region_caps);
	RUN(test_region_many_sparse);
	RUN(test_fuzz);
	return tap_done();
}
