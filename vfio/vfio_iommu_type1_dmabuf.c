// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO type1: map dma-bufs into the IOVA space of a container
 * (VFIO_IOMMU_MAP_DMABUF, see include/uapi/linux/vfio_dmabuf.h).  The
 * container side: the ioctls, and the hooks the type1 core calls.  The
 * importer (attach, pin, the exporter's addresses, revocation) is in
 * vfio_iommu_type1_dmabuf_import.c.
 *
 * A dma-buf mapping (a "window": one MAP_DMABUF range) is a struct vfio_dma
 * in type1's rbtree whose ->dmabuf points to a struct vfio_dmabuf.  It
 * therefore shares type1's IOVA space, overlap checks, entry limit and
 * VFIO_IOMMU_UNMAP_DMA; the type1 core calls into this file wherever it
 * would touch the pages behind a vfio_dma.  Each container keeps its
 * imports in a tree keyed by dma-buf (iommu->dmabuf_imports), so that all
 * windows of one buffer share one import.
 *
 * Mapping, and what runs under iommu->lock
 * ----------------------------------------
 * iommu->lock serializes every operation on the container, including
 * group attach/detach and the vfio_pin_pages()/vfio_dma_rw() users, so
 * nothing slow runs under it: MAP_DMABUF checks everything it can under
 * the lock (alignment, IOVA range, overlap, entry limit) and looks for a
 * live import of the buffer, drops the lock, creates the import if there
 * is none (the exporter's attach, pin, migration, map and a bounded,
 * interruptible wait), and takes the lock again to insert the window,
 * checking again what may have changed meanwhile.  If another MAP_DMABUF
 * of the same buffer inserted an import first, the window goes to that
 * one and ours is given back.  A refused request never asks the exporter
 * for anything.
 *
 * Under iommu->lock, the tree invariant: an import is in the tree only
 * while it has windows (it goes with its last window), so the last
 * reference to an import never goes while it is in the tree.  A revoked
 * import leaves the tree at the next MAP_DMABUF of the same buffer, which
 * attaches afresh; its windows keep it until the user unmaps them.
 *
 * Giving an import back to its exporter (unmap, unpin, detach) happens
 * under iommu->lock when VFIO_IOMMU_UNMAP_DMA removes its last window: that
 * takes the dma_resv but never waits for fences, and it means that the
 * exporter has its buffer back when the ioctl returns.
 *
 * Revocation events: the importer calls vfio_dmabuf_revoked() from the
 * exporter's move_notify, under import->lock and with windows present, so
 * the container cannot go away meanwhile (releasing it removes those
 * windows under the same lock).  The eventfd itself is RCU protected:
 * the callback cannot take iommu->lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#if !IS_ENABLED(CONFIG_DMA_SHARED_BUFFER)
#error "VFIO_IOMMU_MAP_DMABUF needs a kernel with CONFIG_DMA_SHARED_BUFFER"
#endif

#include "vfio_iommu_type1_priv.h"
#include "vfio_iommu_type1_dmabuf.h"
#include "vfio_iommu_type1_dmabuf_import.h"

/* ---- the container's tree of imports, iommu->lock held ---- */

static int vfio_dmabuf_import_cmp(const void *key, const struct rb_node *node)
{
	const void *other = rb_entry(node, struct vfio_dmabuf_import, node)->key;

	if (key == other)
		return 0;
	return (unsigned long)key < (unsigned long)other ? -1 : 1;
}

static bool vfio_dmabuf_import_less(struct rb_node *a, const struct rb_node *b)
{
	return vfio_dmabuf_import_cmp(rb_entry(a, struct vfio_dmabuf_import,
					       node)->key, b) < 0;
}

static struct vfio_dmabuf_import *
vfio_dmabuf_lookup(struct vfio_iommu *iommu, struct dma_buf *dmabuf)
{
	struct rb_node *node;

	lockdep_assert_held(&iommu->lock);
	node = rb_find(dmabuf, &iommu->dmabuf_imports, vfio_dmabuf_import_cmp);
	return node ? rb_entry(node, struct vfio_dmabuf_import, node) : NULL;
}

static void vfio_dmabuf_tree_erase(struct vfio_iommu *iommu,
				   struct vfio_dmabuf_import *imp)
{
	rb_erase(&imp->node, &iommu->dmabuf_imports);
	imp->in_tree = false;
}

/* ---- VFIO_IOMMU_MAP_DMABUF ---- */

/*
 * What MAP_DMA checks too, in the same order and with the same errnos as
 * vfio_dma_do_map(), plus the window's own alignment once it is known.
 */
static int vfio_dmabuf_check_range(struct vfio_iommu *iommu,
				   const struct vfio_dmabuf *w, u64 offset,
				   dma_addr_t iova, size_t size)
{
	size_t pgsize, badlen;
	phys_addr_t bad;

	lockdep_assert_held(&iommu->lock);

	pgsize = (size_t)1 << __ffs(iommu->pgsize_bitmap);
	if ((size | iova | offset) & (pgsize - 1))
		return -EINVAL;
	if (w && !vfio_dmabuf_window_aligned(w, pgsize, &bad, &badlen)) {
		pr_warn_ratelimited("exporter's memory (%pa + %#zx) is not aligned to the IOMMU page size %#zx\n",
				    &bad, badlen, pgsize);
		return -ENXIO;
	}
	if (vfio_find_dma(iommu, iova, size))
		return -EEXIST;
	if (!iommu->dma_avail)
		return -ENOSPC;
	if (!vfio_iommu_iova_dma_valid(iommu, iova, iova + size - 1))
		return -EINVAL;
	return 0;
}

/*
 * Insert window *@wp at @iova: a vfio_dma of @iommu, mapped into every
 * IOMMU domain.  If another import of @dmabuf got into the tree meanwhile,
 * the window is made anew on that one (*@wp is replaced).  iommu->lock
 * held.
 */
static int vfio_dmabuf_insert(struct vfio_iommu *iommu, struct dma_buf *dmabuf,
			      struct vfio_dmabuf **wp, dma_addr_t iova)
{
	struct vfio_dmabuf *w = *wp;
	struct vfio_dmabuf_import *imp = w->import, *other;
	struct vfio_dma *dma;
	int ret;

	lockdep_assert_held(&iommu->lock);

	ret = vfio_dmabuf_check_range(iommu, w, w->offset, iova, w->size);
	if (ret)
		return ret;

	other = vfio_dmabuf_lookup(iommu, dmabuf);
	if (other && other != imp) {
		if (!vfio_dmabuf_import_revoked(other)) {
			/* a concurrent MAP_DMABUF of the same buffer won */
			struct vfio_dmabuf *nw;

			nw = vfio_dmabuf_window_create(other, w->offset,
						       w->size, w->prot);
			if (IS_ERR(nw))
				return PTR_ERR(nw);
			vfio_dmabuf_window_free(w);
			*wp = w = nw;
			imp = other;
		} else {
			/* revoked for good: its windows keep it */
			vfio_dmabuf_tree_erase(iommu, other);
		}
	}

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
		ret = vfio_dma_bitmap_alloc(dma, (size_t)1 << __ffs(iommu->pgsize_bitmap));
		if (ret)
			goto out_free;
	}

	ret = vfio_dmabuf_window_insert(w, iova, &iommu->domain_list);
	if (ret)
		goto out_bitmap;

	if (!imp->in_tree) {
		rb_add(&imp->node, &iommu->dmabuf_imports,
		       vfio_dmabuf_import_less);
		imp->in_tree = true;
	}
	vfio_link_dma(iommu, dma);
	iommu->dma_avail--;
	return 0;

out_bitmap:
	kvfree(dma->bitmap);	/* as vfio_dma_bitmap_free() */
out_free:
	kfree(dma);
	return ret;
}

