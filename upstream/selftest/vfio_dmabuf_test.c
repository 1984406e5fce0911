// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_IOMMU_MAP_DMABUF of a type1 container: udmabuf buffers mapped,
 * queried and unmapped, every refusal with its errno, the IOVA space shared
 * with VFIO_IOMMU_MAP_DMA, the locked-memory charge, live update and dirty
 * tracking.
 *
 * A type1 container needs a VFIO group, so most tests need a device bound
 * to vfio-pci, given as
 *
 *	VFIO_SELFTESTS_BDF=0000:00:03.0 ./vfio_dmabuf_test
 *
 * and skip without one.  The device is never opened, reset or made to do
 * DMA: its group only gives the container an IOMMU domain.  The buffers
 * come from /dev/udmabuf (CONFIG_UDMABUF).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/capability.h>
#include <linux/udmabuf.h>
#include <linux/vfio.h>

#include "../kselftest_harness.h"

#define RW	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define SZ_1M	0x100000ULL
#define MAX_RANGES	16

/* A udmabuf of @size bytes: its fd, and the memfd behind it in *@memfd. */
static int udmabuf_create(size_t size, int *memfd)
{
	struct udmabuf_create create = { .flags = UDMABUF_FLAGS_CLOEXEC };
	int dev, buf, mfd;

	mfd = memfd_create("vfio_dmabuf_test", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0)
		return -1;
	if (ftruncate(mfd, size) || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		goto err;
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		goto err;
	create.memfd = mfd;
	create.size = size;
	buf = ioctl(dev, UDMABUF_CREATE, &create);
	close(dev);
	if (buf < 0)
		goto err;
	*memfd = mfd;
	return buf;
err:
	close(mfd);
	return -1;
}

static int map_dmabuf(int container, int fd, uint64_t offset, uint64_t iova,
		      uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map_dmabuf map = {
		.argsz = sizeof(map),
		.flags = flags,
		.fd = fd,
		.offset = offset,
		.iova = iova,
		.size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMABUF, &map);
}

static int map_dma(int container, void *vaddr, uint64_t iova, uint64_t size,
		   uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

/* VFIO_IOMMU_UNMAP_DMA: the ioctl's result, the bytes unmapped in *@done. */
static int unmap(int container, uint64_t iova, uint64_t size, uint32_t flags,
		 uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};
	int ret;

	ret = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
	if (done)
		*done = unmap.size;
	return ret;
}

static int get_state(int container, uint64_t iova, uint32_t flags,
		     struct vfio_iommu_type1_dmabuf_state *st)
{
	*st = (struct vfio_iommu_type1_dmabuf_state){
		.argsz = sizeof(*st),
		.flags = flags,
		.iova = iova,
	};
	return ioctl(container, VFIO_IOMMU_DMABUF_GET_STATE, st);
}

static int set_eventfd(int container, int fd, uint32_t flags)
{
	struct vfio_iommu_type1_dmabuf_eventfd ev = {
		.argsz = sizeof(ev),
		.flags = flags,
		.fd = fd,
	};

	return ioctl(container, VFIO_IOMMU_DMABUF_SET_EVENTFD, &ev);
}

/* This process's locked memory (VmLck, mm->locked_vm) in KiB, or -1. */
static long vmlck_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Drop CAP_IPC_LOCK, so that RLIMIT_MEMLOCK applies to this process. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_IPC_LOCK / 32].effective &= ~(1U << (CAP_IPC_LOCK % 32));
	return syscall(SYS_capset, &hdr, data);
}

/* A bare container: no group, no IOMMU driver. */
TEST(container_without_iommu)
{
	int container, buf, memfd;

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		SKIP(return, "no /dev/vfio/vfio (CONFIG_VFIO_CONTAINER)");
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_MAP_DMABUF) != 1)
		SKIP(return, "no VFIO_TYPE1_MAP_DMABUF in vfio_iommu_type1");
	buf = udmabuf_create(SZ_1M, &memfd);
	if (buf < 0)
		SKIP(return, "no udmabuf (CONFIG_UDMABUF): %s", strerror(errno));
	/* advertised before VFIO_SET_IOMMU, but nothing to map into yet */
	ASSERT_EQ(-1, map_dmabuf(container, buf, 0, SZ_1M, 4096, RW));
	ASSERT_EQ(EINVAL, errno);
	close(buf);
	close(memfd);
	close(container);
}

