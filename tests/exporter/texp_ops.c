// SPDX-License-Identifier: GPL-2.0
/*
 * The dma_buf_ops of the test dma-bufs: attach, pin, map, CPU access and
 * mmap, one table each for static, dynamic and DEVICE_MEMORY buffers; and
 * revocation. See texp.h for the locking rules.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <asm/barrier.h>

#include "texp.h"

static void texp_vma_set_flags(struct vm_area_struct *vma, unsigned long flags)
{
#ifdef TEXP_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static int texp_attach(struct dma_buf *dmabuf,
		       struct dma_buf_attachment *attach)
{
	struct texp_buf *buf = dmabuf->priv;
	struct texp_attachment *ta;
	int ret;

	switch (buf->mode) {
	case VFIO_DMABUF_TEST_MODE_REFUSE_ATTACH:
		ret = -buf->attach_errno;
		goto refused;
	case VFIO_DMABUF_TEST_MODE_DEVICE_MEMORY:
		/*
		 * As vfio-pci's exporter of MMIO: importers that cannot take
		 * memory without struct pages (peer to peer) are refused, and
		 * so is everyone while the buffer is revoked.
		 */
		if (!attach->peer2peer) {
			ret = -EOPNOTSUPP;
			goto refused;
		}
		mutex_lock(&buf->lock);
		ret = buf->revoked ? -ENODEV : 0;
		mutex_unlock(&buf->lock);
		if (ret)
			goto refused;
		break;
	default:
		break;
	}

	ta = kzalloc(sizeof(*ta), GFP_KERNEL);
	if (!ta) {
		ret = -ENOMEM;
		goto refused;
	}
	INIT_LIST_HEAD(&ta->maps);
	ta->attach = attach;
	attach->priv = ta;

	mutex_lock(&buf->lock);
	list_add_tail(&ta->node, &buf->attachments);
	buf->nr_attachments++;
	mutex_unlock(&buf->lock);

	atomic64_inc(&texp_stats.attaches);
	return 0;

refused:
	atomic64_inc(&texp_stats.attach_refused);
	return ret;
}

static void texp_detach(struct dma_buf *dmabuf,
			struct dma_buf_attachment *attach)
{
	struct texp_buf *buf = dmabuf->priv;
	struct texp_attachment *ta = attach->priv;

	mutex_lock(&buf->lock);
	WARN_ON(!list_empty(&ta->maps));
	list_del(&ta->node);
	buf->nr_attachments--;
	mutex_unlock(&buf->lock);

	attach->priv = NULL;
	kfree(ta);
	atomic64_inc(&texp_stats.detaches);
}

/*
 * DYNAMIC_PIN: pin succeeds. TTM_LIKE: pin moves the buffer out of VRAM
 * first, as amdgpu_dma_buf_pin() (amdgpu_bo_pin() into GTT) and
 * xe_dma_buf_pin() (xe_bo_migrate() to TT) do in 6.12, including the
 * dma_buf_move_notify() that reaches @attach itself and the pipelined copy
 * nobody waits for here. Other modes cannot pin.
 */
static int texp_pin(struct dma_buf_attachment *attach)
{
	struct texp_buf *buf = attach->dmabuf->priv;
	int ret = -EOPNOTSUPP;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (buf->revoked) {
		ret = -ENODEV;
		goto refused;
	}
	switch (buf->mode) {
	case VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN:
		break;
	case VFIO_DMABUF_TEST_MODE_TTM_LIKE:
		/* Pinned buffers are in system memory already. */
		if (buf->store->placement == VFIO_DMABUF_TEST_PLACEMENT_VRAM) {
			ret = texp_move(buf, VFIO_DMABUF_TEST_PLACEMENT_SYSTEM,
					TEXP_MOVE_PIN);
			if (ret)
				goto refused;
		}
		break;
	default:
		goto refused;
	}

	buf->pinned++;
	atomic64_inc(&texp_stats.pins);
	return 0;

refused:
	atomic64_inc(&texp_stats.pin_refused);
	return ret;
}

