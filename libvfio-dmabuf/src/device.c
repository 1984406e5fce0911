/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Devices: open by name through sysfs, info, reset, close. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"
#include "uapi.h"

static int store(struct vfd_errslot *s, struct vfd_error *e)
{
	return vfd__errslot_store(s, e);
}

/* Resolve @name in sysfs and make sure it is usable through VFIO. */
static int resolve(struct vfd_container *c, const char *name, uint32_t flags,
		   struct vfd_sysfs_device *sd, struct vfd_error *e)
{
	int ret = vfd_sysfs_lookup(c->sysfs_root, name, sd, e);

	if (ret)
		return ret;
	if (!sd->vfio_bound) {
		if (!(flags & VFD_DEVICE_BIND)) {
			if (sd->driver[0])
				return vfd__err(e, -ENXIO,
						"%s is bound to '%s', not to a VFIO "
						"driver: bind it with 'vfio-dmabuf "
						"bind %s' (or open with "
						"VFD_DEVICE_BIND)", sd->name,
						sd->driver, sd->name);
			return vfd__err(e, -ENXIO,
					"%s is not bound to any driver: bind it "
					"with 'vfio-dmabuf bind %s' (or open "
					"with VFD_DEVICE_BIND)", sd->name,
					sd->name);
		}
		ret = vfd_sysfs_bind(c->sysfs_root, sd->name, NULL, e);
		if (ret)
			return vfd__err_prefix(e, "cannot bind %s to VFIO",
					       sd->name);
		ret = vfd_sysfs_lookup(c->sysfs_root, sd->name, sd, e);
		if (ret)
			return ret;
	}
	if (sd->noiommu && !(c->flags & VFD_CONTAINER_NOIOMMU))
		return vfd__err(e, -ENXIO,
				"%s is in a VFIO no-IOMMU group (group %d): no "
				"IOMMU translates its DMA; open it in a "
				"container made with VFD_CONTAINER_NOIOMMU",
				sd->name, sd->iommu_group);
	if (!sd->noiommu && (c->flags & VFD_CONTAINER_NOIOMMU))
		return vfd__err(e, -ENXIO,
				"%s is not in a VFIO no-IOMMU group: open it in "
				"a container without VFD_CONTAINER_NOIOMMU",
				sd->name);
	if (sd->iommu_group < 0)
		return vfd__err(e, -ENXIO,
				"%s (driver %s) has no IOMMU group: enable the "
				"IOMMU (e.g. intel_iommu=on, an SMMU or "
				"virtio-iommu)", sd->name, sd->driver);
	return 0;
}

int vfd_device_open(struct vfd_container *c, const char *name,
		    uint32_t flags, struct vfd_device **out)
{
	struct vfio_device_info info;
	struct vfd_sysfs_device sd;
	struct vfd_error e = { 0 };
	struct vfd_device *d = NULL;
	void *priv = NULL;
	int fd = -1, ret;

	if (!c)
		return -EINVAL;
	if (!out || !name) {
		vfd__err(&e, -EINVAL, "vfd_device_open: name or out is NULL");
		return store(&c->err, &e);
	}
	*out = NULL;
	if (flags & ~(VFD_DEVICE_BIND | VFD_DEVICE_RESET)) {
		vfd__err(&e, -EINVAL, "unknown device flags 0x%x", flags);
		return store(&c->err, &e);
	}
	ret = resolve(c, name, flags, &sd, &e);
	if (ret)
		return store(&c->err, &e);

	pthread_mutex_lock(&c->lock);
	ret = c->ops->attach_device(c, &sd, &fd, &priv, &e);
	if (ret)
		goto unlock;

	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	if (ioctl(fd, VFIO_DEVICE_GET_INFO, &info)) {
		ret = vfd__err_errno(&e, -errno, "VFIO_DEVICE_GET_INFO on %s",
				     sd.name);
		goto detach;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->rcache = calloc(info.num_regions ? info.num_regions : 1,
				       sizeof(*d->rcache)))) {
		ret = vfd__err(&e, -ENOMEM, "out of memory");
		goto detach;
	}
	pthread_mutex_init(&d->lock, NULL);
	vfd__errslot_init(&d->err);
	d->c = c;
	memcpy(d->name, sd.name, sizeof(d->name));
	d->iommu_group = sd.iommu_group;
	d->fd = fd;
	d->attach_priv = priv;
	d->flags = info.flags;
	d->num_regions = info.num_regions;
	d->num_irqs = info.num_irqs;
	if (info.flags & VFIO_DEVICE_FLAGS_PCI)
		d->bus = VFD_BUS_PCI;
	else if (info.flags & VFIO_DEVICE_FLAGS_PLATFORM)
		d->bus = VFD_BUS_PLATFORM;
	else
		d->bus = sd.bus;
	d->next = c->devices;
	c->devices = d;
	c->nr_devices++;
	pthread_mutex_unlock(&c->lock);

	if ((flags & VFD_DEVICE_RESET) && (d->flags & VFIO_DEVICE_FLAGS_RESET) &&
	    ioctl(d->fd, VFIO_DEVICE_RESET)) {
		vfd__err_errno(&e, -errno, "VFIO_DEVICE_RESET on %s", d->name);
		vfd_device_close(d);
		return store(&c->err, &e);
	}
	*out = d;
	return 0;

