// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO type1: map dma-bufs into the IOVA space of a container
 * (VFIO_IOMMU_MAP_DMABUF, see include/uapi/linux/vfio_dmabuf.h).
 *
 * A dma-buf mapping (a "window": one MAP_DMABUF range) is a struct vfio_dma
 * in type1's rbtree whose ->dmabuf points to a struct vfio_dmabuf.  It
 * therefore shares type1's IOVA space, overlap checks, entry limit and
 * VFIO_IOMMU_UNMAP_DMA; the type1 core calls into this file wherever it
 * would touch the pages behind a vfio_dma.
 *
 * Every window of one dma-buf in one container shares one struct
 * vfio_dmabuf_import: one attachment, pinned and mapped by the exporter
 * once, however many windows (or overlapping windows) of the buffer the
 * user maps.  Each window only slices the import's table of physically
 * contiguous runs.  One attachment per window would make the exporter map
 * the whole buffer again for every window (65535 times when the entry
 * limit is filled from one buffer), and the DMA API rightly complains
 * about the same memory mapped over and over for one device
 * (DMA_API_DEBUG: "cacheline tracking EEXIST").
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
 * physically contiguous runs of a window are not page aligned.
 *
 * Locking
 * -------
 * Lock order: iommu->lock -> dma_resv of the dma-buf -> import->lock.
 *
 * The kernel already orders mmap_lock -> dma_resv (dma_resv_lockdep()) and
 * type1 takes iommu->lock -> mmap_lock when it pins user memory, so
 * iommu->lock may be held while taking a dma_resv lock, but the exporter's
 * move_notify callback, which runs with the dma_resv held, must never take
 * iommu->lock.  That callback therefore cannot walk type1's domain list;
 * instead every window tracks the IOMMU domains it is currently mapped into
 * (->domains), and every import its windows, under the import's mutex:
 *
 *  - iommu->lock protects iommu->dmabuf_imports, import->node, ->in_tree
 *    and ->users.  MAP_DMABUF runs entirely under it, as vfio_dma_do_map()
 *    pins user memory under it: the exporter's attach, pin and map happen
 *    under it too, at most once per dma-buf and container.
 *  - import->lock protects ->revoked, ->windows, and each window's ->iova,
 *    ->node and ->domains.  Adding a domain to a window (map, replay)
 *    happens under iommu->lock + import->lock; removing one under
 *    import->lock, plus either iommu->lock (unmap, domain teardown) or the
 *    dma_resv (revoke).  type1 never frees an IOMMU domain that is still on
 *    some ->domains list: the core calls vfio_dmabuf_unmap_domain() first.
 *    So whoever holds import->lock may use every domain on those lists.
 *  - The dma_resv protects import->sgt and ->pinned (the exporter's state).
 *  - import->dmabuf, ->attach, ->runs, ->nr_runs, ->mapped_len and
 *    ->iommu, and a window's ->import, ->offset, ->size and ->prot, are
 *    written before the object is reachable and never change until it is
 *    freed.  ->runs is only meaningful while the import is not revoked,
 *    which is why mapping a run is always done under import->lock after
 *    checking ->revoked.
 *
 * Lifetime
 * --------
 * An import owns a dma-buf reference, a dynamic attachment, a pin (if the
 * exporter can pin) and, until revoked, a mapping of the attachment.  It
 * lives as long as one of its windows does (->users).  A window lives
 * exactly as long as its vfio_dma: vfio_remove_dma() calls
 * vfio_dmabuf_destroy(), which unmaps the window from every IOMMU domain
 * before its import may hand anything back to the exporter.
 * VFIO_IOMMU_UNMAP_DMA, detaching the last group and releasing the
 * container (which is what closing the fd or a kill -9 does) all go
 * through vfio_remove_dma().
 *
 * Revocation: the exporter calls dma_buf_move_notify() with the dma_resv
 * held.  We unmap every window of the import from every tracked domain
 * (iommu_unmap() flushes the IOTLB before returning, so the device faults
 * from then on), give the sg_table back and mark the import revoked.  The
 * windows' vfio_dmas stay in the rbtree, keeping their IOVA ranges
 * reserved, until the user unmaps them; replay skips them.  The revoked
 * import leaves the container's tree at the next MAP_DMABUF of the same
 * dma-buf, which attaches afresh (the exporter may have the memory back),
 * and is freed with its last window.  We pin where the exporter can pin, so
 * an exporter only moves our buffer by revoking it (like vfio-pci's
 * exporter on device reset); with CONFIG_DMABUF_MOVE_NOTIFY=n the dma-buf
 * core pins dynamic exporters on map anyway, but a forced
 * dma_buf_move_notify() is still honoured.
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

/* A physically contiguous piece of the dma-buf, in dma-buf offset order. */
struct vfio_dmabuf_run {
	u64			offset;		/* into the dma-buf */
	phys_addr_t		phys;
	u64			len;
};

/*
 * The container's import of one dma-buf, shared by all its windows.  See
 * "Locking" and "Lifetime" at the top of this file.
 */
struct vfio_dmabuf_import {
	/* Under iommu->lock */
	struct rb_node			node;		/* iommu->dmabuf_imports */
	bool				in_tree;
	unsigned int			users;		/* windows */

	/* Set up by vfio_dmabuf_import_create(), then constant */
	struct vfio_iommu		*iommu;
	struct dma_buf			*dmabuf;	/* our reference */
	struct dma_buf_attachment	*attach;
	struct vfio_dmabuf_run		*runs;
	unsigned int			nr_runs;
	u64				mapped_len;	/* what the runs cover */

	/* Protected by dmabuf->resv */
	struct sg_table			*sgt;		/* NULL once revoked */
	bool				pinned;

	/* Lock order: iommu->lock -> dmabuf->resv -> lock */
	struct mutex			lock;
	bool				revoked;
	struct list_head		windows;	/* vfio_dmabuf.node */
};

/* An IOMMU domain a window is currently mapped into. */
struct vfio_dmabuf_domain {
	struct list_head	node;
	struct iommu_domain	*domain;
};

/* A window: one VFIO_IOMMU_MAP_DMABUF range, the ->dmabuf of a vfio_dma. */
struct vfio_dmabuf {
	/* Set up by vfio_dmabuf_window_create(), then constant */
	struct vfio_dmabuf_import	*import;	/* holds a ->users */
	u64				offset;		/* into the dma-buf */
	size_t				size;
	int				prot;		/* IOMMU_READ/WRITE */

	/* Under import->lock */
	dma_addr_t			iova;
	struct list_head		node;		/* import->windows */
	struct list_head		domains;	/* vfio_dmabuf_domain */
};

/* Walks the physically contiguous slices of a window, in IOVA order. */
struct vfio_dmabuf_slices {
	const struct vfio_dmabuf_run	*run;
	u64				pos, end;	/* dma-buf offsets */
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

/* ---- the runs of an import and the slices of a window ---- */

/*
 * The sg_table in dma-buf order as physically contiguous runs.  Built once
 * per import, dma_resv held, so that a window never walks the sg_table.
 */
static int vfio_dmabuf_build_runs(struct vfio_dmabuf_import *imp,
				  struct sg_table *sgt)
{
	struct vfio_dmabuf_run *runs, *run = NULL;
	struct scatterlist *sg;
	unsigned int i, n = 0;
	u64 pos = 0;
	int ret;

	runs = kvcalloc(max(sgt->nents, 1U), sizeof(*runs), GFP_KERNEL_ACCOUNT);
	if (!runs)
		return -ENOMEM;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		u64 len = sg_dma_len(sg);
		phys_addr_t phys;

		if (!len)
			continue;
		ret = vfio_dmabuf_dma_to_phys(sg_dma_address(sg), len, &phys);
		if (ret)
			goto err;

		if (run && run->phys + run->len == phys) {
			run->len += len;
		} else {
			run = &runs[n++];
			run->offset = pos;
			run->phys = phys;
			run->len = len;
		}
		pos += len;
		if (pos >= imp->dmabuf->size)
			break;
	}

	imp->runs = runs;
	imp->nr_runs = n;
	imp->mapped_len = pos;
	return 0;

err:
	kvfree(runs);
	return ret;
}

static void vfio_dmabuf_slices_init(struct vfio_dmabuf_slices *it,
				    const struct vfio_dmabuf *w)
{
	const struct vfio_dmabuf_import *imp = w->import;
	unsigned int lo = 0, hi = imp->nr_runs;

	/* the last run starting at or before w->offset; runs have no gaps */
	while (hi - lo > 1) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (imp->runs[mid].offset <= w->offset)
			lo = mid;
		else
			hi = mid;
	}
	it->run = &imp->runs[lo];
	it->pos = w->offset;
	it->end = w->offset + w->size;
}