/* What VFIO_IOMMU_GET_INFO says of a container. */
struct type1_info {
	uint64_t pgsize;	/* the smallest IOMMU page size */
	uint32_t dma_avail;
	bool has_dma_avail;
	unsigned int nr_ranges;
	struct vfio_iova_range ranges[MAX_RANGES];
};

FIXTURE(type1) {
	int group;
	int container;
	struct type1_info info;
	uint64_t pgsize;
	uint64_t iova;		/* 64 MiB, usable, for the tests' mappings */
	int buf, memfd;		/* a udmabuf of 16 MiB */
	size_t size;
};

/* The container's page sizes, usable IOVA ranges and free DMA entries. */
static int get_info(int container, struct type1_info *ti)
{
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	size_t argsz = sizeof(*info);
	int ret = -1;

again:
	info = calloc(1, argsz);
	if (!info)
		return -1;
	info->argsz = argsz;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
		goto out;
	if (info->argsz > argsz) {
		argsz = info->argsz;
		free(info);
		goto again;
	}
	ti->pgsize = info->iova_pgsizes & -info->iova_pgsizes;
	ti->nr_ranges = 0;
	ti->has_dma_avail = false;
	hdr = NULL;
	if ((info->flags & VFIO_IOMMU_INFO_CAPS) && info->cap_offset)
		hdr = (void *)info + info->cap_offset;
	while (hdr) {
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *r = (void *)hdr;

			ti->nr_ranges = r->nr_iovas < MAX_RANGES ? r->nr_iovas : MAX_RANGES;
			memcpy(ti->ranges, r->iova_ranges, ti->nr_ranges * sizeof(ti->ranges[0]));
		} else if (hdr->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			struct vfio_iommu_type1_info_dma_avail *a = (void *)hdr;

			ti->dma_avail = a->avail;
			ti->has_dma_avail = true;
		}
		hdr = hdr->next ? (void *)info + hdr->next : NULL;
	}
	ret = 0;
out:
	free(info);
	return ret;
}

/* The lowest @align-aligned IOVA >= @min where @size bytes are usable. */
static uint64_t usable_iova(const struct type1_info *ti, uint64_t min,
			    uint64_t size, uint64_t align)
{
	unsigned int i;

	if (!ti->nr_ranges)	/* no restrictions reported */
		return min;
	for (i = 0; i < ti->nr_ranges; i++) {
		uint64_t start = ti->ranges[i].start > min ? ti->ranges[i].start : min;

		start = (start + align - 1) & ~(align - 1);
		if (start >= min && start + size - 1 <= ti->ranges[i].end &&
		    start + size - 1 >= start)
			return start;
	}
	return 0;
}

FIXTURE_SETUP(type1)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	const char *bdf = getenv("VFIO_SELFTESTS_BDF");
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	self->group = -1;
	self->container = -1;
	self->buf = -1;
	self->memfd = -1;
	if (!bdf)
		SKIP(return, "no device: set VFIO_SELFTESTS_BDF to a PCI device bound to vfio-pci");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_GT(n, 0) TH_LOG("%s: %s", path, strerror(errno));
	link[n] = '\0';
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
	self->group = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->group, 0) TH_LOG("%s: %s (is %s bound to vfio-pci?)",
					 path, strerror(errno), bdf);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_GET_STATUS, &status));
	ASSERT_TRUE(status.flags & VFIO_GROUP_FLAGS_VIABLE)
		TH_LOG("group %s is not viable: bind all its devices to vfio-pci", path);
	self->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->container, 0);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER, &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	if (ioctl(self->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_MAP_DMABUF) != 1)
		SKIP(return, "type1 without VFIO_TYPE1_MAP_DMABUF");
	ASSERT_EQ(0, get_info(self->container, &self->info));
	self->pgsize = self->info.pgsize;
	ASSERT_NE(0, self->pgsize);
	self->size = 16 * SZ_1M;
	self->iova = usable_iova(&self->info, 64 * SZ_1M, 64 * SZ_1M, 2 * SZ_1M);
	ASSERT_NE(0, self->iova) TH_LOG("no usable 64 MiB of IOVA space");
	self->buf = udmabuf_create(self->size, &self->memfd);
	if (self->buf < 0)
		SKIP(return, "no udmabuf (CONFIG_UDMABUF): %s", strerror(errno));
}