static void texp_unpin(struct dma_buf_attachment *attach)
{
	struct texp_buf *buf = attach->dmabuf->priv;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (WARN_ON(!buf->pinned))
		return;
	buf->pinned--;
	atomic64_inc(&texp_stats.unpins);
}

/* Copy the DMA side of @src into a table without page links. */
static int texp_copy_dma_only(struct sg_table *dst, struct sg_table *src)
{
	struct scatterlist *s, *d;
	int i, ret;

	ret = sg_alloc_table(dst, src->nents, GFP_KERNEL);
	if (ret)
		return ret;

	d = dst->sgl;
	for_each_sgtable_dma_sg(src, s, i) {
		sg_dma_address(d) = sg_dma_address(s);
		sg_dma_len(d) = sg_dma_len(s);
		d->length = sg_dma_len(s);
		d = sg_next(d);
	}
	return 0;
}

/* Map the pages of @map->store for @dev. */
static int texp_map_pages(struct texp_map *map, struct device *dev)
{
	int ret;

	ret = sg_alloc_table_from_pages(&map->sgt, map->store->pages,
					map->store->npages, 0,
					map->store->npages << PAGE_SHIFT,
					GFP_KERNEL);
	if (ret)
		return ret;

	/*
	 * Cache maintenance is begin/end_cpu_access()'s job (texp_sync()),
	 * as in udmabuf: with it skipped here, several attachments may map
	 * the same pages (a buffer shared by two containers), which the DMA
	 * API debug code otherwise reports as overlapping mappings.
	 */
	ret = dma_map_sgtable(dev, &map->sgt, map->dir, DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto err_free_sgt;
	/* The DMA API maps nothing, successfully, for a device without a mask. */
	if (!map->sgt.nents) {
		ret = -EIO;
		goto err_unmap;
	}

	if (!map->with_pages) {
		ret = texp_copy_dma_only(&map->dma_only, &map->sgt);
		if (ret)
			goto err_unmap;
	}
	return 0;

err_unmap:
	dma_unmap_sgtable(dev, &map->sgt, map->dir, DMA_ATTR_SKIP_CPU_SYNC);
err_free_sgt:
	sg_free_table(&map->sgt);
	return ret;
}

static void texp_unmap_pages(struct texp_map *map, struct device *dev)
{
	dma_unmap_sgtable(dev, &map->sgt, map->dir, DMA_ATTR_SKIP_CPU_SYNC);
	sg_free_table(&map->sgt);
	if (!map->with_pages)
		sg_free_table(&map->dma_only);
}

/*
 * Map the buffer's current store: for dynamic buffers under the dma_resv,
 * so it cannot move meanwhile; static ones never move.
 */
static struct sg_table *texp_map_dma_buf(struct dma_buf_attachment *attach,
					 enum dma_data_direction dir)
{
	struct texp_buf *buf = attach->dmabuf->priv;
	struct texp_attachment *ta = attach->priv;
	struct texp_map *map;
	bool revoked;
	int ret;

	if (texp_is_dynamic(buf))
		dma_resv_assert_held(attach->dmabuf->resv);

	/* DEVICE_MEMORY is static but revocable: read it under the lock. */
	mutex_lock(&buf->lock);
	revoked = buf->revoked;
	mutex_unlock(&buf->lock);
	if (revoked) {
		ret = -ENODEV;
		goto err_count;
	}

	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map) {
		ret = -ENOMEM;
		goto err_count;
	}
	map->dir = dir;
	map->with_pages = buf->flags & VFIO_DMABUF_TEST_CREATE_WITH_PAGES;

	/*
	 * The map keeps the store it maps, so that the memory stays until the
	 * importer unmaps it, even if the buffer has moved on.
	 */
	map->store = texp_store_get(buf->store);
	if (texp_store_is_device(map->store))
		ret = texp_devmem_map(map, attach->dev);
	else
		ret = texp_map_pages(map, attach->dev);
	if (ret)
		goto err_free_map;

	mutex_lock(&buf->lock);
	list_add_tail(&map->node, &ta->maps);
	buf->nr_mapped++;
	mutex_unlock(&buf->lock);

	atomic64_inc(&texp_stats.maps);
	return map->with_pages ? &map->sgt : &map->dma_only;

err_free_map:
	texp_store_put(map->store);
	kfree(map);
err_count:
	atomic64_inc(&texp_stats.map_failed);
	return ERR_PTR(ret);
}