/*
 * The next physically contiguous slice of the window, or false at its end.
 * Only called for windows within ->mapped_len (vfio_dmabuf_window_create()).
 */
static bool vfio_dmabuf_slices_next(struct vfio_dmabuf_slices *it,
				    phys_addr_t *phys, size_t *len)
{
	const struct vfio_dmabuf_run *run = it->run;
	u64 n;

	if (it->pos >= it->end)
		return false;
	n = min(run->offset + run->len, it->end) - it->pos;
	*phys = run->phys + (it->pos - run->offset);
	*len = n;
	it->pos += n;
	it->run++;		/* a slice always ends a run or the window */
	return true;
}

/* Are all slices of @w aligned to @align (a power of two)? */
static bool vfio_dmabuf_window_aligned(const struct vfio_dmabuf *w,
				       u64 align, phys_addr_t *badp,
				       size_t *badlenp)
{
	struct vfio_dmabuf_slices it;
	phys_addr_t phys;
	size_t len;

	vfio_dmabuf_slices_init(&it, w);
	while (vfio_dmabuf_slices_next(&it, &phys, &len)) {
		if ((phys | len) & (align - 1)) {
			*badp = phys;
			*badlenp = len;
			return false;
		}
	}
	return true;
}

/* ---- mapping windows into and out of IOMMU domains, import->lock held ---- */