long vfio_iommu_type1_map_dmabuf(struct vfio_iommu *iommu, unsigned long arg)
{
	struct vfio_iommu_type1_dma_map_dmabuf map;
	u32 mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	struct vfio_dmabuf_import *imp = NULL;
	struct vfio_dmabuf *w = NULL;
	struct dma_buf *dmabuf;
	unsigned long minsz;
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

	/* Everything the container can refuse, before the exporter works. */
	mutex_lock(&iommu->lock);
	ret = vfio_dmabuf_check_range(iommu, NULL, map.offset, map.iova,
				      map.size);
	if (!ret) {
		imp = vfio_dmabuf_lookup(iommu, dmabuf);
		if (imp && vfio_dmabuf_import_revoked(imp))
			imp = NULL;
		if (imp)
			vfio_dmabuf_import_get(imp);
	}
	mutex_unlock(&iommu->lock);
	if (ret)
		goto out_put;

	/* The exporter's work, with no container lock held. */
	if (!imp) {
		imp = vfio_dmabuf_import_create(iommu, dmabuf);
		if (IS_ERR(imp)) {
			ret = PTR_ERR(imp);
			imp = NULL;
			goto out_put;
		}
	}
	w = vfio_dmabuf_window_create(imp, map.offset, map.size, prot);
	if (IS_ERR(w)) {
		ret = PTR_ERR(w);
		goto out_put;
	}

	mutex_lock(&iommu->lock);
	ret = vfio_dmabuf_insert(iommu, dmabuf, &w, map.iova);
	if (ret)
		vfio_dmabuf_window_free(w);
	mutex_unlock(&iommu->lock);

out_put:
	/* The exporter gets an import that found no use back here. */
	if (imp)
		vfio_dmabuf_import_put(imp);
	dma_buf_put(dmabuf);
	return ret;
}

