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

static int tx_ctl(void)
{
	int fd = open(VFIO_DMABUF_TEST_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		FAIL("open %s: %s (is vfio_dmabuf_test_exporter loaded?)",
		     VFIO_DMABUF_TEST_DEVICE, strerror(errno));
	return fd;
}

static void tx_cleanup(void *arg)
{
	tx_close(arg);
	free(arg);
}

struct tx_buf *tx_try_create(size_t size, unsigned int kind, unsigned int mode,
			     unsigned int flags, int attach_errno, int *err)
{
	struct vfio_dmabuf_test_create c = {
		.argsz = sizeof(c), .flags = flags, .size = size,
		.kind = kind, .mode = mode, .attach_errno = attach_errno,
	};
	struct tx_buf *b;
	int ctl = tx_ctl(), r;

	r = ioctl(ctl, VFIO_DMABUF_TEST_CREATE, &c);
	*err = r < 0 ? errno : 0;
	close(ctl);
	if (r < 0)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		FAIL("calloc");
	b->fd = c.fd;
	b->id = c.id;
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
	int ctl = tx_ctl();

	memset(st, 0, sizeof(*st));
	st->argsz = sizeof(*st);
	if (ioctl(ctl, VFIO_DMABUF_TEST_STATS, st) < 0)
		FAIL("VFIO_DMABUF_TEST_STATS: %s", strerror(errno));
	close(ctl);
}

void tx_info(const struct tx_buf *b, struct vfio_dmabuf_test_info *info)
{
	int ctl = tx_ctl();

	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->fd = b->fd;
	if (ioctl(ctl, VFIO_DMABUF_TEST_INFO, info) < 0)
		FAIL("VFIO_DMABUF_TEST_INFO: %s", strerror(errno));
	close(ctl);
}

int tx_revoke(const struct tx_buf *b, unsigned int flags)
{
	struct vfio_dmabuf_test_revoke r = {
		.argsz = sizeof(r), .flags = flags, .fd = b->fd,
	};
	int ctl = tx_ctl(), ret;

	ret = ioctl(ctl, VFIO_DMABUF_TEST_REVOKE, &r);
	ret = ret < 0 ? errno : 0;
	close(ctl);
	return ret;
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
