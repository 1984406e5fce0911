// SPDX-License-Identifier: GPL-2.0-only
/*
 * dma-buf lifetime under VFIO_IOMMU_MAP_DMABUF: the mapping holds its own
 * reference, every way a mapping ends (unmap, container close, kill -9)
 * releases the buffer and its memory, exporter revocation removes the
 * range from the IOMMU at once, gives the buffer back to the exporter and
 * signals the container's revoke eventfd, and a group attached later gets
 * the dma-buf mappings replayed.  The test exporter's counters tell whether
 * its release callback ran.
 */
#define _GNU_SOURCE
#include "exporter_client.h"
#include "fixture.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <linux/vfio_dmabuf.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IOVA	0x02000000ull
#define RW	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

TEST(fd_closed_after_map)
{
	struct vfio_dmabuf_test_stats st0, st1;
	struct tx_buf *b;
	struct fx *fx;
	int fd;

	fx = fx_open(0);
	b = tx_create(8 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(fx_map_dmabuf_raw(fx_cfd(fx), b->fd, 0, IOVA, b->size, RW));
	fd = b->fd;
	b->fd = -1;		/* the CPU mapping stays, the fd goes */
	close(fd);
	fx_verify_rw(fx->edu, -1, b->cpu, IOVA, b->size, 11);
	tx_stats(&st0);
	munmap(b->cpu, b->size);
	b->cpu = NULL;		/* now only the IOMMU mapping holds the buffer */
	usleep(100000);
	tx_stats(&st1);
	ASSERT_EQ(st1.buffers_released, st0.buffers_released);
	ASSERT_OK(fx_unmap_raw(fx_cfd(fx), IOVA, b->size, 0, NULL));
	tx_wait_released(st0.buffers_released + 1);
}

TEST(container_close_releases)
{
	struct vfio_dmabuf_test_stats st0, st1;
	struct vfd_container *c;
	struct vfd_edu *e;
	struct vfd_error err;
	struct tx_buf *b;
	char name[64];
	uint64_t iova = IOVA;

	ASSERT_OK(vfd_edu_find(NULL, 0, name, sizeof(name), &err));
	ASSERT_OK(vfd_container_open(&c, NULL, &err));
	ASSERT_OK(vfd_edu_open(c, name, VFD_EDU_WIDE_DMA, &e));
	tx_stats(&st0);
	b = tx_create(1 << 20, VFIO_DMABUF_TEST_KIND_CONTIG, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(vfd_dma_map_dmabuf(c, b->fd, 0, b->size, &iova, VFD_DMA_RW));
	tx_close(b);
	vfd_edu_close(e);
	vfd_container_close(c);
	tx_wait_released(st0.buffers_released + 1);
	tx_stats(&st1);
	ASSERT_EQ(st1.pages_allocated, st0.pages_allocated);
	ASSERT_EQ(st1.detaches - st0.detaches, st1.attaches - st0.attaches);
	ASSERT_EQ(st1.unpins - st0.unpins, st1.pins - st0.pins);
}

TEST_TIMEOUT(kill9_with_live_mappings, 300)
{
	struct vfio_dmabuf_test_stats start, st0, st1;
	long free0 = 0, free1;
	int round;

	tx_stats(&start);
	for (round = 0; round < 11; round++) {
		int p[2];
		char ok;
		pid_t pid;

		ASSERT_OK(pipe(p));
		pid = fork();
		ASSERT_GE(pid, 0);
		if (!pid) {
			struct vfd_container *c;
			struct vfd_edu *e;
			struct vfd_error err;
			struct vfio_dmabuf_test_create cr = {
				.argsz = sizeof(cr), .size = 2 << 20,
				.kind = VFIO_DMABUF_TEST_KIND_CHUNKED,
				.mode = VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN,
			};
			int ctl = open(VFIO_DMABUF_TEST_DEVICE, O_RDWR);
			uint64_t iova = IOVA;
			char name[64];

			if (ctl < 0 || ioctl(ctl, VFIO_DMABUF_TEST_CREATE, &cr) < 0 ||
			    vfd_edu_find(NULL, 0, name, sizeof(name), &err) < 0 ||
			    vfd_container_open(&c, NULL, &err) < 0 ||
			    vfd_edu_open(c, name, VFD_EDU_WIDE_DMA, &e) < 0 ||
			    vfd_dma_map_dmabuf(c, cr.fd, 0, cr.size, &iova, VFD_DMA_RW) < 0)
				_exit(3);
			if (write(p[1], "m", 1) != 1)
				_exit(4);
			pause();
			_exit(0);
		}
		close(p[1]);
		if (read(p[0], &ok, 1) != 1)
			FAIL("round %d: the child could not map its dma-buf", round);
		close(p[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		tx_wait_released(start.buffers_released + round + 1);
		if (!round) {	/* the first round warms up caches */
			tx_stats(&st0);
			free0 = fx_free_kb();
		}
	}
	tx_stats(&st1);
	ASSERT_EQ(st1.buffers_live, st0.buffers_live);
	ASSERT_EQ(st1.pages_allocated, st0.pages_allocated);
	free1 = fx_free_kb();
	vt_info("10 x kill -9 with a 2 MiB live mapping: free memory %ld -> %ld KiB", free0, free1);
	/* leaking the buffers would cost 20 MiB */
	if (!fx_free_memory_comparable())
		vt_info("KASAN kernel: free memory not compared (quarantine); kmemleak checks leaks");
	else
		ASSERT_GT(free1, free0 - 4096);
	/* the group is usable again right away */
	struct fx *fx;
	struct tx_buf *b;

	fx = fx_open(0);
	b = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	ASSERT_OK(fx_map_dmabuf_raw(fx_cfd(fx), b->fd, 0, IOVA, b->size, RW));
	fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA, b->size, 99);
}

/* One create/map/close/unmap cycle of a dma-buf of a size, layout and
 * exporter behaviour that vary with @i; returns the buffer size. */
static size_t map_unmap_cycle(struct fx *fx, int i)
{
	size_t size = (size_t)(1 + i % 4) << 18;
	int fd, e;

	e = tx_create_fd(size, (unsigned int)i % 3,
			 i % 2 ? VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN : VFIO_DMABUF_TEST_MODE_STATIC,
			 0, 0, &fd);
	if (e)
		FAIL("VFIO_DMABUF_TEST_CREATE of %zu bytes: %s", size, strerror(e));
	ASSERT_OK(fx_map_dmabuf_raw(fx_cfd(fx), fd, 0, IOVA, size, RW));
	close(fd);
	ASSERT_OK(fx_unmap_raw(fx_cfd(fx), IOVA, size, 0, NULL));
	return size;
}

/*
 * Memory comes back: the exporter's page count is exact; the guest's
 * MemFree is noisy (per-CPU page lists, slab caches), so it is compared
 * after a warm-up, over many cycles, against a bound far below what a
 * leak of the buffers (or of a page per cycle) would cost.
 */
TEST_TIMEOUT(map_unmap_cycles_free_memory, 300)
{
	struct vfio_dmabuf_test_stats st0, st1;
	long free0, free1;
	size_t bytes = 0;
	struct fx *fx;
	int i;

	fx = fx_open(0);
	for (i = 0; i < 16; i++)
		map_unmap_cycle(fx, i);
	tx_stats(&st0);
	free0 = fx_free_kb();
	for (i = 0; i < 256; i++)
		bytes += map_unmap_cycle(fx, i);
	tx_wait_released(st0.buffers_released + 256);
	tx_stats(&st1);
	free1 = fx_free_kb();
	vt_info("256 map/unmap cycles of %zu MiB in all: free memory %ld -> %ld KiB, exporter pages %llu -> %llu",
		bytes >> 20, free0, free1, (unsigned long long)st0.pages_allocated,
		(unsigned long long)st1.pages_allocated);
	ASSERT_EQ(st1.pages_allocated, st0.pages_allocated);
	ASSERT_EQ(st1.attaches - st0.attaches, 256);
	ASSERT_EQ(st1.detaches - st0.detaches, 256);
	ASSERT_EQ(st1.pins - st0.pins, st1.unpins - st0.unpins);
	/* 256 cycles: a page per cycle would be 1 MiB, the buffers 160 MiB */
	if (!fx_free_memory_comparable())
		vt_info("KASAN kernel: free memory not compared (quarantine); kmemleak checks leaks");
	else
		ASSERT_GT(free1, free0 - 1024);
}

/* Exporter revocation (forced, as on a device reset): the range leaves the
 * IOMMU at once, stays reserved, is reported, and unmaps normally. */
static void revoke_case(unsigned int revoke_flags)
{
	struct vfio_iommu_type1_dmabuf_state s;
	struct vfio_dmabuf_test_info info;
	struct tx_buf *b;
	uint64_t unmapped;
	uint8_t *mem;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(8 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA, b->size, RW));
	ASSERT_OK(fx_dmabuf_state_raw(cfd, IOVA, &s));
	ASSERT_EQ(s.state, VFIO_DMABUF_STATE_MAPPED);
	ASSERT_EQ(s.size, b->size);
	fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA, b->size, 21);

	fx_cpu_begin(b->fd);
	memset(b->cpu + 4096, 0xee, 4096);
	fx_cpu_end(b->fd);
	ASSERT_EQ(tx_revoke(b, revoke_flags), 0);
	ASSERT_OK(fx_dmabuf_state_raw(cfd, IOVA, &s));
	ASSERT_EQ(s.state, VFIO_DMABUF_STATE_REVOKED);
	tx_info(b, &info);
	ASSERT_EQ(info.mapped, 0);	/* importer gave its sg_table back */
	if (revoke_flags & VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY) {
		fx_expect_write_fault(fx->edu, b->fd, b->cpu + 4096, IOVA + 4096);
	} else {
		/* A revoked buffer has no CPU mapping: probe, then let the
		 * exporter restore the buffer and look at the bytes again. */
		uint8_t *cpu;

		fx_expect_write_fault(fx->edu, -1, NULL, IOVA + 4096);
		ASSERT_EQ(tx_revoke(b, VFIO_DMABUF_TEST_REVOKE_RESTORE), 0);
		cpu = mmap(NULL, b->size, PROT_READ, MAP_SHARED, b->fd, 0);
		ASSERT_TRUE(cpu != MAP_FAILED);
		for (unsigned int i = 0; i < 4096; i++)
			if (cpu[4096 + i] != 0xee)
				FAIL("byte %u changed after revocation: the device wrote through a stale IOMMU entry", i);
		munmap(cpu, b->size);
		/* restoring the buffer does not bring the mapping back */
		ASSERT_OK(fx_dmabuf_state_raw(cfd, IOVA, &s));
		ASSERT_EQ(s.state, VFIO_DMABUF_STATE_REVOKED);
	}
	/* still reserved: nothing else may take the range */
	mem = fx_alloc(4096);
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = (uintptr_t)mem,
		.iova = IOVA + 4096, .size = 4096,
	};
	ASSERT_ERRNO(ioctl(cfd, VFIO_IOMMU_MAP_DMA, &m), EEXIST);
	ASSERT_OK(fx_unmap_raw(cfd, IOVA, b->size, 0, &unmapped));
	ASSERT_EQ(unmapped, b->size);
	ASSERT_ERRNO(fx_dmabuf_state_raw(cfd, IOVA, &s), ENOENT);
	tx_info(b, &info);
	ASSERT_EQ(info.attachments, 0);
	ASSERT_EQ(info.pinned, 0);
	/* the range is free again */
	ASSERT_OK(ioctl(cfd, VFIO_IOMMU_MAP_DMA, &m));
}