static int vfio_dmabuf_map_domain(struct vfio_dmabuf *w,
				  struct iommu_domain *domain)
{
	struct vfio_dmabuf_domain *vd;
	struct vfio_dmabuf_slices it;
	dma_addr_t iova = w->iova;
	phys_addr_t phys;
	size_t len;
	int ret;

	lockdep_assert_held(&w->import->lock);

	vd = kzalloc(sizeof(*vd), GFP_KERNEL_ACCOUNT);
	if (!vd)
		return -ENOMEM;

	vfio_dmabuf_slices_init(&it, w);
	while (vfio_dmabuf_slices_next(&it, &phys, &len)) {
		/* iommu_map() picks the largest page sizes the slice allows */
		ret = vfio_dmabuf_iommu_map(domain, iova, phys, len,
					    w->prot | IOMMU_CACHE);
		if (ret) {
			if (iova != w->iova)
				iommu_unmap(domain, w->iova, iova - w->iova);
			kfree(vd);
			return ret;
		}
		iova += len;
		cond_resched();
	}

	vd->domain = domain;
	list_add_tail(&vd->node, &w->domains);
	return 0;
}

static void vfio_dmabuf_unmap_one(struct vfio_dmabuf *w,
				  struct vfio_dmabuf_domain *vd)
{
	size_t unmapped;

	lockdep_assert_held(&w->import->lock);

	/* iommu_unmap() syncs the IOTLB before it returns */
	unmapped = iommu_unmap(vd->domain, w->iova, w->size);
	WARN_ON_ONCE(unmapped != w->size);
	list_del(&vd->node);
	kfree(vd);
}

static void vfio_dmabuf_unmap_all(struct vfio_dmabuf *w)
{
	struct vfio_dmabuf_domain *vd, *tmp;

	list_for_each_entry_safe(vd, tmp, &w->domains, node)
		vfio_dmabuf_unmap_one(w, vd);
}

/* ---- the dma-buf importer ---- */

/*
 * The exporter takes its buffer away (forced revocation, or a move when it
 * could not be pinned).  Called with the dma_resv held: must not take
 * iommu->lock (see the lock order at the top of this file).
 */
