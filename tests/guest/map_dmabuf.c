// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_IOMMU_MAP_DMABUF data path: the edu device reads and writes dma-bufs
 * of every exporter the guest has (udmabuf and the system heap on 6.12, the
 * project's test exporter everywhere) at a chosen IOVA, and the CPU checks
 * the bytes through the dma-buf's own mmap.
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

#define IOVA_A	0x02000000ull	/* 32 MiB */
#define IOVA_B	0x04000000ull	/* 64 MiB */

TEST(extension_reported)
{
	struct fx *fx;

	fx = fx_open(0);
	ASSERT_EQ(ioctl(fx_cfd(fx), VFIO_CHECK_EXTENSION, VFIO_TYPE1_MAP_DMABUF), 1);
	ASSERT_TRUE(vfd_container_has_map_dmabuf(fx->c));
}

/* Map a whole library-made dma-buf at IOVA_A and prove it both ways. */
static void lib_dmabuf_roundtrip(struct vfd_dmabuf *b)
{
	struct fx *fx;
	uint64_t iova = IOVA_A;
	void *cpu;

	fx = fx_open(0);
	ASSERT_OK(vfd_dmabuf_mmap(b, &cpu));
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, vfd_dmabuf_fd(b), 0, vfd_dmabuf_size(b),
				     &iova, VFD_DMA_RW));
	ASSERT_EQ(iova, IOVA_A);
	fx_verify_rw(fx->edu, vfd_dmabuf_fd(b), cpu, iova, vfd_dmabuf_size(b), 0xabc);
	ASSERT_OK(vfd_dma_unmap(fx->c, iova));
	fx_expect_write_fault(fx->edu, vfd_dmabuf_fd(b), cpu, iova);
}

static void free_dmabuf(void *b)
{
	vfd_dmabuf_free(b);
}

TEST(udmabuf_roundtrip)
{
	struct vfd_error err = { 0 };
	struct vfd_dmabuf *b;

	if (access("/dev/udmabuf", F_OK))
		SKIP("no /dev/udmabuf in this kernel (CONFIG_UDMABUF)");
	if (vfd_dmabuf_create_udmabuf(64 * 1024, &b, &err) < 0)
		FAIL("udmabuf: %s", err.msg);
	vt_defer(free_dmabuf, b);
	lib_dmabuf_roundtrip(b);
}

TEST(system_heap_roundtrip)
{
	struct vfd_error err = { 0 };
	struct vfd_dmabuf *b;

	if (access("/dev/dma_heap/system", F_OK))
		SKIP("no /dev/dma_heap/system in this kernel (CONFIG_DMABUF_HEAPS_SYSTEM)");
	if (vfd_dmabuf_create_heap("system", 64 * 1024, &b, &err) < 0)
		FAIL("system heap: %s", err.msg);
	vt_defer(free_dmabuf, b);
	lib_dmabuf_roundtrip(b);
}

/* A test-exporter buffer of @kind/@mode, whole, at IOVA_A. */
static void exporter_roundtrip(size_t size, unsigned int kind, unsigned int mode)
{
	struct vfio_dmabuf_test_info info;
	struct tx_buf *b;
	struct fx *fx;
	uint64_t iova = IOVA_A, off;

	fx = fx_open(0);
	b = tx_create(size, kind, mode, 0);
	tx_info(b, &info);
	vt_info("buffer: %zu KiB in %u physical runs, longest %llu KiB", size / 1024,
		info.phys_segments, (unsigned long long)info.max_segment / 1024);
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 0, size, &iova, VFD_DMA_RW));
	fx_verify_rw(fx->edu, b->fd, b->cpu, iova, size, 0x5eed ^ kind);
	/* Every page: the device writes a page-crossing chunk, CPU checks. */
	for (off = 4096; off + 4096 < size; off += size / 8 < 4096 ? 4096 : (size / 8) & ~4095ull) {
		uint64_t at = off - 1024;	/* crosses into page off/4096 */

		fx_cpu_begin(b->fd);
		memset(b->cpu + at, 0, 2048);
		fx_cpu_end(b->fd);
		if (vfd_edu_dma_from_device(fx->edu, 0, iova + at, 2048, 0) < 0)
			FAIL("edu write at IOVA 0x%" PRIx64 ": %s", iova + at, vfd_edu_errmsg(fx->edu));
		fx_cpu_begin(b->fd);
		if (fx_check(b->cpu + at, 2048, 0x5eed ^ kind) >= 0)
			FAIL("page-crossing write at buffer offset 0x%" PRIx64 " did not land", at);
		fx_cpu_end(b->fd);
	}
	tx_info(b, &info);
	ASSERT_EQ(info.attachments, 1);
	ASSERT_OK(vfd_dma_unmap(fx->c, iova));
	tx_info(b, &info);
	ASSERT_EQ(info.attachments, 0);
	ASSERT_EQ(info.mapped, 0);
	ASSERT_EQ(info.pinned, 0);
}

TEST(exporter_scatter_roundtrip)
{
	exporter_roundtrip(64 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC);
}

