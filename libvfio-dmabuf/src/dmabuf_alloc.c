/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dma-buf helpers: create from a memfd via /dev/udmabuf, allocate from a
 * dma-buf heap, wrap an existing fd; CPU mmap and DMA_BUF_IOCTL_SYNC. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#include "internal.h"

#ifndef F_SEAL_SHRINK
#include <linux/fcntl.h>
#endif

static struct vfd_dmabuf *new_buf(enum vfd_dmabuf_source src, const char *name)
{
	struct vfd_dmabuf *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	vfd__errslot_init(&b->err);
	b->source = src;
	snprintf(b->source_name, sizeof(b->source_name), "%s", name);
	b->fd = -1;
	b->memfd = -1;
	return b;
}

static int round_size(size_t size, size_t *out, struct vfd_error *e)
{
	size_t pg = (size_t)vfd__page_size();

	if (size == 0)
		return vfd__err(e, -EINVAL, "dma-buf size is 0");
	if (size > SIZE_MAX - (pg - 1))
		return vfd__err(e, -EINVAL, "dma-buf size too large");
	*out = (size + pg - 1) & ~(pg - 1);
	return 0;
}

int vfd_dmabuf_create_udmabuf(size_t size, struct vfd_dmabuf **out,
			      struct vfd_error *err)
{
	struct udmabuf_create create;
	struct vfd_dmabuf *b;
	int dev, ret;

	vfd__err_clear(err);
	if (!out)
		return vfd__err(err, -EINVAL, "out is NULL");
	*out = NULL;
	ret = round_size(size, &size, err);
	if (ret)
		return ret;
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return vfd__err(err, -ENODEV, "/dev/udmabuf does not "
					"exist (kernel without CONFIG_UDMABUF)");
		return vfd__err_errno(err, ret, "cannot open /dev/udmabuf");
	}
	b = new_buf(VFD_DMABUF_SRC_UDMABUF, "udmabuf");
	if (!b) {
		close(dev);
		return vfd__err(err, -ENOMEM, "out of memory");
	}
	b->own_fd = true;
	b->size = size;
	b->memfd = memfd_create("vfio-dmabuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (b->memfd < 0) {
		ret = vfd__err_errno(err, -errno, "memfd_create");
		goto fail;
	}
	if (ftruncate(b->memfd, (off_t)size)) {
		ret = vfd__err_errno(err, -errno, "ftruncate memfd to %zu", size);
		goto fail;
	}
	/* udmabuf requires the memfd to be unable to shrink */
	if (fcntl(b->memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		ret = vfd__err_errno(err, -errno, "seal memfd (F_SEAL_SHRINK)");
		goto fail;
	}
	memset(&create, 0, sizeof(create));
	create.memfd = (uint32_t)b->memfd;
	create.flags = UDMABUF_FLAGS_CLOEXEC;
	create.offset = 0;
	create.size = size;
	b->fd = ioctl(dev, UDMABUF_CREATE, &create);
	if (b->fd < 0) {
		ret = -errno;
		vfd__err_errno(err, ret, "UDMABUF_CREATE of %zu bytes%s", size,
			       ret == -EINVAL ? " (above udmabuf's size_limit_mb?)" : "");
		goto fail;
	}
	close(dev);
	/*
	 * udmabuf DMA-maps its pages for CPU syncs at the first
	 * DMA_BUF_IOCTL_SYNC, in that sync's direction, and keeps the
	 * mapping; a later sync in another direction is then a DMA API
	 * violation in udmabuf (DMA_API_DEBUG: "device driver syncs DMA
	 * memory with different direction").  A first read-write sync makes
	 * that mapping bidirectional, valid for every direction after it.
	 */
	ret = vfd_dmabuf_sync_begin(b, VFD_SYNC_RW);
	if (!ret)
		ret = vfd_dmabuf_sync_end(b, VFD_SYNC_RW);
	if (ret) {
		vfd__err(err, ret, "first DMA_BUF_IOCTL_SYNC of the udmabuf: %s",
			 vfd_dmabuf_errmsg(b));
		vfd_dmabuf_free(b);
		return ret;
	}
	*out = b;
	return 0;
fail:
	close(dev);
	vfd_dmabuf_free(b);
	return ret;
}

