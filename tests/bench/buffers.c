// SPDX-License-Identifier: GPL-2.0-only
/*
 * map_bench: the memory both ioctls map.  A sealed memfd is mapped into
 * the process (populated) for MAP_DMA and turned into a dma-buf with
 * udmabuf for MAP_DMABUF, so that both map the very same pages: 4 KiB
 * shmem pages, or 2 MiB hugetlb folios (MFD_HUGETLB, from the pages
 * hugepages_set() reserved).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/memfd.h>
#include <linux/udmabuf.h>

#include "bench.h"

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB	(21U << 26)
#endif

bool udmabuf_available(void)
{
	return access("/dev/udmabuf", R_OK | W_OK) == 0;
}

int membuf_make(struct membuf *b, uint64_t size, bool hugetlb, bool dmabuf)
{
	struct udmabuf_create uc = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };
	unsigned int flags = MFD_ALLOW_SEALING | MFD_CLOEXEC;
	int dev, e;

	*b = (struct membuf){ .memfd = -1, .va = MAP_FAILED, .size = size,
			      .dmabuf = -1, .hugetlb = hugetlb };
	if (hugetlb)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	b->memfd = memfd_create(hugetlb ? "map_bench_hugetlb" : "map_bench", flags);
	if (b->memfd < 0 || ftruncate(b->memfd, (off_t)size) < 0)
		goto err;
	/* hugetlb: mmap() reserves the pages, or fails with ENOMEM */
	b->va = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		     b->memfd, 0);
	if (b->va == MAP_FAILED)
		goto err;
	if (fcntl(b->memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		goto err;
	dev = dmabuf ? open("/dev/udmabuf", O_RDWR | O_CLOEXEC) : -1;
	if (dev < 0)
		return 0;		/* MAP_DMA only; the caller says so */
	uc.memfd = (uint32_t)b->memfd;
	b->dmabuf = ioctl(dev, UDMABUF_CREATE, &uc);
	e = errno;
	close(dev);
	if (b->dmabuf < 0) {
		errno = e;
		goto err;
	}
	return 0;
err:
	e = -errno;
	membuf_free(b);
	return e;
}

void membuf_free(struct membuf *b)
{
	if (b->dmabuf >= 0)
		close(b->dmabuf);
	if (b->va != MAP_FAILED)
		munmap(b->va, b->size);
	if (b->memfd >= 0)
		close(b->memfd);
	b->dmabuf = b->memfd = -1;
	b->va = MAP_FAILED;
}

long meminfo_kb(const char *key)
{
	size_t kl = strlen(key);
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = atol(line + kl + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

long hugepages_set(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");

	if (f) {
		fprintf(f, "%ld\n", n);
		fclose(f);
	}
	return meminfo_kb("HugePages_Total");
}