static void vfio_dmabuf_move_notify(struct dma_buf_attachment *attach)
{
	struct vfio_dmabuf_import *imp = attach->importer_priv;
	struct vfio_dmabuf *w;

	dma_resv_assert_held(attach->dmabuf->resv);

	mutex_lock(&imp->lock);
	list_for_each_entry(w, &imp->windows, node) {
		if (!imp->revoked)
			pr_warn_ratelimited("dma-buf mapping at IOVA %pad (size %#zx) revoked by its exporter; device access now faults until it is unmapped\n",
					    &w->iova, w->size);
		vfio_dmabuf_unmap_all(w);
	}
	imp->revoked = true;
	mutex_unlock(&imp->lock);

	/* No IOMMU maps the memory any more: hand it back. */
	if (imp->sgt) {
		dma_buf_unmap_attachment(attach, imp->sgt, DMA_BIDIRECTIONAL);
		imp->sgt = NULL;
	}
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
 * Attach, pin and map the dma-buf.  iommu->lock held.  On success the
 * import owns the caller's reference on @dmabuf and has one user.
 */
static struct vfio_dmabuf_import *
vfio_dmabuf_import_create(struct vfio_iommu *iommu, struct dma_buf *dmabuf)
{
	struct dma_buf_attachment *attach;
	struct vfio_dmabuf_import *imp;
	struct sg_table *sgt;
	bool revoked;
	long tmo;
	int ret;

	lockdep_assert_held(&iommu->lock);

	if (!vfio_dmabuf_dev_usable(vfio_dmabuf_dev))
		return ERR_PTR(-EOPNOTSUPP);

	imp = kzalloc(sizeof(*imp), GFP_KERNEL_ACCOUNT);
	if (!imp)
		return ERR_PTR(-ENOMEM);
	mutex_init(&imp->lock);
	INIT_LIST_HEAD(&imp->windows);
	imp->iommu = iommu;
	imp->dmabuf = dmabuf;
	imp->users = 1;

	/* move_notify may run as soon as this attaches: imp is ready for it */
	attach = dma_buf_dynamic_attach(dmabuf, vfio_dmabuf_dev,
					&vfio_dmabuf_attach_ops, imp);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		goto err_free;
	}
	imp->attach = attach;

	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (ret)
		goto err_detach;

	/* Also tells lockdep early that imp->lock nests inside the dma_resv. */
	mutex_lock(&imp->lock);
	revoked = imp->revoked;
	mutex_unlock(&imp->lock);
	if (revoked) {
		ret = -ENODEV;
		goto err_unlock;
	}

	/*
	 * Pin for the life of the import, so that the exporter only takes
	 * the memory away by revoking it.  An exporter that cannot pin (it
	 * says -EOPNOTSUPP) can still be mapped: each move then revokes.
	 */
	ret = dma_buf_pin(attach);
	if (!ret)
		imp->pinned = true;
	else if (ret != -EOPNOTSUPP)
		goto err_unlock;

	sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto err_unpin;
	}
	imp->sgt = sgt;

	/* The memory is only ready once a pending move (a fence) is done. */
	tmo = dma_resv_wait_timeout(dmabuf->resv, DMA_RESV_USAGE_KERNEL, true,
				    MAX_SCHEDULE_TIMEOUT);
	if (tmo < 0) {
		ret = tmo;
		goto err_unmap;
	}

	ret = vfio_dmabuf_build_runs(imp, sgt);
	if (ret)
		goto err_unmap;

	dma_resv_unlock(dmabuf->resv);
	return imp;

err_unmap:
	dma_buf_unmap_attachment(attach, sgt, DMA_BIDIRECTIONAL);
	imp->sgt = NULL;
err_unpin:
	if (imp->pinned)
		dma_buf_unpin(attach);
err_unlock:
	dma_resv_unlock(dmabuf->resv);
err_detach:
	dma_buf_detach(dmabuf, attach);
err_free:
	mutex_destroy(&imp->lock);
	kfree(imp);
	return ERR_PTR(ret);
}

static int vfio_dmabuf_import_cmp(const void *key, const struct rb_node *node)
{
	const struct dma_buf *dmabuf = key;
	const struct dma_buf *other =
		rb_entry(node, struct vfio_dmabuf_import, node)->dmabuf;

	if (dmabuf == other)
		return 0;
	return (unsigned long)dmabuf < (unsigned long)other ? -1 : 1;
}

static bool vfio_dmabuf_import_less(struct rb_node *a, const struct rb_node *b)
{
	return vfio_dmabuf_import_cmp(rb_entry(a, struct vfio_dmabuf_import,
					       node)->dmabuf, b) < 0;
}

/*
 * The container's live import of @dmabuf with one more user, made if there
 * is none.  Consumes the caller's reference on @dmabuf.  iommu->lock held.
 */
static struct vfio_dmabuf_import *
vfio_dmabuf_import_get(struct vfio_iommu *iommu, struct dma_buf *dmabuf)
{
	struct vfio_dmabuf_import *imp;
	struct rb_node *node;
	bool revoked;

	lockdep_assert_held(&iommu->lock);

	node = rb_find(dmabuf, &iommu->dmabuf_imports, vfio_dmabuf_import_cmp);
	if (node) {
		imp = rb_entry(node, struct vfio_dmabuf_import, node);
		mutex_lock(&imp->lock);
		revoked = imp->revoked;
		mutex_unlock(&imp->lock);
		if (!revoked) {
			imp->users++;
			dma_buf_put(dmabuf);	/* the import has one */
			return imp;
		}
		/*
		 * Revoked for good: its windows keep it until they are
		 * unmapped, new windows get a fresh attachment.
		 */
		rb_erase(&imp->node, &iommu->dmabuf_imports);
		imp->in_tree = false;
	}

	imp = vfio_dmabuf_import_create(iommu, dmabuf);
	if (IS_ERR(imp)) {
		dma_buf_put(dmabuf);
		return imp;
	}
	rb_add(&imp->node, &iommu->dmabuf_imports, vfio_dmabuf_import_less);
	imp->in_tree = true;
	return imp;
}

