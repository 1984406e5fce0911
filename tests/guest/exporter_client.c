// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest-side client of the test dma-buf exporter: see exporter_client.h.
 */
#define _GNU_SOURCE
#include "exporter_client.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The exporter's control device, opened once per process (the test
 * programs fork a process per test) and left for exit to close: the
 * torture and fuzz loops call the exporter hundreds of thousands of times.
 */
static int tx_ctl_fd = -1;

static int tx_ctl(void)
{
	if (tx_ctl_fd < 0) {
		tx_ctl_fd = open(VFIO_DMABUF_TEST_DEVICE, O_RDWR | O_CLOEXEC);
		if (tx_ctl_fd < 0)
			FAIL("open %s: %s (is vfio_dmabuf_test_exporter loaded?)",
			     VFIO_DMABUF_TEST_DEVICE, strerror(errno));
	}
	return tx_ctl_fd;
}

int tx_create_fd(uint64_t size, unsigned int kind, unsigned int mode, unsigned int flags,
		 int attach_errno, int *fd)
{
	struct vfio_dmabuf_test_create c = {
		.argsz = sizeof(c), .flags = flags, .size = size,
		.kind = kind, .mode = mode, .attach_errno = attach_errno,
	};

	if (ioctl(tx_ctl(), VFIO_DMABUF_TEST_CREATE, &c) < 0)
		return errno;
	*fd = c.fd;
	return 0;
}

static unsigned int tx_fallbacks;

/*
 * The contiguous layouts need high-order pages, and hours of a debug
 * kernel (KASAN's quarantine and stack depot, kmemleak's objects, all
 * unmovable) can leave none: the arm64 debug guest failed 13% of its
 * contiguous buffers at scale 10 with 1.3 GiB free, and the fuzzer's
 * 4 MiB contiguous buffer failed its setup on both debug kernels.
 */
int tx_create_fd_any_layout(uint64_t size, unsigned int kind, unsigned int mode,
			    unsigned int flags, int attach_errno, int *fd)
{
	int e = tx_create_fd(size, kind, mode, flags, attach_errno, fd);

	if (e != ENOMEM || kind == VFIO_DMABUF_TEST_KIND_SCATTER)
		return e;
	if (vt_write_file("/proc/sys/vm/compact_memory", "1"))
		e = tx_create_fd(size, kind, mode, flags, attach_errno, fd);
	else
		vt_info("compact_memory: %s", strerror(errno));
	if (e == ENOMEM) {
		e = tx_create_fd(size, VFIO_DMABUF_TEST_KIND_SCATTER, mode, flags, attach_errno,
				 fd);
		if (!e)
			tx_fallbacks++;
	}
	return e;
}

unsigned int tx_layout_fallbacks(void)
{
	return tx_fallbacks;
}

int tx_revoke_fd(int fd, unsigned int flags)
{
	struct vfio_dmabuf_test_revoke r = {
		.argsz = sizeof(r), .flags = flags, .fd = fd,
	};

	return ioctl(tx_ctl(), VFIO_DMABUF_TEST_REVOKE, &r) < 0 ? errno : 0;
}

int tx_devmem_info(struct vfio_dmabuf_test_devmem_info *di)
{
	memset(di, 0, sizeof(*di));
	di->argsz = sizeof(*di);
	return ioctl(tx_ctl(), VFIO_DMABUF_TEST_DEVMEM_INFO, di) < 0 ? errno : 0;
}

int tx_move_fd(int fd, unsigned int flags, uint64_t *generation)
{
	struct vfio_dmabuf_test_move m = {
		.argsz = sizeof(m), .flags = flags, .fd = fd,
	};

	if (ioctl(tx_ctl(), VFIO_DMABUF_TEST_MOVE, &m) < 0)
		return errno;
	if (generation)
		*generation = m.generation;
	return 0;
}

void tx_info_fd(int fd, struct vfio_dmabuf_test_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->fd = fd;
	if (ioctl(tx_ctl(), VFIO_DMABUF_TEST_INFO, info) < 0)
		FAIL("VFIO_DMABUF_TEST_INFO fd %d: %s", fd, strerror(errno));
}

static void tx_cleanup(void *arg)
{
	tx_close(arg);
}

struct tx_buf *tx_try_create(size_t size, unsigned int kind, unsigned int mode,
			     unsigned int flags, int attach_errno, int *err)
{
	struct tx_buf *b;
	int fd;

	*err = tx_create_fd(size, kind, mode, flags, attach_errno, &fd);
	if (*err)
		return NULL;
	b = vt_calloc(sizeof(*b));
	b->fd = fd;
	b->size = size;
	vt_defer(tx_cleanup, b);
	if (!(flags & VFIO_DMABUF_TEST_CREATE_RDONLY)) {
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);

		if (p == MAP_FAILED)
			FAIL("mmap of test dma-buf: %s", strerror(errno));
		b->cpu = p;
	}
	return b;
}

struct tx_buf *tx_create(size_t size, unsigned int kind, unsigned int mode,
			 unsigned int flags)
{
	struct tx_buf *b;
	int e;

	b = tx_try_create(size, kind, mode, flags, 0, &e);
	if (!b)
		FAIL("VFIO_DMABUF_TEST_CREATE size %zu kind %u mode %u: %s",
		     size, kind, mode, strerror(e));
	return b;
}

void tx_close(struct tx_buf *b)
{
	if (b->cpu)
		munmap(b->cpu, b->size);
	b->cpu = NULL;
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

void tx_stats(struct vfio_dmabuf_test_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->argsz = sizeof(*st);
	if (ioctl(tx_ctl(), VFIO_DMABUF_TEST_STATS, st) < 0)
		FAIL("VFIO_DMABUF_TEST_STATS: %s", strerror(errno));
}

void tx_info(const struct tx_buf *b, struct vfio_dmabuf_test_info *info)
{
	tx_info_fd(b->fd, info);
}

int tx_revoke(const struct tx_buf *b, unsigned int flags)
{
	return tx_revoke_fd(b->fd, flags);
}

void tx_wait_released(uint64_t want)
{
	struct vfio_dmabuf_test_stats st;
	int i;

	for (i = 0; i < 300; i++) {
		tx_stats(&st);
		if (st.buffers_released >= want)
			return;
		usleep(10000);
	}
	FAIL("exporter release ran %llu times, expected %llu: a reference leaked",
	     (unsigned long long)st.buffers_released, (unsigned long long)want);
}

bool tx_wait_attachments(int fd, unsigned int attachments, unsigned int ms,
			 struct vfio_dmabuf_test_info *info)
{
	unsigned int waited = 0;

	for (;;) {
		tx_info_fd(fd, info);
		if (info->attachments == attachments)
			return true;
		if (waited >= ms)
			return false;
		usleep(10000);
		waited += 10;
	}
}