FIXTURE_TEARDOWN(type1)
{
	if (self->buf >= 0)
		close(self->buf);
	if (self->memfd >= 0)
		close(self->memfd);
	if (self->container >= 0)
		close(self->container);
	if (self->group >= 0)
		close(self->group);
}

/* Map, look at, unmap: one DMA entry, whatever the buffer's layout. */
TEST_F(type1, map_unmap)
{
	struct vfio_iommu_type1_dmabuf_state st;
	uint32_t avail = self->info.dma_avail;
	uint64_t done;

	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, 0, self->iova, self->size, RW));
	ASSERT_EQ(0, get_state(self->container, self->iova, 0, &st));
	EXPECT_EQ(VFIO_DMABUF_STATE_MAPPED, st.state);
	EXPECT_EQ(self->size, st.size);
	if (self->info.has_dma_avail) {
		ASSERT_EQ(0, get_info(self->container, &self->info));
		EXPECT_EQ(avail - 1, self->info.dma_avail);
	}
	ASSERT_EQ(0, unmap(self->container, self->iova, self->size, 0, &done));
	EXPECT_EQ(self->size, done);
	ASSERT_EQ(-1, get_state(self->container, self->iova, 0, &st));
	EXPECT_EQ(ENOENT, errno);
	if (self->info.has_dma_avail) {
		ASSERT_EQ(0, get_info(self->container, &self->info));
		EXPECT_EQ(avail, self->info.dma_avail);
	}
}

/* The mapping holds its own reference: the fds may go right away. */
TEST_F(type1, fd_closed_after_map)
{
	struct vfio_iommu_type1_dmabuf_state st;
	uint64_t done;

	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, SZ_1M, self->iova,
				4 * SZ_1M, VFIO_DMA_MAP_FLAG_READ));
	close(self->buf);
	close(self->memfd);
	self->buf = -1;
	self->memfd = -1;
	ASSERT_EQ(0, get_state(self->container, self->iova, 0, &st));
	EXPECT_EQ(VFIO_DMABUF_STATE_MAPPED, st.state);
	ASSERT_EQ(0, unmap(self->container, self->iova, 4 * SZ_1M, 0, &done));
	EXPECT_EQ(4 * SZ_1M, done);
}

#define EXPECT_MAP_ERRNO(err, fd, offset, iova, size, flags) do {		\
	errno = 0;								\
	EXPECT_EQ(-1, map_dmabuf(self->container, fd, offset, iova, size, flags)); \
	EXPECT_EQ(err, errno);							\
} while (0)

