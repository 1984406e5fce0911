/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dma-buf mappings in the VFIO type1 IOMMU driver: the calls the type1 core
 * (vfio_iommu_type1_core.c) makes into vfio_iommu_type1_dmabuf.c.
 *
 * Every call that takes a struct vfio_iommu expects iommu->lock to be held,
 * except the ioctls, which take it themselves, and the calls made during
 * container release, when nobody else can reach the container.
 */
#ifndef __VFIO_IOMMU_TYPE1_DMABUF_H
#define __VFIO_IOMMU_TYPE1_DMABUF_H

#include <linux/errno.h>
#include <linux/types.h>
#include <linux/vfio_dmabuf.h>

/*
 * The release this module was built from (VFIO_DMABUF_RELEASE, set by
 * vfio/Makefile), in MODULE_VERSION after the upstream driver's own
 * version ("0.2+vfio-dmabuf-0.1.0"): modinfo, /sys/module/.../version and
 * DKMS tell this build from the stock module by it.  The builds of the
 * project's tests say so too.
 */
#ifndef VFIO_DMABUF_RELEASE
#define VFIO_DMABUF_RELEASE "unknown"
#endif
#ifdef VFIO_DMABUF_TEST_HOOKS
#define VFIO_DMABUF_VERSION VFIO_DMABUF_RELEASE "+test-hooks"
#else
#define VFIO_DMABUF_VERSION VFIO_DMABUF_RELEASE
#endif

struct iommu_domain;
struct vfio_dmabuf;
struct vfio_iommu;

int vfio_dmabuf_init(void);
void vfio_dmabuf_exit(void);

/* ioctls, called without iommu->lock */
long vfio_iommu_type1_map_dmabuf(struct vfio_iommu *iommu, unsigned long arg);
long vfio_iommu_type1_dmabuf_get_state(struct vfio_iommu *iommu,
				       unsigned long arg);
long vfio_iommu_type1_dmabuf_set_eventfd(struct vfio_iommu *iommu,
					 unsigned long arg);

/*
 * Unmap a dma-buf range from every IOMMU domain and drop its share of the
 * dma-buf's import (vfio_remove_dma()).
 */
void vfio_dmabuf_destroy(struct vfio_dmabuf *db);

/* Map every live dma-buf range into a newly created IOMMU domain. */
int vfio_dmabuf_replay(struct vfio_iommu *iommu, struct iommu_domain *domain);

/* Unmap every dma-buf range from @domain before that domain is freed. */
void vfio_dmabuf_unmap_domain(struct vfio_iommu *iommu,
			      struct iommu_domain *domain);

/* Container release, after every mapping is gone: drop the eventfd. */
void vfio_dmabuf_release(struct vfio_iommu *iommu);

/*
 * Around an unmap of many ranges (VFIO_IOMMU_UNMAP_DMA, container release,
 * the last group's detach): dma-buf ranges removed in between are unmapped
 * without an IOTLB flush each; the end flushes once per IOMMU domain, and
 * only then are the windows freed and their buffers given back.  The
 * calls nest in no way: a begin while a batch is open does nothing, and so
 * does an end by another task.
 */
void vfio_dmabuf_batch_begin(struct vfio_iommu *iommu);
void vfio_dmabuf_batch_end(struct vfio_iommu *iommu);

/*
 * Test builds only (VFIO_DMABUF_TEST_HOOKS, vfio_iommu_type1_dmabuf_test.c):
 * never reuse a compatible IOMMU domain when attaching a group, so that
 * replay can be tested under QEMU's single vIOMMU; and the test ioctls.
 */
#ifdef VFIO_DMABUF_TEST_HOOKS
bool vfio_dmabuf_test_force_new_domain(void);
/* The test ioctls (vfio_iommu_type1_dmabuf_test.h); -ENOTTY for others. */
long vfio_dmabuf_test_ioctl(struct vfio_iommu *iommu, unsigned int cmd,
			    unsigned long arg);
#else
static inline bool vfio_dmabuf_test_force_new_domain(void)
{
	return false;
}

static inline long vfio_dmabuf_test_ioctl(struct vfio_iommu *iommu,
					  unsigned int cmd, unsigned long arg)
{
	return -ENOTTY;
}
#endif

#endif /* __VFIO_IOMMU_TYPE1_DMABUF_H */
