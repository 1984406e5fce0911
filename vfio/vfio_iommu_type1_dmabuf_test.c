// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO type1 dma-buf support: hooks for the project's tests, built only
 * into test builds (VFIO_DMABUF_TEST=y, which defines
 * VFIO_DMABUF_TEST_HOOKS), never into the module users install.
 *
 * dmabuf_test_force_new_domain: QEMU has a single vIOMMU, so type1 puts
 * every group into the one compatible IOMMU domain and never replays
 * mappings into a new one.  With the knob on, every attached group gets a
 * domain of its own, and the replay path runs.
 *
 * VFIO_IOMMU_DMABUF_TEST_FLOOR (vfio_iommu_type1_dmabuf_test.h): the cost
 * of each step of a MAP_DMABUF, and what the IOMMU alone costs for the
 * same physical runs at the same IOVAs: the floor the benchmark compares
 * MAP_DMABUF against.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/iommu.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/uaccess.h>

#include "vfio_iommu_type1_priv.h"
#include "vfio_iommu_type1_dmabuf.h"
#include "vfio_iommu_type1_dmabuf_import.h"
#include "vfio_iommu_type1_dmabuf_test.h"

static bool dmabuf_test_force_new_domain;
module_param(dmabuf_test_force_new_domain, bool, 0644);
MODULE_PARM_DESC(dmabuf_test_force_new_domain,
		 "Test only: give every attached group a new IOMMU domain instead of reusing a compatible one, so that mappings are replayed (default: off)");

bool vfio_dmabuf_test_force_new_domain(void)
{
	if (!READ_ONCE(dmabuf_test_force_new_domain))
		return false;

	pr_info("dmabuf_test_force_new_domain: not reusing a compatible IOMMU domain\n");
	return true;
}

/*
 * Map @w into every domain, then unmap and flush, timing each step.
 * iommu->lock held (the range cannot be taken meanwhile), import->lock
 * held (as for every mapping of a window).
 */
static int vfio_dmabuf_test_time(struct vfio_iommu *iommu, struct vfio_dmabuf *w,
				 struct vfio_iommu_dmabuf_test_floor *f)
{
	struct iommu_iotlb_gather gather;
	struct vfio_domain *d, *failed;
	ktime_t t;
	int ret = 0;

	t = ktime_get();
	list_for_each_entry(d, &iommu->domain_list, next) {
		ret = vfio_dmabuf_map_window(w, d->domain);
		if (ret) {
			failed = d;
			break;
		}
		f->nr_domains++;
	}
	f->map_ns = ktime_to_ns(ktime_sub(ktime_get(), t));

	t = ktime_get();
	list_for_each_entry(d, &iommu->domain_list, next) {
		if (ret && d == failed)
			break;
		iommu_iotlb_gather_init(&gather);
		iommu_unmap_fast(d->domain, w->iova, w->size, &gather);
		f->unmap_ns += ktime_to_ns(ktime_sub(ktime_get(), t));
		t = ktime_get();
		iommu_iotlb_sync(d->domain, &gather);
		f->sync_ns += ktime_to_ns(ktime_sub(ktime_get(), t));
		t = ktime_get();
	}
	return ret;
}

static long vfio_dmabuf_test_floor(struct vfio_iommu *iommu, unsigned long arg)
{
	struct vfio_iommu_dmabuf_test_floor f, in;
	unsigned long minsz = offsetofend(typeof(f), nr_domains);
	struct vfio_dmabuf_import *imp;
	struct dma_buf *dmabuf;
	struct vfio_dmabuf *w;
	phys_addr_t bad;
	size_t badlen;
	ktime_t t;
	long ret;

	if (copy_from_user(&in, (void __user *)arg, minsz))
		return -EFAULT;
	if (in.argsz < minsz || in.flags || in.__reserved || !in.size ||
	    in.iova + in.size <= in.iova ||
	    ((in.offset | in.iova | in.size) & ~PAGE_MASK))
		return -EINVAL;
	/* the inputs, and every output zero */
	f = (struct vfio_iommu_dmabuf_test_floor){
		.argsz = in.argsz, .fd = in.fd, .offset = in.offset,
		.iova = in.iova, .size = in.size,
	};

	dmabuf = dma_buf_get(f.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	if (f.offset + f.size > dmabuf->size) {
		ret = -EINVAL;
		goto out_put;
	}

	t = ktime_get();
	imp = vfio_dmabuf_import_create(iommu, dmabuf);
	f.import_ns = ktime_to_ns(ktime_sub(ktime_get(), t));
	if (IS_ERR(imp)) {
		ret = PTR_ERR(imp);
		goto out_put;
	}
	w = vfio_dmabuf_window_create(imp, f.offset, f.size, IOMMU_READ | IOMMU_WRITE);
	if (IS_ERR(w)) {
		ret = PTR_ERR(w);
		goto out_import;
	}
	w->iova = f.iova;
	f.nr_slices = vfio_dmabuf_window_slices(w);

	mutex_lock(&iommu->lock);
	if (vfio_find_dma(iommu, f.iova, f.size)) {
		ret = -EEXIST;
	} else if (!vfio_iommu_iova_dma_valid(iommu, f.iova, f.iova + f.size - 1) ||
		   !vfio_dmabuf_window_aligned(w, (size_t)1 << __ffs(iommu->pgsize_bitmap),
					       &bad, &badlen)) {
		ret = -EINVAL;
	} else {
		mutex_lock(&imp->lock);
		ret = vfio_dmabuf_test_time(iommu, w, &f);
		mutex_unlock(&imp->lock);
	}
	mutex_unlock(&iommu->lock);

	vfio_dmabuf_window_free(w);
out_import:
	t = ktime_get();
	vfio_dmabuf_import_put(imp);	/* the last reference: released here */
	f.release_ns = ktime_to_ns(ktime_sub(ktime_get(), t));
out_put:
	dma_buf_put(dmabuf);
	if (ret)
		return ret;
	return copy_to_user((void __user *)arg, &f, minsz) ? -EFAULT : 0;
}

long vfio_dmabuf_test_ioctl(struct vfio_iommu *iommu, unsigned int cmd,
			    unsigned long arg)
{
	switch (cmd) {
	case VFIO_IOMMU_DMABUF_TEST_FLOOR:
		return vfio_dmabuf_test_floor(iommu, arg);
	default:
		return -ENOTTY;
	}
}
