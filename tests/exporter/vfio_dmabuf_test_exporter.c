// SPDX-License-Identifier: GPL-2.0
/*
 * Test dma-buf exporter for exercising dma-buf importers (VFIO type1's
 * VFIO_IOMMU_MAP_DMABUF) in test guests, including on kernels that have no
 * dma-buf exporter of their own. See vfio_dmabuf_test_exporter.h for the
 * userspace interface.
 *
 * Locking:
 * - dmabuf->resv is held by the dma-buf core around pin, unpin and, for the
 *   dynamic modes, map_dma_buf and unmap_dma_buf; REVOKE takes it too, so
 *   "revoked" and "pinned" only change under it.
 * - texp_buf.lock protects the attachment list, each attachment's mapping
 *   list and the revoked flag as seen by CPU faults. It nests inside the
 *   resv lock and inside mmap_lock, and is never held while calling into
 *   importers.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vfio_dmabuf_test_exporter.h"

static unsigned long max_buffer_size = SZ_256M;
module_param(max_buffer_size, ulong, 0644);
MODULE_PARM_DESC(max_buffer_size, "Largest test dma-buf in bytes (default 256 MiB)");

struct texp_stats {
	atomic64_t created;
	atomic64_t released;
	atomic64_t pages;
	atomic64_t attaches;
	atomic64_t attach_refused;
	atomic64_t detaches;
	atomic64_t maps;
	atomic64_t map_failed;
	atomic64_t unmaps;
	atomic64_t pins;
	atomic64_t pin_refused;
	atomic64_t unpins;
	atomic64_t move_notifies;
	atomic64_t revokes;
	atomic64_t cpu_faults;
};

static struct texp_stats texp_stats;
static atomic64_t texp_next_id = ATOMIC64_INIT(0);

struct texp_buf {
	u64 id;
	struct dma_buf *dmabuf;
	u32 kind;
	u32 mode;
	u32 flags;
	int attach_errno;
	size_t size;
	unsigned long npages;
	struct page **pages;
	u32 phys_segments;
	u64 max_segment;

	/* Protected by dmabuf->resv. */
	unsigned int pinned;

	/* Protects the fields below; nests inside dmabuf->resv. */
	struct mutex lock;
	/* Written under both dmabuf->resv and lock. */
	bool revoked;
	/* Protected by lock. */
	struct list_head attachments;
	unsigned int nr_attachments;
	unsigned int nr_mapped;
};

struct texp_attachment {
	struct list_head node;
	struct dma_buf_attachment *attach;
	struct list_head maps;
};

struct texp_map {
	struct list_head node;
	enum dma_data_direction dir;
	/* Mapped with dma_map_sgtable(); has page links. */
	struct sg_table sgt;
	/* DMA addresses and lengths only; handed to the importer. */
	struct sg_table dma_only;
	bool with_pages;
};

static const struct dma_buf_ops texp_static_ops;
static const struct dma_buf_ops texp_dynamic_ops;

static bool texp_is_dynamic(const struct texp_buf *buf)
{
	return buf->mode == VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN ||
	       buf->mode == VFIO_DMABUF_TEST_MODE_DYNAMIC_NOPIN;
}

static void texp_vma_set_flags(struct vm_area_struct *vma, unsigned long flags)
{
#ifdef TEXP_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/* Backing pages */

static void texp_free_pages(struct page **pages, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		if (pages[i]) {
			__free_page(pages[i]);
			atomic64_dec(&texp_stats.pages);
		}
	}
}

/*
 * __GFP_RETRY_MAYFAIL: a test buffer larger than what is left fails with
 * ENOMEM instead of calling the OOM killer.  With plain GFP_KERNEL the
 * order-0 allocations of a near-MemAvailable buffer (torture's
 * largest_mapping on the arm64 debug kernel, where KASAN and kmemleak keep
 * more memory than MemAvailable admits) OOM-killed the test runner.
 */
#define TEXP_GFP	(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

static bool texp_pfn_adjacent(struct page *a, struct page *b)
{
	unsigned long pa = page_to_pfn(a), pb = page_to_pfn(b);

	return pa + 1 == pb || pb + 1 == pa;
}

/*
 * Order-0 pages such that no two neighbours in buffer order are physically
 * adjacent. Pages the allocator hands out next to the previous one are held
 * back until the buffer is complete, then freed.
 */