TEST(revoke_removes_iommu_mapping)
{
	revoke_case(0);
}

TEST(move_notify_revokes)
{
	revoke_case(VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY);
}

/*
 * The exporter's view of @b: @attachments attachments and @mapped mappings,
 * and pins: one per attachment (ours), plus one per mapping when the
 * dma-buf core pins at map time itself (CONFIG_DMABUF_MOVE_NOTIFY=n), which
 * the first call learns into *@core_pins (-1 before).
 */
static void expect_exporter(const struct tx_buf *b, int *core_pins,
			    unsigned int attachments, unsigned int mapped)
{
	struct vfio_dmabuf_test_info info;

	tx_info(b, &info);
	if (*core_pins < 0 && mapped)
		*core_pins = info.pinned > attachments;
	if (info.attachments != attachments || info.mapped != mapped ||
	    info.pinned != attachments + (unsigned int)*core_pins * mapped)
		FAIL("exporter sees %u attachment(s), %u pin(s), %u mapping(s); want %u, %u, %u",
		     info.attachments, info.pinned, info.mapped, attachments,
		     attachments + (unsigned int)*core_pins * mapped, mapped);
}

/*
 * Several windows of one dma-buf in a container share one attachment: the
 * exporter attaches, pins and maps the buffer once, each window DMAs to its
 * own slice, a revocation revokes every window and gives the buffer back
 * at once, and a window mapped after the exporter restored the buffer gets
 * a fresh attachment while the revoked windows stay reserved until they
 * are unmapped.
 */
