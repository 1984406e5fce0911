// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_IOMMU_MAP_DMABUF with exporters that behave like the ones users
 * have (the test exporter's TTM_LIKE, MOVABLE and DEVICE_MEMORY modes):
 *
 *  - migrate_on_pin: a GPU buffer in VRAM is migrated to system memory
 *    inside our own dma_buf_pin(), which notifies every attachment (ours
 *    too) from there, as amdgpu and xe do; the copy is pipelined behind a
 *    KERNEL fence.  That is no revocation: the map succeeds, waits for the
 *    copy, and the device sees the buffer where it landed.
 *  - move_unpinned: an exporter that cannot pin moves the buffer; a move
 *    of an established mapping revokes it (docs/design.md, "What a move
 *    means"): the device faults, the buffer is given back, the event fires,
 *    and the buffer maps again at its new place.
 *  - p2p_bar_dma: device memory without struct pages, a PCI BAR: the edu
 *    device DMAs into another device's BAR through the IOMMU, the CPU reads
 *    the bytes back through the BAR, and nothing is charged as locked
 *    memory.
 */
#define _GNU_SOURCE
#include "exporter_client.h"
#include "fixture.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <linux/vfio_dmabuf.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define IOVA		0x02000000ull
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define COPY_DELAY_PARAM "/sys/module/vfio_dmabuf_test_exporter/parameters/move_copy_delay_ms"

TEST(migrate_on_pin)
{
	struct vfio_dmabuf_test_stats st0, st1;
	struct vfio_iommu_type1_dmabuf_state s;
	struct vfio_dmabuf_test_info info;
	const size_t pg = 4096;
	struct tx_buf *b;
	struct fx *fx;
	struct timespec t0, t1;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	/* a copy slow enough that a map not waiting for it would be seen */
	fx_param_set(COPY_DELAY_PARAM, 400);
	b = tx_create(16 * pg, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_TTM_LIKE, 0);
	tx_info(b, &info);
	ASSERT_EQ(info.placement, VFIO_DMABUF_TEST_PLACEMENT_VRAM);
	/* contents in "VRAM" before the map: they must move with the buffer */
	fx_cpu_begin(b->fd);
	fx_fill(b->cpu, XFER_BYTES, 91);
	fx_cpu_end(b->fd);

	tx_stats(&st0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fx_map_dmabuf_raw(cfd, b->fd, 0, IOVA, b->size, RW))
		FAIL("MAP_DMABUF of a VRAM buffer that the pin migrates: %s", strerrorname(errno));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vt_info("MAP_DMABUF took %ld ms with a 400 ms pipelined copy",
		(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	tx_stats(&st1);
	tx_info(b, &info);
	/* the exporter migrated inside the pin and notified us from there */
	ASSERT_EQ(st1.migrations - st0.migrations, 1);
	ASSERT_GE(st1.pin_move_notifies - st0.pin_move_notifies, 1);
	ASSERT_EQ(info.placement, VFIO_DMABUF_TEST_PLACEMENT_SYSTEM);
	ASSERT_EQ(info.generation, 1);
	/* we waited for the copy (its KERNEL fence) before mapping */
	ASSERT_FALSE(info.flags & VFIO_DMABUF_TEST_INFO_COPY_PENDING);
	ASSERT_OK(fx_dmabuf_state_raw(cfd, IOVA, &s));
	ASSERT_EQ(s.state, VFIO_DMABUF_STATE_MAPPED);

	/* the device reads the migrated contents at the new place ... */
	fx_edu_roundtrip(fx->edu, IOVA, IOVA + 4 * pg, XFER_BYTES);
	fx_cpu_begin(b->fd);
	ASSERT_EQ(fx_check(b->cpu + 4 * pg, XFER_BYTES, 91), -1);
	fx_cpu_end(b->fd);
	/* ... and what it writes stays: no late copy comes over it */
	fx_verify_rw(fx->edu, b->fd, b->cpu + 8 * pg, IOVA + 8 * pg, 8 * pg, 92);
	usleep(600 * 1000);
	fx_cpu_begin(b->fd);
	ASSERT_EQ(fx_check(b->cpu + 8 * pg + 7 * pg, XFER_BYTES, 92), -1);
	fx_cpu_end(b->fd);

	/* a pinned buffer does not move; unmapped, the pin is given back */
	ASSERT_EQ(tx_move_fd(b->fd, 0, NULL), EBUSY);
	ASSERT_OK(fx_unmap_raw(cfd, IOVA, b->size, 0, NULL));
	tx_info(b, &info);
	ASSERT_EQ(info.attachments, 0);
	ASSERT_EQ(info.pinned, 0);
}

static bool readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

TEST(move_unpinned)
{
	struct vfio_dmabuf_test_info info;
	struct vfd_dma_mapping gone[2];
	uint64_t iova = IOVA, gen;
	struct tx_buf *b;
	struct fx *fx;
	int rfd, err;
	long l0;

	fx = fx_open(0);
	b = tx_create(8 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_MOVABLE, 0);
	l0 = fx_vmlck_kb();
	err = vfd_dma_map_dmabuf(fx->c, b->fd, 0, b->size, &iova, VFD_DMA_RW);
	if (err == -EOPNOTSUPP)
		SKIP("an exporter that cannot pin needs CONFIG_DMABUF_MOVE_NOTIFY (the debug kernels): without it the dma-buf core pins on map");
	if (err)
		FAIL("MAP_DMABUF of a movable buffer: %s", vfd_container_errmsg(fx->c));
	/* unpinned: the exporter may take it back, nothing is charged */
	tx_info(b, &info);
	ASSERT_EQ(info.pinned, 0);
	ASSERT_EQ(fx_vmlck_kb(), l0);
	fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA, b->size, 93);
	rfd = vfd_container_revoke_fd(fx->c);
	ASSERT_TRUE(rfd >= 0);

	/* the exporter moves it: our mapping is revoked, not left stale */
	ASSERT_EQ(tx_move_fd(b->fd, 0, &gen), 0);
	ASSERT_EQ(gen, 1);
	if (!readable_within(rfd, 2000))
		FAIL("no revoke event within 2 s of the move");
	ASSERT_EQ(vfd_dma_revoked(fx->c, gone, 2), 1);
	ASSERT_EQ(gone[0].iova, IOVA);
	fx_expect_write_fault(fx->edu, b->fd, b->cpu, IOVA);
	if (!tx_wait_attachments(b->fd, 0, 2000, &info))
		FAIL("the revoked import still holds %u attachment(s)", info.attachments);

	/* mapped again, the device reaches the buffer at its new place */
	ASSERT_OK(vfd_dma_unmap(fx->c, IOVA));
	iova = IOVA;
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 0, b->size, &iova, VFD_DMA_RW));
	fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA, b->size, 94);
}