TEST_F(type1, bad_arguments)
{
	struct vfio_iommu_type1_dma_map_dmabuf map = {
		.argsz = sizeof(map),
		.flags = RW,
		.fd = self->buf,
		.iova = self->iova,
		.size = self->pgsize,
	};
	uint64_t pg = self->pgsize, iova = self->iova;
	int fd = self->buf;

	EXPECT_MAP_ERRNO(EBADF, -1, 0, iova, pg, RW);
	EXPECT_MAP_ERRNO(EBADF, 1000, 0, iova, pg, RW);
	EXPECT_MAP_ERRNO(EINVAL, self->memfd, 0, iova, pg, RW);	/* not a dma-buf */
	EXPECT_MAP_ERRNO(EINVAL, self->container, 0, iova, pg, RW);
	EXPECT_MAP_ERRNO(EINVAL, fd, 0, iova, 0, RW);
	EXPECT_MAP_ERRNO(EINVAL, fd, 512, iova, pg, RW);
	EXPECT_MAP_ERRNO(EINVAL, fd, 0, iova + 512, pg, RW);
	EXPECT_MAP_ERRNO(EINVAL, fd, 0, iova, pg + 512, RW);
	/* beyond the buffer */
	EXPECT_MAP_ERRNO(EINVAL, fd, 0, iova, self->size + pg, RW);
	EXPECT_MAP_ERRNO(EINVAL, fd, self->size, iova, pg, RW);
	/* offset + size, iova + size past 2^64, or ending exactly there */
	EXPECT_MAP_ERRNO(EINVAL, fd, -pg, iova, 2 * pg, RW);
	EXPECT_MAP_ERRNO(EINVAL, fd, 0, -pg, 2 * pg, RW);
	EXPECT_MAP_ERRNO(EINVAL, fd, 0, -pg, pg, RW);
	EXPECT_MAP_ERRNO(EINVAL, fd, 0, iova, -pg, RW);
	/* no direction, an unknown flag, the vaddr flag */
	EXPECT_MAP_ERRNO(EINVAL, fd, 0, iova, pg, 0);
	EXPECT_MAP_ERRNO(EINVAL, fd, 0, iova, pg, RW | (1U << 7));
	EXPECT_MAP_ERRNO(EINVAL, fd, 0, iova, pg, RW | VFIO_DMA_MAP_FLAG_VADDR);
	/* __reserved and argsz */
	map.__reserved = 1;
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_MAP_DMABUF, &map));
	EXPECT_EQ(EINVAL, errno);
	map.__reserved = 0;
	map.argsz = offsetof(struct vfio_iommu_type1_dma_map_dmabuf, size);
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_MAP_DMABUF, &map));
	EXPECT_EQ(EINVAL, errno);
	/* a larger argsz, from newer userspace, is fine */
	map.argsz = sizeof(map) + 8;
	EXPECT_EQ(0, ioctl(self->container, VFIO_IOMMU_MAP_DMABUF, &map));
	EXPECT_EQ(0, unmap(self->container, iova, pg, 0, NULL));
}

TEST_F(type1, iova_outside_usable_ranges)
{
	uint64_t top, hole = 0;
	unsigned int i;

	if (!self->info.nr_ranges)
		SKIP(return, "the container reports no usable IOVA ranges");
	top = self->info.ranges[self->info.nr_ranges - 1].end;
	if (top + 1 != 0)
		EXPECT_MAP_ERRNO(EINVAL, self->buf, 0, (top + 1) & ~(self->pgsize - 1),
				 self->pgsize, RW);
	for (i = 0; i + 1 < self->info.nr_ranges && !hole; i++)
		if (self->info.ranges[i + 1].start > self->info.ranges[i].end + 1)
			hole = self->info.ranges[i].end + 1;
	if (!hole) {
		if (top + 1 == 0)
			SKIP(return, "one usable range covers every IOVA");
		return;
	}
	/* a reserved window (MSI) between two usable ranges */
	EXPECT_MAP_ERRNO(EINVAL, self->buf, 0, hole, self->pgsize, RW);
	EXPECT_MAP_ERRNO(EINVAL, self->buf, 0, hole - self->pgsize, 2 * self->pgsize, RW);
}