TEST(windows_share_one_attachment)
{
	const uint64_t pg = 4096, w0 = IOVA, w1 = IOVA + 0x100000,
		       w2 = IOVA + 0x200000, w3 = IOVA + 0x300000;
	struct vfio_iommu_type1_dmabuf_state s;
	struct vfio_dmabuf_test_info info;
	int core_pins = -1;
	struct tx_buf *b;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	if (fx_pgsize(fx) > pg)
		SKIP("IOMMU page size %llu: the windows are 4 KiB aligned",
		     (unsigned long long)fx_pgsize(fx));
	b = tx_create(16 * pg, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, w0, 16 * pg, RW));
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 4 * pg, w1, 4 * pg, RW));
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 12 * pg, w2, 4 * pg, VFIO_DMA_MAP_FLAG_READ));
	expect_exporter(b, &core_pins, 1, 1);

	/* each window reaches its own slice of the buffer */
	fx_verify_rw(fx->edu, b->fd, b->cpu + 4 * pg, w1, 4 * pg, 41);
	fx_verify_rw(fx->edu, b->fd, b->cpu, w0, 16 * pg, 42);
	fx_expect_write_fault(fx->edu, b->fd, b->cpu + 12 * pg, w2);

	/* unmapping one window leaves the others and the attachment alone */
	ASSERT_OK(fx_unmap_raw(cfd, w0, 16 * pg, 0, NULL));
	expect_exporter(b, &core_pins, 1, 1);
	fx_verify_rw(fx->edu, b->fd, b->cpu + 4 * pg, w1, 4 * pg, 43);

	/* one revocation reaches every window */
	ASSERT_EQ(tx_revoke(b, 0), 0);
	ASSERT_OK(fx_dmabuf_state_raw(cfd, w1, &s));
	ASSERT_EQ(s.state, VFIO_DMABUF_STATE_REVOKED);
	ASSERT_OK(fx_dmabuf_state_raw(cfd, w2, &s));
	ASSERT_EQ(s.state, VFIO_DMABUF_STATE_REVOKED);
	ASSERT_TRUE(tx_wait_attachments(b->fd, 0, 2000, &info));
	expect_exporter(b, &core_pins, 0, 0);
	fx_expect_write_fault(fx->edu, -1, NULL, w1);

	/* a revoked buffer cannot be mapped; a restored one attaches afresh */
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, w3, 4 * pg, RW), ENODEV);
	ASSERT_EQ(tx_revoke(b, VFIO_DMABUF_TEST_REVOKE_RESTORE), 0);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, w3, 4 * pg, RW));
	expect_exporter(b, &core_pins, 1, 1);
	ASSERT_OK(fx_dmabuf_state_raw(cfd, w3, &s));
	ASSERT_EQ(s.state, VFIO_DMABUF_STATE_MAPPED);
	ASSERT_OK(fx_dmabuf_state_raw(cfd, w1, &s));
	ASSERT_EQ(s.state, VFIO_DMABUF_STATE_REVOKED);
	fx_verify_rw(fx->edu, b->fd, b->cpu, w3, 4 * pg, 44);

	/* the revoked windows hold nothing of the exporter's any more */
	ASSERT_OK(fx_unmap_raw(cfd, w1, 4 * pg, 0, NULL));
	expect_exporter(b, &core_pins, 1, 1);
	ASSERT_OK(fx_unmap_raw(cfd, w2, 4 * pg, 0, NULL));
	expect_exporter(b, &core_pins, 1, 1);
	ASSERT_OK(fx_unmap_raw(cfd, w3, 4 * pg, 0, NULL));
	expect_exporter(b, &core_pins, 0, 0);
}

