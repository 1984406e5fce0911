/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Container (IOMMU context): open/close, IOMMU info, IOVA window. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int vfd_container_open(struct vfd_container **out,
		       const struct vfd_container_opts *opts,
		       struct vfd_error *err)
{
	return vfd__container_open_ops(out, opts, NULL, err);
}

int vfd__container_open_ops(struct vfd_container **out,
			    const struct vfd_container_opts *opts,
			    const struct vfd_backend_ops *ops,
			    struct vfd_error *err)
{
	struct vfd_container_opts def = { 0 };
	struct vfd_container *c;
	int ret;

	vfd__err_clear(err);
	if (!out)
		return vfd__err(err, -EINVAL, "vfd_container_open: out is NULL");
	*out = NULL;
	if (!opts)
		opts = &def;
	if (opts->flags & ~(VFD_CONTAINER_REQUIRE_MAP_DMABUF |
			    VFD_CONTAINER_NOIOMMU))
		return vfd__err(err, -EINVAL, "unknown container flags 0x%x",
				opts->flags);
	if ((opts->flags & VFD_CONTAINER_NOIOMMU) &&
	    (opts->flags & VFD_CONTAINER_REQUIRE_MAP_DMABUF))
		return vfd__err(err, -EINVAL, "a no-IOMMU container cannot "
				"map dma-bufs: VFD_CONTAINER_NOIOMMU and "
				"VFD_CONTAINER_REQUIRE_MAP_DMABUF exclude each "
				"other");

	c = calloc(1, sizeof(*c));
	if (!c)
		return vfd__err(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	vfd__errslot_init(&c->err);
	c->fd = -1;
	c->revoke_fd = -1;
	c->flags = opts->flags;
	c->restrict_lo = 0;
	c->restrict_hi = UINT64_MAX;
	if (vfd__path(c->sysfs_root, sizeof(c->sysfs_root), "%s",
		      vfd__sysfs_root(opts->sysfs_root)) ||
	    vfd__path(c->dev_root, sizeof(c->dev_root), "%s",
		      opts->dev_root && *opts->dev_root ? opts->dev_root : "/dev")) {
		ret = vfd__err(err, -ENAMETOOLONG, "sysfs_root or dev_root too long");
		goto fail;
	}

	switch (ops ? VFD_BACKEND_AUTO : opts->backend) {
	case VFD_BACKEND_AUTO:
	case VFD_BACKEND_VFIO_TYPE1:
		c->ops = ops ? ops : &vfd__backend_type1;
		break;
	case VFD_BACKEND_IOMMUFD:
		ret = vfd__err(err, -EOPNOTSUPP,
			       "the iommufd backend is not implemented yet: "
			       "use VFD_BACKEND_VFIO_TYPE1");
		goto fail;
	default:
		ret = vfd__err(err, -EINVAL, "unknown backend %d",
			       (int)opts->backend);
		goto fail;
	}

	ret = c->ops->open(c, err);
	if (ret)
		goto fail;
	if ((c->flags & VFD_CONTAINER_REQUIRE_MAP_DMABUF) && !c->has_map_dmabuf) {
		c->ops->close(c);
		ret = vfd__err(err, -EOPNOTSUPP,
			       "the kernel does not offer VFIO_IOMMU_MAP_DMABUF "
			       "(extension VFIO_TYPE1_MAP_DMABUF): load the "
			       "vfio-dmabuf build of vfio_iommu_type1");
		goto fail;
	}
	*out = c;
	return 0;

fail:
	vfd__errslot_destroy(&c->err);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return ret;
}

void vfd_container_close(struct vfd_container *c)
{
	struct vfd_error e;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->iommu_set)
		vfd__dma_unmap_all_locked(c, &e);
	while (c->devices)
		vfd__device_close_locked(c->devices);
	vfd__dma_forget_all(c);
	c->ops->close(c);
	if (c->revoke_fd >= 0)
		close(c->revoke_fd);
	vfd_iova_destroy(&c->iova);
	free(c->maps);
	pthread_mutex_unlock(&c->lock);
	vfd__errslot_destroy(&c->err);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

const char *vfd_container_errmsg(const struct vfd_container *c)
{
	return c ? vfd__errslot_msg(&c->err) : "no container";
}

int vfd_container_last_error(const struct vfd_container *c,
			     struct vfd_error *out)
{
	if (!out)
		return -EINVAL;
	if (!c)
		return vfd__err(out, -EINVAL, "no container");
	return vfd__errslot_copy(&c->err, out);
}

int vfd_container_fd(const struct vfd_container *c)
{
	return c ? c->fd : -1;
}

const char *vfd_container_backend_name(const struct vfd_container *c)
{
	return c ? c->ops->name : "";
}

bool vfd_container_has_map_dmabuf(const struct vfd_container *c)
{
	return c && c->has_map_dmabuf;
}

unsigned int vfd_container_nr_groups(const struct vfd_container *c)
{
	struct vfd_container *w = (struct vfd_container *)c;
	unsigned int n;

	if (!c)
		return 0;
	pthread_mutex_lock(&w->lock);
	n = c->nr_groups;
	pthread_mutex_unlock(&w->lock);
	return n;
}

unsigned int vfd_container_nr_devices(const struct vfd_container *c)
{
	struct vfd_container *w = (struct vfd_container *)c;
	unsigned int n;

	if (!c)
		return 0;
	pthread_mutex_lock(&w->lock);
	n = c->nr_devices;
	pthread_mutex_unlock(&w->lock);
	return n;
}

static int no_iommu(struct vfd_error *e)
{
	return vfd__err(e, -ENODEV,
			"no device attached to the container yet: open a "
			"device first (the IOMMU is set up when the first "
			"device's IOMMU group joins)");
}

int vfd_container_iommu_info(struct vfd_container *c,
			     struct vfd_iommu_info *info)
{
	struct vfd_error e = { 0 };
	int ret;

