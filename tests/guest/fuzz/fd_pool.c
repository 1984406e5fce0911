// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fds the fuzzer passes: dma-bufs of every exporter and mode,
 * exporters that refuse, files that are not dma-bufs and numbers that are
 * no fd at all; and the exporter's side of the game, revoking, moving and
 * replacing its buffers under the mappings.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

/* A pool buffer; a contiguous one that memory is too fragmented for is made
 * of scattered pages (counted in layout_fallbacks). */
int tx_new(unsigned int kind, unsigned int mode, unsigned int flags, int attach_errno,
	   uint64_t size)
{
	int fd, e = tx_create_fd_any_layout(size, kind, mode, flags, attach_errno, &fd);

	if (e)
		FAIL("VFIO_DMABUF_TEST_CREATE kind %u mode %u size %" PRIu64 ": %s", kind, mode,
		     size, strerror(e));
	return fd;
}

static struct fdent *add_fd(struct fz *z, const char *name, enum fd_kind kind, int fd)
{
	struct fdent *f = &z->fds[z->nfds++];

	*f = (struct fdent){ .name = name, .kind = kind, .fd = fd, .rd = true, .wr = true,
			     .bufid = ++z->next_bufid };
	return f;
}

static void tx_mmap(struct fdent *f)
{
	void *p;

	f->cpu = NULL;
	if (!f->wr || f->kind != FK_DMABUF)
		return;
	p = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (p == MAP_FAILED)
		FAIL("mmap of %s: %s", f->name, strerror(errno));
	f->cpu = p;
}

static struct fdent *add_tx(struct fz *z, const char *name, enum fd_kind kind, unsigned int k,
			    unsigned int mode, unsigned int flags, int attach_errno, uint64_t size)
{
	struct fdent *f = add_fd(z, name, kind, tx_new(k, mode, flags, attach_errno, size));

	f->size = size;
	f->err = attach_errno;
	f->wr = !(flags & VFIO_DMABUF_TEST_CREATE_RDONLY);
	f->revocable = mode == VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN;
	f->tx_kind = k;
	f->tx_mode = mode;
	f->tx_flags = flags;
	f->replaceable = true;
	tx_mmap(f);
	return f;
}

/* The exporter revokes (or moves) one of its dynamic buffers. */
void do_revoke(struct fz *z)
{
	unsigned int cand[32], nc = 0, flags, i;
	struct fdent *f;
	int r;

	for (i = 0; i < z->nfds; i++)
		if (z->fds[i].revocable)
			cand[nc++] = i;
	if (!nc)
		return;
	f = &z->fds[cand[rndn(&z->rng, nc)]];
	switch (rndn(&z->rng, 3)) {
	case 0: flags = 0; break;
	case 1: flags = VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY; break;
	default: flags = VFIO_DMABUF_TEST_REVOKE_RESTORE; break;
	}
	r = tx_revoke_fd(f->fd, flags);
	if (r && !(r == EALREADY && !flags && f->revoked))
		ZFAIL(z, "revoke %s flags %u: %s", f->name, flags, strerror(r));
	z->revokes++;
	if (flags == VFIO_DMABUF_TEST_REVOKE_RESTORE) {
		f->revoked = false;	/* its mappings stay revoked */
		return;
	}
	if (!flags)
		f->revoked = true;
	for (i = 0; i < z->n; i++)
		if (z->m[i].dmabuf && z->m[i].bufid == f->bufid)
			z->m[i].revoked = true;
}

/* Close a pool dma-buf (its mappings keep it) and make a fresh one. */
void replace_fd(struct fz *z)
{
	unsigned int cand[32], nc = 0, i;
	struct fdent *f;

	for (i = 0; i < z->nfds; i++)
		if (z->fds[i].replaceable)
			cand[nc++] = i;
	if (!nc)
		return;
	f = &z->fds[cand[rndn(&z->rng, nc)]];
	if (f->cpu)
		munmap(f->cpu, f->size);
	close(f->fd);
	f->fd = tx_new(f->tx_kind, f->tx_mode, f->tx_flags, f->err, f->size);
	tx_mmap(f);
	f->bufid = ++z->next_bufid;
	f->revoked = false;
	z->fd_replaced++;
}