/* ---- VFIO_IOMMU_DMABUF_GET_STATE ---- */

static u32 vfio_dmabuf_state(struct vfio_dmabuf *w)
{
	if (vfio_dmabuf_import_revoked(w->import))
		return VFIO_DMABUF_STATE_REVOKED;
	return vfio_dmabuf_window_mapped(w) ? VFIO_DMABUF_STATE_MAPPED :
					      VFIO_DMABUF_STATE_UNMAPPED;
}

/* The revoked dma-buf window with the lowest IOVA >= @iova.  iommu->lock */
static struct vfio_dma *vfio_dmabuf_find_revoked(struct vfio_iommu *iommu,
						 dma_addr_t iova)
{
	struct rb_node *n = iommu->dma_list.rb_node, *first = NULL;

	lockdep_assert_held(&iommu->lock);

	/* the first vfio_dma ending above @iova */
	while (n) {
		struct vfio_dma *dma = rb_entry(n, struct vfio_dma, node);

		if (dma->iova + dma->size - 1 >= iova) {
			first = n;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	for (n = first; n; n = rb_next(n)) {
		struct vfio_dma *dma = rb_entry(n, struct vfio_dma, node);

		if (dma->dmabuf && dma->iova >= iova &&
		    vfio_dmabuf_import_revoked(dma->dmabuf->import))
			return dma;
	}
	return NULL;
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

	if (st.argsz < minsz ||
	    st.flags & ~VFIO_DMABUF_STATE_FLAG_FIND_REVOKED)
		return -EINVAL;

	mutex_lock(&iommu->lock);
	if (st.flags & VFIO_DMABUF_STATE_FLAG_FIND_REVOKED) {
		dma = vfio_dmabuf_find_revoked(iommu, st.iova);
		if (!dma)
			ret = -ENOENT;
	} else {
		dma = vfio_find_dma(iommu, st.iova, 1);
		if (!dma)
			ret = -ENOENT;
		else if (!dma->dmabuf || dma->iova != st.iova)
			ret = -EINVAL;
	}
	if (!ret) {
		st.iova = dma->iova;
		st.size = dma->size;
		st.state = vfio_dmabuf_state(dma->dmabuf);
		st.__reserved = 0;
	}
	mutex_unlock(&iommu->lock);

	if (ret)
		return ret;

	return copy_to_user((void __user *)arg, &st, minsz) ? -EFAULT : 0;
}

/* ---- VFIO_IOMMU_DMABUF_SET_EVENTFD and revocation events ---- */

static void vfio_dmabuf_set_trigger(struct vfio_iommu *iommu,
				    struct eventfd_ctx *ctx)
{
	struct eventfd_ctx *old;

	mutex_lock(&iommu->lock);
	old = rcu_replace_pointer(iommu->dmabuf_revoke_trigger, ctx,
				  lockdep_is_held(&iommu->lock));
	mutex_unlock(&iommu->lock);
	if (old) {
		synchronize_rcu();	/* no revoke is signalling it now */
		eventfd_ctx_put(old);
	}
}

long vfio_iommu_type1_dmabuf_set_eventfd(struct vfio_iommu *iommu,
					 unsigned long arg)
{
	struct vfio_iommu_type1_dmabuf_eventfd ev;
	struct eventfd_ctx *ctx = NULL;
	unsigned long minsz;

	minsz = offsetofend(struct vfio_iommu_type1_dmabuf_eventfd, __reserved);

	if (copy_from_user(&ev, (void __user *)arg, minsz))
		return -EFAULT;

	if (ev.argsz < minsz || ev.flags != VFIO_DMABUF_EVENT_REVOKED ||
	    ev.__reserved || ev.fd < -1)
		return -EINVAL;

	if (ev.fd >= 0) {
		ctx = eventfd_ctx_fdget(ev.fd);	/* -EBADF, -EINVAL */
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	vfio_dmabuf_set_trigger(iommu, ctx);
	return 0;
}

void vfio_dmabuf_revoked(struct vfio_iommu *iommu)
{
	struct eventfd_ctx *ctx;

	rcu_read_lock();
	ctx = rcu_dereference(iommu->dmabuf_revoke_trigger);
	if (ctx) {
#ifdef VFIO_DMABUF_EVENTFD_SIGNAL_HAS_COUNT
		eventfd_signal(ctx, 1);
#else
		eventfd_signal(ctx);
#endif
	}
	rcu_read_unlock();
}

/* ---- batched unmaps ---- */

/*
 * An unmap of many windows: each is unmapped from its domains with
 * iommu_unmap_fast() into the gather of that domain here, one IOTLB flush
 * per domain at the end, and only after that flush are the windows freed
 * (their imports may give the memory back to the exporter).  Owned by the
 * task that began it: type1's unmap drops iommu->lock to notify emulated
 * devices, and another task's unmap meanwhile must not end our batch.
 */
struct vfio_dmabuf_batch_domain {
	struct iommu_domain		*domain;	/* NULL: flushed early */
	struct iommu_iotlb_gather	gather;
	bool				used;
};

struct vfio_dmabuf_batch {
	struct task_struct		*owner;
	struct list_head		windows;	/* removed, to free */
	unsigned int			nr;
	struct vfio_dmabuf_batch_domain	g[] __counted_by(nr);
};

static struct vfio_dmabuf_batch *vfio_dmabuf_batch_of(struct vfio_iommu *iommu)
{
	struct vfio_dmabuf_batch *b = iommu->dmabuf_batch;

	return b && b->owner == current ? b : NULL;
}

void vfio_dmabuf_batch_begin(struct vfio_iommu *iommu)
{
	struct vfio_dmabuf_batch *b;
	struct vfio_domain *d;
	unsigned int n = 0;

	if (iommu->dmabuf_batch || RB_EMPTY_ROOT(&iommu->dmabuf_imports))
		return;
	list_for_each_entry(d, &iommu->domain_list, next)
		n++;
	/* without memory, each window just flushes for itself */
	b = kzalloc(struct_size(b, g, n), GFP_KERNEL_ACCOUNT);
	if (!b)
		return;
	b->owner = current;
	INIT_LIST_HEAD(&b->windows);
	b->nr = n;
	n = 0;
	list_for_each_entry(d, &iommu->domain_list, next) {
		b->g[n].domain = d->domain;
		iommu_iotlb_gather_init(&b->g[n].gather);
		n++;
	}
	iommu->dmabuf_batch = b;
}

struct iommu_iotlb_gather *vfio_dmabuf_batch_gather(struct vfio_dmabuf_batch *b,
						    struct iommu_domain *domain)
{
	unsigned int i;

	for (i = 0; i < b->nr; i++) {
		if (b->g[i].domain == domain) {
			b->g[i].used = true;
			return &b->g[i].gather;
		}
	}
	return NULL;
}

/* Flush what the batch unmapped from @domain now (it is about to go). */
static void vfio_dmabuf_batch_flush_domain(struct vfio_dmabuf_batch *b,
					   struct iommu_domain *domain)
{
	unsigned int i;

	for (i = 0; i < b->nr; i++) {
		if (b->g[i].domain != domain)
			continue;
		if (b->g[i].used)
			iommu_iotlb_sync(domain, &b->g[i].gather);
		b->g[i].domain = NULL;
	}
}

void vfio_dmabuf_batch_end(struct vfio_iommu *iommu)
{
	struct vfio_dmabuf_batch *b = vfio_dmabuf_batch_of(iommu);
	struct vfio_dmabuf *w, *tmp;
	unsigned int i;

	if (!b)
		return;
	iommu->dmabuf_batch = NULL;
	for (i = 0; i < b->nr; i++)
		if (b->g[i].domain && b->g[i].used)
			iommu_iotlb_sync(b->g[i].domain, &b->g[i].gather);
	/* No IOTLB entry is left: the exporters may have their memory back. */
	list_for_each_entry_safe(w, tmp, &b->windows, node) {
		list_del_init(&w->node);
		vfio_dmabuf_window_free(w);
		cond_resched();
	}
	kfree(b);
}

/* ---- hooks for the type1 core ---- */

void vfio_dmabuf_destroy(struct vfio_dmabuf *w)
{
	struct vfio_dmabuf_import *imp = w->import;
	struct vfio_iommu *iommu = imp->iommu;
	struct vfio_dmabuf_batch *batch = vfio_dmabuf_batch_of(iommu);

	/* the tree holds imports with windows only */
	if (!vfio_dmabuf_window_remove(w, batch) && imp->in_tree)
		vfio_dmabuf_tree_erase(iommu, imp);
	if (batch) {
		/* freed by vfio_dmabuf_batch_end(), after the flush */
		list_add_tail(&w->node, &batch->windows);
		return;
	}
	vfio_dmabuf_window_free(w);
}

int vfio_dmabuf_replay(struct vfio_iommu *iommu, struct iommu_domain *domain)
{
	struct rb_node *n;
	int ret;

	lockdep_assert_held(&iommu->lock);

	for (n = rb_first(&iommu->dmabuf_imports); n; n = rb_next(n)) {
		struct vfio_dmabuf_import *imp =
			rb_entry(n, struct vfio_dmabuf_import, node);

		ret = vfio_dmabuf_import_map_domain(imp, domain);
		if (ret) {
			vfio_dmabuf_unmap_domain(iommu, domain);
			return ret;
		}
	}
	return 0;
}

void vfio_dmabuf_unmap_domain(struct vfio_iommu *iommu,
			      struct iommu_domain *domain)
{
	struct rb_node *n;

	/* a batch of any task must not keep a gather of a freed domain */
	if (iommu->dmabuf_batch)
		vfio_dmabuf_batch_flush_domain(iommu->dmabuf_batch, domain);

	for (n = rb_first(&iommu->dmabuf_imports); n; n = rb_next(n)) {
		struct vfio_dmabuf_import *imp =
			rb_entry(n, struct vfio_dmabuf_import, node);

		vfio_dmabuf_import_unmap_domain(imp, domain);
	}
}

void vfio_dmabuf_release(struct vfio_iommu *iommu)
{
	/* every window is gone: nothing signals the eventfd any more */
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&iommu->dmabuf_imports));
	vfio_dmabuf_set_trigger(iommu, NULL);
}

/* ---- module init/exit ---- */

int vfio_dmabuf_init(void)
{
	return vfio_dmabuf_importer_init();
}

void vfio_dmabuf_exit(void)
{
	vfio_dmabuf_importer_exit();
}