TEST(exporter_contig_roundtrip)
{
	exporter_roundtrip(1 << 20, VFIO_DMABUF_TEST_KIND_CONTIG, VFIO_DMABUF_TEST_MODE_STATIC);
}

TEST(exporter_chunked_roundtrip)
{
	exporter_roundtrip(8 << 20, VFIO_DMABUF_TEST_KIND_CHUNKED, VFIO_DMABUF_TEST_MODE_STATIC);
}

TEST(exporter_dynamic_pinned_while_mapped)
{
	struct vfio_dmabuf_test_info info;
	struct tx_buf *b;
	struct fx *fx;
	uint64_t iova = IOVA_A;

	fx = fx_open(0);
	b = tx_create(16 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER,
		      VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 0, b->size, &iova, VFD_DMA_RW));
	tx_info(b, &info);
	ASSERT_EQ(info.attachments, 1);
	/* our dma_buf_pin(), plus the core's own pin at map time on kernels
	 * without CONFIG_DMABUF_MOVE_NOTIFY */
	ASSERT_GE(info.pinned, 1);
	ASSERT_EQ(info.mapped, 1);
	fx_verify_rw(fx->edu, b->fd, b->cpu, iova, b->size, 91);
	ASSERT_OK(vfd_dma_unmap(fx->c, iova));
	tx_info(b, &info);
	ASSERT_EQ(info.attachments, 0);
	ASSERT_EQ(info.pinned, 0);
	ASSERT_EQ(info.mapped, 0);
}

/* [offset, offset + size) of the buffer appears at the IOVA, nothing else. */
TEST(offset_inside_buffer)
{
	struct tx_buf *b;
	struct fx *fx;
	uint64_t iova = IOVA_A;

	fx = fx_open(0);
	b = tx_create(16 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	memset(b->cpu, 0, b->size);
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 5 * 4096, 4 * 4096, &iova, VFD_DMA_RW));
	fx_verify_rw(fx->edu, b->fd, b->cpu + 5 * 4096, iova, 4 * 4096, 17);
	/* pages outside [5, 9) untouched */
	for (size_t i = 0; i < b->size; i++)
		if ((i < 5 * 4096 || i >= 9 * 4096) && b->cpu[i])
			FAIL("byte 0x%zx outside the mapped window changed", i);
	/* one page past the end of the mapping is not mapped */
	fx_expect_write_fault(fx->edu, -1, NULL, iova + 4 * 4096);
}

/* MAP_DMA and MAP_DMABUF side by side in one IOVA space. */
TEST(side_by_side_with_map_dma)
{
	uint8_t *mem = fx_alloc(4 * 4096);
	uint64_t iova_mem = IOVA_A, iova_buf = IOVA_A + 4 * 4096;
	int cfd;
	struct tx_buf *b;
	struct fx *fx;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	ASSERT_OK(vfd_dma_map_mem(fx->c, mem, 4 * 4096, &iova_mem, VFD_DMA_RW));
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 0, b->size, &iova_buf, VFD_DMA_RW));
	/* process memory -> device -> dma-buf */
	fx_fill(mem, XFER_BYTES, 4242);
	fx_edu_roundtrip(fx->edu, iova_mem, iova_buf + 4096, XFER_BYTES);
	fx_cpu_begin(b->fd);
	ASSERT_EQ(fx_check(b->cpu + 4096, XFER_BYTES, 4242), -1);
	fx_cpu_end(b->fd);
	/* dma-buf -> device -> process memory */
	memset(mem + 8192, 0, 4096);
	fx_edu_roundtrip(fx->edu, iova_buf + 4096, iova_mem + 8192, XFER_BYTES);
	ASSERT_EQ(fx_check(mem + 8192, XFER_BYTES, 4242), -1);
	/* each kind's range is taken for the other kind */
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)mem, .iova = iova_buf + 4096, .size = 4096,
	};
	ASSERT_ERRNO(ioctl(cfd, VFIO_IOMMU_MAP_DMA, &m), EEXIST);
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, iova_mem + 4096, 4096,
				       VFIO_DMA_MAP_FLAG_READ), EEXIST);
	fx_verify_rw(fx->edu, b->fd, b->cpu, iova_buf, b->size, 5);
}

/* UNMAP_DMA follows the type1v2 rules for dma-buf mappings too. */
TEST(unmap_rules)
{
	struct tx_buf *b;
	struct fx *fx;
	uint64_t unmapped = 0;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(8 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA_A, b->size,
				    VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE));
	/* no bisecting: a range that starts or ends inside the mapping */
	ASSERT_ERRNO(fx_unmap_raw(cfd, IOVA_A + 4096, 4096, 0, NULL), EINVAL);
	ASSERT_ERRNO(fx_unmap_raw(cfd, IOVA_A, 4096, 0, NULL), EINVAL);
	fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA_A, b->size, 3);
	/* an enclosing range unmaps it and reports its size */
	ASSERT_OK(fx_unmap_raw(cfd, IOVA_A - 0x10000, b->size + 0x20000, 0, &unmapped));
	ASSERT_EQ(unmapped, b->size);
	ASSERT_OK(fx_unmap_raw(cfd, IOVA_A, b->size, 0, &unmapped));
	ASSERT_EQ(unmapped, 0);
	fx_expect_write_fault(fx->edu, b->fd, b->cpu, IOVA_A);
}

