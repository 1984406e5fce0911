// SPDX-License-Identifier: GPL-2.0
/*
 * Device memory for the DEVICE_MEMORY mode: buffers carved out of BAR2 of
 * QEMU's ivshmem-plain device (1af4:1110), like vfio-pci's dma-bufs of MMIO
 * (6.19). The BAR is backed by a memory backend, so devices can DMA into it
 * and the CPU can read it, but it has no struct pages: importers get DMA
 * addresses only (dma_map_resource()), and the CPU mmap maps the BAR.
 *
 * One device is used, the first one probed; the BAR is handed out in pages
 * by a bitmap allocator.
 *
 * Locking and lifetime
 * --------------------
 * - texp_devmem_lock protects texp_devmem (the device new buffers come
 *   from), every device's buffer list and ->removed. It nests outside the
 *   dma_resv of the buffers (remove() revokes them under it) and is never
 *   taken under a dma_resv.
 * - texp_devmem.alloc_lock protects the bitmap and ->used; it is a leaf
 *   lock, taken wherever a store is freed (which may be under a dma_resv).
 * - A device is reference counted: the driver holds one reference until
 *   remove(), every store in its BAR one, so the bitmap stays until the
 *   last buffer and the last mapping of it are gone.
 * - remove() (unbinding the driver) revokes every buffer in the BAR as
 *   vfio-pci does when it loses the MMIO (dma_buf_move_notify(), then map
 *   fails with ENODEV and CPU mappings are gone), before the BAR is
 *   released. It does not wait for importers to unmap: they must stop
 *   using the memory when told (type1 zaps its IOMMU mappings from the
 *   callback). A buffer stays on its device's list from its creation
 *   until its release op, which takes texp_devmem_lock first: so every
 *   buffer remove() finds still has its dma_buf and dma_resv. Its file may
 *   already be gone (the release op runs from the last dput() of the file),
 *   which is why the buffer holds a reference to the file's inode for the
 *   CPU mappings' address_space.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "texp.h"

#define TEXP_IVSHMEM_DEVICE_ID	0x1110
#define TEXP_IVSHMEM_BAR	2

struct texp_devmem {
	struct kref kref;
	struct pci_dev *pdev;
	phys_addr_t phys;		/* of the BAR */
	unsigned long npages;		/* usable pages of the BAR */
	void __iomem *kva;		/* the BAR, write-combined */

	/* Under texp_devmem_lock */
	struct list_head buffers;	/* texp_buf.devmem_node */
	bool removed;

	/* Protects the two fields below; a leaf lock. */
	spinlock_t alloc_lock;
	unsigned long *bitmap;		/* pages in use */
	unsigned long used;		/* pages in use */
};

/* See "Locking and lifetime" above. */
static DEFINE_MUTEX(texp_devmem_lock);
static struct texp_devmem *texp_devmem;

static void texp_devmem_release(struct kref *kref)
{
	struct texp_devmem *dm = container_of(kref, struct texp_devmem, kref);

	WARN_ON(dm->used);
	bitmap_free(dm->bitmap);
	kfree(dm);
}

static void texp_devmem_put(struct texp_devmem *dm)
{
	kref_put(&dm->kref, texp_devmem_release);
}

/*
 * @n pages of the BAR for a buffer of @kind, into @idx (BAR page numbers in
 * buffer order); alloc_lock held.
 *  SCATTER: single pages, no two neighbours in the buffer adjacent in the
 *	BAR, as for system memory;
 *  CONTIG: one run;
 *  CHUNKED: one run that starts on a 2 MiB boundary of the BAR (which is
 *	naturally aligned), so it is made of naturally aligned 2 MiB runs.
 */
