// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dma-bufs of any exporter the guest has, behind one struct buf: the
 * project's test exporter (every layout and mode), udmabuf and the system
 * heap.
 */
#define _GNU_SOURCE
#include "torture.h"

#include <sys/mman.h>

const char *const src_names[] = { "tx", "udmabuf", "heap" };

/* 0, or the errno of the exporter. */
int buf_new(struct buf *b, enum src_type src, unsigned int kind,
	    unsigned int mode, uint64_t size, bool cpu)
{
	struct vfd_error err;
	void *p;
	int r;

	memset(b, 0, sizeof(*b));
	b->src = src;
	b->kind = kind;
	b->mode = mode;
	b->size = size;
	b->fd = -1;
	if (src == SRC_TX) {
		r = tx_create_fd_any_layout(size, kind, mode, 0, 0, &b->fd);
		if (r)
			return r;
		if (cpu) {
			p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
			if (p == MAP_FAILED)
				FAIL("mmap of a test dma-buf: %s", strerror(errno));
			b->cpu = p;
		}
		return 0;
	}
	r = src == SRC_UDMABUF ? vfd_dmabuf_create_udmabuf(size, &b->lib, &err) :
				 vfd_dmabuf_create_heap("system", size, &b->lib, &err);
	if (r < 0)
		return -r;
	b->fd = vfd_dmabuf_fd(b->lib);
	if (cpu) {
		if (vfd_dmabuf_mmap(b->lib, &p) < 0)
			FAIL("mmap of a %s dma-buf: %s", src_names[src], vfd_dmabuf_errmsg(b->lib));
		b->cpu = p;
	}
	return 0;
}

/* Close the fd and the CPU mapping (an IOMMU mapping keeps the buffer). */
void buf_free(struct buf *b)
{
	if (b->lib) {
		vfd_dmabuf_free(b->lib);	/* its mmap and fds */
		b->lib = NULL;
	} else {
		if (b->cpu)
			munmap(b->cpu, b->size);
		if (b->fd >= 0)
			close(b->fd);
	}
	b->cpu = NULL;
	b->fd = -1;
}

void buf_cleanup(void *arg)
{
	buf_free(arg);
}

/*
 * An empty struct buf on the test's arena for buf_new() to fill: its
 * buffer is freed at the end of the test (or earlier, by buf_free()).
 */
struct buf *buf_on_arena(void)
{
	struct buf *b = vt_calloc(sizeof(*b));

	b->fd = -1;
	vt_defer(buf_cleanup, b);
	return b;
}