TEST(get_state_errors)
{
	struct vfio_iommu_type1_dmabuf_state s;
	uint8_t *mem = fx_alloc(8192);
	uint64_t iova = IOVA + 0x100000;
	struct tx_buf *b;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA, b->size, RW));
	ASSERT_OK(vfd_dma_map_mem(fx->c, mem, 8192, &iova, VFD_DMA_RW));
	ASSERT_ERRNO(fx_dmabuf_state_raw(cfd, IOVA + 0x200000, &s), ENOENT);
	ASSERT_ERRNO(fx_dmabuf_state_raw(cfd, iova, &s), EINVAL);		/* MAP_DMA mapping */
	ASSERT_ERRNO(fx_dmabuf_state_raw(cfd, IOVA + 4096, &s), EINVAL);	/* not its start */
	s = (struct vfio_iommu_type1_dmabuf_state){ .argsz = 8, .iova = IOVA };
	ASSERT_ERRNO(ioctl(cfd, VFIO_IOMMU_DMABUF_GET_STATE, &s), EINVAL);
	s = (struct vfio_iommu_type1_dmabuf_state){ .argsz = sizeof(s), .flags = 2, .iova = IOVA };
	ASSERT_ERRNO(ioctl(cfd, VFIO_IOMMU_DMABUF_GET_STATE, &s), EINVAL);
	/* nothing is revoked */
	s = (struct vfio_iommu_type1_dmabuf_state){
		.argsz = sizeof(s), .flags = VFIO_DMABUF_STATE_FLAG_FIND_REVOKED,
	};
	ASSERT_ERRNO(ioctl(cfd, VFIO_IOMMU_DMABUF_GET_STATE, &s), ENOENT);
	ASSERT_OK(fx_dmabuf_state_raw(cfd, IOVA, &s));
	ASSERT_EQ(s.state, VFIO_DMABUF_STATE_MAPPED);
}