/* One IOVA space for MAP_DMA and MAP_DMABUF. */
TEST_F(type1, overlap)
{
	uint64_t iova = self->iova, done;
	size_t len = 4 * SZ_1M;
	void *mem;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, 0, iova, len, RW));
	ASSERT_EQ(0, map_dma(self->container, mem, iova + len, len, RW));
	EXPECT_MAP_ERRNO(EEXIST, self->buf, 0, iova, self->pgsize, RW);
	EXPECT_MAP_ERRNO(EEXIST, self->buf, 0, iova + len - self->pgsize, 2 * self->pgsize, RW);
	EXPECT_MAP_ERRNO(EEXIST, self->buf, 0, iova + len, self->pgsize, RW);
	errno = 0;
	EXPECT_EQ(-1, map_dma(self->container, mem, iova, len, RW));
	EXPECT_EQ(EEXIST, errno);
	ASSERT_EQ(0, unmap(self->container, iova, 2 * len, 0, &done));
	EXPECT_EQ(2 * len, done);
	munmap(mem, len);
}

/* VFIO_IOMMU_UNMAP_DMA with the type1v2 rules, and UNMAP_ALL. */
TEST_F(type1, unmap_rules)
{
	uint64_t iova = self->iova, pg = self->pgsize, done;
	size_t len = 4 * SZ_1M;
	void *mem;

	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, 0, iova, len, RW));
	/* no bisecting */
	EXPECT_EQ(-1, unmap(self->container, iova + pg, pg, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, unmap(self->container, iova, pg, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* an enclosing range unmaps it and says how much */
	ASSERT_EQ(0, unmap(self->container, iova - 2 * SZ_1M, len + 4 * SZ_1M, 0, &done));
	EXPECT_EQ(len, done);
	ASSERT_EQ(0, unmap(self->container, iova, len, 0, &done));
	EXPECT_EQ(0, done);

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, 0, iova, len, VFIO_DMA_MAP_FLAG_WRITE));
	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, len, iova + 2 * len, len, RW));
	ASSERT_EQ(0, map_dma(self->container, mem, iova + len, len, RW));
	ASSERT_EQ(0, unmap(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done));
	EXPECT_EQ(3 * len, done);
	munmap(mem, len);
}

TEST_F(type1, get_state)
{
	struct vfio_iommu_type1_dmabuf_state st;
	uint64_t iova = self->iova, pg = self->pgsize;
	size_t len = 4 * SZ_1M;
	void *mem;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, 0, iova, len, RW));
	ASSERT_EQ(0, map_dma(self->container, mem, iova + len, len, RW));
	ASSERT_EQ(0, get_state(self->container, iova, 0, &st));
	EXPECT_EQ(VFIO_DMABUF_STATE_MAPPED, st.state);
	EXPECT_EQ(len, st.size);
	EXPECT_EQ(0, st.__reserved);
	EXPECT_EQ(-1, get_state(self->container, iova + pg, 0, &st));	/* not its start */
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, get_state(self->container, iova + len, 0, &st));	/* MAP_DMA */
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, get_state(self->container, iova + 2 * len, 0, &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, get_state(self->container, iova, 2, &st));		/* unknown flag */
	EXPECT_EQ(EINVAL, errno);
	/* nothing is revoked */
	EXPECT_EQ(-1, get_state(self->container, 0, VFIO_DMABUF_STATE_FLAG_FIND_REVOKED, &st));
	EXPECT_EQ(ENOENT, errno);
	st = (struct vfio_iommu_type1_dmabuf_state){ .argsz = 8, .iova = iova };
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_DMABUF_GET_STATE, &st));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, unmap(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL));
	munmap(mem, len);
}

