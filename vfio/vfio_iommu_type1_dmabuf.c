// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO type1: map dma-bufs into the IOVA space of a container
 * (VFIO_IOMMU_MAP_DMABUF, see include/uapi/linux/vfio_dmabuf.h).
 *
 * A dma-buf mapping is a struct vfio_dma in type1's rbtree whose ->dmabuf
 * points to a struct vfio_dmabuf.  It therefore shares type1's IOVA space,
 * overlap checks, entry limit and VFIO_IOMMU_UNMAP_DMA; the type1 core calls
 * into this file wherever it would touch the pages behind a vfio_dma.
 *
 * Where the addresses come from
 * -----------------------------
 * The dma-buf is attached to vfio_dmabuf_dev, a device this module creates
 * that stands for the IOMMU's untranslated view of memory: no IOMMU of its
 * own, no dma_map_ops (dma-direct), a 64-bit DMA mask and coherent.  The
 * exporter maps the buffer for that device, and dma-direct's DMA address of
 * a page is its physical address (dma_to_phys(), which also strips memory
 * encryption bits), which is exactly what iommu_map() wants.  sg_page() is
 * never used: exporters need not have struct pages and CONFIG_DMABUF_DEBUG
 * scrambles them.  We refuse to map (-EOPNOTSUPP) when the device would not
 * be dma-direct or would bounce through swiotlb, and (-ENXIO) when an
 * address does not survive a dma_to_phys()/phys_to_dma() round trip or the
 * physically contiguous runs are not page aligned.
 *
 * Locking
 * -------
 * Lock order: iommu->lock -> dma_resv of the dma-buf -> vfio_dmabuf.lock.
 *
 * The kernel already orders mmap_lock -> dma_resv (dma_resv_lockdep()) and
 * type1 takes iommu->lock -> mmap_lock when it pins user memory, so
 * iommu->lock may be held while taking a dma_resv lock, but the exporter's
 * move_notify callback, which runs with the dma_resv held, must never take
 * iommu->lock.  That callback therefore cannot walk type1's domain list;
 * instead every vfio_dmabuf tracks the IOMMU domains it is currently mapped
 * into (->domains), under its own mutex:
 *
 *  - vfio_dmabuf.lock protects ->domains, ->iova, ->inserted and ->revoked.
 *    Adding a domain (map, replay) happens under iommu->lock +
 *    vfio_dmabuf.lock; removing one under vfio_dmabuf.lock, plus either
 *    iommu->lock (unmap, domain teardown) or the dma_resv (revoke).
 *    type1 never frees an IOMMU domain that is still on some ->domains
 *    list: the core calls vfio_dmabuf_unmap_domain() first.  So whoever
 *    holds vfio_dmabuf.lock may use every domain on ->domains.
 *  - The dma_resv protects ->sgt and ->pinned (the exporter's state).
 *  - ->dmabuf, ->attach, ->runs, ->offset, ->size and ->prot are written
 *    once in vfio_dmabuf_create() before the object is reachable from
 *    type1, and then never change until vfio_dmabuf_destroy().
 *
 * Lifetime
 * --------
 * A vfio_dmabuf owns a dma-buf reference, a dynamic attachment, a pin (if
 * the exporter can pin) and, until revoked, a mapping of the attachment.
 * It lives exactly as long as its vfio_dma: vfio_remove_dma() calls
 * vfio_dmabuf_destroy(), which unmaps the range from every IOMMU domain
 * before handing anything back to the exporter.  VFIO_IOMMU_UNMAP_DMA,
 * detaching the last group and releasing the container (which is what
 * closing the fd or a kill -9 does) all go through vfio_remove_dma().
 *
 * Revocation: the exporter calls dma_buf_move_notify() with the dma_resv
 * held.  We unmap the range from every tracked domain (iommu_unmap() flushes
 * the IOTLB before returning, so the device faults from then on), give the
 * sg_table back and mark the mapping revoked.  The vfio_dma stays in the
 * rbtree, keeping the IOVA range reserved, until the user unmaps it; replay
 * skips it.  We pin where the exporter can pin, so an exporter only moves
 * our buffer by revoking it (like vfio-pci's exporter on device reset); with
 * CONFIG_DMABUF_MOVE_NOTIFY=n the dma-buf core pins dynamic exporters on map
 * anyway, but a forced dma_buf_move_notify() is still honoured.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/swiotlb.h>
#include <linux/uaccess.h>

#include "vfio_iommu_type1_priv.h"
#include "vfio_iommu_type1_dmabuf.h"

#ifdef VFIO_DMABUF_NS_IS_STRING
MODULE_IMPORT_NS("DMA_BUF");
#else
MODULE_IMPORT_NS(DMA_BUF);
#endif

static bool dmabuf_test_force_new_domain;
module_param(dmabuf_test_force_new_domain, bool, 0644);
MODULE_PARM_DESC(dmabuf_test_force_new_domain,
		 "Test only: give every attached group a new IOMMU domain instead of reusing a compatible one, so that mappings are replayed (default: off)");

/* A physically contiguous piece of the mapped window, in IOVA order. */
struct vfio_dmabuf_run {
	phys_addr_t		phys;
	size_t			len;
};

/* An IOMMU domain the range is currently mapped into. */
struct vfio_dmabuf_domain {
	struct list_head	node;
	struct iommu_domain	*domain;
};

struct vfio_dmabuf {
	/* Set up by vfio_dmabuf_create(), then constant */
	struct dma_buf			*dmabuf;	/* our reference */
	struct dma_buf_attachment	*attach;
	struct vfio_dmabuf_run		*runs;
	unsigned int			nr_runs;
	u64				offset;		/* into the dma-buf */
	size_t				size;
	int				prot;		/* IOMMU_READ/WRITE */

	/* Protected by dmabuf->resv */
	struct sg_table			*sgt;		/* NULL once revoked */
	bool				pinned;

	/* Lock order: iommu->lock -> dmabuf->resv -> lock */
	struct mutex			lock;
	dma_addr_t			iova;
	bool				inserted;	/* in type1's rbtree */
	bool				revoked;
	struct list_head		domains;	/* vfio_dmabuf_domain */
};

/* The importer device: see "Where the addresses come from" above. */
static struct device *vfio_dmabuf_dev;
/*
 * Its DMA parameters: a root device has none, and the DMA API then assumes
 * 64 KiB segments, which exporters that build larger segments violate
 * (DMA_API_DEBUG: "mapping sg segment longer than device claims to
 * support").  The IOMMU behind it takes segments of any size.
 */
static struct device_dma_parameters vfio_dmabuf_dma_parms = {
	.max_segment_size = UINT_MAX,
	.segment_boundary_mask = ULONG_MAX,
};

/*
 * ---- kernel version differences, all in one place ----
 * The VFIO_DMABUF_* feature macros come from Kbuild, which derives them
 * from the kernel version being built against.
 */

static int vfio_dmabuf_iommu_map(struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t size, int prot)
{
#ifdef VFIO_DMABUF_IOMMU_MAP_HAS_GFP
	return iommu_map(domain, iova, paddr, size, prot, GFP_KERNEL_ACCOUNT);
#else
	return iommu_map(domain, iova, paddr, size, prot);
#endif
}

/* Is @phys inside a swiotlb bounce buffer of @dev? */
static bool vfio_dmabuf_phys_is_bounce(struct device *dev, phys_addr_t phys)
{
#ifdef VFIO_DMABUF_HAS_SWIOTLB_FIND_POOL
	/*
	 * With CONFIG_SWIOTLB_DYNAMIC swiotlb_find_pool() needs a helper that
	 * is not exported; vfio_dmabuf_dev_usable() already refuses devices
	 * that are forced to bounce, and a 64-bit mask never needs to.
	 */
	if (IS_ENABLED(CONFIG_SWIOTLB_DYNAMIC))
		return false;
	return swiotlb_find_pool(dev, phys);
#else
	return is_swiotlb_buffer(dev, phys);
#endif
}

/* ---- the importer device ---- */

/*
 * The physical addresses can only be learnt from the DMA addresses if the
 * importer device uses dma-direct without bouncing.
 */
static bool vfio_dmabuf_dev_usable(struct device *dev)
{
	if (get_dma_ops(dev)) {
		pr_warn_ratelimited("importer device has DMA ops (%ps): cannot learn physical addresses of dma-bufs\n",
				    get_dma_ops(dev));
		return false;
	}
	if (is_swiotlb_force_bounce(dev)) {
		pr_warn_ratelimited("importer device is forced to bounce through swiotlb: cannot map dma-bufs\n");
		return false;
	}
	return true;
}

/*
 * Translate a piece of the exporter's sg_table into a CPU physical address.
 * For dma-direct this is dma_to_phys(); check that the whole piece
 * round-trips so that an address produced any other way is refused.
 */
static int vfio_dmabuf_dma_to_phys(dma_addr_t addr, u64 len,
				   phys_addr_t *physp)
{
	struct device *dev = vfio_dmabuf_dev;
	phys_addr_t phys;

	if (addr == DMA_MAPPING_ERROR || addr + len - 1 < addr)
		goto bad;

	phys = dma_to_phys(dev, addr);
	if (phys_to_dma(dev, phys) != addr ||
	    phys_to_dma(dev, phys + len - 1) != addr + len - 1)
		goto bad;

	if (vfio_dmabuf_phys_is_bounce(dev, phys)) {
		pr_warn_ratelimited("exporter's mapping was bounced through swiotlb: refusing it\n");
		return -EOPNOTSUPP;
	}

	*physp = phys;
	return 0;

bad:
	pr_warn_ratelimited("exporter returned DMA address %pad (+%#llx) that is not a CPU physical address: refusing it\n",
			    &addr, len);
	return -ENXIO;
}

/* ---- mapping into and out of IOMMU domains, vfio_dmabuf.lock held ---- */

static int vfio_dmabuf_map_domain(struct vfio_dmabuf *db,
				  struct iommu_domain *domain)
{
	struct vfio_dmabuf_domain *vd;
	dma_addr_t iova = db->iova;
	unsigned int i;
	int ret;

	lockdep_assert_held(&db->lock);

	vd = kzalloc(sizeof(*vd), GFP_KERNEL_ACCOUNT);
	if (!vd)
		return -ENOMEM;

	for (i = 0; i < db->nr_runs; i++) {
		const struct vfio_dmabuf_run *run = &db->runs[i];

		/* iommu_map() picks the largest page sizes the run allows */
		ret = vfio_dmabuf_iommu_map(domain, iova, run->phys, run->len,
					    db->prot | IOMMU_CACHE);
		if (ret) {
			if (iova != db->iova)
				iommu_unmap(domain, db->iova, iova - db->iova);
			kfree(vd);
			return ret;
		}
		iova += run->len;
		cond_resched();
	}

	vd->domain = domain;
	list_add_tail(&vd->node, &db->domains);
	return 0;
}

static void vfio_dmabuf_unmap_one(struct vfio_dmabuf *db,
				  struct vfio_dmabuf_domain *vd)
{
	size_t unmapped;

	lockdep_assert_held(&db->lock);

	/* iommu_unmap() syncs the IOTLB before it returns */
	unmapped = iommu_unmap(vd->domain, db->iova, db->size);
	WARN_ON_ONCE(unmapped != db->size);
	list_del(&vd->node);
	kfree(vd);
}

static void vfio_dmabuf_unmap_all(struct vfio_dmabuf *db)
{
	struct vfio_dmabuf_domain *vd, *tmp;

	list_for_each_entry_safe(vd, tmp, &db->domains, node)
		vfio_dmabuf_unmap_one(db, vd);
}

/* ---- the dma-buf importer ---- */

/*
 * The exporter takes its buffer away (forced revocation, or a move when it
 * could not be pinned).  Called with the dma_resv held: must not take
 * iommu->lock (see the lock order at the top of this file).
 */
static void vfio_dmabuf_move_notify(struct dma_buf_attachment *attach)
{
	struct vfio_dmabuf *db = attach->importer_priv;
	bool report;
	dma_addr_t iova;

	dma_resv_assert_held(attach->dmabuf->resv);

	mutex_lock(&db->lock);
	report = db->inserted && !db->revoked;
	iova = db->iova;
	vfio_dmabuf_unmap_all(db);
	db->revoked = true;
	mutex_unlock(&db->lock);

	/* No IOMMU maps the memory any more: hand it back. */
	if (db->sgt) {
		dma_buf_unmap_attachment(attach, db->sgt, DMA_BIDIRECTIONAL);
		db->sgt = NULL;
	}

	if (report)
		pr_warn_ratelimited("dma-buf mapping at IOVA %pad (size %#zx) revoked by its exporter; device access now faults until it is unmapped\n",
				    &iova, db->size);
}

static const struct dma_buf_attach_ops vfio_dmabuf_attach_ops = {
	/*
	 * We never touch struct pages, so memory without them (e.g. a PCI
	 * BAR) is fine, as it is for type1's VM_PFNMAP mappings.  Exporters
	 * still decide whether they can reach vfio_dmabuf_dev.
	 */
	.allow_peer2peer = true,
	.move_notify = vfio_dmabuf_move_notify,
};

/*
 * Turn the part of the sg_table covering [offset, offset + size) into
 * physically contiguous, page aligned runs.  dma_resv held.
 */
static int vfio_dmabuf_build_runs(struct vfio_dmabuf *db,
				  struct sg_table *sgt)
{
	u64 start = db->offset, end = db->offset + db->size, pos = 0;
	struct vfio_dmabuf_run *runs, *run = NULL;
	struct scatterlist *sg;
	unsigned int i, n = 0;
	int ret;

	runs = kvcalloc(max(sgt->nents, 1U), sizeof(*runs), GFP_KERNEL_ACCOUNT);
	if (!runs)
		return -ENOMEM;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		u64 seg_start = pos, seg_len = sg_dma_len(sg);
		u64 s, e;
		phys_addr_t phys;

		pos += seg_len;
		if (pos <= start)
			continue;
		if (seg_start >= end)
			break;

		s = max(seg_start, start);
		e = min(pos, end);
		ret = vfio_dmabuf_dma_to_phys(sg_dma_address(sg) +
					      (s - seg_start), e - s, &phys);
		if (ret)
			goto err;

		if (run && run->phys + run->len == phys) {
			run->len += e - s;
			continue;
		}
		run = &runs[n++];
		run->phys = phys;
		run->len = e - s;
	}

	if (pos < end) {
		pr_warn_ratelimited("exporter's sg_table covers %#llx bytes, less than the %#llx requested\n",
				    pos, end);
		ret = -ENXIO;
		goto err;
	}

	for (i = 0; i < n; i++) {
		if (!PAGE_ALIGNED(runs[i].phys) || !PAGE_ALIGNED(runs[i].len)) {
			pr_warn_ratelimited("exporter's memory is not page aligned (%pa + %#zx)\n",
					    &runs[i].phys, runs[i].len);
			ret = -ENXIO;
			goto err;
		}
	}

	db->runs = runs;
	db->nr_runs = n;
	return 0;

err:
	kvfree(runs);
	return ret;
}

/*
 * Attach, pin and map the dma-buf.  Called without iommu->lock.  On
 * success the vfio_dmabuf owns the caller's reference on @dmabuf.
 */
static struct vfio_dmabuf *vfio_dmabuf_create(struct dma_buf *dmabuf,
					      u64 offset, size_t size,
					      int prot)
{
	struct dma_buf_attachment *attach;
	struct vfio_dmabuf *db;
	struct sg_table *sgt;
	bool revoked;
	long tmo;
	int ret;

	if (!vfio_dmabuf_dev_usable(vfio_dmabuf_dev))
		return ERR_PTR(-EOPNOTSUPP);

	db = kzalloc(sizeof(*db), GFP_KERNEL_ACCOUNT);
	if (!db)
		return ERR_PTR(-ENOMEM);
	mutex_init(&db->lock);
	INIT_LIST_HEAD(&db->domains);
	db->dmabuf = dmabuf;
	db->offset = offset;
	db->size = size;
	db->prot = prot;

	/* move_notify may run as soon as this attaches: db is ready for it */
	attach = dma_buf_dynamic_attach(dmabuf, vfio_dmabuf_dev,
					&vfio_dmabuf_attach_ops, db);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		goto err_free;
	}
	db->attach = attach;

	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (ret)
		goto err_detach;

	/* Also tells lockdep early that db->lock nests inside the dma_resv. */
	mutex_lock(&db->lock);
	revoked = db->revoked;
	mutex_unlock(&db->lock);
	if (revoked) {
		ret = -ENODEV;
		goto err_unlock;
	}

	/*
	 * Pin for the life of the mapping, so that the exporter only takes
	 * the memory away by revoking it.  An exporter that cannot pin (it
	 * says -EOPNOTSUPP) can still be mapped: each move then revokes.
	 */
	ret = dma_buf_pin(attach);
	if (!ret)
		db->pinned = true;
	else if (ret != -EOPNOTSUPP)
		goto err_unlock;

	sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto err_unpin;
	}
	db->sgt = sgt;

	/* The memory is only ready once a pending move (a fence) is done. */
	tmo = dma_resv_wait_timeout(dmabuf->resv, DMA_RESV_USAGE_KERNEL, true,
				    MAX_SCHEDULE_TIMEOUT);
	if (tmo < 0) {
		ret = tmo;
		goto err_unmap;
	}

	ret = vfio_dmabuf_build_runs(db, sgt);
	if (ret)
		goto err_unmap;

	dma_resv_unlock(dmabuf->resv);
	return db;