/*
 * Drop a user; the last one gives everything back to the exporter and
 * drops our dma-buf reference.  iommu->lock held (or container release).
 */
static void vfio_dmabuf_import_put(struct vfio_dmabuf_import *imp)
{
	struct dma_buf *dmabuf = imp->dmabuf;

	if (--imp->users)
		return;

	if (imp->in_tree)
		rb_erase(&imp->node, &imp->iommu->dmabuf_imports);

	dma_resv_lock(dmabuf->resv, NULL);

	mutex_lock(&imp->lock);
	WARN_ON_ONCE(!list_empty(&imp->windows));
	/* from here on a move_notify has nothing to do and nothing to report */
	imp->revoked = true;
	mutex_unlock(&imp->lock);

	if (imp->sgt) {
		dma_buf_unmap_attachment(imp->attach, imp->sgt,
					 DMA_BIDIRECTIONAL);
		imp->sgt = NULL;
	}
	if (imp->pinned) {
		dma_buf_unpin(imp->attach);
		imp->pinned = false;
	}
	dma_resv_unlock(dmabuf->resv);

	/* After this no move_notify can reach imp any more. */
	dma_buf_detach(dmabuf, imp->attach);
	dma_buf_put(dmabuf);

	kvfree(imp->runs);
	mutex_destroy(&imp->lock);
	kfree(imp);
}

/*
 * A window of @imp, not yet in any IOMMU domain.  Takes over the caller's
 * user of @imp, also on failure.  iommu->lock held.
 */
static struct vfio_dmabuf *
vfio_dmabuf_window_create(struct vfio_dmabuf_import *imp, u64 offset,
			  size_t size, int prot)
{
	struct vfio_dmabuf *w;
	phys_addr_t bad;
	size_t badlen;
	int ret;

	if (offset + size > imp->mapped_len) {
		pr_warn_ratelimited("exporter's sg_table covers %#llx bytes, less than the %#llx requested\n",
				    imp->mapped_len, offset + size);
		ret = -ENXIO;
		goto err;
	}

	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w) {
		ret = -ENOMEM;
		goto err;
	}
	w->import = imp;
	w->offset = offset;
	w->size = size;
	w->prot = prot;
	INIT_LIST_HEAD(&w->node);
	INIT_LIST_HEAD(&w->domains);

	if (!vfio_dmabuf_window_aligned(w, PAGE_SIZE, &bad, &badlen)) {
		pr_warn_ratelimited("exporter's memory is not page aligned (%pa + %#zx)\n",
				    &bad, badlen);
		kfree(w);
		ret = -ENXIO;
		goto err;
	}
	return w;

err:
	vfio_dmabuf_import_put(imp);
	return ERR_PTR(ret);
}

/*
 * Unmap a window from every IOMMU domain, then drop its import.  Called
 * from vfio_remove_dma() with iommu->lock held (or at container release),
 * and on a failed map.
 */
void vfio_dmabuf_destroy(struct vfio_dmabuf *w)
{
	struct vfio_dmabuf_import *imp = w->import;

	mutex_lock(&imp->lock);
	vfio_dmabuf_unmap_all(w);
	list_del(&w->node);	/* a no-op if never inserted */
	mutex_unlock(&imp->lock);

	kfree(w);
	vfio_dmabuf_import_put(imp);
}

/*
 * Make window @w a vfio_dma of @iommu at @iova and map it into every IOMMU
 * domain.  Same checks, in the same order and with the same errnos, as
 * vfio_dma_do_map().  iommu->lock held.
 */
