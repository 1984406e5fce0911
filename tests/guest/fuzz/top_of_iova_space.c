// SPDX-License-Identifier: GPL-2.0-only
/*
 * top_of_iova_space: the last page of the 64-bit IOVA space.
 * VFIO_IOMMU_MAP_DMABUF refuses a range that ends exactly at 2^64 (EINVAL,
 * uapi/linux/vfio_dmabuf.h), because type1's lookups compute iova + size.
 * VFIO_IOMMU_MAP_DMA of these kernels accepts it where the aperture
 * reaches 2^64 (virtio-iommu): the mapping is then invisible to every
 * lookup (GET_STATE says ENOENT, a second MAP_DMA of the same IOVA
 * succeeds, a ranged unmap returns 0 bytes, UNMAP_DMA(ALL) can miss every
 * mapping when it sits at the rbtree's root), and when it is removed
 * vfio_unmap_unpin()'s "while (iova < end)" with end == 0 unpins nothing:
 * the pages stay pinned for good.  That part is upstream type1's, not this
 * project's; it runs with VFD_KNOWN_BUGS=1.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include "knob.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

TEST(top_of_iova_space)
{
	const uint64_t top = 0xfffffffffffff000ull, leak = 64 * MiB;
	unsigned long long known = 0;
	long free0, free1;
	struct tx_buf *b;
	struct fx *fx;
	int cfd, st;
	pid_t pid;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = tx_create(2 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	/* ours: never a range that ends at 2^64, usable or not */
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, top, 4096, RW), EINVAL);
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, top - 4096, 8192, RW), EINVAL);
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0xfffffffffffff000ull, 0x40000000, 4096, RW),
		     EINVAL);
	if (fx_iova_usable(fx, top - 4096, 4096)) {
		/* the page below it is fine */
		ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, top - 4096, 4096, RW));
		ASSERT_OK(fx_unmap_raw(cfd, top - 4096, 4096, 0, NULL));
	}
	if (!fx_iova_usable(fx, top, 4096))
		return;		/* nothing can end at 2^64 here */
	vt_knob("VFD_KNOWN_BUGS", &known);
	if (!known) {
		/* what this test is about passed; say what is left out */
		vt_info("not reproduced: upstream type1's MAP_DMA of a range ending at 2^64"
			" leaks its pinned pages (VFD_KNOWN_BUGS=1 reproduces it)");
		return;
	}
	/* a process maps 64 MiB ending at 2^64 with MAP_DMA and exits */
	vfd_edu_close(fx->edu);
	vfd_container_close(fx->c);
	fx->edu = NULL;
	fx->c = NULL;
	free0 = fx_free_kb();
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct vfio_iommu_type1_dmabuf_state s = { .argsz = sizeof(s), .iova = top };
		struct vfd_container *c;
		struct vfd_error err;
		struct vfd_edu *e;
		char name[64];
		uint8_t *m = mmap(NULL, leak, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		struct vfio_iommu_type1_dma_map mp = {
			.argsz = sizeof(mp), .flags = RW, .vaddr = (uintptr_t)m,
			.iova = 0 - leak, .size = leak,
		};

		if (m == MAP_FAILED || vfd_edu_find(NULL, 0, name, sizeof(name), &err) ||
		    vfd_container_open(&c, NULL, &err) ||
		    vfd_edu_open(c, name, VFD_EDU_WIDE_DMA, &e) ||
		    ioctl(vfd_container_fd(c), VFIO_IOMMU_MAP_DMA, &mp))
			_exit(3);
		/* invisible to lookups: GET_STATE should say EINVAL (not a dma-buf) */
		if (!ioctl(vfd_container_fd(c), VFIO_IOMMU_DMABUF_GET_STATE, &s) || errno != EINVAL)
			_exit(10 + (errno & 0x3f));
		_exit(0);	/* the container goes away with the process */
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	usleep(300000);
	free1 = fx_free_kb();
	vt_info("FIGURE fuzz/top_of_iova_space map_dma_bytes=%" PRIu64 " free_lost_kb=%ld"
		" child_status=%d", leak, free0 - free1, WEXITSTATUS(st));
	if (WEXITSTATUS(st) == 3)
		FAIL("the child could not map 64 MiB ending at 2^64 with MAP_DMA");
	if (WEXITSTATUS(st) >= 10)
		FAIL("GET_STATE of a MAP_DMA mapping at the top page: %s instead of EINVAL: the"
		     " mapping is invisible to type1's lookups", strerrorname(WEXITSTATUS(st) - 10));
	if (free0 - free1 > (long)(leak >> 11))
		FAIL("%ld KiB of memory gone after a process that MAP_DMAed %" PRIu64 " KiB ending at"
		     " 2^64 exited: its pinned pages were never unpinned", free0 - free1, leak >> 10);
}
