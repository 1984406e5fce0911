/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest-side client of the test dma-buf exporter (tests/exporter): make
 * buffers of a given layout and behaviour, revoke them, read its counters.
 */
#ifndef VFD_TEST_EXPORTER_CLIENT_H
#define VFD_TEST_EXPORTER_CLIENT_H

#include "harness.h"

#include <vfio_dmabuf_test_exporter.h>

struct tx_buf {
	int fd;
	size_t size;
	uint8_t *cpu;	/* the dma-buf's own mmap, or NULL */
};

/* Create a test dma-buf (kind/mode/flags of the exporter uapi), mmap it
 * unless @flags has RDONLY.  On the test's arena; closed and unmapped at
 * the end of the test. */
struct tx_buf *tx_create(size_t size, unsigned int kind, unsigned int mode,
			 unsigned int flags);
/* Same, but *@err = the ioctl's errno and NULL instead of failing. */
struct tx_buf *tx_try_create(size_t size, unsigned int kind, unsigned int mode,
			     unsigned int flags, int attach_errno, int *err);
/*
 * fd-level calls for tests that manage the lifetime of their buffers
 * themselves (torture, fuzz): nothing is deferred to the end of the test.
 * tx_create_fd() returns 0 and *@fd, or the ioctl's errno.
 */
int tx_create_fd(uint64_t size, unsigned int kind, unsigned int mode, unsigned int flags,
		 int attach_errno, int *fd);
/*
 * Same, but a contiguous layout that gets ENOMEM is retried once after
 * compacting memory and then made of scattered pages instead: for tests
 * that torture the importer, not the exporter's luck with high-order
 * pages.  tx_layout_fallbacks() counts the scattered substitutes made by
 * this process.
 */
int tx_create_fd_any_layout(uint64_t size, unsigned int kind, unsigned int mode,
			    unsigned int flags, int attach_errno, int *fd);
unsigned int tx_layout_fallbacks(void);
/* 0 or the errno of VFIO_DMABUF_TEST_DEVMEM_INFO (ENODEV: no device). */
int tx_devmem_info(struct vfio_dmabuf_test_devmem_info *di);
/* 0 or the errno of VFIO_DMABUF_TEST_MOVE; *@generation after it. */
int tx_move_fd(int fd, unsigned int flags, uint64_t *generation);
/* 0 or the errno of VFIO_DMABUF_TEST_REVOKE. */
int tx_revoke_fd(int fd, unsigned int flags);
void tx_info_fd(int fd, struct vfio_dmabuf_test_info *info);

/* Close the fd and the CPU mapping now (instead of at test end). */
void tx_close(struct tx_buf *b);
void tx_stats(struct vfio_dmabuf_test_stats *st);
void tx_info(const struct tx_buf *b, struct vfio_dmabuf_test_info *info);
int tx_revoke(const struct tx_buf *b, unsigned int flags);
/*
 * Wait up to @ms for the exporter to see @attachments attachments of the
 * buffer @fd (an importer gives a revoked buffer back from a worker, just
 * after the revoke); false if it did not.  *@info is the last snapshot.
 */
bool tx_wait_attachments(int fd, unsigned int attachments, unsigned int ms,
			 struct vfio_dmabuf_test_info *info);
/* Wait up to 3 s for the exporter's release count to reach @want (the
 * last fput of a dma-buf can be deferred to a workqueue); FAIL if not. */
void tx_wait_released(uint64_t want);

#endif /* VFD_TEST_EXPORTER_CLIENT_H */