/*
 * A revocation gives the exporter everything back at once (attachment,
 * pin, mapping, the locked-memory charge), not when the user gets round
 * to unmapping: the IOVA range stays reserved meanwhile, and the buffer
 * can be mapped again after the unmap.
 */
TEST(revoke_releases_pin)
{
	struct vfio_iommu_type1_dmabuf_state s;
	struct vfio_dmabuf_test_info info;
	int core_pins = -1;
	long l0, l1, l2;
	struct tx_buf *b;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(4 << 20, VFIO_DMABUF_TEST_KIND_CHUNKED, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	l0 = fx_vmlck_kb();
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA, b->size, RW));
	l1 = fx_vmlck_kb();
	expect_exporter(b, &core_pins, 1, 1);
	fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA, b->size, 81);

	/* a move_notify on the established import: the buffer stays usable
	 * for the CPU, we give it back */
	ASSERT_OK(tx_revoke(b, VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY));
	if (!tx_wait_attachments(b->fd, 0, 2000, &info))
		FAIL("2 s after the revoke the exporter still sees %u attachment(s), %u pin(s), %u mapping(s)",
		     info.attachments, info.pinned, info.mapped);
	expect_exporter(b, &core_pins, 0, 0);
	l2 = fx_vmlck_kb();
	vt_info("VmLck %ld kB, mapped %ld kB, revoked %ld kB", l0, l1, l2);
	ASSERT_EQ(l1, l0 + 4096);
	ASSERT_EQ(l2, l0);
	ASSERT_OK(fx_dmabuf_state_raw(cfd, IOVA, &s));
	ASSERT_EQ(s.state, VFIO_DMABUF_STATE_REVOKED);
	fx_expect_write_fault(fx->edu, b->fd, b->cpu, IOVA);
	/* still reserved */
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA + (1 << 20), 4096, RW), EEXIST);

	/* unmapped, it can be mapped again, and it works */
	ASSERT_OK(fx_unmap_raw(cfd, IOVA, b->size, 0, NULL));
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA, b->size, RW));
	expect_exporter(b, &core_pins, 1, 1);
	fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA, b->size, 82);
}

static bool readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/*
 * Revocation is an event: the container's eventfd fires when an exporter
 * revokes a buffer it maps, and GET_STATE (FIND_REVOKED) then says which
 * mappings; through the library, vfd_container_revoke_fd() and
 * vfd_dma_revoked().
 */