TEST_F(type1, revoke_eventfd)
{
	struct vfio_iommu_type1_dmabuf_eventfd ev = {
		.argsz = sizeof(ev),
		.flags = VFIO_DMABUF_EVENT_REVOKED,
		.fd = -1,
		.__reserved = 1,
	};
	int efd, efd2;

	efd = eventfd(0, EFD_CLOEXEC);
	efd2 = eventfd(0, EFD_CLOEXEC);
	ASSERT_GE(efd, 0);
	ASSERT_GE(efd2, 0);
	EXPECT_EQ(0, set_eventfd(self->container, efd, VFIO_DMABUF_EVENT_REVOKED));
	/* a new one replaces the old one; the container holds its own reference */
	EXPECT_EQ(0, set_eventfd(self->container, efd2, VFIO_DMABUF_EVENT_REVOKED));
	close(efd2);
	EXPECT_EQ(0, set_eventfd(self->container, -1, VFIO_DMABUF_EVENT_REVOKED));
	EXPECT_EQ(0, set_eventfd(self->container, -1, VFIO_DMABUF_EVENT_REVOKED));
	EXPECT_EQ(-1, set_eventfd(self->container, efd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_eventfd(self->container, efd, VFIO_DMABUF_EVENT_REVOKED | 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_eventfd(self->container, self->memfd, VFIO_DMABUF_EVENT_REVOKED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_eventfd(self->container, 1000, VFIO_DMABUF_EVENT_REVOKED));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, set_eventfd(self->container, -2, VFIO_DMABUF_EVENT_REVOKED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_DMABUF_SET_EVENTFD, &ev));
	EXPECT_EQ(EINVAL, errno);
	close(efd);
}

/*
 * The memory a mapping keeps pinned is charged to locked memory, as
 * MAP_DMA's is: once per buffer however many ranges of it are mapped, and
 * given back with the last one.
 */
TEST_F(type1, charged_once_to_locked_memory)
{
	uint64_t iova = self->iova;
	long l0, l1, l2, l3;

	l0 = vmlck_kb();
	ASSERT_GE(l0, 0);
	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, 0, iova, 4 * SZ_1M, RW));
	l1 = vmlck_kb();
	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, 0, iova + 8 * SZ_1M, SZ_1M, RW));
	l2 = vmlck_kb();
	ASSERT_EQ(0, unmap(self->container, iova, 16 * SZ_1M, 0, NULL));
	l3 = vmlck_kb();
	/* the whole buffer is pinned, once */
	EXPECT_EQ(l0 + (long)(self->size >> 10), l1);
	EXPECT_EQ(l1, l2);
	EXPECT_EQ(l0, l3);
}

/* Beyond RLIMIT_MEMLOCK, a map fails with ENOMEM and changes nothing. */
TEST_F(type1, pin_limit)
{
	struct vfio_iommu_type1_dmabuf_state st;
	struct rlimit rl;
	int small, small_memfd;
	long locked;
	void *mem;

	small = udmabuf_create(SZ_1M, &small_memfd);
	ASSERT_GE(small, 0);
	mem = mmap(NULL, SZ_1M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	locked = vmlck_kb();
	ASSERT_GE(locked, 0);
	ASSERT_EQ(0, drop_ipc_lock());
	rl.rlim_cur = (locked << 10) + 3 * SZ_1M / 2;
	rl.rlim_max = rl.rlim_cur;
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));

	/* 16 MiB: too much */
	EXPECT_MAP_ERRNO(ENOMEM, self->buf, 0, self->iova, self->size, RW);
	EXPECT_EQ(-1, get_state(self->container, self->iova, 0, &st));
	EXPECT_EQ(ENOENT, errno);
	/* 1 MiB, twice: charged once */
	ASSERT_EQ(0, map_dmabuf(self->container, small, 0, self->iova, SZ_1M, RW));
	ASSERT_EQ(0, map_dmabuf(self->container, small, 0, self->iova + 2 * SZ_1M, SZ_1M, RW));
	/* the limit is shared with MAP_DMA */
	errno = 0;
	EXPECT_EQ(-1, map_dma(self->container, mem, self->iova + 4 * SZ_1M, SZ_1M, RW));
	EXPECT_EQ(ENOMEM, errno);
	/* the last range of the buffer gives the charge back */
	ASSERT_EQ(0, unmap(self->container, self->iova, 4 * SZ_1M, 0, NULL));
	EXPECT_EQ(0, map_dma(self->container, mem, self->iova + 4 * SZ_1M, SZ_1M, RW));
	ASSERT_EQ(0, unmap(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL));
	munmap(mem, SZ_1M);
	close(small);
	close(small_memfd);
}

