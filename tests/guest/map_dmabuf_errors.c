// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_IOMMU_MAP_DMABUF input validation: each bad input gets its own
 * precise errno, and after every rejected call the mappings that existed
 * before still work (a dma-buf "canary" mapping is proven by device DMA at
 * the end of each test).
 */
#define _GNU_SOURCE
#include "exporter_client.h"
#include "fixture.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <linux/vfio_dmabuf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CANARY_IOVA	0x01000000ull
#define IOVA		0x02000000ull
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* The fixture of these tests, on the test's arena. */
struct efx {
	struct fx *fx;
	int cfd;
	struct tx_buf *canary;
	struct tx_buf *buf;	/* a 16-page buffer to (fail to) map */
};

static struct efx *efx_open(void)
{
	struct efx *e = vt_calloc(sizeof(*e));

	e->fx = fx_open(0);
	e->cfd = fx_cfd(e->fx);
	e->canary = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER,
			      VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(fx_map_dmabuf_raw(e->cfd, e->canary->fd, 0, CANARY_IOVA,
				    e->canary->size, RW));
	e->buf = tx_create(16 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER,
			   VFIO_DMABUF_TEST_MODE_STATIC, 0);
	return e;
}

/* The canary still works and the rejected buffer is not attached. */
static void efx_check(struct efx *e)
{
	struct vfio_dmabuf_test_info info;

	fx_verify_rw(e->fx->edu, e->canary->fd, e->canary->cpu, CANARY_IOVA,
		     e->canary->size, 0xc0ffee);
	tx_info(e->buf, &info);
	ASSERT_EQ(info.attachments, 0);
	ASSERT_EQ(info.pinned, 0);
}

#define MAP(fd, off, iova, size, flags) \
	fx_map_dmabuf_raw(e->cfd, fd, off, iova, size, flags)

TEST(bad_fd)
{
	struct efx *e;

	e = efx_open();
	ASSERT_ERRNO(MAP(-1, 0, IOVA, 4096, RW), EBADF);
	ASSERT_ERRNO(MAP(1000, 0, IOVA, 4096, RW), EBADF);
	efx_check(e);
}

TEST(fd_not_a_dmabuf)
{
	struct efx *e;
	int memfd = memfd_create("not-a-dmabuf", 0);

	e = efx_open();
	ASSERT_GE(memfd, 0);
	ASSERT_OK(ftruncate(memfd, 65536));
	ASSERT_ERRNO(MAP(memfd, 0, IOVA, 4096, RW), EINVAL);
	ASSERT_ERRNO(MAP(e->cfd, 0, IOVA, 4096, RW), EINVAL);	/* the container itself */
	close(memfd);
	efx_check(e);
}

TEST(zero_size)
{
	struct efx *e;

	e = efx_open();
	ASSERT_ERRNO(MAP(e->buf->fd, 0, IOVA, 0, RW), EINVAL);
	efx_check(e);
}

TEST(unaligned)
{
	struct efx *e;
	uint64_t pg;

	e = efx_open();
	pg = fx_pgsize(e->fx);
	ASSERT_ERRNO(MAP(e->buf->fd, 512, IOVA, pg, RW), EINVAL);
	ASSERT_ERRNO(MAP(e->buf->fd, 0, IOVA + 512, pg, RW), EINVAL);
	ASSERT_ERRNO(MAP(e->buf->fd, 0, IOVA, pg + 512, RW), EINVAL);
	ASSERT_ERRNO(MAP(e->buf->fd, 0, IOVA, 100, RW), EINVAL);
	efx_check(e);
}

TEST(beyond_buffer)
{
	struct efx *e;

	e = efx_open();
	ASSERT_ERRNO(MAP(e->buf->fd, 0, IOVA, e->buf->size + 4096, RW), EINVAL);
	ASSERT_ERRNO(MAP(e->buf->fd, e->buf->size, IOVA, 4096, RW), EINVAL);
	ASSERT_ERRNO(MAP(e->buf->fd, 8 * 4096, IOVA, 9 * 4096, RW), EINVAL);
	efx_check(e);
}

TEST(arithmetic_overflow)
{
	struct efx *e;

	e = efx_open();
	/* offset + size wraps around 2^64 */
	ASSERT_ERRNO(MAP(e->buf->fd, 0xfffffffffffff000ull, IOVA, 0x2000, RW), EINVAL);
	/* iova + size wraps */
	ASSERT_ERRNO(MAP(e->buf->fd, 0, 0xfffffffffffff000ull, 0x2000, RW), EINVAL);
	/* huge size */
	ASSERT_ERRNO(MAP(e->buf->fd, 0, IOVA, 0xfffffffffffff000ull, RW), EINVAL);
	efx_check(e);
}