err_unmap:
	dma_buf_unmap_attachment(attach, sgt, DMA_BIDIRECTIONAL);
	db->sgt = NULL;
err_unpin:
	if (db->pinned)
		dma_buf_unpin(attach);
err_unlock:
	dma_resv_unlock(dmabuf->resv);
err_detach:
	dma_buf_detach(dmabuf, attach);
err_free:
	mutex_destroy(&db->lock);
	kfree(db);
	return ERR_PTR(ret);
}

/*
 * Unmap from every IOMMU domain, then give everything back to the exporter
 * and drop our dma-buf reference.  Called from vfio_remove_dma() with
 * iommu->lock held (or at container release), and on a failed map.
 */
void vfio_dmabuf_destroy(struct vfio_dmabuf *db)
{
	struct dma_buf *dmabuf = db->dmabuf;

	dma_resv_lock(dmabuf->resv, NULL);

	mutex_lock(&db->lock);
	vfio_dmabuf_unmap_all(db);
	/* from here on a move_notify has nothing to do and nothing to report */
	db->inserted = false;
	db->revoked = true;
	mutex_unlock(&db->lock);

	if (db->sgt) {
		dma_buf_unmap_attachment(db->attach, db->sgt,
					 DMA_BIDIRECTIONAL);
		db->sgt = NULL;
	}
	if (db->pinned) {
		dma_buf_unpin(db->attach);
		db->pinned = false;
	}
	dma_resv_unlock(dmabuf->resv);

	/* After this no move_notify can reach db any more. */
	dma_buf_detach(dmabuf, db->attach);
	dma_buf_put(dmabuf);

	kvfree(db->runs);
	mutex_destroy(&db->lock);
	kfree(db);
}