static void texp_unmap_dma_buf(struct dma_buf_attachment *attach,
			       struct sg_table *sgt,
			       enum dma_data_direction dir)
{
	struct texp_buf *buf = attach->dmabuf->priv;
	struct texp_attachment *ta = attach->priv;
	struct texp_map *map, *found = NULL;

	if (texp_is_dynamic(buf))
		dma_resv_assert_held(attach->dmabuf->resv);

	mutex_lock(&buf->lock);
	list_for_each_entry(map, &ta->maps, node) {
		if (sgt == (map->with_pages ? &map->sgt : &map->dma_only)) {
			found = map;
			list_del(&map->node);
			buf->nr_mapped--;
			break;
		}
	}
	mutex_unlock(&buf->lock);

	if (WARN_ON(!found))
		return;
	WARN_ON(found->dir != dir);

	if (texp_store_is_device(found->store))
		texp_devmem_unmap(found, attach->dev);
	else
		texp_unmap_pages(found, attach->dev);
	/* The last mapping of an old store frees its memory. */
	texp_store_put(found->store);
	kfree(found);
	atomic64_inc(&texp_stats.unmaps);
}

static void texp_release(struct dma_buf *dmabuf)
{
	struct texp_buf *buf = dmabuf->priv;

	WARN_ON(!list_empty(&buf->attachments));
	WARN_ON(buf->pinned);

	if (buf->inode) {
		texp_devmem_del_buf(buf);
		iput(buf->inode);
	}
	texp_store_put(buf->store);
	mutex_destroy(&buf->lock);
	kfree(buf);
	atomic64_inc(&texp_stats.released);
}

static void texp_sync(struct texp_buf *buf, bool for_cpu)
{
	struct texp_attachment *ta;
	struct texp_map *map;

	mutex_lock(&buf->lock);
	list_for_each_entry(ta, &buf->attachments, node) {
		list_for_each_entry(map, &ta->maps, node) {
			/* Device memory: nothing cached, no page table. */
			if (texp_store_is_device(map->store))
				continue;
			if (for_cpu)
				dma_sync_sgtable_for_cpu(ta->attach->dev,
							 &map->sgt, map->dir);
			else
				dma_sync_sgtable_for_device(ta->attach->dev,
							    &map->sgt,
							    map->dir);
		}
	}
	mutex_unlock(&buf->lock);
}

static int texp_begin_cpu_access(struct dma_buf *dmabuf,
				 enum dma_data_direction dir)
{
	texp_sync(dmabuf->priv, true);
	return 0;
}

static int texp_end_cpu_access(struct dma_buf *dmabuf,
			       enum dma_data_direction dir)
{
	texp_sync(dmabuf->priv, false);
	return 0;
}

/*
 * A CPU fault maps the page of the current store. Like TTM's fault handler
 * it waits for a pending move to finish first: while the copy into the
 * current store is still to run, it waits for the copy's fence, with no
 * lock of ours held, and lets the access fault again.
 */
static vm_fault_t texp_vm_fault(struct vm_fault *vmf)
{
	struct texp_buf *buf = vmf->vma->vm_private_data;
	struct dma_fence *fill = NULL;
	vm_fault_t ret;

	if (vmf->pgoff >= buf->npages)
		return VM_FAULT_SIGBUS;

	mutex_lock(&buf->lock);
	if (buf->revoked) {
		ret = VM_FAULT_SIGBUS;
	} else if (texp_store_filling(buf->store)) {
		fill = dma_fence_get(buf->store->fill);
		ret = VM_FAULT_NOPAGE;
	} else {
		ret = vmf_insert_pfn(vmf->vma, vmf->address,
				     texp_store_pfn(buf->store, vmf->pgoff));
		if (ret == VM_FAULT_NOPAGE)
			atomic64_inc(&texp_stats.cpu_faults);
	}
	mutex_unlock(&buf->lock);

	if (fill) {
		/* Interrupted: the access faults again after the signal. */
		dma_fence_wait(fill, true);
		dma_fence_put(fill);
	}
	return ret;
}