detach:
	if (d)
		free(d->rcache);
	free(d);
	close(fd);
	c->ops->detach_device(c, priv);
unlock:
	pthread_mutex_unlock(&c->lock);
	return store(&c->err, &e);
}

void vfd__device_close_locked(struct vfd_device *d)
{
	struct vfd_container *c = d->c;
	struct vfd_device **pp;

	if (d->close_hook)
		d->close_hook(d->close_ctx);
	vfd__region_unmap_all(d);
	close(d->fd);
	c->ops->detach_device(c, d->attach_priv);
	for (pp = &c->devices; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	c->nr_devices--;
	free(d->rcache);
	vfd__errslot_destroy(&d->err);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void vfd_device_close(struct vfd_device *d)
{
	struct vfd_container *c;

	if (!d)
		return;
	c = d->c;
	pthread_mutex_lock(&c->lock);
	vfd__device_close_locked(d);
	pthread_mutex_unlock(&c->lock);
}

const char *vfd_device_errmsg(const struct vfd_device *d)
{
	return d ? vfd__errslot_msg(&d->err) : "no device";
}

int vfd_device_last_error(const struct vfd_device *d, struct vfd_error *out)
{
	if (!out)
		return -EINVAL;
	if (!d)
		return vfd__err(out, -EINVAL, "no device");
	return vfd__errslot_copy(&d->err, out);
}

const char *vfd_device_name(const struct vfd_device *d)
{
	return d ? d->name : "";
}

int vfd_device_fd(const struct vfd_device *d)
{
	return d ? d->fd : -1;
}

struct vfd_container *vfd_device_container(const struct vfd_device *d)
{
	return d ? d->c : NULL;
}

int vfd_device_info(struct vfd_device *d, struct vfd_device_info *info)
{
	if (!d || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	memcpy(info->name, d->name, sizeof(info->name));
	info->bus = d->bus;
	info->iommu_group = d->iommu_group;
	info->flags = d->flags;
	info->num_regions = d->num_regions;
	info->num_irqs = d->num_irqs;
	info->can_reset = d->flags & VFIO_DEVICE_FLAGS_RESET;
	if (d->bus == VFD_BUS_PCI) {
		uint16_t v;
		int ret = vfd_pci_config_read16(d, 0x00, &v);
		if (ret)
			return ret;
		info->vendor_id = v;
		ret = vfd_pci_config_read16(d, 0x02, &v);
		if (ret)
			return ret;
		info->device_id = v;
	}
	return 0;
}

int vfd_device_reset(struct vfd_device *d)
{
	struct vfd_error e = { 0 };

	if (!d)
		return -EINVAL;
	if (!(d->flags & VFIO_DEVICE_FLAGS_RESET)) {
		vfd__err(&e, -ENOTTY, "%s does not support reset "
			 "(no VFIO_DEVICE_FLAGS_RESET)", d->name);
		return store(&d->err, &e);
	}
	if (ioctl(d->fd, VFIO_DEVICE_RESET)) {
		vfd__err_errno(&e, -errno, "VFIO_DEVICE_RESET on %s", d->name);
		return store(&d->err, &e);
	}
	return 0;
}