TEST(iova_outside_usable_ranges)
{
	struct efx *e;
	uint64_t hole = 0;
	uint32_t i;

	e = efx_open();
	/* past the top of the last usable range (aperture) */
	ASSERT_TRUE(e->fx->info.nr_ranges > 0);
	uint64_t top = e->fx->info.ranges[e->fx->info.nr_ranges - 1].end;
	if (top < 0xfffffffffffff000ull)
		ASSERT_ERRNO(MAP(e->buf->fd, 0, (top + 1) & ~0xfffull, 4096, RW), EINVAL);
	/* a reserved window between usable ranges (the MSI window) */
	for (i = 0; i + 1 < e->fx->info.nr_ranges && !hole; i++)
		if (e->fx->info.ranges[i + 1].start > e->fx->info.ranges[i].end + 1)
			hole = e->fx->info.ranges[i].end + 1;
	if (hole) {
		vt_info("reserved window at 0x%" PRIx64, hole);
		ASSERT_ERRNO(MAP(e->buf->fd, 0, hole, 4096, RW), EINVAL);
		/* a range that starts usable and runs into it */
		ASSERT_ERRNO(MAP(e->buf->fd, 0, hole - 4096, 8192, RW), EINVAL);
	} else if (top >= 0xfffffffffffff000ull) {
		SKIP("the IOMMU reports one usable range covering everything");
	}
	efx_check(e);
}

TEST(overlap)
{
	struct efx *e;

	e = efx_open();
	ASSERT_ERRNO(MAP(e->buf->fd, 0, CANARY_IOVA, 4096, RW), EEXIST);
	ASSERT_ERRNO(MAP(e->buf->fd, 0, CANARY_IOVA + 3 * 4096, 2 * 4096, RW), EEXIST);
	ASSERT_ERRNO(MAP(e->buf->fd, 0, CANARY_IOVA - 4096, 16 * 4096, RW), EEXIST);
	efx_check(e);
}

TEST(flags)
{
	struct efx *e;

	e = efx_open();
	ASSERT_ERRNO(MAP(e->buf->fd, 0, IOVA, 4096, 0), EINVAL);		/* neither */
	ASSERT_ERRNO(MAP(e->buf->fd, 0, IOVA, 4096, RW | (1u << 7)), EINVAL);
	ASSERT_ERRNO(MAP(e->buf->fd, 0, IOVA, 4096, RW | VFIO_DMA_MAP_FLAG_VADDR), EINVAL);
	efx_check(e);
}

TEST(reserved_and_argsz)
{
	struct vfio_iommu_type1_dma_map_dmabuf m;
	struct efx *e;

	e = efx_open();
	m = (struct vfio_iommu_type1_dma_map_dmabuf){
		.argsz = sizeof(m), .flags = RW, .fd = e->buf->fd,
		.__reserved = 1, .iova = IOVA, .size = 4096,
	};
	ASSERT_ERRNO(ioctl(e->cfd, VFIO_IOMMU_MAP_DMABUF, &m), EINVAL);
	m.__reserved = 0;
	m.argsz = sizeof(m) - 8;	/* without 'size' */
	ASSERT_ERRNO(ioctl(e->cfd, VFIO_IOMMU_MAP_DMABUF, &m), EINVAL);
	m.argsz = 0;
	ASSERT_ERRNO(ioctl(e->cfd, VFIO_IOMMU_MAP_DMABUF, &m), EINVAL);
	/* a larger argsz from a newer userspace is fine */
	m.argsz = sizeof(m) + 8;
	ASSERT_OK(ioctl(e->cfd, VFIO_IOMMU_MAP_DMABUF, &m));
	ASSERT_OK(fx_unmap_raw(e->cfd, IOVA, 4096, 0, NULL));
	efx_check(e);
}

TEST(container_without_iommu)
{
	struct tx_buf *b;
	int c = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);

	ASSERT_GE(c, 0);
	b = tx_create(4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	/* the extension is advertised before VFIO_SET_IOMMU ... */
	ASSERT_EQ(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_MAP_DMABUF), 1);
	/* ... but there is nothing to map into yet */
	ASSERT_ERRNO(fx_map_dmabuf_raw(c, b->fd, 0, IOVA, 4096, RW), EINVAL);
	close(c);
}

TEST(write_on_read_only_file)
{
	struct tx_buf *ro;
	struct efx *e;

	e = efx_open();
	ro = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC,
		       VFIO_DMABUF_TEST_CREATE_RDONLY);
	ASSERT_ERRNO(MAP(ro->fd, 0, IOVA, 4096, RW), EACCES);
	ASSERT_ERRNO(MAP(ro->fd, 0, IOVA, 4096, VFIO_DMA_MAP_FLAG_WRITE), EACCES);
	/* device reads are what a read-only file allows */
	ASSERT_OK(MAP(ro->fd, 0, IOVA, 4096, VFIO_DMA_MAP_FLAG_READ));
	efx_check(e);
}