static int texp_alloc_scatter(struct page **pages, unsigned long npages)
{
	unsigned long i, rejected = 0, limit = 2 * npages + 64;
	struct page *page, *tmp;
	LIST_HEAD(held);
	int ret = 0;

	for (i = 0; i < npages; ) {
		page = alloc_page(TEXP_GFP);
		if (!page) {
			ret = -ENOMEM;
			break;
		}
		if (i && texp_pfn_adjacent(pages[i - 1], page)) {
			list_add(&page->lru, &held);
			if (++rejected > limit) {
				ret = -EAGAIN;
				break;
			}
			continue;
		}
		atomic64_inc(&texp_stats.pages);
		pages[i++] = page;
	}

	list_for_each_entry_safe(page, tmp, &held, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	return ret;
}

/* Physically contiguous, naturally aligned runs of at most @chunk bytes. */
static int texp_alloc_runs(struct page **pages, size_t size, size_t chunk)
{
	unsigned long i = 0, j, n;
	size_t len;
	void *va;

	while (size) {
		len = min(size, chunk);
		va = alloc_pages_exact(len, TEXP_GFP);
		if (!va)
			return -ENOMEM;
		n = len >> PAGE_SHIFT;
		for (j = 0; j < n; j++)
			pages[i + j] = virt_to_page(va + j * PAGE_SIZE);
		atomic64_add(n, &texp_stats.pages);
		i += n;
		size -= len;
	}
	return 0;
}

static void texp_count_segments(struct texp_buf *buf)
{
	unsigned long i, run = 1;

	buf->phys_segments = 1;
	buf->max_segment = 0;
	for (i = 1; i <= buf->npages; i++) {
		if (i < buf->npages &&
		    page_to_pfn(buf->pages[i]) == page_to_pfn(buf->pages[i - 1]) + 1) {
			run++;
			continue;
		}
		buf->max_segment = max_t(u64, buf->max_segment,
					 (u64)run << PAGE_SHIFT);
		if (i < buf->npages)
			buf->phys_segments++;
		run = 1;
	}
}

static int texp_alloc_buf_pages(struct texp_buf *buf)
{
	int ret;

	buf->pages = kvcalloc(buf->npages, sizeof(*buf->pages), GFP_KERNEL);
	if (!buf->pages)
		return -ENOMEM;

	switch (buf->kind) {
	case VFIO_DMABUF_TEST_KIND_SCATTER:
		ret = texp_alloc_scatter(buf->pages, buf->npages);
		break;
	case VFIO_DMABUF_TEST_KIND_CONTIG:
		ret = texp_alloc_runs(buf->pages, buf->size, buf->size);
		break;
	default:
		ret = texp_alloc_runs(buf->pages, buf->size,
				      VFIO_DMABUF_TEST_CHUNK_SIZE);
		break;
	}
	if (ret) {
		texp_free_pages(buf->pages, buf->npages);
		kvfree(buf->pages);
		buf->pages = NULL;
		return ret;
	}

	texp_count_segments(buf);
	if (buf->kind == VFIO_DMABUF_TEST_KIND_SCATTER &&
	    WARN_ON(buf->phys_segments != buf->npages)) {
		texp_free_pages(buf->pages, buf->npages);
		kvfree(buf->pages);
		buf->pages = NULL;
		return -EAGAIN;
	}
	return 0;
}

/* dma_buf_ops */

static int texp_attach(struct dma_buf *dmabuf,
		       struct dma_buf_attachment *attach)
{
	struct texp_buf *buf = dmabuf->priv;
	struct texp_attachment *ta;

	if (buf->mode == VFIO_DMABUF_TEST_MODE_REFUSE_ATTACH) {
		atomic64_inc(&texp_stats.attach_refused);
		return -buf->attach_errno;
	}

	ta = kzalloc(sizeof(*ta), GFP_KERNEL);
	if (!ta) {
		atomic64_inc(&texp_stats.attach_refused);
		return -ENOMEM;
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

static int texp_pin(struct dma_buf_attachment *attach)
{
	struct texp_buf *buf = attach->dmabuf->priv;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (buf->mode != VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN || buf->revoked) {
		atomic64_inc(&texp_stats.pin_refused);
		return buf->revoked ? -ENODEV : -EOPNOTSUPP;
	}

	buf->pinned++;
	atomic64_inc(&texp_stats.pins);
	return 0;
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

static struct sg_table *texp_map_dma_buf(struct dma_buf_attachment *attach,
					 enum dma_data_direction dir)
{
	struct texp_buf *buf = attach->dmabuf->priv;
	struct texp_attachment *ta = attach->priv;
	struct texp_map *map;
	int ret;

	if (texp_is_dynamic(buf))
		dma_resv_assert_held(attach->dmabuf->resv);

	if (buf->revoked) {
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

	ret = sg_alloc_table_from_pages(&map->sgt, buf->pages, buf->npages, 0,
					buf->size, GFP_KERNEL);
	if (ret)
		goto err_free_map;

	/*
	 * Cache maintenance is begin/end_cpu_access()'s job (texp_sync()),
	 * as in udmabuf: with it skipped here, several attachments may map
	 * the same pages (a buffer shared by two containers), which the DMA
	 * API debug code otherwise reports as overlapping mappings.
	 */
	ret = dma_map_sgtable(attach->dev, &map->sgt, dir,
			      DMA_ATTR_SKIP_CPU_SYNC);
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

	mutex_lock(&buf->lock);
	list_add_tail(&map->node, &ta->maps);
	buf->nr_mapped++;
	mutex_unlock(&buf->lock);

	atomic64_inc(&texp_stats.maps);
	return map->with_pages ? &map->sgt : &map->dma_only;

err_unmap:
	dma_unmap_sgtable(attach->dev, &map->sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
err_free_sgt:
	sg_free_table(&map->sgt);
err_free_map:
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

	dma_unmap_sgtable(attach->dev, &found->sgt, found->dir,
			  DMA_ATTR_SKIP_CPU_SYNC);
	sg_free_table(&found->sgt);
	if (!found->with_pages)
		sg_free_table(&found->dma_only);
	kfree(found);
	atomic64_inc(&texp_stats.unmaps);
}

static void texp_release(struct dma_buf *dmabuf)
{
	struct texp_buf *buf = dmabuf->priv;

	WARN_ON(!list_empty(&buf->attachments));
	WARN_ON(buf->pinned);

	texp_free_pages(buf->pages, buf->npages);
	kvfree(buf->pages);
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

static vm_fault_t texp_vm_fault(struct vm_fault *vmf)
{
	struct texp_buf *buf = vmf->vma->vm_private_data;
	vm_fault_t ret;

	if (vmf->pgoff >= buf->npages)
		return VM_FAULT_SIGBUS;

	mutex_lock(&buf->lock);
	if (buf->revoked)
		ret = VM_FAULT_SIGBUS;
	else
		ret = vmf_insert_pfn(vmf->vma, vmf->address,
				     page_to_pfn(buf->pages[vmf->pgoff]));
	mutex_unlock(&buf->lock);

	if (ret == VM_FAULT_NOPAGE)
		atomic64_inc(&texp_stats.cpu_faults);
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

	texp_vma_set_flags(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &texp_vm_ops;
	vma->vm_private_data = buf;
	return 0;
}

static const struct dma_buf_ops texp_static_ops = {
	.attach = texp_attach,
	.detach = texp_detach,
	.map_dma_buf = texp_map_dma_buf,
	.unmap_dma_buf = texp_unmap_dma_buf,
	.release = texp_release,
	.begin_cpu_access = texp_begin_cpu_access,
	.end_cpu_access = texp_end_cpu_access,
	.mmap = texp_mmap,
};

static const struct dma_buf_ops texp_dynamic_ops = {
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

/* ioctls */

/*
 * Copy in a VFIO-style argument: argsz must cover @size, bytes beyond it
 * must be zero.
 */
static int texp_copy_in(void *arg, void __user *uarg, size_t size)
{
	u32 argsz;
	int ret;

	if (get_user(argsz, (u32 __user *)uarg))
		return -EFAULT;
	if (argsz < size)
		return -EINVAL;
	if (argsz > size) {
		ret = check_zeroed_user(uarg + size, argsz - size);
		if (ret < 0)
			return ret;
		if (!ret)
			return -E2BIG;
	}
	if (copy_from_user(arg, uarg, size))
		return -EFAULT;
	return 0;
}

/* Take a reference to one of our dma-bufs. */
static struct dma_buf *texp_get_dmabuf(int fd)
{
	struct dma_buf *dmabuf;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return ERR_PTR(-EBADF);
	if (dmabuf->ops != &texp_static_ops &&
	    dmabuf->ops != &texp_dynamic_ops) {
		dma_buf_put(dmabuf);
		return ERR_PTR(-EBADF);
	}
	return dmabuf;
}

static long texp_ioctl_create(void __user *uarg)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct vfio_dmabuf_test_create args;
	struct dma_buf *dmabuf;
	struct texp_buf *buf;
	int fd, ret;

	ret = texp_copy_in(&args, uarg, sizeof(args));
	if (ret)
		return ret;

	if (args.flags & ~(VFIO_DMABUF_TEST_CREATE_RDONLY |
			   VFIO_DMABUF_TEST_CREATE_WITH_PAGES))
		return -EINVAL;
	if (args.reserved[0] || args.reserved[1])
		return -EINVAL;
	if (!args.size || !PAGE_ALIGNED(args.size) ||
	    args.size > max_buffer_size)
		return -EINVAL;
	switch (args.kind) {
	case VFIO_DMABUF_TEST_KIND_CONTIG:
		if (args.size > VFIO_DMABUF_TEST_CONTIG_MAX)
			return -EINVAL;
		break;
	case VFIO_DMABUF_TEST_KIND_SCATTER:
	case VFIO_DMABUF_TEST_KIND_CHUNKED:
		break;
	default:
		return -EINVAL;
	}
	switch (args.mode) {
	case VFIO_DMABUF_TEST_MODE_REFUSE_ATTACH:
		if (!args.attach_errno)
			args.attach_errno = EPERM;
		if (args.attach_errno < 1 || args.attach_errno > MAX_ERRNO)
			return -EINVAL;
		break;
	case VFIO_DMABUF_TEST_MODE_STATIC:
	case VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN:
	case VFIO_DMABUF_TEST_MODE_DYNAMIC_NOPIN:
		if (args.attach_errno)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	buf->kind = args.kind;
	buf->mode = args.mode;
	buf->flags = args.flags;
	buf->attach_errno = args.attach_errno;
	buf->size = args.size;
	buf->npages = args.size >> PAGE_SHIFT;
	mutex_init(&buf->lock);
	INIT_LIST_HEAD(&buf->attachments);

	ret = texp_alloc_buf_pages(buf);
	if (ret)
		goto err_free_buf;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_free_pages;
	}

	buf->id = atomic64_inc_return(&texp_next_id);
	exp_info.ops = texp_is_dynamic(buf) ? &texp_dynamic_ops :
					      &texp_static_ops;
	exp_info.size = buf->size;
	exp_info.flags = args.flags & VFIO_DMABUF_TEST_CREATE_RDONLY ?
			 O_RDONLY : O_RDWR;
	exp_info.priv = buf;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_put_fd;
	}
	buf->dmabuf = dmabuf;
	atomic64_inc(&texp_stats.created);

	/* From here on the dma-buf release op frees @buf. */
	args.fd = fd;
	args.id = buf->id;
	if (copy_to_user(uarg, &args, sizeof(args))) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);
		return -EFAULT;
	}
	fd_install(fd, dmabuf->file);
	return 0;

err_put_fd:
	put_unused_fd(fd);
err_free_pages:
	texp_free_pages(buf->pages, buf->npages);
	kvfree(buf->pages);
err_free_buf:
	mutex_destroy(&buf->lock);
	kfree(buf);
	return ret;
}

static long texp_ioctl_revoke(void __user *uarg)
{
	struct vfio_dmabuf_test_revoke args;
	struct dma_buf *dmabuf;
	struct texp_buf *buf;
	int ret;

	ret = texp_copy_in(&args, uarg, sizeof(args));
	if (ret)
		return ret;
	if (args.reserved)
		return -EINVAL;
	if (args.flags != 0 &&
	    args.flags != VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY &&
	    args.flags != VFIO_DMABUF_TEST_REVOKE_RESTORE)
		return -EINVAL;

	dmabuf = texp_get_dmabuf(args.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	buf = dmabuf->priv;
	if (!texp_is_dynamic(buf)) {
		ret = -EINVAL;
		goto out_put;
	}

	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (ret)
		goto out_put;

	switch (args.flags) {
	case VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY:
		dma_buf_move_notify(dmabuf);
		atomic64_inc(&texp_stats.move_notifies);
		break;
	case VFIO_DMABUF_TEST_REVOKE_RESTORE:
		mutex_lock(&buf->lock);
		buf->revoked = false;
		mutex_unlock(&buf->lock);
		break;
	default:
		if (buf->revoked) {
			ret = -EALREADY;
			break;
		}
		mutex_lock(&buf->lock);
		buf->revoked = true;
		mutex_unlock(&buf->lock);
		/* Faults now see revoked: drop what is already mapped. */
		unmap_mapping_range(dmabuf->file->f_mapping, 0, 0, 1);
		dma_buf_move_notify(dmabuf);
		atomic64_inc(&texp_stats.move_notifies);
		atomic64_inc(&texp_stats.revokes);
		break;
	}

	dma_resv_unlock(dmabuf->resv);
out_put:
	dma_buf_put(dmabuf);
	return ret;
}

static long texp_ioctl_stats(void __user *uarg)
{
	struct vfio_dmabuf_test_stats args;
	struct texp_stats *s = &texp_stats;
	u32 argsz;
	int ret;

	ret = texp_copy_in(&args, uarg, sizeof(args));
	if (ret)
		return ret;
	if (args.flags)
		return -EINVAL;

	argsz = args.argsz;
	memset(&args, 0, sizeof(args));
	args.argsz = argsz;
	args.buffers_created = atomic64_read(&s->created);
	args.buffers_released = atomic64_read(&s->released);
	args.buffers_live = args.buffers_created - args.buffers_released;
	args.pages_allocated = atomic64_read(&s->pages);
	args.attaches = atomic64_read(&s->attaches);
	args.attach_refused = atomic64_read(&s->attach_refused);
	args.detaches = atomic64_read(&s->detaches);
	args.maps = atomic64_read(&s->maps);
	args.map_failed = atomic64_read(&s->map_failed);
	args.unmaps = atomic64_read(&s->unmaps);
	args.pins = atomic64_read(&s->pins);
	args.pin_refused = atomic64_read(&s->pin_refused);
	args.unpins = atomic64_read(&s->unpins);
	args.move_notifies = atomic64_read(&s->move_notifies);
	args.revokes = atomic64_read(&s->revokes);
	args.cpu_faults = atomic64_read(&s->cpu_faults);

	if (copy_to_user(uarg, &args, sizeof(args)))
		return -EFAULT;
	return 0;
}

static long texp_ioctl_info(void __user *uarg)
{
	struct vfio_dmabuf_test_info args;
	struct dma_buf *dmabuf;
	struct texp_buf *buf;
	int ret;

	ret = texp_copy_in(&args, uarg, sizeof(args));
	if (ret)
		return ret;
	if (args.flags || args.reserved0 || args.reserved[0] ||
	    args.reserved[1])
		return -EINVAL;

	dmabuf = texp_get_dmabuf(args.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	buf = dmabuf->priv;

	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (ret)
		goto out_put;
	mutex_lock(&buf->lock);
	args.flags = buf->revoked ? VFIO_DMABUF_TEST_INFO_REVOKED : 0;
	args.attachments = buf->nr_attachments;
	args.mapped = buf->nr_mapped;
	mutex_unlock(&buf->lock);
	args.pinned = buf->pinned;
	dma_resv_unlock(dmabuf->resv);

	args.id = buf->id;
	args.size = buf->size;
	args.kind = buf->kind;
	args.mode = buf->mode;
	args.phys_segments = buf->phys_segments;
	args.max_segment = buf->max_segment;

	if (copy_to_user(uarg, &args, sizeof(args)))
		ret = -EFAULT;
out_put:
	dma_buf_put(dmabuf);
	return ret;
}

static long texp_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DMABUF_TEST_CREATE:
		return texp_ioctl_create(uarg);
	case VFIO_DMABUF_TEST_REVOKE:
		return texp_ioctl_revoke(uarg);
	case VFIO_DMABUF_TEST_STATS:
		return texp_ioctl_stats(uarg);
	case VFIO_DMABUF_TEST_INFO:
		return texp_ioctl_info(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations texp_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = texp_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice texp_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vfio_dmabuf_test",
	.fops = &texp_fops,
	.mode = 0600,
};

static int __init texp_init(void)
{
	return misc_register(&texp_misc);
}
module_init(texp_init);

static void __exit texp_exit(void)
{
	misc_deregister(&texp_misc);
	/* Every dma-buf holds a module reference until its release op ran. */
	WARN_ON(atomic64_read(&texp_stats.pages));
}
module_exit(texp_exit);

MODULE_DESCRIPTION("Test dma-buf exporter for VFIO dma-buf import tests");
MODULE_LICENSE("GPL");
#ifdef TEXP_IMPORT_NS_IDENT
MODULE_IMPORT_NS(DMA_BUF);
#else
MODULE_IMPORT_NS("DMA_BUF");
#endif
