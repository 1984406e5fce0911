// SPDX-License-Identifier: GPL-2.0-only
/*
 * How type1's other features meet dma-buf ranges (docs/design.md, section
 * 7): one entry against dma_entry_limit, the pinned memory charged once to
 * locked memory, live update (the VADDR flags) skipping them, dirty
 * tracking reporting the whole range dirty, and a second group's domain
 * torn down while a dma-buf is mapped into it (revoked or not).
 */
#define _GNU_SOURCE
#include "exporter_client.h"
#include "fixture.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <linux/vfio_dmabuf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define IOVA_MEM	0x01000000ull
#define IOVA_BUF	0x02000000ull
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

TEST(counts_once_against_dma_entry_limit)
{
	struct vfd_iommu_info before, after;
	struct tx_buf *b;
	struct fx *fx;

	fx = fx_open(0);
	/* 64 physically separate pages: 64 runs, still one entry */
	b = tx_create(64 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	ASSERT_OK(vfd_container_iommu_info(fx->c, &before));
	ASSERT_TRUE(before.dma_avail_reported);
	ASSERT_OK(fx_map_dmabuf_raw(fx_cfd(fx), b->fd, 0, IOVA_BUF, b->size, RW));
	ASSERT_OK(vfd_container_iommu_info(fx->c, &after));
	ASSERT_EQ(after.dma_avail, before.dma_avail - 1);
	ASSERT_OK(fx_unmap_raw(fx_cfd(fx), IOVA_BUF, b->size, 0, NULL));
	ASSERT_OK(vfd_container_iommu_info(fx->c, &after));
	ASSERT_EQ(after.dma_avail, before.dma_avail);
}

/*
 * The memory a dma-buf mapping keeps pinned is charged to locked memory,
 * as MAP_DMA's is: once per buffer and container, however many windows of
 * it are mapped, and given back with the last window.
 */
TEST(charged_once_to_locked_memory)
{
	uint8_t *mem = fx_alloc(1 << 20);
	struct tx_buf *b;
	long l0, l1, l2, l3, l4;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(4 << 20, VFIO_DMABUF_TEST_KIND_CHUNKED, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	l0 = fx_vmlck_kb();
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA_BUF, b->size, RW));
	l1 = fx_vmlck_kb();
	/* a second window of the same buffer costs nothing more */
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA_BUF + b->size, 1 << 20, RW));
	l2 = fx_vmlck_kb();
	/* control: MAP_DMA of 1 MiB of process memory is charged too */
	ASSERT_OK(fx_map_mem_raw(cfd, mem, IOVA_MEM, 1 << 20, RW));
	l3 = fx_vmlck_kb();
	ASSERT_OK(fx_unmap_raw(cfd, IOVA_BUF, 2 * b->size, 0, NULL));
	l4 = fx_vmlck_kb();
	vt_info("VmLck: %ld kB; 4 MiB MAP_DMABUF %ld kB, a second window %ld kB, 1 MiB MAP_DMA %ld kB, dma-buf unmapped %ld kB",
		l0, l1, l2, l3, l4);
	ASSERT_EQ(l1, l0 + 4096);
	ASSERT_EQ(l2, l1);
	ASSERT_EQ(l3, l2 + 1024);
	ASSERT_EQ(l4, l3 - 4096);
}

static int unmap_vaddr(int cfd, uint64_t iova, uint64_t size, uint32_t flags,
		       uint64_t *unmapped)
{
	return fx_unmap_raw(cfd, iova, size, VFIO_DMA_UNMAP_FLAG_VADDR | flags,
			    unmapped);
}

/*
 * QEMU's live update (CPR): the old process invalidates every vaddr with
 * VFIO_DMA_UNMAP_FLAG_VADDR, the new one supplies its own with
 * VFIO_DMA_MAP_FLAG_VADDR, and the device keeps working throughout.
 * dma-buf ranges have no vaddr: the invalidation skips them (with and
 * without VFIO_DMA_UNMAP_FLAG_ALL) instead of failing, and a vaddr cannot
 * be given to one.
 */