TEST(revoke_eventfd)
{
	uint64_t a = IOVA, a2 = IOVA + 0x100000, bb = IOVA + 0x200000, cc = IOVA + 0x300000;
	struct vfio_iommu_type1_dmabuf_eventfd ev = { .argsz = sizeof(ev) };
	struct vfio_iommu_type1_dmabuf_state s;
	struct vfd_dma_mapping out[4];
	struct tx_buf *b1, *b2, *b3;
	struct fx *fx;
	int cfd, fd, efd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b1 = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	b2 = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	b3 = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);

	/* the raw ioctl's errors */
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_TRUE(efd >= 0);
	ev.fd = efd;
	ASSERT_ERRNO(ioctl(cfd, VFIO_IOMMU_DMABUF_SET_EVENTFD, &ev), EINVAL);	/* no event */
	ev.flags = VFIO_DMABUF_EVENT_REVOKED;
	ev.fd = b1->fd;
	ASSERT_ERRNO(ioctl(cfd, VFIO_IOMMU_DMABUF_SET_EVENTFD, &ev), EINVAL);	/* no eventfd */
	ev.fd = 1000;
	ASSERT_ERRNO(ioctl(cfd, VFIO_IOMMU_DMABUF_SET_EVENTFD, &ev), EBADF);
	ev.fd = -2;
	ASSERT_ERRNO(ioctl(cfd, VFIO_IOMMU_DMABUF_SET_EVENTFD, &ev), EINVAL);
	close(efd);

	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b1->fd, 0, b1->size, &a, VFD_DMA_RW));
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b1->fd, 0, 2 * 4096, &a2, VFD_DMA_RW));
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b2->fd, 0, b2->size, &bb, VFD_DMA_RW));
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b3->fd, 0, b3->size, &cc, VFD_DMA_RW));
	fd = vfd_container_revoke_fd(fx->c);
	if (fd < 0)
		FAIL("vfd_container_revoke_fd: %s", vfd_container_errmsg(fx->c));
	ASSERT_FALSE(readable_within(fd, 0));
	ASSERT_EQ(vfd_dma_revoked(fx->c, out, 4), 0);

	/* one buffer revoked: one event, one mapping */
	ASSERT_OK(tx_revoke(b2, 0));
	if (!readable_within(fd, 2000))
		FAIL("the revoke eventfd did not fire within 2 s of the revocation");
	ASSERT_EQ(vfd_dma_revoked(fx->c, out, 4), 1);
	ASSERT_EQ(out[0].iova, bb);
	ASSERT_EQ(out[0].dmabuf_fd, b2->fd);
	ASSERT_FALSE(readable_within(fd, 0));	/* read, cleared */
	/* the kernel's view, raw */
	s = (struct vfio_iommu_type1_dmabuf_state){
		.argsz = sizeof(s), .flags = VFIO_DMABUF_STATE_FLAG_FIND_REVOKED,
	};
	ASSERT_OK(ioctl(cfd, VFIO_IOMMU_DMABUF_GET_STATE, &s));
	ASSERT_EQ(s.iova, bb);
	ASSERT_EQ(s.size, b2->size);
	ASSERT_EQ(s.state, VFIO_DMABUF_STATE_REVOKED);
	s.iova = bb + b2->size;
	ASSERT_ERRNO(ioctl(cfd, VFIO_IOMMU_DMABUF_GET_STATE, &s), ENOENT);

	/* a buffer of two windows: both listed, in IOVA order */
	ASSERT_OK(tx_revoke(b1, VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY));
	ASSERT_TRUE(readable_within(fd, 2000));
	ASSERT_EQ(vfd_dma_revoked(fx->c, out, 4), 3);
	ASSERT_EQ(out[0].iova, a);
	ASSERT_EQ(out[1].iova, a2);
	ASSERT_EQ(out[2].iova, bb);
	fx_expect_write_fault(fx->edu, b1->fd, b1->cpu, a2);

	/* unmapped, a revoked mapping is no longer listed */
	ASSERT_OK(vfd_dma_unmap(fx->c, a2));
	ASSERT_EQ(vfd_dma_revoked(fx->c, out, 4), 2);

	/* unregistered: revocations happen, nothing is signalled */
	ev.fd = -1;
	ASSERT_OK(ioctl(cfd, VFIO_IOMMU_DMABUF_SET_EVENTFD, &ev));
	ASSERT_OK(tx_revoke(b3, 0));
	ASSERT_FALSE(readable_within(fd, 500));
	ASSERT_EQ(vfd_dma_revoked(fx->c, out, 4), 3);
}
