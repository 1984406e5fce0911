// SPDX-License-Identifier: GPL-2.0-only
/*
 * map_bench: the raw ioctls.  Each returns 0 or -errno; the figures time
 * them from userspace, around the call and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>
#include <linux/vfio_dmabuf.h>
#include <vfio_dmabuf_test_exporter.h>

#include "bench.h"

#define RW	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static int ret_errno(int r)
{
	return r < 0 ? -errno : 0;
}

int k_map_dma(int cfd, void *va, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = (uintptr_t)va,
		.iova = iova, .size = size,
	};

	return ret_errno(ioctl(cfd, VFIO_IOMMU_MAP_DMA, &m));
}

int k_map_dmabuf(int cfd, int fd, uint64_t offset, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map_dmabuf m = {
		.argsz = sizeof(m), .flags = RW, .fd = fd, .offset = offset,
		.iova = iova, .size = size,
	};

	return ret_errno(ioctl(cfd, VFIO_IOMMU_MAP_DMABUF, &m));
}

int k_unmap(int cfd, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = size,
	};

	return ret_errno(ioctl(cfd, VFIO_IOMMU_UNMAP_DMA, &u));
}

int k_unmap_all(int cfd, uint64_t *bytes)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};
	int r = ret_errno(ioctl(cfd, VFIO_IOMMU_UNMAP_DMA, &u));

	if (!r && bytes)
		*bytes = u.size;
	return r;
}

int k_floor(int cfd, int fd, uint64_t offset, uint64_t iova, uint64_t size,
	    struct vfio_iommu_dmabuf_test_floor *f)
{
	*f = (struct vfio_iommu_dmabuf_test_floor){
		.argsz = sizeof(*f), .fd = fd, .offset = offset, .iova = iova,
		.size = size,
	};
	return ret_errno(ioctl(cfd, VFIO_IOMMU_DMABUF_TEST_FLOOR, f));
}

/* The control device stays open: a timed revoke is the ioctl alone. */
static int texp_ioctl(unsigned long cmd, void *arg)
{
	static int dev = -1;

	if (dev < 0)
		dev = open(VFIO_DMABUF_TEST_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	return ret_errno(ioctl(dev, cmd, arg));
}

int texp_create(uint64_t size, uint32_t kind, uint32_t mode, int *fd)
{
	struct vfio_dmabuf_test_create c = {
		.argsz = sizeof(c), .size = size, .kind = kind, .mode = mode,
	};
	int r = texp_ioctl(VFIO_DMABUF_TEST_CREATE, &c);

	if (!r)
		*fd = c.fd;
	return r;
}

int texp_revoke(int fd, uint32_t flags)
{
	struct vfio_dmabuf_test_revoke rv = {
		.argsz = sizeof(rv), .flags = flags, .fd = fd,
	};

	return texp_ioctl(VFIO_DMABUF_TEST_REVOKE, &rv);
}

int texp_attachments(int fd)
{
	struct vfio_dmabuf_test_info in = { .argsz = sizeof(in), .fd = fd };
	int r = texp_ioctl(VFIO_DMABUF_TEST_INFO, &in);

	return r ? r : (int)in.attachments;
}