static int texp_devmem_alloc_pages(struct texp_devmem *dm, u32 kind,
				   unsigned long n, unsigned long *idx)
{
	unsigned long i, b, start, align = 0;

	lockdep_assert_held(&dm->alloc_lock);

	if (kind == VFIO_DMABUF_TEST_KIND_SCATTER) {
		for (i = 0; i < n; i++) {
			b = find_first_zero_bit(dm->bitmap, dm->npages);
			while (i && b < dm->npages &&
			       (b == idx[i - 1] + 1 || b + 1 == idx[i - 1]))
				b = find_next_zero_bit(dm->bitmap, dm->npages,
						       b + 1);
			if (b >= dm->npages) {
				while (i--)
					__clear_bit(idx[i], dm->bitmap);
				return -ENOSPC;
			}
			__set_bit(b, dm->bitmap);
			idx[i] = b;
		}
	} else {
		if (kind == VFIO_DMABUF_TEST_KIND_CHUNKED)
			align = (VFIO_DMABUF_TEST_CHUNK_SIZE >> PAGE_SHIFT) - 1;
		start = bitmap_find_next_zero_area(dm->bitmap, dm->npages, 0,
						   n, align);
		if (start >= dm->npages || n > dm->npages - start)
			return -ENOSPC;
		bitmap_set(dm->bitmap, start, n);
		for (i = 0; i < n; i++)
			idx[i] = start + i;
	}
	dm->used += n;
	return 0;
}

/*
 * A store of @size bytes in the BAR of the current device, zeroed, with one
 * reference for the caller. ENODEV without a device, ENOSPC when the BAR
 * has no room for it.
 */
struct texp_store *texp_devmem_store_alloc(u32 kind, size_t size)
{
	unsigned long i, n = size >> PAGE_SHIFT;
	struct texp_devmem *dm;
	struct texp_store *st;
	int ret;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return ERR_PTR(-ENOMEM);
	kref_init(&st->kref);
	st->placement = VFIO_DMABUF_TEST_PLACEMENT_DEVICE;
	st->npages = n;
	st->bar_pages = kvcalloc(n, sizeof(*st->bar_pages), GFP_KERNEL);
	if (!st->bar_pages) {
		ret = -ENOMEM;
		goto err_free;
	}

	mutex_lock(&texp_devmem_lock);
	dm = texp_devmem;
	if (!dm) {
		mutex_unlock(&texp_devmem_lock);
		ret = -ENODEV;
		goto err_free;
	}
	spin_lock(&dm->alloc_lock);
	ret = texp_devmem_alloc_pages(dm, kind, n, st->bar_pages);
	spin_unlock(&dm->alloc_lock);
	if (ret) {
		mutex_unlock(&texp_devmem_lock);
		goto err_free;
	}
	kref_get(&dm->kref);
	st->devmem = dm;
	st->bar_phys = dm->phys;
	/* Zeroed under the lock: remove() unmaps ->kva under it. */
	for (i = 0; i < n; i++)
		memset_io(dm->kva + (st->bar_pages[i] << PAGE_SHIFT), 0,
			  PAGE_SIZE);
	mutex_unlock(&texp_devmem_lock);

	texp_store_count_segments(st);
	return st;

err_free:
	kvfree(st->bar_pages);
	kfree(st);
	return ERR_PTR(ret);
}

/* The BAR pages of a store go back to its device (texp_store.c). */
void texp_devmem_store_free(struct texp_store *st)
{
	struct texp_devmem *dm = st->devmem;
	unsigned long i;

	if (dm) {
		spin_lock(&dm->alloc_lock);
		for (i = 0; i < st->npages; i++)
			__clear_bit(st->bar_pages[i], dm->bitmap);
		dm->used -= st->npages;
		spin_unlock(&dm->alloc_lock);
		texp_devmem_put(dm);
	}
	kvfree(st->bar_pages);
}

/*
 * A new buffer in the BAR goes on its device's list, so that remove() can
 * revoke it. ENODEV if the device went away since the store was made.
 */
int texp_devmem_add_buf(struct texp_buf *buf)
{
	struct texp_devmem *dm = buf->store->devmem;
	int ret = 0;

	mutex_lock(&texp_devmem_lock);
	if (dm->removed)
		ret = -ENODEV;
	else
		list_add_tail(&buf->devmem_node, &dm->buffers);
	mutex_unlock(&texp_devmem_lock);
	return ret;
}

/* From the buffer's release op. */
void texp_devmem_del_buf(struct texp_buf *buf)
{
	mutex_lock(&texp_devmem_lock);
	list_del_init(&buf->devmem_node);
	mutex_unlock(&texp_devmem_lock);
}