	if (!c || !info)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (c->flags & VFD_CONTAINER_NOIOMMU)
		ret = vfd__err(&e, -EOPNOTSUPP, "a no-IOMMU container has no "
			       "IOMMU to describe");
	else if (!c->iommu_set)
		ret = no_iommu(&e);
	else
		ret = c->ops->iommu_info(c, info, &e);
	pthread_mutex_unlock(&c->lock);
	if (ret)
		vfd__errslot_store(&c->err, &e);
	return ret;
}

int vfd__container_refresh_iova(struct vfd_container *c, struct vfd_error *e)
{
	struct vfd_iommu_info *info = malloc(sizeof(*info));
	int ret;

	if (!info)
		return vfd__err(e, -ENOMEM, "out of memory");
	ret = c->ops->iommu_info(c, info, e);
	if (ret)
		goto out;
	/* If the kernel reported more ranges than we hold, we use only the
	 * first VFD_MAX_IOVA_RANGES: a subset of the usable space, so safe. */
	c->pgsizes = info->pgsizes ? info->pgsizes : vfd__page_size();
	if (!c->iova.ranges) {
		ret = vfd_iova_init(&c->iova, info->ranges, info->nr_ranges,
				    c->pgsizes, e);
		if (!ret)
			ret = vfd_iova_restrict(&c->iova, c->restrict_lo,
						c->restrict_hi, e);
	} else {
		ret = vfd_iova_set_ranges(&c->iova, info->ranges,
					  info->nr_ranges, e);
	}
	if (ret)
		vfd__err_prefix(e, "IOMMU reported unusable IOVA ranges");
out:
	free(info);
	return ret;
}

int vfd_container_restrict_iova(struct vfd_container *c, uint64_t lo,
				uint64_t hi)
{
	struct vfd_error e = { 0 };
	int ret = 0;

	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (lo > hi) {
		ret = vfd__err(&e, -EINVAL,
			       "IOVA window 0x%" PRIx64 "-0x%" PRIx64 " is empty",
			       lo, hi);
	} else {
		if (lo > c->restrict_lo)
			c->restrict_lo = lo;
		if (hi < c->restrict_hi)
			c->restrict_hi = hi;
		if (c->iova.ranges)
			ret = vfd_iova_restrict(&c->iova, lo, hi, &e);
	}
	pthread_mutex_unlock(&c->lock);
	if (ret)
		vfd__errslot_store(&c->err, &e);
	return ret;
}