/*
 * Live update (QEMU's CPR): VFIO_DMA_UNMAP_FLAG_VADDR leaves dma-buf
 * ranges alone, with and without VFIO_DMA_UNMAP_FLAG_ALL, and a dma-buf
 * range takes no vaddr.
 */
TEST_F(type1, live_update_vaddr)
{
	uint64_t iova = self->iova, len = SZ_1M, done;
	void *mem, *mem2;
	int mfd;

	if (ioctl(self->container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR) != 1)
		SKIP(return, "no VFIO_UPDATE_VADDR");
	mfd = memfd_create("vfio_dmabuf_test_cpr", MFD_CLOEXEC);
	ASSERT_GE(mfd, 0);
	ASSERT_EQ(0, ftruncate(mfd, len));
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	mem2 = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	close(mfd);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_NE(MAP_FAILED, mem2);
	ASSERT_EQ(0, map_dma(self->container, mem, iova, len, RW));
	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, 0, iova + len, len, RW));

	/* a range over both: only the process memory's vaddr goes */
	ASSERT_EQ(0, unmap(self->container, iova, 2 * len, VFIO_DMA_UNMAP_FLAG_VADDR, &done));
	EXPECT_EQ(len, done);
	ASSERT_EQ(0, unmap(self->container, iova + len, len, VFIO_DMA_UNMAP_FLAG_VADDR, &done));
	EXPECT_EQ(0, done);
	errno = 0;
	EXPECT_EQ(-1, map_dma(self->container, mem2, iova + len, len, VFIO_DMA_MAP_FLAG_VADDR));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, map_dma(self->container, mem2, iova, len, VFIO_DMA_MAP_FLAG_VADDR));
	/* the same with VFIO_DMA_UNMAP_FLAG_ALL, as QEMU does it */
	ASSERT_EQ(0, unmap(self->container, 0, 0,
			   VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL, &done));
	EXPECT_EQ(len, done);
	ASSERT_EQ(0, map_dma(self->container, mem, iova, len, VFIO_DMA_MAP_FLAG_VADDR));
	ASSERT_EQ(0, unmap(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done));
	EXPECT_EQ(2 * len, done);
	munmap(mem, len);
	munmap(mem2, len);
}

static int dirty_pages(int container, uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flags };

	return ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d);
}

/* Dirty tracking cannot see the exporter's writes: all of it is dirty. */
TEST_F(type1, dirty_tracking_all_dirty)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap hdr;
		struct vfio_iommu_type1_dirty_bitmap_get get;
	} g = { 0 };
	struct {
		struct vfio_iommu_type1_dma_unmap hdr;
		struct vfio_bitmap bitmap;
	} u = { 0 };
	uint64_t npages = 16, bits, len = npages * self->pgsize;

	ASSERT_EQ(0, map_dmabuf(self->container, self->buf, 0, self->iova, len, RW));
	ASSERT_EQ(0, dirty_pages(self->container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));

	bits = 0;
	g.hdr.argsz = sizeof(g);
	g.hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	g.get.iova = self->iova;
	g.get.size = len;
	g.get.bitmap.pgsize = self->pgsize;
	g.get.bitmap.size = sizeof(bits);
	g.get.bitmap.data = (__u64 *)&bits;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_DIRTY_PAGES, &g));
	EXPECT_EQ((1ULL << npages) - 1, bits);

	/* and so does the bitmap of the unmap */
	bits = 0;
	u.hdr.argsz = sizeof(u);
	u.hdr.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	u.hdr.iova = self->iova;
	u.hdr.size = len;
	u.bitmap.pgsize = self->pgsize;
	u.bitmap.size = sizeof(bits);
	u.bitmap.data = (__u64 *)&bits;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &u));
	EXPECT_EQ(len, u.hdr.size);
	EXPECT_EQ((1ULL << npages) - 1, bits);
	EXPECT_EQ(0, dirty_pages(self->container, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
}

TEST_HARNESS_MAIN
