// SPDX-License-Identifier: GPL-2.0-only
/*
 * map_bench: VFIO_IOMMU_MAP_DMABUF against VFIO_IOMMU_MAP_DMA of the same
 * memory, in one guest run ('make bench'; not a test).
 *
 * A sealed memfd is mapped into the process for MAP_DMA and turned into a
 * dma-buf with udmabuf for MAP_DMABUF, so both ioctls map the very same
 * pages.  Kernels without udmabuf use a test-exporter buffer of the same
 * size instead (said in the output).  Prints one line per figure,
 * "BENCH <name> <value> <unit>" (medians of --reps runs) and
 * "RATIO <name> <value>", and "INFO <text>" lines.
 *
 *   map_bench [--reps N] [--size MiB] [--seconds S]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/udmabuf.h>
#include <linux/vfio.h>
#include <linux/vfio_dmabuf.h>
#include <vfio-dmabuf.h>
#include <vfio-dmabuf/edu.h>
#include <vfio_dmabuf_test_exporter.h>

#define IOVA	0x100000000ull
#define RW	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define MAX_REPS 64

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
	fprintf(stderr, "map_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int map_dma(int cfd, void *va, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = (uintptr_t)va,
		.iova = iova, .size = size,
	};

	return ioctl(cfd, VFIO_IOMMU_MAP_DMA, &m);
}

static int map_dmabuf(int cfd, int fd, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map_dmabuf m = {
		.argsz = sizeof(m), .flags = RW, .fd = fd, .iova = iova, .size = size,
	};

	return ioctl(cfd, VFIO_IOMMU_MAP_DMABUF, &m);
}

static int unmap(int cfd, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = size,
	};

	return ioctl(cfd, VFIO_IOMMU_UNMAP_DMA, &u);
}

/* A sealed memfd of @size, mapped (populated), and a udmabuf of it; or, if
 * the kernel has no udmabuf, a test-exporter buffer (*same = 0). */
static int make_buffers(size_t size, void **va, int *same)
{
	struct udmabuf_create uc = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };
	int memfd = memfd_create("map_bench", MFD_ALLOW_SEALING), dev, fd;

	if (memfd < 0 || ftruncate(memfd, (off_t)size) < 0)
		die("memfd");
	*va = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, memfd, 0);
	if (*va == MAP_FAILED)
		die("mmap memfd");
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		die("seal");
	dev = open("/dev/udmabuf", O_RDWR);
	if (dev >= 0) {
		uc.memfd = (uint32_t)memfd;
		fd = ioctl(dev, UDMABUF_CREATE, &uc);
		if (fd < 0)
			die("UDMABUF_CREATE (udmabuf.size_limit_mb?)");
		close(dev);
		*same = 1;
		return fd;
	}
	struct vfio_dmabuf_test_create c = {
		.argsz = sizeof(c), .size = size, .kind = VFIO_DMABUF_TEST_KIND_SCATTER,
		.mode = VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN,
	};
	dev = open(VFIO_DMABUF_TEST_DEVICE, O_RDWR);
	if (dev < 0 || ioctl(dev, VFIO_DMABUF_TEST_CREATE, &c) < 0)
		die("test exporter");
	close(dev);
	*same = 0;
	return c.fd;
}

int main(int argc, char **argv)
{
	double map_a[MAX_REPS], unmap_a[MAX_REPS], map_b[MAX_REPS], unmap_b[MAX_REPS];
	double mdma, udma, mbuf, ubuf, t, seconds = 2;
	int reps = 5, i, cfd, fd, fd4k, same, same4k;
	size_t size = 256ull << 20;
	struct vfd_container *c;
	struct vfd_error err;
	struct vfd_edu *e;
	long n_dma, n_buf;
	void *va, *va4k;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = (size_t)atol(argv[++i]) << 20;
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: map_bench [--reps N] [--size MiB] [--seconds S]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > MAX_REPS)
		reps = 5;
	if (vfd_container_open(&c, NULL, &err) < 0) {
		fprintf(stderr, "map_bench: %s\n", err.msg);
		return 1;
	}
	if (vfd_edu_open(c, NULL, VFD_EDU_WIDE_DMA, &e) < 0) {
		fprintf(stderr, "map_bench: %s\n", vfd_container_errmsg(c));
		return 1;
	}
	cfd = vfd_container_fd(c);
	fd = make_buffers(size, &va, &same);
	printf("INFO %zu MiB: MAP_DMA of a memfd mapping vs MAP_DMABUF of %s\n", size >> 20,
	       same ? "a udmabuf of the same memfd (same pages)"
		    : "a test-exporter buffer (this kernel has no udmabuf)");

	for (i = 0; i < reps; i++) {
		t = now_us();
		if (map_dma(cfd, va, IOVA, size))
			die("MAP_DMA");
		map_a[i] = now_us() - t;
		t = now_us();
		if (unmap(cfd, IOVA, size))
			die("UNMAP_DMA");
		unmap_a[i] = now_us() - t;
		t = now_us();
		if (map_dmabuf(cfd, fd, IOVA, size))
			die("MAP_DMABUF");
		map_b[i] = now_us() - t;
		t = now_us();
		if (unmap(cfd, IOVA, size))
			die("UNMAP_DMA of the dma-buf");
		unmap_b[i] = now_us() - t;
	}
	mdma = median(map_a, reps);
	udma = median(unmap_a, reps);
	mbuf = median(map_b, reps);
	ubuf = median(unmap_b, reps);
	printf("BENCH map_dma_%zuM %.0f us\n", size >> 20, mdma);
	printf("BENCH unmap_dma_%zuM %.0f us\n", size >> 20, udma);
	printf("BENCH map_dmabuf_%zuM %.0f us\n", size >> 20, mbuf);
	printf("BENCH unmap_dmabuf_%zuM %.0f us\n", size >> 20, ubuf);
	printf("RATIO map_4k_vs_map_dma %.2f\n", mbuf / mdma);
	printf("RATIO unmap_4k_vs_map_dma %.2f\n", ubuf / udma);

	/* 4 KiB map + unmap cycles, for @seconds each */
	fd4k = make_buffers(4096, &va4k, &same4k);
	for (n_dma = 0, t = now_us(); now_us() - t < seconds * 1e6; n_dma++)
		if (map_dma(cfd, va4k, IOVA, 4096) || unmap(cfd, IOVA, 4096))
			die("4K MAP_DMA cycle");
	mdma = n_dma / ((now_us() - t) / 1e6);
	for (n_buf = 0, t = now_us(); now_us() - t < seconds * 1e6; n_buf++)
		if (map_dmabuf(cfd, fd4k, IOVA, 4096) || unmap(cfd, IOVA, 4096))
			die("4K MAP_DMABUF cycle");
	mbuf = n_buf / ((now_us() - t) / 1e6);
	printf("BENCH cycle_4k_map_dma %.0f cycles/s\n", mdma);
	printf("BENCH cycle_4k_map_dmabuf %.0f cycles/s\n", mbuf);
	printf("RATIO cycle_4k_vs_map_dma %.2f\n", mbuf / mdma);
	vfd_edu_close(e);
	vfd_container_close(c);
	return 0;
}