int vfd_dmabuf_create_heap(const char *heap, size_t size,
			   struct vfd_dmabuf **out, struct vfd_error *err)
{
	struct dma_heap_allocation_data a;
	struct vfd_dmabuf *b;
	char path[300], name[64];
	int dev, ret;

	vfd__err_clear(err);
	if (!out)
		return vfd__err(err, -EINVAL, "out is NULL");
	*out = NULL;
	if (!heap)
		heap = "system";
	if (!*heap || strchr(heap, '/'))
		return vfd__err(err, -EINVAL, "invalid heap name '%s'", heap);
	ret = round_size(size, &size, err);
	if (ret)
		return ret;
	if (vfd__path(path, sizeof(path), "/dev/dma_heap/%s", heap) ||
	    vfd__path(name, sizeof(name), "heap:%s", heap))
		return vfd__err(err, -ENAMETOOLONG, "heap name too long");
	dev = open(path, O_RDONLY | O_CLOEXEC);
	if (dev < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return vfd__err(err, -ENODEV, "%s does not exist (no such "
					"dma-buf heap; kernel without "
					"CONFIG_DMABUF_HEAPS_SYSTEM?)", path);
		return vfd__err_errno(err, ret, "cannot open %s", path);
	}
	memset(&a, 0, sizeof(a));
	a.len = size;
	a.fd_flags = O_RDWR | O_CLOEXEC;
	if (ioctl(dev, DMA_HEAP_IOCTL_ALLOC, &a)) {
		ret = -errno;
		close(dev);
		return vfd__err_errno(err, ret, "DMA_HEAP_IOCTL_ALLOC of %zu "
				      "bytes from %s", size, path);
	}
	close(dev);
	b = new_buf(VFD_DMABUF_SRC_HEAP, name);
	if (!b) {
		close((int)a.fd);
		return vfd__err(err, -ENOMEM, "out of memory");
	}
	b->fd = (int)a.fd;
	b->own_fd = true;
	b->size = size;
	*out = b;
	return 0;
}

int vfd_dmabuf_create(size_t size, struct vfd_dmabuf **out,
		      struct vfd_error *err)
{
	struct vfd_error e1, e2;
	int ret = vfd_dmabuf_create_udmabuf(size, out, &e1);

	if (ret == 0 || ret == -EINVAL) {
		if (ret && err)
			*err = e1;
		return ret;
	}
	ret = vfd_dmabuf_create_heap("system", size, out, &e2);
	if (ret == 0)
		return 0;
	return vfd__err(err, ret, "no dma-buf exporter worked: udmabuf: %s; "
			"system heap: %s", e1.msg, e2.msg);
}

int vfd_dmabuf_import(int fd, size_t size, uint32_t flags,
		      struct vfd_dmabuf **out, struct vfd_error *err)
{
	struct vfd_dmabuf *b;

	vfd__err_clear(err);
	if (!out)
		return vfd__err(err, -EINVAL, "out is NULL");
	*out = NULL;
	if (fd < 0)
		return vfd__err(err, -EBADF, "invalid fd %d", fd);
	if (flags & ~VFD_DMABUF_TAKE_FD)
		return vfd__err(err, -EINVAL, "unknown flags 0x%x", flags);
	if (size == 0) {
		off_t end = lseek(fd, 0, SEEK_END);
		if (end <= 0)
			return vfd__err_errno(err, end < 0 ? -errno : -EINVAL,
					      "cannot learn the size of fd %d "
					      "(lseek SEEK_END)", fd);
		lseek(fd, 0, SEEK_SET);
		size = (size_t)end;
	}
	b = new_buf(VFD_DMABUF_SRC_IMPORTED, "imported");
	if (!b)
		return vfd__err(err, -ENOMEM, "out of memory");
	b->fd = fd;
	b->own_fd = flags & VFD_DMABUF_TAKE_FD;
	b->size = size;
	*out = b;
	return 0;
}