void setup_fds(struct fz *z)
{
	struct vfd_error err;
	struct vfd_dmabuf *lb;
	struct fdent *f;
	int fd, pp[2];
	void *p;

	add_tx(z, "tx-scatter-static", FK_DMABUF, VFIO_DMABUF_TEST_KIND_SCATTER,
	       VFIO_DMABUF_TEST_MODE_STATIC, 0, 0, 64 * 1024);
	add_tx(z, "tx-chunked-pin", FK_DMABUF, VFIO_DMABUF_TEST_KIND_CHUNKED,
	       VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0, 0, 4 * MiB);
	add_tx(z, "tx-contig-pin", FK_DMABUF, VFIO_DMABUF_TEST_KIND_CONTIG,
	       VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0, 0, 64 * 1024);
	add_tx(z, "tx-scatter-pin", FK_DMABUF, VFIO_DMABUF_TEST_KIND_SCATTER,
	       VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0, 0, 128 * 1024);
	add_tx(z, "tx-contig-static-pages", FK_DMABUF, VFIO_DMABUF_TEST_KIND_CONTIG,
	       VFIO_DMABUF_TEST_MODE_STATIC, VFIO_DMABUF_TEST_CREATE_WITH_PAGES, 0, 32 * 1024);
	add_tx(z, "tx-rdonly", FK_DMABUF, VFIO_DMABUF_TEST_KIND_SCATTER,
	       VFIO_DMABUF_TEST_MODE_STATIC, VFIO_DMABUF_TEST_CREATE_RDONLY, 0, 32 * 1024)->wr = false;
	add_tx(z, "tx-nopin", FK_NOPIN, VFIO_DMABUF_TEST_KIND_SCATTER,
	       VFIO_DMABUF_TEST_MODE_DYNAMIC_NOPIN, 0, 0, 32 * 1024);
	add_tx(z, "tx-refuse-eperm", FK_REFUSE, VFIO_DMABUF_TEST_KIND_SCATTER,
	       VFIO_DMABUF_TEST_MODE_REFUSE_ATTACH, 0, EPERM, 16 * 1024);
	add_tx(z, "tx-refuse-ehostdown", FK_REFUSE, VFIO_DMABUF_TEST_KIND_SCATTER,
	       VFIO_DMABUF_TEST_MODE_REFUSE_ATTACH, 0, EHOSTDOWN, 16 * 1024);
	if (!vfd_dmabuf_create_udmabuf(256 * 1024, &lb, &err)) {
		/* the handle stays around for the test's life: the kernel
		 * closes its fds when the test process exits */
		f = add_fd(z, "udmabuf", FK_DMABUF, vfd_dmabuf_fd(lb));
		f->size = 256 * 1024;
		if (vfd_dmabuf_mmap(lb, &p) == 0)
			f->cpu = p;
	}
	if (!vfd_dmabuf_create_heap("system", 128 * 1024, &lb, &err)) {
		f = add_fd(z, "heap-system", FK_DMABUF, vfd_dmabuf_fd(lb));
		f->size = 128 * 1024;
		if (vfd_dmabuf_mmap(lb, &p) == 0)
			f->cpu = p;
	}
	fd = memfd_create("fuzz-not-a-dmabuf", MFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_OK(ftruncate(fd, 1 << 20));
	add_fd(z, "memfd", FK_NOT_DMABUF, fd);
	add_fd(z, "/dev/null", FK_NOT_DMABUF, open("/dev/null", O_RDWR | O_CLOEXEC));
	add_fd(z, "eventfd", FK_NOT_DMABUF, eventfd(0, EFD_CLOEXEC));
	ASSERT_OK(pipe2(pp, O_CLOEXEC));
	add_fd(z, "pipe", FK_NOT_DMABUF, pp[1]);
	add_fd(z, "container", FK_NOT_DMABUF, z->cfd);
	add_fd(z, "edu-device", FK_NOT_DMABUF, vfd_device_fd(vfd_edu_device(z->fx->edu)));
	add_fd(z, "O_PATH", FK_BADF, open("/dev/null", O_PATH | O_CLOEXEC));
	fd = dup2(0, 900);	/* a number nothing else will get */
	close(fd);
	add_fd(z, "closed", FK_BADF, 900);
	add_fd(z, "-1", FK_BADF, -1);
	add_fd(z, "INT_MIN", FK_BADF, (int)0x80000000);
	add_fd(z, "1<<20", FK_BADF, 1 << 20);
	for (unsigned int i = 0; i < z->nfds; i++)
		if (z->fds[i].kind != FK_BADF && z->fds[i].fd < 0)
			FAIL("setting up fd %s", z->fds[i].name);
}