/*
 * Make @db a vfio_dma of @iommu at @iova and map it into every IOMMU
 * domain.  Same checks, in the same order and with the same errnos, as
 * vfio_dma_do_map().
 */
static int vfio_dmabuf_insert(struct vfio_iommu *iommu, struct vfio_dmabuf *db,
			      dma_addr_t iova)
{
	struct vfio_domain *d;
	struct vfio_dma *dma;
	size_t pgsize;
	unsigned int i;
	int ret;

	mutex_lock(&iommu->lock);

	pgsize = (size_t)1 << __ffs(iommu->pgsize_bitmap);
	if ((db->size | iova | db->offset) & (pgsize - 1)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	for (i = 0; i < db->nr_runs; i++) {
		if ((db->runs[i].phys | db->runs[i].len) & (pgsize - 1)) {
			pr_warn_ratelimited("exporter's memory is not aligned to the IOMMU page size %#zx\n",
					    pgsize);
			ret = -ENXIO;
			goto out_unlock;
		}
	}

	if (vfio_find_dma(iommu, iova, db->size)) {
		ret = -EEXIST;
		goto out_unlock;
	}

	if (!iommu->dma_avail) {
		ret = -ENOSPC;
		goto out_unlock;
	}

	if (!vfio_iommu_iova_dma_valid(iommu, iova, iova + db->size - 1)) {
		ret = -EINVAL;
		goto out_unlock;
	}

	dma = kzalloc(sizeof(*dma), GFP_KERNEL_ACCOUNT);
	if (!dma) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	/* no task, mm or vaddr: nothing here is user memory */
	dma->iova = iova;
	dma->size = db->size;
	dma->prot = db->prot;
	dma->pfn_list = RB_ROOT;
	dma->dmabuf = db;

	if (iommu->dirty_page_tracking) {
		ret = vfio_dma_bitmap_alloc(dma, pgsize);
		if (ret)
			goto out_free;
	}

	mutex_lock(&db->lock);
	if (db->revoked) {
		ret = -ENODEV;
		goto out_unlock_db;
	}
	db->iova = iova;
	list_for_each_entry(d, &iommu->domain_list, next) {
		ret = vfio_dmabuf_map_domain(db, d->domain);
		if (ret) {
			vfio_dmabuf_unmap_all(db);
			goto out_unlock_db;
		}
	}
	db->inserted = true;
	mutex_unlock(&db->lock);

	vfio_link_dma(iommu, dma);
	iommu->dma_avail--;
	mutex_unlock(&iommu->lock);
	return 0;

out_unlock_db:
	mutex_unlock(&db->lock);
	kvfree(dma->bitmap);	/* as vfio_dma_bitmap_free() */
out_free:
	kfree(dma);
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}

long vfio_iommu_type1_map_dmabuf(struct vfio_iommu *iommu, unsigned long arg)
{
	struct vfio_iommu_type1_dma_map_dmabuf map;
	u32 mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	unsigned long minsz;
	struct dma_buf *dmabuf;
	struct vfio_dmabuf *db;
	int prot = 0;
	int ret;

	minsz = offsetofend(struct vfio_iommu_type1_dma_map_dmabuf, size);

	if (copy_from_user(&map, (void __user *)arg, minsz))
		return -EFAULT;

	if (map.argsz < minsz || map.flags & ~mask || map.__reserved)
		return -EINVAL;

	/* READ/WRITE from device perspective */
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (!prot)
		return -EINVAL;

	/*
	 * Size, overflow and CPU page alignment; the (possibly larger) IOMMU
	 * page size is checked under iommu->lock like vfio_dma_do_map() does.
	 * The end of the range must be representable: type1's lookups
	 * (vfio_find_dma() and friends) compute iova + size, so a range
	 * ending exactly at 2^64 could never be found again to be unmapped,
	 * queried or checked for overlap.
	 */
	if (!map.size || (size_t)map.size != map.size ||
	    (dma_addr_t)map.iova != map.iova ||
	    map.iova + map.size <= map.iova ||
	    map.offset + map.size <= map.offset ||
	    ((map.offset | map.iova | map.size) & ~PAGE_MASK))
		return -EINVAL;

	dmabuf = dma_buf_get(map.fd);	/* -EBADF, or -EINVAL: not a dma-buf */
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	if (map.offset + map.size > dmabuf->size) {
		ret = -EINVAL;
		goto out_put;
	}

	/* The device may only do what the fd allows */
	if (((prot & IOMMU_WRITE) && !(dmabuf->file->f_mode & FMODE_WRITE)) ||
	    ((prot & IOMMU_READ) && !(dmabuf->file->f_mode & FMODE_READ))) {
		ret = -EACCES;
		goto out_put;
	}

	db = vfio_dmabuf_create(dmabuf, map.offset, map.size, prot);
	if (IS_ERR(db)) {
		ret = PTR_ERR(db);
		goto out_put;
	}

	ret = vfio_dmabuf_insert(iommu, db, map.iova);
	if (ret)
		vfio_dmabuf_destroy(db);	/* drops the dma-buf too */
	return ret;

out_put:
	dma_buf_put(dmabuf);
	return ret;
}

long vfio_iommu_type1_dmabuf_get_state(struct vfio_iommu *iommu,
				       unsigned long arg)
{
	struct vfio_iommu_type1_dmabuf_state st;
	unsigned long minsz;
	struct vfio_dma *dma;
	int ret = 0;

	minsz = offsetofend(struct vfio_iommu_type1_dmabuf_state, __reserved);

	if (copy_from_user(&st, (void __user *)arg, minsz))
		return -EFAULT;

	if (st.argsz < minsz || st.flags)
		return -EINVAL;

	mutex_lock(&iommu->lock);
	dma = vfio_find_dma(iommu, st.iova, 1);
	if (!dma) {
		ret = -ENOENT;
	} else if (!dma->dmabuf || dma->iova != st.iova) {
		ret = -EINVAL;
	} else {
		struct vfio_dmabuf *db = dma->dmabuf;

		mutex_lock(&db->lock);
		st.state = db->revoked ? VFIO_DMABUF_STATE_REVOKED :
					 VFIO_DMABUF_STATE_MAPPED;
		mutex_unlock(&db->lock);
		st.size = dma->size;
		st.__reserved = 0;
	}
	mutex_unlock(&iommu->lock);

	if (ret)
		return ret;

	return copy_to_user((void __user *)arg, &st, minsz) ? -EFAULT : 0;
}

/* ---- hooks for the type1 core, iommu->lock held ---- */

int vfio_dmabuf_replay(struct vfio_iommu *iommu, struct iommu_domain *domain)
{
	unsigned int mapped = 0, revoked = 0;
	struct rb_node *n;
	int ret = 0;

	lockdep_assert_held(&iommu->lock);

	for (n = rb_first(&iommu->dma_list); n; n = rb_next(n)) {
		struct vfio_dma *dma = rb_entry(n, struct vfio_dma, node);
		struct vfio_dmabuf *db = dma->dmabuf;

		if (!db)
			continue;

		/*
		 * Tracking @domain under db->lock before it is on
		 * iommu->domain_list means that a revoke from now on finds
		 * and unmaps it.
		 */
		mutex_lock(&db->lock);
		if (db->revoked) {
			revoked++;
		} else {
			ret = vfio_dmabuf_map_domain(db, domain);
			if (!ret)
				mapped++;
		}
		mutex_unlock(&db->lock);

		if (ret) {
			vfio_dmabuf_unmap_domain(iommu, domain);
			return ret;
		}
	}

	if (mapped || revoked)
		pr_info("replayed %u dma-buf mapping(s) into a new IOMMU domain (%u revoked, skipped)\n",
			mapped, revoked);
	return 0;
}

void vfio_dmabuf_unmap_domain(struct vfio_iommu *iommu,
			      struct iommu_domain *domain)
{
	struct rb_node *n;

	for (n = rb_first(&iommu->dma_list); n; n = rb_next(n)) {
		struct vfio_dma *dma = rb_entry(n, struct vfio_dma, node);
		struct vfio_dmabuf *db = dma->dmabuf;
		struct vfio_dmabuf_domain *vd, *tmp;

		if (!db)
			continue;

		mutex_lock(&db->lock);
		list_for_each_entry_safe(vd, tmp, &db->domains, node) {
			if (vd->domain == domain)
				vfio_dmabuf_unmap_one(db, vd);
		}
		mutex_unlock(&db->lock);
	}
}

bool vfio_dmabuf_test_force_new_domain(void)
{
	if (!READ_ONCE(dmabuf_test_force_new_domain))
		return false;

	pr_info("dmabuf_test_force_new_domain: not reusing a compatible IOMMU domain\n");
	return true;
}

/* ---- module init/exit ---- */

int vfio_dmabuf_init(void)
{
	struct device *dev;
	int ret;

	dev = root_device_register("vfio_iommu_type1_dmabuf");
	if (IS_ERR(dev))
		return PTR_ERR(dev);

	dev->dma_parms = &vfio_dmabuf_dma_parms;
	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret) {
		root_device_unregister(dev);
		return ret;
	}

#if defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_DEVICE) || \
	defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_CPU) || \
	defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_CPU_ALL)
	/*
	 * type1 maps everything with IOMMU_CACHE, i.e. it treats the devices
	 * behind the IOMMU as cache coherent and never does cache maintenance
	 * for them; the importer device standing for them must agree, or
	 * dma-direct would clean/invalidate caches on every map and unmap.
	 */
	dev->dma_coherent = true;
#endif

	vfio_dmabuf_dev = dev;
	return 0;
}

void vfio_dmabuf_exit(void)
{
	root_device_unregister(vfio_dmabuf_dev);
	vfio_dmabuf_dev = NULL;
}