void vfd_dmabuf_free(struct vfd_dmabuf *b)
{
	if (!b)
		return;
	if (b->map)
		munmap(b->map, b->size);
	if (b->own_fd && b->fd >= 0)
		close(b->fd);
	if (b->memfd >= 0)
		close(b->memfd);
	vfd__errslot_destroy(&b->err);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

const char *vfd_dmabuf_errmsg(const struct vfd_dmabuf *b)
{
	return b ? vfd__errslot_msg(&b->err) : "no dma-buf";
}

int vfd_dmabuf_last_error(const struct vfd_dmabuf *b, struct vfd_error *out)
{
	if (!out)
		return -EINVAL;
	if (!b)
		return vfd__err(out, -EINVAL, "no dma-buf");
	return vfd__errslot_copy(&b->err, out);
}

int vfd_dmabuf_fd(const struct vfd_dmabuf *b)
{
	return b ? b->fd : -1;
}

size_t vfd_dmabuf_size(const struct vfd_dmabuf *b)
{
	return b ? b->size : 0;
}

enum vfd_dmabuf_source vfd_dmabuf_source(const struct vfd_dmabuf *b)
{
	return b ? b->source : VFD_DMABUF_SRC_IMPORTED;
}

const char *vfd_dmabuf_source_name(const struct vfd_dmabuf *b)
{
	return b ? b->source_name : "";
}

int vfd_dmabuf_memfd(const struct vfd_dmabuf *b)
{
	return b ? b->memfd : -1;
}

int vfd_dmabuf_mmap(struct vfd_dmabuf *b, void **ptr)
{
	struct vfd_error e = { 0 };
	int ret = 0;

	if (!b || !ptr)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	if (!b->map) {
		void *p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			       b->fd, 0);
		if (p == MAP_FAILED)
			ret = vfd__err_errno(&e, -errno, "mmap of the %s dma-buf "
					     "(fd %d, %zu bytes)", b->source_name,
					     b->fd, b->size);
		else
			b->map = p;
	}
	if (!ret)
		*ptr = b->map;
	pthread_mutex_unlock(&b->lock);
	if (ret)
		vfd__errslot_store(&b->err, &e);
	return ret;
}

static int do_sync(struct vfd_dmabuf *b, uint32_t dir, uint64_t when)
{
	struct dma_buf_sync s;
	struct vfd_error e = { 0 };
	int ret;

	if (!b)
		return -EINVAL;
	if (!(dir & VFD_SYNC_RW) || (dir & ~VFD_SYNC_RW)) {
		vfd__err(&e, -EINVAL, "sync direction must be VFD_SYNC_READ "
			 "and/or VFD_SYNC_WRITE");
		return vfd__errslot_store(&b->err, &e);
	}
	memset(&s, 0, sizeof(s));
	s.flags = when | ((dir & VFD_SYNC_READ) ? DMA_BUF_SYNC_READ : 0) |
		  ((dir & VFD_SYNC_WRITE) ? DMA_BUF_SYNC_WRITE : 0);
	do
		ret = ioctl(b->fd, DMA_BUF_IOCTL_SYNC, &s);
	while (ret && (errno == EINTR || errno == EAGAIN));
	if (ret) {
		vfd__err_errno(&e, -errno, "DMA_BUF_IOCTL_SYNC %s on fd %d",
			       when == DMA_BUF_SYNC_START ? "start" : "end", b->fd);
		return vfd__errslot_store(&b->err, &e);
	}
	return 0;
}

int vfd_dmabuf_sync_begin(struct vfd_dmabuf *b, uint32_t dir)
{
	return do_sync(b, dir, DMA_BUF_SYNC_START);
}

int vfd_dmabuf_sync_end(struct vfd_dmabuf *b, uint32_t dir)
{
	return do_sync(b, dir, DMA_BUF_SYNC_END);
}