/* Is the device of this store gone (RESTORE cannot bring it back)? */
bool texp_devmem_removed(const struct texp_store *st)
{
	return READ_ONCE(st->devmem->removed);
}

/* Pages from @i on that are contiguous in the BAR, at most @max. */
static unsigned long texp_devmem_run(const struct texp_store *st,
				     unsigned long i, unsigned long max)
{
	unsigned long n = 1;

	while (i + n < st->npages && n < max &&
	       st->bar_pages[i + n] == st->bar_pages[i] + n)
		n++;
	return n;
}

/*
 * There is no CPU cache to maintain for device memory. Saying so also keeps
 * DMA API debugging from taking two attachments that map the same BAR range
 * (one buffer in two containers) for overlapping streaming mappings.
 */
#define TEXP_DEVMEM_DMA_ATTRS	DMA_ATTR_SKIP_CPU_SYNC

/*
 * map_dma_buf of device memory: DMA addresses only, from
 * dma_map_resource() for the attaching device, one entry per physically
 * contiguous run (split at the device's maximum segment size).
 */
int texp_devmem_map(struct texp_map *map, struct device *dev)
{
	struct texp_store *st = map->store;
	unsigned long i, j, n, max_pages;
	struct scatterlist *sg;
	unsigned int nents = 0;
	dma_addr_t addr;
	int ret;

	max_pages = max_t(unsigned long,
			  dma_get_max_seg_size(dev) >> PAGE_SHIFT, 1);
	for (i = 0; i < st->npages; i += texp_devmem_run(st, i, max_pages))
		nents++;

	ret = sg_alloc_table(&map->dma_only, nents, GFP_KERNEL);
	if (ret)
		return ret;

	sg = map->dma_only.sgl;
	for (i = 0; i < st->npages; i += n) {
		n = texp_devmem_run(st, i, max_pages);
		addr = dma_map_resource(dev, st->bar_phys +
					((phys_addr_t)st->bar_pages[i] << PAGE_SHIFT),
					n << PAGE_SHIFT, map->dir,
					TEXP_DEVMEM_DMA_ATTRS);
		if (dma_mapping_error(dev, addr)) {
			ret = -EIO;
			goto err_unmap;
		}
		sg_dma_address(sg) = addr;
		sg_dma_len(sg) = n << PAGE_SHIFT;
		sg->length = n << PAGE_SHIFT;
		sg = sg_next(sg);
	}
	return 0;

err_unmap:
	for (sg = map->dma_only.sgl, j = 0; j < i; sg = sg_next(sg)) {
		dma_unmap_resource(dev, sg_dma_address(sg), sg_dma_len(sg),
				   map->dir, TEXP_DEVMEM_DMA_ATTRS);
		j += sg_dma_len(sg) >> PAGE_SHIFT;
	}
	sg_free_table(&map->dma_only);
	return ret;
}

void texp_devmem_unmap(struct texp_map *map, struct device *dev)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_dma_sg(&map->dma_only, sg, i)
		dma_unmap_resource(dev, sg_dma_address(sg), sg_dma_len(sg),
				   map->dir, TEXP_DEVMEM_DMA_ATTRS);
	sg_free_table(&map->dma_only);
}

int texp_devmem_info(struct vfio_dmabuf_test_devmem_info *info)
{
	struct texp_devmem *dm;
	int ret = 0;

	mutex_lock(&texp_devmem_lock);
	dm = texp_devmem;
	if (dm) {
		info->pci_domain = pci_domain_nr(dm->pdev->bus);
		info->pci_bdf = PCI_DEVID(dm->pdev->bus->number,
					  dm->pdev->devfn);
		info->size = (u64)dm->npages << PAGE_SHIFT;
		spin_lock(&dm->alloc_lock);
		info->used = (u64)dm->used << PAGE_SHIFT;
		spin_unlock(&dm->alloc_lock);
	} else {
		ret = -ENODEV;
	}
	mutex_unlock(&texp_devmem_lock);
	return ret;
}