TEST(p2p_bar_dma)
{
	struct rlimit rl = { .rlim_cur = 64 << 10, .rlim_max = 64 << 10 };
	struct vfio_dmabuf_test_devmem_info di;
	struct vfio_dmabuf_test_info info;
	struct tx_buf *b;
	struct fx *fx;
	long l0;
	int err;

	err = tx_devmem_info(&di);
	if (err)
		SKIP("no device memory: this machine has no ivshmem-plain device (%s)",
		     strerror(err));
	vt_info("device memory: BAR2 of %04x:%02x:%02x.%x, %llu KiB", di.pci_domain,
		di.pci_bdf >> 8, (di.pci_bdf >> 3) & 0x1f, di.pci_bdf & 7,
		(unsigned long long)di.size >> 10);
	fx = fx_open(0);
	b = tx_try_create(1 << 20, VFIO_DMABUF_TEST_KIND_CONTIG, VFIO_DMABUF_TEST_MODE_DEVICE_MEMORY,
			  0, 0, &err);
	if (!b)
		FAIL("a device-memory buffer: %s", strerror(err));
	tx_info(b, &info);
	ASSERT_EQ(info.placement, VFIO_DMABUF_TEST_PLACEMENT_DEVICE);

	/* device memory is not charged: a 1 MiB BAR buffer under a 64 KiB limit */
	l0 = fx_vmlck_kb();
	fx_drop_ipc_lock();
	ASSERT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	if (fx_map_dmabuf_raw(fx_cfd(fx), b->fd, 0, IOVA, b->size, RW))
		FAIL("MAP_DMABUF of device memory under a 64 KiB RLIMIT_MEMLOCK: %s (charged as if it were RAM?)",
		     strerrorname(errno));
	ASSERT_EQ(fx_vmlck_kb(), l0);

	/* edu reads the BAR and writes into it, through the IOMMU; the CPU
	 * reads the bytes back through the BAR */
	fx_verify_rw(fx->edu, b->fd, b->cpu, IOVA, b->size, 95);
	fx_verify_rw(fx->edu, b->fd, b->cpu + (512 << 10), IOVA + (512 << 10), 64 << 10, 96);

	/* unmapped: the same DMA is blocked by the IOMMU */
	ASSERT_OK(fx_unmap_raw(fx_cfd(fx), IOVA, b->size, 0, NULL));
	fx_expect_write_fault(fx->edu, b->fd, b->cpu, IOVA);
}