TEST(exporter_refuses_attach)
{
	struct vfio_dmabuf_test_stats before, after;
	struct tx_buf *b;
	struct efx *e;
	int err;

	e = efx_open();
	tx_stats(&before);
	b = tx_try_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER,
			  VFIO_DMABUF_TEST_MODE_REFUSE_ATTACH, 0, 0, &err);
	ASSERT_TRUE(b != NULL);
	ASSERT_ERRNO(MAP(b->fd, 0, IOVA, 4096, RW), EPERM);
	b = tx_try_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER,
			  VFIO_DMABUF_TEST_MODE_REFUSE_ATTACH, 0, ENXIO, &err);
	ASSERT_TRUE(b != NULL);
	ASSERT_ERRNO(MAP(b->fd, 0, IOVA, 4096, RW), ENXIO);
	tx_stats(&after);
	ASSERT_EQ(after.attach_refused - before.attach_refused, 2);
	efx_check(e);
}

/* Without CONFIG_DMABUF_MOVE_NOTIFY the core pins dynamic exporters at map
 * time; one that cannot pin is then refused with its errno, cleanly. */
TEST(exporter_cannot_pin)
{
	struct vfio_dmabuf_test_info info;
	struct tx_buf *b;
	struct efx *e;
	int r;

	e = efx_open();
	b = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_NOPIN, 0);
	r = MAP(b->fd, 0, IOVA, b->size, RW);
	if (r == 0) {
		vt_info("kernel has DMABUF_MOVE_NOTIFY: mapped unpinned, revocable");
		tx_info(b, &info);
		ASSERT_EQ(info.pinned, 0);
		fx_verify_rw(e->fx->edu, b->fd, b->cpu, IOVA, b->size, 1);
		ASSERT_OK(tx_revoke(b, 0));
		fx_expect_write_fault(e->fx->edu, -1, NULL, IOVA);
	} else {
		ASSERT_EQ(errno, EOPNOTSUPP);
		tx_info(b, &info);
		ASSERT_EQ(info.attachments, 0);
	}
	efx_check(e);
}

TEST(dma_entry_limit)
{
	struct tx_buf *b;
	struct fx *fx;
	int i, cfd;

	/* read when a container opens; the old limit is back at the end */
	fx_param_set("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit", 3);
	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(8 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	for (i = 0; i < 3; i++)
		ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, i * 4096, IOVA + i * 0x10000, 4096, RW));
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 3 * 4096, IOVA + 3 * 0x10000, 4096, RW), ENOSPC);
	/* an unmap gives the entry back */
	ASSERT_OK(fx_unmap_raw(cfd, IOVA, 4096, 0, NULL));
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 3 * 4096, IOVA + 3 * 0x10000, 4096, RW));
	/* the mappings that fit still work: page 1 -> device -> page 2 */
	fx_cpu_begin(b->fd);
	fx_fill(b->cpu + 4096, XFER_BYTES, 2);
	memset(b->cpu + 2 * 4096, 0, 4096);
	fx_cpu_end(b->fd);
	fx_edu_roundtrip(fx->edu, IOVA + 0x10000, IOVA + 0x20000, XFER_BYTES);
	fx_cpu_begin(b->fd);
	ASSERT_EQ(fx_check(b->cpu + 2 * 4096, XFER_BYTES, 2), -1);
	fx_cpu_end(b->fd);
}

/*
 * Everything the container can refuse by itself (overlap, IOVA outside the
 * usable ranges, the entry limit, the size of the buffer, the fd's mode)
 * is refused before the exporter is asked for anything: its attach, pin
 * and map counters do not move.
 */