static int texp_devmem_probe(struct pci_dev *pdev,
			     const struct pci_device_id *id)
{
	resource_size_t start = pci_resource_start(pdev, TEXP_IVSHMEM_BAR);
	resource_size_t len = pci_resource_len(pdev, TEXP_IVSHMEM_BAR);
	struct texp_devmem *dm;
	int ret;

	if (!(pci_resource_flags(pdev, TEXP_IVSHMEM_BAR) & IORESOURCE_MEM) ||
	    !PAGE_ALIGNED(start) || len < PAGE_SIZE) {
		pci_info(pdev, "BAR%d is not page-aligned memory: not used\n",
			 TEXP_IVSHMEM_BAR);
		return -ENODEV;
	}

	dm = kzalloc(sizeof(*dm), GFP_KERNEL);
	if (!dm)
		return -ENOMEM;
	kref_init(&dm->kref);
	INIT_LIST_HEAD(&dm->buffers);
	spin_lock_init(&dm->alloc_lock);
	dm->pdev = pdev;
	dm->phys = start;
	dm->npages = len >> PAGE_SHIFT;
	dm->bitmap = bitmap_zalloc(dm->npages, GFP_KERNEL);
	if (!dm->bitmap) {
		ret = -ENOMEM;
		goto err_free;
	}

	ret = pci_enable_device_mem(pdev);
	if (ret)
		goto err_free;
	ret = pci_request_region(pdev, TEXP_IVSHMEM_BAR, KBUILD_MODNAME);
	if (ret)
		goto err_disable;
	dm->kva = pci_iomap_wc(pdev, TEXP_IVSHMEM_BAR, 0);
	if (!dm->kva) {
		ret = -ENOMEM;
		goto err_release;
	}

	mutex_lock(&texp_devmem_lock);
	if (texp_devmem) {
		/* One is enough. */
		mutex_unlock(&texp_devmem_lock);
		ret = -EBUSY;
		goto err_unmap;
	}
	texp_devmem = dm;
	mutex_unlock(&texp_devmem_lock);

	pci_set_drvdata(pdev, dm);
	pci_info(pdev, "device memory for DEVICE_MEMORY buffers: BAR%d, %lu KiB\n",
		 TEXP_IVSHMEM_BAR, dm->npages << (PAGE_SHIFT - 10));
	return 0;

err_unmap:
	pci_iounmap(pdev, dm->kva);
err_release:
	pci_release_region(pdev, TEXP_IVSHMEM_BAR);
err_disable:
	pci_disable_device(pdev);
err_free:
	bitmap_free(dm->bitmap);
	kfree(dm);
	return ret;
}

static void texp_devmem_remove(struct pci_dev *pdev)
{
	struct texp_devmem *dm = pci_get_drvdata(pdev);
	struct texp_buf *buf;
	unsigned int n = 0;

	mutex_lock(&texp_devmem_lock);
	if (texp_devmem == dm)
		texp_devmem = NULL;
	WRITE_ONCE(dm->removed, true);
	/* The memory goes away: revoke every buffer in it, as vfio-pci does. */
	list_for_each_entry(buf, &dm->buffers, devmem_node) {
		dma_resv_lock(buf->dmabuf->resv, NULL);
		if (!texp_revoke(buf, buf->inode->i_mapping))
			n++;
		dma_resv_unlock(buf->dmabuf->resv);
	}
	pci_iounmap(pdev, dm->kva);
	dm->kva = NULL;
	mutex_unlock(&texp_devmem_lock);

	if (n)
		pci_info(pdev, "revoked %u DEVICE_MEMORY buffer(s)\n", n);
	pci_release_region(pdev, TEXP_IVSHMEM_BAR);
	pci_disable_device(pdev);
	texp_devmem_put(dm);
}

static const struct pci_device_id texp_devmem_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT_QUMRANET, TEXP_IVSHMEM_DEVICE_ID) },
	{ }
};

/* No MODULE_DEVICE_TABLE: the module is loaded by hand, not for ivshmem. */
static struct pci_driver texp_devmem_driver = {
	.name = KBUILD_MODNAME,
	.id_table = texp_devmem_ids,
	.probe = texp_devmem_probe,
	.remove = texp_devmem_remove,
};

int texp_devmem_init(void)
{
	return pci_register_driver(&texp_devmem_driver);
}

void texp_devmem_exit(void)
{
	pci_unregister_driver(&texp_devmem_driver);
}
