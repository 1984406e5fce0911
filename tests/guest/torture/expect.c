// SPDX-License-Identifier: GPL-2.0-only
/*
 * The container calls every torture test makes, and what the container
 * and the test exporter must say afterwards: each check FAILs the test
 * with what it found.
 */
#define _GNU_SOURCE
#include "torture.h"

#include <sys/ioctl.h>

static uint64_t cpu_page(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The mapping granule: CPU page and IOMMU page, whichever is larger. */
uint64_t granule(const struct fx *fx)
{
	uint64_t p = fx_pgsize(fx), c = cpu_page();

	return p > c ? p : c;
}

/* GET_STATE must say @state and @size for the dma-buf mapping at @iova. */
void expect_state(int cfd, uint64_t iova, uint32_t state, uint64_t size)
{
	struct vfio_iommu_type1_dmabuf_state s;

	if (fx_dmabuf_state_raw(cfd, iova, &s) < 0)
		FAIL("GET_STATE 0x%" PRIx64 ": %s, expected state %u size 0x%" PRIx64,
		     iova, strerrorname(errno), state, size);
	if (s.state != state || s.size != size)
		FAIL("GET_STATE 0x%" PRIx64 ": state %u size 0x%llx, expected %u 0x%" PRIx64,
		     iova, s.state, (unsigned long long)s.size, state, size);
}

void expect_no_mapping(int cfd, uint64_t iova)
{
	struct vfio_iommu_type1_dmabuf_state s;

	errno = 0;
	if (fx_dmabuf_state_raw(cfd, iova, &s) == 0 || errno != ENOENT)
		FAIL("GET_STATE 0x%" PRIx64 ": %s, expected ENOENT (nothing mapped)",
		     iova, errno ? strerrorname(errno) : "success");
}

/* Unmap exactly [iova, iova + size): must succeed with exactly @size. */
void unmap_exact(int cfd, uint64_t iova, uint64_t size)
{
	uint64_t got = 0;

	if (fx_unmap_raw(cfd, iova, size, 0, &got) < 0)
		FAIL("UNMAP_DMA 0x%" PRIx64 "+0x%" PRIx64 ": %s", iova, size,
		     strerrorname(errno));
	if (got != size)
		FAIL("UNMAP_DMA 0x%" PRIx64 "+0x%" PRIx64 " unmapped 0x%" PRIx64,
		     iova, size, got);
}

/* The importer holds nothing of the buffer any more. */
void expect_detached(int fd, const char *what)
{
	struct vfio_dmabuf_test_info i;

	tx_info_fd(fd, &i);
	if (i.attachments || i.pinned || i.mapped)
		FAIL("%s: exporter still sees %u attachment(s), %u pin(s), %u mapping(s)",
		     what, i.attachments, i.pinned, i.mapped);
}

/* Counters that must balance between two snapshots. */
void expect_balanced(const struct vfio_dmabuf_test_stats *a,
		     const struct vfio_dmabuf_test_stats *b)
{
	ASSERT_EQ(b->buffers_live, a->buffers_live);
	ASSERT_EQ(b->pages_allocated, a->pages_allocated);
	ASSERT_EQ(b->attaches - a->attaches, b->detaches - a->detaches);
	ASSERT_EQ(b->pins - a->pins, b->unpins - a->unpins);
	ASSERT_EQ(b->maps - a->maps, b->unmaps - a->unmaps);
}