TEST(refused_before_import)
{
	struct vfio_dmabuf_test_stats st0, st1;
	struct tx_buf *b, *ro;
	uint64_t top, i;
	struct efx *e;

	e = efx_open();
	b = tx_create(16 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ro = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN,
		       VFIO_DMABUF_TEST_CREATE_RDONLY);
	tx_stats(&st0);
	ASSERT_ERRNO(MAP(b->fd, 0, CANARY_IOVA, 4096, RW), EEXIST);
	ASSERT_ERRNO(MAP(b->fd, 0, CANARY_IOVA - 4096, 16 * 4096, RW), EEXIST);
	top = e->fx->info.ranges[e->fx->info.nr_ranges - 1].end;
	if (top < 0xfffffffffffff000ull)
		ASSERT_ERRNO(MAP(b->fd, 0, (top + 1) & ~0xfffull, 4096, RW), EINVAL);
	for (i = 0; i + 1 < e->fx->info.nr_ranges; i++)
		if (e->fx->info.ranges[i + 1].start > e->fx->info.ranges[i].end + 1)
			ASSERT_ERRNO(MAP(b->fd, 0, e->fx->info.ranges[i].end + 1, 4096, RW),
				     EINVAL);
	ASSERT_ERRNO(MAP(b->fd, 4096, IOVA, 16 * 4096, RW), EINVAL);	/* beyond it */
	ASSERT_ERRNO(MAP(ro->fd, 0, IOVA, 4096, RW), EACCES);
	tx_stats(&st1);
	if (st1.attaches != st0.attaches || st1.pins != st0.pins || st1.maps != st0.maps)
		FAIL("a refused MAP_DMABUF reached the exporter: %llu attach(es), %llu pin(s), %llu map(s)",
		     (unsigned long long)(st1.attaches - st0.attaches),
		     (unsigned long long)(st1.pins - st0.pins),
		     (unsigned long long)(st1.maps - st0.maps));
	efx_check(e);
}

/* The entry limit, likewise: the container is full before the exporter works. */
TEST(refused_before_import_when_full)
{
	struct vfio_dmabuf_test_stats st0, st1;
	struct tx_buf *b, *other;
	struct fx *fx;
	int cfd;

	fx_param_set("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit", 1);
	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	other = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA, 2 * 4096, RW));
	tx_stats(&st0);
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, other->fd, 0, IOVA + 0x10000, 4096, RW), ENOSPC);
	tx_stats(&st1);
	ASSERT_EQ(st1.attaches, st0.attaches);
	ASSERT_EQ(st1.pins, st0.pins);
	fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA, 2 * 4096, 3);
}

/*
 * Pins are bounded: the pinned memory of dma-buf mappings is charged to
 * RLIMIT_MEMLOCK, once per buffer, and given back with its last mapping;
 * beyond the limit MAP_DMABUF fails with ENOMEM and changes nothing.
 */
TEST(pin_limit)
{
	struct rlimit rl = { .rlim_cur = 3 << 19, .rlim_max = 3 << 19 };	/* 1.5 MiB */
	struct tx_buf *big, *b1, *b2;
	struct efx *e;

	e = efx_open();		/* its canary: 4 pages, charged */
	big = tx_create(4 << 20, VFIO_DMABUF_TEST_KIND_CHUNKED, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	b1 = tx_create(1 << 20, VFIO_DMABUF_TEST_KIND_CHUNKED, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	b2 = tx_create(1 << 20, VFIO_DMABUF_TEST_KIND_CHUNKED, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	fx_drop_ipc_lock();
	ASSERT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));

	ASSERT_ERRNO(MAP(big->fd, 0, IOVA, big->size, RW), ENOMEM);
	ASSERT_ERRNO(fx_dmabuf_state_raw(e->cfd, IOVA, &(struct vfio_iommu_type1_dmabuf_state){ 0 }),
		     ENOENT);
	ASSERT_OK(MAP(b1->fd, 0, IOVA, b1->size, RW));
	/* a second window of the same buffer is not charged again */
	ASSERT_OK(MAP(b1->fd, 0, IOVA + (8 << 20), b1->size, RW));
	/* a second buffer would go beyond the limit */
	ASSERT_ERRNO(MAP(b2->fd, 0, IOVA + (16 << 20), b2->size, RW), ENOMEM);
	/* the limit is shared with MAP_DMA's pins */
	ASSERT_ERRNO(fx_map_mem_raw(e->cfd, fx_alloc(1 << 20), IOVA + (24 << 20), 1 << 20, RW),
		     ENOMEM);
	/* the first buffer's last window gives its charge back */
	ASSERT_OK(fx_unmap_raw(e->cfd, IOVA, b1->size, 0, NULL));
	ASSERT_ERRNO(MAP(b2->fd, 0, IOVA + (16 << 20), b2->size, RW), ENOMEM);
	ASSERT_OK(fx_unmap_raw(e->cfd, IOVA + (8 << 20), b1->size, 0, NULL));
	ASSERT_OK(MAP(b2->fd, 0, IOVA + (16 << 20), b2->size, RW));
	fx_verify_rw(e->fx->edu, b2->fd, b2->cpu, IOVA + (16 << 20), b2->size, 4);
	/* the refused ones left no attachment behind */
	ASSERT_TRUE(tx_wait_attachments(big->fd, 0, 0, &(struct vfio_dmabuf_test_info){ 0 }));
	efx_check(e);
}