TEST(cpr_vaddr)
{
	uint8_t *mem, *mem2;
	struct tx_buf *b;
	uint64_t got;
	struct fx *fx;
	int cfd, mfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	if (ioctl(cfd, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR) != 1)
		SKIP("type1 without VFIO_UPDATE_VADDR");
	/* guest memory as QEMU has it: a memfd, mapped again after the update */
	mfd = memfd_create("cpr", MFD_CLOEXEC);
	ASSERT_TRUE(mfd >= 0 && ftruncate(mfd, 4 * 4096) == 0);
	mem = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	mem2 = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	close(mfd);
	ASSERT_TRUE(mem != MAP_FAILED && mem2 != MAP_FAILED);
	b = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(fx_map_mem_raw(cfd, mem, IOVA_MEM, 4 * 4096, RW));
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA_BUF, b->size, RW));

	/* a range over both: only the memory's vaddr goes */
	ASSERT_OK(unmap_vaddr(cfd, IOVA_MEM, IOVA_BUF + b->size - IOVA_MEM, 0, &got));
	ASSERT_EQ(got, 4 * 4096);
	/* the dma-buf range alone: nothing to do, nothing reported */
	ASSERT_OK(unmap_vaddr(cfd, IOVA_BUF, b->size, 0, &got));
	ASSERT_EQ(got, 0);
	/* both kinds keep working for the device meanwhile */
	fx_fill(b->cpu, XFER_BYTES, 71);
	fx_edu_roundtrip(fx->edu, IOVA_BUF, IOVA_MEM + 4096, XFER_BYTES);
	ASSERT_EQ(fx_check(mem + 4096, XFER_BYTES, 71), -1);
	/* the new process has the same pages at its own address */
	ASSERT_OK(fx_map_mem_raw(cfd, mem2, IOVA_MEM, 4 * 4096, VFIO_DMA_MAP_FLAG_VADDR));
	/* a dma-buf range takes no vaddr; a valid one is not replaced */
	ASSERT_ERRNO(fx_map_mem_raw(cfd, mem2, IOVA_BUF, b->size, VFIO_DMA_MAP_FLAG_VADDR), EINVAL);
	ASSERT_ERRNO(fx_map_mem_raw(cfd, mem2, IOVA_MEM, 4 * 4096, VFIO_DMA_MAP_FLAG_VADDR), EINVAL);

	/* the same with VFIO_DMA_UNMAP_FLAG_ALL, as QEMU does it */
	ASSERT_OK(unmap_vaddr(cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &got));
	ASSERT_EQ(got, 4 * 4096);
	ASSERT_OK(fx_map_mem_raw(cfd, mem2, IOVA_MEM, 4 * 4096, VFIO_DMA_MAP_FLAG_VADDR));

	/* afterwards DMA goes both ways through both kinds */
	fx_fill(mem2 + 2 * 4096, XFER_BYTES, 72);
	fx_edu_roundtrip(fx->edu, IOVA_MEM + 2 * 4096, IOVA_BUF + 4096, XFER_BYTES);
	fx_cpu_begin(b->fd);
	ASSERT_EQ(fx_check(b->cpu + 4096, XFER_BYTES, 72), -1);
	fx_cpu_end(b->fd);
	fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA_BUF, b->size, 73);
	/* and both unmap as usual */
	ASSERT_OK(fx_unmap_raw(cfd, IOVA_MEM, IOVA_BUF + b->size - IOVA_MEM, 0, &got));
	ASSERT_EQ(got, 4 * 4096 + b->size);
	munmap(mem, 4 * 4096);
	munmap(mem2, 4 * 4096);
}

static int dirty(int cfd, uint32_t flag)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flag };

	return ioctl(cfd, VFIO_IOMMU_DIRTY_PAGES, &d);
}

/* Deferred after fx_open(): runs before the container is closed. */
static void dirty_stop(void *fx)
{
	dirty(fx_cfd(fx), VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
}

TEST(dirty_tracking_reports_all_dirty)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap hdr;
		struct vfio_iommu_type1_dirty_bitmap_get get;
	} g;
	struct {
		struct vfio_iommu_type1_dma_unmap hdr;
		struct vfio_bitmap bitmap;
	} u;
	uint64_t bits[1], npages = 16;
	struct tx_buf *b;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(npages * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA_BUF, b->size, RW));
	ASSERT_OK(dirty(cfd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	vt_defer(dirty_stop, fx);

	memset(&g, 0, sizeof(g));
	bits[0] = 0;
	g.hdr.argsz = sizeof(g);
	g.hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	g.get.iova = IOVA_BUF;
	g.get.size = b->size;
	g.get.bitmap.pgsize = fx_pgsize(fx);
	g.get.bitmap.size = sizeof(bits);
	g.get.bitmap.data = (__u64 *)bits;
	ASSERT_OK(ioctl(cfd, VFIO_IOMMU_DIRTY_PAGES, &g));
	ASSERT_EQ(bits[0], (1ull << npages) - 1);

	/* the bitmap that unmap returns says the same */
	memset(&u, 0, sizeof(u));
	bits[0] = 0;
	u.hdr.argsz = sizeof(u);
	u.hdr.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	u.hdr.iova = IOVA_BUF;
	u.hdr.size = b->size;
	u.bitmap.pgsize = fx_pgsize(fx);
	u.bitmap.size = sizeof(bits);
	u.bitmap.data = (__u64 *)bits;
	ASSERT_OK(ioctl(cfd, VFIO_IOMMU_UNMAP_DMA, &u));
	ASSERT_EQ(u.hdr.size, b->size);
	ASSERT_EQ(bits[0], (1ull << npages) - 1);
}

/*
 * The second group's domain is freed (group detached) while a dma-buf is
 * mapped into it, once live and once revoked; later revocation and unmap
 * must not touch the freed domain (KASAN on the debug kernel would say).
 */
static void detach_second_group(bool revoke_first)
{
	struct vfd_edu *e1;
	struct tx_buf *b;
	uint64_t unmapped;
	struct fx *fx;
	int cfd;

	fx_force_new_domain();
	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(8 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA_BUF, b->size, RW));
	{
		struct vfd_error err;
		char name[64];

		ASSERT_OK(vfd_edu_find(NULL, 1, name, sizeof(name), &err));
		/* replayed into a second domain; closed below, not deferred */
		ASSERT_OK(vfd_edu_open(fx->c, name, VFD_EDU_WIDE_DMA, &e1));
	}
	fx_verify_rw(e1, b->fd, b->cpu, IOVA_BUF, b->size, 41);
	if (revoke_first)
		ASSERT_OK(tx_revoke(b, VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY));
	vfd_edu_close(e1);	/* detaches group 2, frees its domain */
	if (!revoke_first) {
		fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA_BUF, b->size, 42);
		ASSERT_OK(tx_revoke(b, VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY));
	}
	fx_expect_write_fault(fx->edu, b->fd, b->cpu, IOVA_BUF);
	ASSERT_OK(fx_unmap_raw(cfd, IOVA_BUF, b->size, 0, &unmapped));
	ASSERT_EQ(unmapped, b->size);
}

TEST(detach_group_then_revoke)
{
	detach_second_group(false);
}

TEST(revoke_then_detach_group)
{
	detach_second_group(true);
}
