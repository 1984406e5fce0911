// SPDX-License-Identifier: GPL-2.0
/*
 * Test dma-buf exporter for exercising dma-buf importers (VFIO type1's
 * VFIO_IOMMU_MAP_DMABUF) in test guests, including on kernels that have no
 * dma-buf exporter of their own. See vfio_dmabuf_test_exporter.h for the
 * userspace interface and texp.h for how the module is put together.
 *
 * This file: the control device and its ioctls, module init and exit.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "texp.h"

static unsigned long max_buffer_size = SZ_256M;
module_param(max_buffer_size, ulong, 0644);
MODULE_PARM_DESC(max_buffer_size, "Largest test dma-buf in bytes (default 256 MiB)");

struct texp_stats texp_stats;
static atomic64_t texp_next_id = ATOMIC64_INIT(0);

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
	    dmabuf->ops != &texp_dynamic_ops &&
	    dmabuf->ops != &texp_devmem_ops) {
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
	case VFIO_DMABUF_TEST_MODE_TTM_LIKE:
	case VFIO_DMABUF_TEST_MODE_MOVABLE:
		if (args.attach_errno)
			return -EINVAL;
		break;
	case VFIO_DMABUF_TEST_MODE_DEVICE_MEMORY:
		/* There are no pages to hand out. */
		if (args.attach_errno ||
		    args.flags & VFIO_DMABUF_TEST_CREATE_WITH_PAGES)
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
	INIT_LIST_HEAD(&buf->devmem_node);

	switch (buf->mode) {
	case VFIO_DMABUF_TEST_MODE_DEVICE_MEMORY:
		buf->store = texp_devmem_store_alloc(buf->kind, buf->size);
		break;
	case VFIO_DMABUF_TEST_MODE_TTM_LIKE:
		buf->store = texp_store_alloc(buf->kind, buf->size,
					      VFIO_DMABUF_TEST_PLACEMENT_VRAM);
		break;
	default:
		buf->store = texp_store_alloc(buf->kind, buf->size,
					      VFIO_DMABUF_TEST_PLACEMENT_SYSTEM);
		break;
	}
	if (IS_ERR(buf->store)) {
		ret = PTR_ERR(buf->store);
		goto err_free_buf;
	}

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_free_pages;
	}

	buf->id = atomic64_inc_return(&texp_next_id);
	buf->fence_context = dma_fence_context_alloc(1);
	if (buf->mode == VFIO_DMABUF_TEST_MODE_DEVICE_MEMORY)
		exp_info.ops = &texp_devmem_ops;
	else if (texp_is_dynamic(buf))
		exp_info.ops = &texp_dynamic_ops;
	else
		exp_info.ops = &texp_static_ops;
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
	if (buf->mode == VFIO_DMABUF_TEST_MODE_DEVICE_MEMORY) {
		/* For device removal: see texp_devmem.c. */
		buf->inode = file_inode(dmabuf->file);
		ihold(buf->inode);
		ret = texp_devmem_add_buf(buf);
		if (ret)
			goto err_put_dmabuf;
	}
	args.fd = fd;
	args.id = buf->id;
	if (copy_to_user(uarg, &args, sizeof(args))) {
		ret = -EFAULT;
		goto err_put_dmabuf;
	}
	fd_install(fd, dmabuf->file);
	return 0;

err_put_dmabuf:
	put_unused_fd(fd);
	dma_buf_put(dmabuf);
	return ret;

err_put_fd:
	put_unused_fd(fd);
err_free_pages:
	texp_store_put(buf->store);
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
	if (!texp_is_revocable(buf)) {
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
		/* The memory of a removed device does not come back. */
		if (texp_store_is_device(buf->store) &&
		    texp_devmem_removed(buf->store)) {
			ret = -ENODEV;
			break;
		}
		mutex_lock(&buf->lock);
		buf->revoked = false;
		mutex_unlock(&buf->lock);
		break;
	default:
		ret = texp_revoke(buf, dmabuf->file->f_mapping);
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
	args.migrations = atomic64_read(&s->migrations);
	args.pin_move_notifies = atomic64_read(&s->pin_move_notifies);
	args.copies_done = atomic64_read(&s->copies_done);
	args.moves = atomic64_read(&s->moves);

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
	if (args.flags || args.reserved0 || args.generation ||
	    args.placement || args.reserved1)
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
	args.generation = buf->generation;
	args.placement = buf->store->placement;
	args.phys_segments = buf->store->phys_segments;
	args.max_segment = buf->store->max_segment;
	if (texp_store_filling(buf->store))
		args.flags |= VFIO_DMABUF_TEST_INFO_COPY_PENDING;
	dma_resv_unlock(dmabuf->resv);

	args.id = buf->id;
	args.size = buf->size;
	args.kind = buf->kind;
	args.mode = buf->mode;

	if (copy_to_user(uarg, &args, sizeof(args)))
		ret = -EFAULT;
out_put:
	dma_buf_put(dmabuf);
	return ret;
}

static long texp_ioctl_move(void __user *uarg)
{
	struct vfio_dmabuf_test_move args;
	struct dma_buf *dmabuf;
	struct texp_buf *buf;
	bool to_vram;
	int ret;

	ret = texp_copy_in(&args, uarg, sizeof(args));
	if (ret)
		return ret;
	if (args.reserved || args.flags & ~VFIO_DMABUF_TEST_MOVE_TO_VRAM)
		return -EINVAL;
	to_vram = args.flags & VFIO_DMABUF_TEST_MOVE_TO_VRAM;

	dmabuf = texp_get_dmabuf(args.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	buf = dmabuf->priv;
	if (!texp_is_movable(buf) ||
	    (to_vram && buf->mode != VFIO_DMABUF_TEST_MODE_TTM_LIKE)) {
		ret = -EINVAL;
		goto out_put;
	}

	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (ret)
		goto out_put;
	if (buf->revoked)
		ret = -ENODEV;
	else if (buf->pinned)
		ret = -EBUSY;
	else
		ret = texp_move(buf, to_vram ? VFIO_DMABUF_TEST_PLACEMENT_VRAM :
				     VFIO_DMABUF_TEST_PLACEMENT_SYSTEM,
				TEXP_MOVE_COMMAND);
	args.generation = buf->generation;
	dma_resv_unlock(dmabuf->resv);

	if (!ret && copy_to_user(uarg, &args, sizeof(args)))
		ret = -EFAULT;
out_put:
	dma_buf_put(dmabuf);
	return ret;
}

static long texp_ioctl_devmem_info(void __user *uarg)
{
	struct vfio_dmabuf_test_devmem_info args;
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
	ret = texp_devmem_info(&args);
	if (ret)
		return ret;

	if (copy_to_user(uarg, &args, sizeof(args)))
		return -EFAULT;
	return 0;
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
	case VFIO_DMABUF_TEST_MOVE:
		return texp_ioctl_move(uarg);
	case VFIO_DMABUF_TEST_DEVMEM_INFO:
		return texp_ioctl_devmem_info(uarg);
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
	int ret;

	ret = texp_store_init();
	if (ret)
		return ret;
	ret = texp_devmem_init();
	if (ret)
		goto err_store;
	ret = misc_register(&texp_misc);
	if (ret)
		goto err_devmem;
	return 0;

err_devmem:
	texp_devmem_exit();
err_store:
	texp_store_exit();
	return ret;
}
module_init(texp_init);

static void __exit texp_exit(void)
{
	misc_deregister(&texp_misc);
	texp_devmem_exit();
	texp_store_exit();
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