TEST(unmap_all)
{
	uint8_t *mem = fx_alloc(4 * 4096);
	struct vfio_dmabuf_test_info info;
	struct tx_buf *b1, *b2;
	uint64_t unmapped = 0, iova = IOVA_B;
	int cfd;
	struct fx *fx;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b1 = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	b2 = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_CONTIG, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b1->fd, 0, IOVA_A, b1->size, VFIO_DMA_MAP_FLAG_WRITE));
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b2->fd, 0, IOVA_A + 0x100000, b2->size,
				    VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_READ));
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)mem, .iova = iova, .size = 4 * 4096,
	};
	ASSERT_OK(ioctl(cfd, VFIO_IOMMU_MAP_DMA, &m));
	ASSERT_OK(fx_unmap_raw(cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &unmapped));
	ASSERT_EQ(unmapped, b1->size + b2->size + 4 * 4096);
	tx_info(b1, &info);
	ASSERT_EQ(info.attachments, 0);
	tx_info(b2, &info);
	ASSERT_EQ(info.attachments + info.pinned, 0);
	fx_expect_write_fault(fx->edu, b2->fd, b2->cpu, IOVA_A + 0x100000);
}

/* READ only: the device may read the buffer, its writes fault. */
TEST(read_only_mapping_write_faults)
{
	struct tx_buf *b;
	struct fx *fx;
	uint64_t iova = IOVA_A;
	uint8_t *mem = fx_alloc(4096);
	uint64_t iova_mem = IOVA_B;

	fx = fx_open(0);
	b = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 0, b->size, &iova, VFD_DMA_READ));
	ASSERT_OK(vfd_dma_map_mem(fx->c, mem, 4096, &iova_mem, VFD_DMA_RW));
	/* device reads the dma-buf (allowed) ... */
	fx_cpu_begin(b->fd);
	fx_fill(b->cpu, XFER_BYTES, 8);
	fx_cpu_end(b->fd);
	memset(mem, 0, 4096);
	fx_edu_roundtrip(fx->edu, iova, iova_mem, XFER_BYTES);
	ASSERT_EQ(fx_check(mem, XFER_BYTES, 8), -1);
	/* ... but cannot write it */
	fx_expect_write_fault(fx->edu, b->fd, b->cpu + 4096, iova + 4096);
}

/*
 * A group attached after the mapping gets it replayed.  QEMU has one vIOMMU,
 * so type1 would put the second group into the existing domain and never
 * replay; the test-only knob makes it create a second domain (and says so
 * in the kernel log).  Without the knob there is no second domain (the
 * control); with it, the second device can only reach the mapping, made
 * before its domain existed, because it was replayed into that domain.
 * A later revocation removes it from both domains.
 */
TEST(replay_into_second_group)
{
	static const char knob_says[] = "not reusing a compatible IOMMU domain";
	struct fx_kmsg *k;
	struct vfd_edu *e1;
	struct tx_buf *b;
	char line[512];
	struct fx *fx;
	uint64_t iova = IOVA_A;

	/* control: the default shares the domain */
	struct vfd_container *c;
	struct vfd_edu *e0;
	struct vfd_error err;

	b = tx_create(8 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(vfd_container_open(&c, NULL, &err));
	ASSERT_OK(vfd_edu_open(c, NULL, VFD_EDU_WIDE_DMA, &e0));
	ASSERT_OK(vfd_dma_map_dmabuf(c, b->fd, 0, b->size, &iova, VFD_DMA_RW));
	k = fx_kmsg_start(false);
	ASSERT_OK(vfd_edu_find(NULL, 1, line, sizeof(line), &err));
	ASSERT_OK(vfd_edu_open(c, line, VFD_EDU_WIDE_DMA, &e1));
	if (fx_kmsg_grep(k, knob_says, 500, line, sizeof(line)))
		FAIL("a second domain without the knob: %s", line);
	fx_kmsg_stop(k);
	fx_verify_rw(e1, b->fd, b->cpu, iova, b->size, 61);
	vfd_edu_close(e1);
	vfd_edu_close(e0);
	vfd_container_close(c);

	fx_force_new_domain();
	fx = fx_open(0);
	iova = IOVA_A;
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 0, b->size, &iova, VFD_DMA_RW));
	k = fx_kmsg_start(false);
	e1 = fx_add_edu(fx, 1);
	if (!fx_kmsg_grep(k, knob_says, 2000, line, sizeof(line)))
		FAIL("the second group did not get a domain of its own");
	vt_info("%s", line);
	fx_kmsg_stop(k);
	fx_verify_rw(fx->edu, b->fd, b->cpu, iova, b->size, 62);
	fx_verify_rw(e1, b->fd, b->cpu, iova, b->size, 63);
	/* revocation reaches the replayed domain too */
	ASSERT_OK(tx_revoke(b, VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY));
	fx_expect_write_fault(fx->edu, b->fd, b->cpu, iova);
	fx_expect_write_fault(e1, b->fd, b->cpu + 4096, iova + 4096);
}
