// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO type1: the dma-buf importer behind VFIO_IOMMU_MAP_DMABUF.
 *
 * Every window (one MAP_DMABUF range) of one dma-buf in one container
 * shares one struct vfio_dmabuf_import: one attachment, pinned and mapped
 * by the exporter once, however many windows of the buffer the user maps.
 * Each window only slices the import's table of physically contiguous
 * runs.  One attachment per window would make the exporter map the whole
 * buffer again for every window (65535 times when the entry limit is
 * filled from one buffer), and the DMA API rightly complains about the same
 * memory mapped over and over for one device.
 *
 * Where the addresses come from
 * -----------------------------
 * The dma-buf is attached to vfio_dmabuf_dev, a device this module creates
 * that stands for the IOMMU's untranslated view of memory: no IOMMU of its
 * own, no dma_map_ops (dma-direct), a 64-bit DMA mask and coherent.  The
 * exporter maps the buffer for that device, and dma-direct's DMA address of
 * a page is its physical address (dma_to_phys(), which also strips memory
 * encryption bits), which is exactly what iommu_map() wants.  A peer-to-peer
 * exporter (device memory) maps its BAR with dma_map_resource(), which
 * dma-direct also answers with the physical address.  sg_page() is never
 * used: exporters need not have struct pages and CONFIG_DMABUF_DEBUG
 * scrambles them.  We refuse to map (-EOPNOTSUPP) when the device would not
 * be dma-direct or would bounce through swiotlb, and (-ENXIO) when an
 * address does not survive a dma_to_phys()/phys_to_dma() round trip.  Runs
 * without struct pages (or reserved ones) are device memory: they are
 * mapped with IOMMU_MMIO and not charged as locked memory.
 *
 * Creating an import, and what a move means
 * -----------------------------------------
 * vfio_dmabuf_import_create() runs with no container lock held: attach,
 * then under the dma_resv pin, map and wait (interruptibly, for at most
 * VFIO_DMABUF_FENCE_TIMEOUT_MS) for the DMA_RESV_USAGE_KERNEL fences, then
 * charge the pinned memory.  A refused request never gets here: the
 * container checks everything it can first.
 *
 * While the import is being created (->creating), a move_notify is a
 * migration, not a revocation.  amdgpu and xe pin a dma-buf into system
 * memory: a buffer in VRAM is migrated inside dma_buf_pin(), whose
 * migration calls dma_buf_move_notify() on every attachment, ours
 * included, on this very thread and with our dma_resv held.  Nothing is
 * mapped yet, so we map the buffer where it ended up, and the wait for
 * the KERNEL fences makes sure its copy is done before any device sees it.
 *
 * Once created, a move_notify revokes.  A pinned buffer does not move
 * (dma_buf_pin()'s contract), so a notify for it means that the exporter
 * is taking the memory away (vfio-pci on reset, a driver on device
 * removal): mainline's revoke semantics, which iommufd implements the same
 * way.  An exporter that cannot pin (it says -EOPNOTSUPP; the dma-buf core
 * only allows that with CONFIG_DMABUF_MOVE_NOTIFY) really moves the
 * buffer, and re-mapping it behind the user's back would mean a window in
 * which the device's accesses fault and are lost, unseen: devices behind
 * type1 cannot take page faults.  We revoke instead and tell the user (the
 * revoke eventfd), who can map the buffer again.  docs/design.md has the
 * alternatives.
 *
 * Revoking, with the dma_resv held: unmap every window from every IOMMU
 * domain (one IOTLB flush per domain), give the sg_table back, mark the
 * import revoked, and queue ->release_work, which unpins, detaches, drops
 * our dma-buf reference and the charge at once.  It cannot be done in the
 * callback itself: detaching takes the dma_resv, and the exporter may be
 * walking the attachment list.  The windows stay in type1's rbtree,
 * keeping their IOVA ranges reserved, until the user unmaps them.
 *
 * Locking
 * -------
 * Lock order: iommu->lock -> dma_resv of the dma-buf -> import->lock.
 *
 * The kernel orders mmap_lock -> dma_resv (dma_resv_lockdep()) and type1
 * takes iommu->lock -> mmap_lock, so iommu->lock may be held while taking
 * a dma_resv lock, but the exporter's move_notify, which runs with the
 * dma_resv held, must never take iommu->lock, and nothing may take the
 * mmap_lock (account_locked_vm()) under a dma_resv.  The callback
 * therefore cannot walk type1's domain list: every import tracks the
 * domains its windows are mapped into (->domains), under import->lock:
 *
 *  - import->lock protects ->revoked, ->windows, ->domains.  Windows are
 *    added under iommu->lock + import->lock; a domain is added (replay) or
 *    removed (domain teardown) under iommu->lock + import->lock, and all of
 *    them are removed by a revoke under the dma_resv + import->lock.  type1
 *    never frees an IOMMU domain that is still on some ->domains list: the
 *    core calls vfio_dmabuf_unmap_domain() first.  So whoever holds
 *    import->lock may use every domain on the list.
 *  - Invariant: every window of a live import is mapped into exactly the
 *    domains on ->domains; a revoked import has none.
 *  - The dma_resv protects ->sgt, ->pinned and ->creating (the
 *    exporter's side).
 *  - ->runs, ->nr_runs, ->mapped_len, ->key and ->iommu are written before
 *    the import is visible and never change until it is freed.  ->dmabuf,
 *    ->attach, ->mm and ->locked_pages are written by creation and cleared
 *    by the one release (the revoke worker or the last put, which never
 *    run at the same time: the worker holds a reference).
 *
 * Lifetime
 * --------
 * An import is reference counted (->ref): each window holds one, the ioctl
 * that creates or looks it up holds one while it works, and a queued
 * ->release_work holds one (a revoke queues it only for an import with
 * windows; without any, the last reference, about to go, releases it).
 * Freeing a window waits for a queued release, so that the exporter has
 * its buffer back when the unmap returns.  The exporter's resources (attachment, pin,
 * sg_table, dma-buf reference, locked-memory charge) are given back once:
 * by the revoke worker, or else when the last reference goes.  After
 * dma_buf_detach() no move_notify can reach the import.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/iommu.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/swiotlb.h>

#include "vfio_iommu_type1_priv.h"
#include "vfio_iommu_type1_dmabuf_import.h"

#ifdef VFIO_DMABUF_NS_IS_STRING
MODULE_IMPORT_NS("DMA_BUF");
#else
MODULE_IMPORT_NS(DMA_BUF);
#endif

/* How long MAP_DMABUF waits for an exporter to finish moving the buffer. */
#define VFIO_DMABUF_FENCE_TIMEOUT_MS	10000

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

/* Releases of revoked imports (->release_work); drained at module exit. */
static struct workqueue_struct *vfio_dmabuf_wq;

/* Walks the physically contiguous slices of a window, in IOVA order. */
struct vfio_dmabuf_slices {
	const struct vfio_dmabuf_run	*run;
	u64				pos, end;	/* dma-buf offsets */
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

	*physp = phys;
	return 0;

bad:
	pr_warn_ratelimited("exporter returned DMA address %pad (+%#llx) that is not a CPU physical address: refusing it\n",
			    &addr, len);
	return -ENXIO;
}

/*
 * Device memory: no struct page, or a reserved one (what type1 treats as
 * a VM_PFNMAP mapping and never accounts).
 */
static bool vfio_dmabuf_phys_is_mmio(phys_addr_t phys)
{
	unsigned long pfn = PHYS_PFN(phys);

	if (!pfn_valid(pfn))
		return true;
	return PageReserved(pfn_to_page(pfn));
}

/*
 * What holds for a whole run, checked once per run rather than per
 * sg_table entry (importing 256 MiB of 4 KiB udmabuf entries spent more
 * time here than in the exporter's own map): it is not in a swiotlb
 * bounce buffer, and it is device memory or system memory from its first
 * page to its last.  A physically contiguous range that begins in RAM and
 * ends in MMIO is refused rather than guessed at.
 */
static int vfio_dmabuf_check_run(struct vfio_dmabuf_run *run)
{
	phys_addr_t last = run->phys + run->len - 1;

	if (vfio_dmabuf_phys_is_bounce(vfio_dmabuf_dev, run->phys) ||
	    vfio_dmabuf_phys_is_bounce(vfio_dmabuf_dev, last)) {
		pr_warn_ratelimited("exporter's mapping was bounced through swiotlb: refusing it\n");
		return -EOPNOTSUPP;
	}
	run->mmio = vfio_dmabuf_phys_is_mmio(run->phys);
	if (vfio_dmabuf_phys_is_mmio(last) != run->mmio) {
		pr_warn_ratelimited("exporter's memory %pa + %#llx is part system memory, part device memory: refusing it\n",
				    &run->phys, run->len);
		return -ENXIO;
	}
	return 0;
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

	/* every run is written in full: no need to zero the array */
	runs = kvmalloc_array(max(sgt->nents, 1U), sizeof(*runs),
			      GFP_KERNEL_ACCOUNT);
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
			if (run) {
				ret = vfio_dmabuf_check_run(run);
				if (ret)
					goto err;
			}
			run = &runs[n++];
			run->offset = pos;
			run->phys = phys;
			run->len = len;
		}
		pos += len;
		if (pos >= imp->dmabuf->size)
			break;
	}
	if (run) {
		ret = vfio_dmabuf_check_run(run);
		if (ret)
			goto err;
	}

	/*
	 * The runs live as long as the import, and a table of one entry per
	 * page (udmabuf: 65536 for 256 MiB) may hold a few thousand runs:
	 * keep only what is used.  Without memory for the copy, the larger
	 * array serves as well.
	 */
	if (n < sgt->nents / 2) {
		struct vfio_dmabuf_run *fit;

		fit = kvmalloc_array(max(n, 1U), sizeof(*fit),
				     GFP_KERNEL_ACCOUNT);
		if (fit) {
			memcpy(fit, runs, n * sizeof(*fit));
			kvfree(runs);
			runs = fit;
		}
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
 * The next physically contiguous slice of the window (and the run it is
 * in), or false at its end.  Only called for windows within ->mapped_len
 * (vfio_dmabuf_window_create()).
 */
static bool vfio_dmabuf_slices_next(struct vfio_dmabuf_slices *it,
				    phys_addr_t *phys, size_t *len,
				    const struct vfio_dmabuf_run **runp)
{
	const struct vfio_dmabuf_run *run = it->run;
	u64 n;

	if (it->pos >= it->end)
		return false;
	n = min(run->offset + run->len, it->end) - it->pos;
	*phys = run->phys + (it->pos - run->offset);
	*len = n;
	*runp = run;
	it->pos += n;
	it->run++;		/* a slice always ends a run or the window */
	return true;
}

bool vfio_dmabuf_window_aligned(const struct vfio_dmabuf *w, u64 align,
				phys_addr_t *badp, size_t *badlenp)
{
	const struct vfio_dmabuf_run *run;
	struct vfio_dmabuf_slices it;
	phys_addr_t phys;
	size_t len;

	vfio_dmabuf_slices_init(&it, w);
	while (vfio_dmabuf_slices_next(&it, &phys, &len, &run)) {
		if ((phys | len) & (align - 1)) {
			*badp = phys;
			*badlenp = len;
			return false;
		}
	}
	return true;
}

unsigned int vfio_dmabuf_window_slices(const struct vfio_dmabuf *w)
{
	const struct vfio_dmabuf_run *run;
	struct vfio_dmabuf_slices it;
	unsigned int n = 0;
	phys_addr_t phys;
	size_t len;

	vfio_dmabuf_slices_init(&it, w);
	while (vfio_dmabuf_slices_next(&it, &phys, &len, &run))
		n++;
	return n;
}

/* ---- windows in IOMMU domains, import->lock held ---- */

int vfio_dmabuf_map_window(struct vfio_dmabuf *w, struct iommu_domain *domain)
{
	const struct vfio_dmabuf_run *run;
	struct vfio_dmabuf_slices it;
	dma_addr_t iova = w->iova;
	phys_addr_t phys;
	size_t len;
	int ret;

	lockdep_assert_held(&w->import->lock);

	vfio_dmabuf_slices_init(&it, w);
	while (vfio_dmabuf_slices_next(&it, &phys, &len, &run)) {
		/*
		 * iommu_map() picks the largest page sizes the slice allows.
		 * Device memory gets IOMMU_MMIO (uncached, no snooping), like
		 * any MMIO; system memory is coherent, as type1 maps it.
		 */
		ret = vfio_dmabuf_iommu_map(domain, iova, phys, len,
					    w->prot | (run->mmio ? IOMMU_MMIO :
								   IOMMU_CACHE));
		if (ret) {
			if (iova != w->iova)
				iommu_unmap(domain, w->iova, iova - w->iova);
			return ret;
		}
		iova += len;
		cond_resched();
	}
	return 0;
}

/* Unmap @w from @domain; the caller syncs @gather's IOTLB range. */
static void vfio_dmabuf_unmap_window(struct vfio_dmabuf *w,
				     struct iommu_domain *domain,
				     struct iommu_iotlb_gather *gather)
{
	size_t unmapped;

	unmapped = iommu_unmap_fast(domain, w->iova, w->size, gather);
	WARN_ON_ONCE(unmapped != w->size);
}

/*
 * Unmap every window of @imp from @vd's domain with one IOTLB flush, and
 * forget the domain.  After this no device reaches the windows through it.
 */
static void vfio_dmabuf_unmap_import_domain(struct vfio_dmabuf_import *imp,
					    struct vfio_dmabuf_domain *vd)
{
	struct iommu_iotlb_gather gather;
	struct vfio_dmabuf *w;

	lockdep_assert_held(&imp->lock);

	iommu_iotlb_gather_init(&gather);
	list_for_each_entry(w, &imp->windows, node) {
		vfio_dmabuf_unmap_window(w, vd->domain, &gather);
		cond_resched();
	}
	iommu_iotlb_sync(vd->domain, &gather);
	list_del(&vd->node);
	kfree(vd);
}

static struct vfio_dmabuf_domain *
vfio_dmabuf_find_domain(struct vfio_dmabuf_import *imp,
			struct iommu_domain *domain)
{
	struct vfio_dmabuf_domain *vd;

	list_for_each_entry(vd, &imp->domains, node)
		if (vd->domain == domain)
			return vd;
	return NULL;
}

int vfio_dmabuf_window_insert(struct vfio_dmabuf *w, dma_addr_t iova,
			      struct list_head *domains)
{
	struct vfio_dmabuf_import *imp = w->import;
	struct vfio_dmabuf_domain *vd, *tmp;
	struct vfio_domain *d;
	LIST_HEAD(added);
	int ret = 0;

	mutex_lock(&imp->lock);
	if (imp->revoked) {
		ret = -ENODEV;
		goto out;
	}
	w->iova = iova;

	/*
	 * Every window is mapped into every domain of the container.  The
	 * import's other windows already are (the invariant): the first
	 * window brings the container's domains to the import.
	 */
	if (!list_empty(&imp->windows)) {
		list_for_each_entry(vd, &imp->domains, node) {
			ret = vfio_dmabuf_map_window(w, vd->domain);
			if (ret)
				goto unwind_import_domains;
		}
		goto add;
	}
	list_for_each_entry(d, domains, next) {
		vd = kzalloc(sizeof(*vd), GFP_KERNEL_ACCOUNT);
		if (!vd) {
			ret = -ENOMEM;
			goto unwind_new_domains;
		}
		ret = vfio_dmabuf_map_window(w, d->domain);
		if (ret) {
			kfree(vd);
			goto unwind_new_domains;
		}
		vd->domain = d->domain;
		list_add_tail(&vd->node, &added);
	}
	list_splice_tail(&added, &imp->domains);
add:
	list_add_tail(&w->node, &imp->windows);
	goto out;

unwind_import_domains:
	list_for_each_entry_continue_reverse(vd, &imp->domains, node)
		iommu_unmap(vd->domain, w->iova, w->size);
	goto out;
unwind_new_domains:
	list_for_each_entry_safe(vd, tmp, &added, node) {
		iommu_unmap(vd->domain, w->iova, w->size);
		kfree(vd);
	}
out:
	mutex_unlock(&imp->lock);
	return ret;
}

bool vfio_dmabuf_window_remove(struct vfio_dmabuf *w,
			       struct vfio_dmabuf_batch *batch)
{
	struct vfio_dmabuf_import *imp = w->import;
	struct vfio_dmabuf_domain *vd, *tmp;
	struct iommu_iotlb_gather gather, *g;
	bool others;

	mutex_lock(&imp->lock);
	/* A revoked import has no domains left: nothing to unmap. */
	list_for_each_entry(vd, &imp->domains, node) {
		g = batch ? vfio_dmabuf_batch_gather(batch, vd->domain) : NULL;
		if (g) {
			vfio_dmabuf_unmap_window(w, vd->domain, g);
			continue;
		}
		iommu_iotlb_gather_init(&gather);
		vfio_dmabuf_unmap_window(w, vd->domain, &gather);
		iommu_iotlb_sync(vd->domain, &gather);
	}
	list_del_init(&w->node);
	/* No window left: the import is in no domain any more. */
	others = !list_empty(&imp->windows);
	if (!others) {
		list_for_each_entry_safe(vd, tmp, &imp->domains, node) {
			list_del(&vd->node);
			kfree(vd);
		}
	}
	mutex_unlock(&imp->lock);
	return others;
}

bool vfio_dmabuf_window_mapped(struct vfio_dmabuf *w)
{
	struct vfio_dmabuf_import *imp = w->import;
	bool mapped;

	mutex_lock(&imp->lock);
	mapped = !imp->revoked && !list_empty(&imp->domains);
	mutex_unlock(&imp->lock);
	return mapped;
}

int vfio_dmabuf_import_map_domain(struct vfio_dmabuf_import *imp,
				  struct iommu_domain *domain)
{
	struct vfio_dmabuf_domain *vd;
	struct vfio_dmabuf *w;
	int ret = 0;

	mutex_lock(&imp->lock);
	if (imp->revoked || list_empty(&imp->windows))
		goto out;

	vd = kzalloc(sizeof(*vd), GFP_KERNEL_ACCOUNT);
	if (!vd) {
		ret = -ENOMEM;
		goto out;
	}
	list_for_each_entry(w, &imp->windows, node) {
		ret = vfio_dmabuf_map_window(w, domain);
		if (ret) {
			list_for_each_entry_continue_reverse(w, &imp->windows, node)
				iommu_unmap(domain, w->iova, w->size);
			kfree(vd);
			goto out;
		}
	}
	/*
	 * Tracked under import->lock before the domain is on
	 * iommu->domain_list: a revoke from now on finds and unmaps it.
	 */
	vd->domain = domain;
	list_add_tail(&vd->node, &imp->domains);
out:
	mutex_unlock(&imp->lock);
	return ret;
}

void vfio_dmabuf_import_unmap_domain(struct vfio_dmabuf_import *imp,
				     struct iommu_domain *domain)
{
	struct vfio_dmabuf_domain *vd;

	mutex_lock(&imp->lock);
	vd = vfio_dmabuf_find_domain(imp, domain);
	if (vd)
		vfio_dmabuf_unmap_import_domain(imp, vd);
	mutex_unlock(&imp->lock);
}

/* ---- the dma-buf importer ---- */

/* Charge the memory the import keeps in place to the caller's mm. */
static int vfio_dmabuf_charge(struct vfio_dmabuf_import *imp,
			      unsigned long npages)
{
	struct mm_struct *mm = current->mm;
	int ret;

	if (!npages || !mm)
		return 0;
	ret = account_locked_vm(mm, npages, true);
	if (ret) {
		pr_warn_ratelimited("%s (%d): mapping %lu pages of a dma-buf exceeds RLIMIT_MEMLOCK (%lu bytes)\n",
				    current->comm, task_pid_nr(current), npages,
				    rlimit(RLIMIT_MEMLOCK));
		return ret;
	}
	mmgrab(mm);
	imp->mm = mm;
	imp->locked_pages = npages;
	return 0;
}

static void vfio_dmabuf_uncharge(struct vfio_dmabuf_import *imp)
{
	struct mm_struct *mm = imp->mm;

	if (!mm)
		return;
	/* An mm that is gone has no locked_vm left to give back. */
	if (mmget_not_zero(mm)) {
		account_locked_vm(mm, imp->locked_pages, false);
		mmput(mm);
	}
	mmdrop(mm);
	imp->mm = NULL;
}

/*
 * Pages the import keeps in place: the system memory of a pinned import
 * or of a static exporter's mapping (an unpinned dynamic exporter may move
 * or reclaim its buffer whenever it revokes us).  Device memory is not
 * memory of this machine's and is never charged.  dma_resv held.
 */
static unsigned long vfio_dmabuf_pages_to_charge(struct vfio_dmabuf_import *imp)
{
	unsigned long npages = 0;
	unsigned int i;

	if (!imp->pinned && dma_buf_is_dynamic(imp->dmabuf))
		return 0;
	for (i = 0; i < imp->nr_runs; i++)
		if (!imp->runs[i].mmio)
			npages += DIV_ROUND_UP(imp->runs[i].len, PAGE_SIZE);
	return npages;
}

/*
 * Give the exporter everything back: the import is revoked from now on
 * and no move_notify reaches it after dma_buf_detach().  Called once, by
 * the revoke worker or by the last put; a no-op after the first time.
 */
static void vfio_dmabuf_import_release(struct vfio_dmabuf_import *imp)
{
	struct dma_buf *dmabuf = imp->dmabuf;

	if (!dmabuf)
		return;

	dma_resv_lock(dmabuf->resv, NULL);
	mutex_lock(&imp->lock);
	WARN_ON_ONCE(!list_empty(&imp->domains));
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

	dma_buf_detach(dmabuf, imp->attach);
	imp->attach = NULL;
	imp->dmabuf = NULL;
	dma_buf_put(dmabuf);
	/* outside the dma_resv: the charge takes the mmap_lock */
	vfio_dmabuf_uncharge(imp);
}

static void vfio_dmabuf_release_work(struct work_struct *work)
{
	struct vfio_dmabuf_import *imp =
		container_of(work, struct vfio_dmabuf_import, release_work);

	vfio_dmabuf_import_release(imp);
	vfio_dmabuf_import_put(imp);
}

/*
 * The exporter moves its buffer or takes it away: see "Creating an import,
 * and what a move means" above.  Called with the dma_resv held: must not
 * take iommu->lock (see the lock order at the top of this file).
 */
static void vfio_dmabuf_move_notify(struct dma_buf_attachment *attach)
{
	struct vfio_dmabuf_import *imp = attach->importer_priv;
	struct vfio_dmabuf_domain *vd, *tmp;
	bool had_windows;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (imp->creating) {
		/* A migration (in our own pin, say): map where it lands. */
		if (imp->sgt) {
			dma_buf_unmap_attachment(attach, imp->sgt,
						 DMA_BIDIRECTIONAL);
			imp->sgt = NULL;
		}
		return;
	}

	mutex_lock(&imp->lock);
	if (imp->revoked) {
		/* revoked already, or being released */
		mutex_unlock(&imp->lock);
		return;
	}
	had_windows = !list_empty(&imp->windows);
	list_for_each_entry_safe(vd, tmp, &imp->domains, node)
		vfio_dmabuf_unmap_import_domain(imp, vd);
	imp->revoked = true;
	if (had_windows) {
		/*
		 * The container is alive while the import has windows:
		 * releasing it removes them, under import->lock.
		 */
		pr_warn_ratelimited("a dma-buf mapped in a container was revoked by its exporter; device access to its IOVA ranges faults until they are unmapped\n");
		vfio_dmabuf_revoked(imp->iommu);
		/*
		 * The windows keep the import until the user unmaps them:
		 * the pin, the attachment and our dma-buf reference go now,
		 * from a worker (it starts with taking this dma_resv, so it
		 * runs after us), queued before a window can go, since
		 * freeing a window waits for it.  The windows' references
		 * make this one safe to take.
		 */
		kref_get(&imp->ref);
		queue_work(vfio_dmabuf_wq, &imp->release_work);
	}
	/*
	 * Without windows, whoever drops the last reference gives everything
	 * back, soon: an unmap that just took the last window, or the map
	 * that is making this import (which fails with -ENODEV now).  That
	 * reference may even be gone already, the release waiting for this
	 * dma_resv: it then finds the import revoked and the mapping gone.
	 */
	mutex_unlock(&imp->lock);

	/* No IOMMU maps the memory any more: give the mapping back now. */
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

struct vfio_dmabuf_import *vfio_dmabuf_import_create(struct vfio_iommu *iommu,
						     struct dma_buf *dmabuf)
{
	struct dma_buf_attachment *attach;
	struct vfio_dmabuf_import *imp;
	unsigned long npages;
	struct sg_table *sgt;
	long tmo;
	int ret;

	if (!vfio_dmabuf_dev_usable(vfio_dmabuf_dev))
		return ERR_PTR(-EOPNOTSUPP);

	imp = kzalloc(sizeof(*imp), GFP_KERNEL_ACCOUNT);
	if (!imp)
		return ERR_PTR(-ENOMEM);
	mutex_init(&imp->lock);
	INIT_LIST_HEAD(&imp->windows);
	INIT_LIST_HEAD(&imp->domains);
	kref_init(&imp->ref);
	INIT_WORK(&imp->release_work, vfio_dmabuf_release_work);
	imp->iommu = iommu;
	imp->key = dmabuf;
	imp->creating = true;
	get_dma_buf(dmabuf);
	imp->dmabuf = dmabuf;

	/* move_notify may run as soon as this attaches: imp is ready for it */
	attach = dma_buf_dynamic_attach(dmabuf, vfio_dmabuf_dev,
					&vfio_dmabuf_attach_ops, imp);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		goto err_put;
	}
	imp->attach = attach;

	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (ret)
		goto err_detach;

	/* Also tells lockdep early that imp->lock nests inside the dma_resv. */
	mutex_lock(&imp->lock);
	mutex_unlock(&imp->lock);

	/*
	 * Pin for the life of the import.  This may migrate the buffer and
	 * call our move_notify right here (->creating).  An exporter that
	 * cannot pin can still be mapped: each move then revokes.
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

	/*
	 * The memory is only ready once a pending move is done: exporters
	 * pipeline their moves and put a KERNEL fence in the dma_resv for
	 * them, and dma-buf leaves the wait to dynamic importers.
	 */
	tmo = dma_resv_wait_timeout(dmabuf->resv, DMA_RESV_USAGE_KERNEL, true,
				    msecs_to_jiffies(VFIO_DMABUF_FENCE_TIMEOUT_MS));
	if (tmo <= 0) {
		ret = tmo ?: -ETIMEDOUT;
		if (!tmo)
			pr_warn_ratelimited("the exporter did not finish moving a dma-buf within %u ms\n",
					    VFIO_DMABUF_FENCE_TIMEOUT_MS);
		goto err_unmap;
	}
	if (!imp->sgt) {
		/* moved after the mapping was made (defensive: not seen) */
		ret = -EAGAIN;
		goto err_unpin;
	}

	ret = vfio_dmabuf_build_runs(imp, sgt);
	if (ret)
		goto err_unmap;
	npages = vfio_dmabuf_pages_to_charge(imp);
	imp->creating = false;
	dma_resv_unlock(dmabuf->resv);

	/* not under the dma_resv: account_locked_vm() takes the mmap_lock */
	ret = vfio_dmabuf_charge(imp, npages);
	if (ret) {
		vfio_dmabuf_import_put(imp);
		return ERR_PTR(ret);
	}
	return imp;

err_unmap:
	if (imp->sgt) {
		dma_buf_unmap_attachment(attach, imp->sgt, DMA_BIDIRECTIONAL);
		imp->sgt = NULL;
	}
err_unpin:
	if (imp->pinned) {
		dma_buf_unpin(attach);
		imp->pinned = false;
	}
err_unlock:
	dma_resv_unlock(dmabuf->resv);
err_detach:
	dma_buf_detach(dmabuf, attach);
err_put:
	dma_buf_put(dmabuf);
	mutex_destroy(&imp->lock);
	kfree(imp);
	return ERR_PTR(ret);
}

void vfio_dmabuf_import_get(struct vfio_dmabuf_import *imp)
{
	kref_get(&imp->ref);
}

static void vfio_dmabuf_import_free(struct kref *ref)
{
	struct vfio_dmabuf_import *imp =
		container_of(ref, struct vfio_dmabuf_import, ref);

	WARN_ON_ONCE(!list_empty(&imp->windows) || imp->in_tree);
	vfio_dmabuf_import_release(imp);
	kvfree(imp->runs);
	mutex_destroy(&imp->lock);
	kfree(imp);
}

void vfio_dmabuf_import_put(struct vfio_dmabuf_import *imp)
{
	kref_put(&imp->ref, vfio_dmabuf_import_free);
}

bool vfio_dmabuf_import_revoked(struct vfio_dmabuf_import *imp)
{
	bool revoked;

	mutex_lock(&imp->lock);
	revoked = imp->revoked;
	mutex_unlock(&imp->lock);
	return revoked;
}

struct vfio_dmabuf *vfio_dmabuf_window_create(struct vfio_dmabuf_import *imp,
					      u64 offset, size_t size,
					      int prot)
{
	struct vfio_dmabuf *w;
	phys_addr_t bad;
	size_t badlen;

	if (offset + size > imp->mapped_len) {
		pr_warn_ratelimited("exporter's sg_table covers %#llx bytes, less than the %#llx requested\n",
				    imp->mapped_len, offset + size);
		return ERR_PTR(-ENXIO);
	}

	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return ERR_PTR(-ENOMEM);
	w->import = imp;
	w->offset = offset;
	w->size = size;
	w->prot = prot;
	INIT_LIST_HEAD(&w->node);

	if (!vfio_dmabuf_window_aligned(w, PAGE_SIZE, &bad, &badlen)) {
		pr_warn_ratelimited("exporter's memory is not page aligned (%pa + %#zx)\n",
				    &bad, badlen);
		kfree(w);
		return ERR_PTR(-ENXIO);
	}
	vfio_dmabuf_import_get(imp);
	return w;
}

void vfio_dmabuf_window_free(struct vfio_dmabuf *w)
{
	struct vfio_dmabuf_import *imp = w->import;

	WARN_ON_ONCE(!list_empty(&w->node));
	kfree(w);
	/*
	 * A revoke's release may still be queued: wait for it, so that the
	 * exporter has its buffer back when VFIO_IOMMU_UNMAP_DMA returns.
	 * It takes no container lock.
	 */
	flush_work(&imp->release_work);
	vfio_dmabuf_import_put(imp);
}

/* ---- module init/exit ---- */

int vfio_dmabuf_importer_init(void)
{
	struct device *dev;
	int ret;

	vfio_dmabuf_wq = alloc_workqueue("vfio_dmabuf", WQ_UNBOUND, 0);
	if (!vfio_dmabuf_wq)
		return -ENOMEM;

	dev = root_device_register("vfio_iommu_type1_dmabuf");
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto err_wq;
	}

	dev->dma_parms = &vfio_dmabuf_dma_parms;
	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_dev;

#if defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_DEVICE) || \
	defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_CPU) || \
	defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_CPU_ALL)
	/*
	 * type1 maps system memory with IOMMU_CACHE, i.e. it treats the
	 * devices behind the IOMMU as cache coherent and never does cache
	 * maintenance for them; the importer device standing for them must
	 * agree, or dma-direct would clean/invalidate caches on every map
	 * and unmap.
	 */
	dev->dma_coherent = true;
#endif

	vfio_dmabuf_dev = dev;
	return 0;

err_dev:
	root_device_unregister(dev);
err_wq:
	destroy_workqueue(vfio_dmabuf_wq);
	return ret;
}

void vfio_dmabuf_importer_exit(void)
{
	/* Containers are gone; releases of revoked imports may still run. */
	destroy_workqueue(vfio_dmabuf_wq);
	root_device_unregister(vfio_dmabuf_dev);
	vfio_dmabuf_dev = NULL;
}