static const struct vm_operations_struct texp_vm_ops = {
	.fault = texp_vm_fault,
};

static int texp_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct texp_buf *buf = dmabuf->priv;

	/* PFN mappings cannot be copy-on-write. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (READ_ONCE(buf->revoked))
		return -ENODEV;

	/*
	 * Device memory is mapped write-combined, as GPU drivers map VRAM
	 * through a BAR: uncached, but unaligned accesses and memcpy() work
	 * (arm64 faults those on Device memory). ivshmem's BAR2 is
	 * prefetchable.
	 */
	if (buf->mode == VFIO_DMABUF_TEST_MODE_DEVICE_MEMORY) {
		vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);
		texp_vma_set_flags(vma, VM_IO);
	}
	texp_vma_set_flags(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &texp_vm_ops;
	vma->vm_private_data = buf;
	return 0;
}

/*
 * Revoke @buf: map_dma_buf, pin and mmap fail with ENODEV from now on,
 * CPU mappings (in @mapping) are zapped, and every importer is told with
 * dma_buf_move_notify(). dma_resv held. -EALREADY if already revoked.
 */
int texp_revoke(struct texp_buf *buf, struct address_space *mapping)
{
	dma_resv_assert_held(buf->dmabuf->resv);

	if (buf->revoked)
		return -EALREADY;
	mutex_lock(&buf->lock);
	buf->revoked = true;
	mutex_unlock(&buf->lock);
	/* Faults now see revoked: drop what is already mapped. */
	unmap_mapping_range(mapping, 0, 0, 1);
	dma_buf_move_notify(buf->dmabuf);
	atomic64_inc(&texp_stats.move_notifies);
	atomic64_inc(&texp_stats.revokes);
	return 0;
}

const struct dma_buf_ops texp_static_ops = {
	.attach = texp_attach,
	.detach = texp_detach,
	.map_dma_buf = texp_map_dma_buf,
	.unmap_dma_buf = texp_unmap_dma_buf,
	.release = texp_release,
	.begin_cpu_access = texp_begin_cpu_access,
	.end_cpu_access = texp_end_cpu_access,
	.mmap = texp_mmap,
};

const struct dma_buf_ops texp_dynamic_ops = {
	.attach = texp_attach,
	.detach = texp_detach,
	.pin = texp_pin,
	.unpin = texp_unpin,
	.map_dma_buf = texp_map_dma_buf,
	.unmap_dma_buf = texp_unmap_dma_buf,
	.release = texp_release,
	.begin_cpu_access = texp_begin_cpu_access,
	.end_cpu_access = texp_end_cpu_access,
	.mmap = texp_mmap,
};

/*
 * Device memory is not cached, but the CPU's writes through the
 * write-combined mmap may still sit in write-combining buffers: the end of
 * a CPU access (DMA_BUF_IOCTL_SYNC) drains them before devices read.
 */
static int texp_devmem_end_cpu_access(struct dma_buf *dmabuf,
				      enum dma_data_direction dir)
{
	/* CPU writes to the BAR before any device access that follows. */
	wmb();
	return 0;
}

/*
 * DEVICE_MEMORY: static, like vfio-pci's exporter of MMIO: no pin op (the
 * memory never moves; it can only be revoked), so importers keep one
 * mapping per attachment (the dma-buf core maps at attach for dynamic
 * importers).
 */
const struct dma_buf_ops texp_devmem_ops = {
	.attach = texp_attach,
	.detach = texp_detach,
	.map_dma_buf = texp_map_dma_buf,
	.unmap_dma_buf = texp_unmap_dma_buf,
	.release = texp_release,
	.end_cpu_access = texp_devmem_end_cpu_access,
	.mmap = texp_mmap,
};