static int vfio_dmabuf_insert(struct vfio_iommu *iommu, struct vfio_dmabuf *w,
			      dma_addr_t iova)
{
	struct vfio_dmabuf_import *imp = w->import;
	struct vfio_domain *d;
	struct vfio_dma *dma;
	phys_addr_t bad;
	size_t pgsize, badlen;
	int ret;

	lockdep_assert_held(&iommu->lock);

	pgsize = (size_t)1 << __ffs(iommu->pgsize_bitmap);
	if ((w->size | iova | w->offset) & (pgsize - 1))
		return -EINVAL;
	if (!vfio_dmabuf_window_aligned(w, pgsize, &bad, &badlen)) {
		pr_warn_ratelimited("exporter's memory (%pa + %#zx) is not aligned to the IOMMU page size %#zx\n",
				    &bad, badlen, pgsize);
		return -ENXIO;
	}

	if (vfio_find_dma(iommu, iova, w->size))
		return -EEXIST;

	if (!iommu->dma_avail)
		return -ENOSPC;

	if (!vfio_iommu_iova_dma_valid(iommu, iova, iova + w->size - 1))
		return -EINVAL;

	dma = kzalloc(sizeof(*dma), GFP_KERNEL_ACCOUNT);
	if (!dma)
		return -ENOMEM;
	/* no task, mm or vaddr: nothing here is user memory */
	dma->iova = iova;
	dma->size = w->size;
	dma->prot = w->prot;
	dma->pfn_list = RB_ROOT;
	dma->dmabuf = w;

	if (iommu->dirty_page_tracking) {
		ret = vfio_dma_bitmap_alloc(dma, pgsize);
		if (ret)
			goto out_free;
	}

	mutex_lock(&imp->lock);
	if (imp->revoked) {
		ret = -ENODEV;
		goto out_unlock;
	}
	w->iova = iova;
	list_for_each_entry(d, &iommu->domain_list, next) {
		ret = vfio_dmabuf_map_domain(w, d->domain);
		if (ret) {
			vfio_dmabuf_unmap_all(w);
			goto out_unlock;
		}
	}
	list_add_tail(&w->node, &imp->windows);
	mutex_unlock(&imp->lock);

	vfio_link_dma(iommu, dma);
	iommu->dma_avail--;
	return 0;

out_unlock:
	mutex_unlock(&imp->lock);
	kvfree(dma->bitmap);	/* as vfio_dma_bitmap_free() */
out_free:
	kfree(dma);
	return ret;
}

long vfio_iommu_type1_map_dmabuf(struct vfio_iommu *iommu, unsigned long arg)
{
	struct vfio_iommu_type1_dma_map_dmabuf map;
	u32 mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	struct vfio_dmabuf_import *imp;
	unsigned long minsz;
	struct dma_buf *dmabuf;
	struct vfio_dmabuf *w;
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

	mutex_lock(&iommu->lock);

	imp = vfio_dmabuf_import_get(iommu, dmabuf);	/* consumes dmabuf */
	if (IS_ERR(imp)) {
		ret = PTR_ERR(imp);
		goto out_unlock;
	}

	w = vfio_dmabuf_window_create(imp, map.offset, map.size, prot);
	if (IS_ERR(w)) {
		ret = PTR_ERR(w);
		goto out_unlock;
	}

	ret = vfio_dmabuf_insert(iommu, w, map.iova);
	if (ret)
		vfio_dmabuf_destroy(w);		/* drops the import too */

out_unlock:
	mutex_unlock(&iommu->lock);
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
		struct vfio_dmabuf_import *imp = dma->dmabuf->import;

		mutex_lock(&imp->lock);
		st.state = imp->revoked ? VFIO_DMABUF_STATE_REVOKED :
					  VFIO_DMABUF_STATE_MAPPED;
		mutex_unlock(&imp->lock);
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
		struct vfio_dmabuf *w = dma->dmabuf;

		if (!w)
			continue;

		/*
		 * Tracking @domain under import->lock before it is on
		 * iommu->domain_list means that a revoke from now on finds
		 * and unmaps it.
		 */
		mutex_lock(&w->import->lock);
		if (w->import->revoked) {
			revoked++;
		} else {
			ret = vfio_dmabuf_map_domain(w, domain);
			if (!ret)
				mapped++;
		}
		mutex_unlock(&w->import->lock);

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
		struct vfio_dmabuf *w = dma->dmabuf;
		struct vfio_dmabuf_domain *vd, *tmp;

		if (!w)
			continue;

		mutex_lock(&w->import->lock);
		list_for_each_entry_safe(vd, tmp, &w->domains, node) {
			if (vd->domain == domain)
				vfio_dmabuf_unmap_one(w, vd);
		}
		mutex_unlock(&w->import->lock);
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
