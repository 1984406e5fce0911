/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VFIO groups (type1 backend): open, viability check, attach to the
 * container (the first one sets the IOMMU type), detach. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"
#include "uapi.h"

/* Explain why group @number is not viable: list devices bound to
 * non-VFIO drivers. */
static int not_viable(struct vfd_container *c, int number, struct vfd_error *e)
{
	struct vfd_sysfs_device devs[32];
	struct vfd_error ignored;
	char list[160] = "";
	size_t used = 0;
	int n = vfd_sysfs_group_devices(c->sysfs_root, number, devs,
					VFD_ARRAY_SIZE(devs), &ignored);

	for (int i = 0; i < n && i < (int)VFD_ARRAY_SIZE(devs); i++) {
		if (!devs[i].driver[0] || devs[i].vfio_bound)
			continue;
		int w = snprintf(list + used, sizeof(list) - used, "%s%s (%s)",
				 used ? ", " : "", devs[i].name, devs[i].driver);
		if (w < 0 || (size_t)w >= sizeof(list) - used)
			break;
		used += (size_t)w;
	}
	return vfd__err(e, -EBUSY,
			"IOMMU group %d is not viable: every device in it must "
			"be bound to a VFIO driver or to none%s%s", number,
			used ? "; bound elsewhere: " : "", list);
}

static int set_iommu(struct vfd_container *c, struct vfd_group *g,
		     struct vfd_error *e)
{
	if (c->flags & VFD_CONTAINER_NOIOMMU) {
		if (ioctl(c->fd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU))
			return vfd__err_errno(e, -errno, "VFIO_SET_IOMMU(no-IOMMU) "
					      "failed for group %d (it needs "
					      "CAP_SYS_RAWIO)", g->number);
		c->iommu_set = true;
		return 0;
	}
	if (ioctl(c->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		int ret = -errno;
		if (ret == -EPERM)
			return vfd__err_errno(e, ret,
					      "VFIO_SET_IOMMU(type1v2) refused "
					      "for group %d: the platform has no "
					      "interrupt remapping / MSI isolation "
					      "(e.g. intel-iommu without intremap, "
					      "GICv2, virtio-iommu); only if you "
					      "accept that, load vfio_iommu_type1 "
					      "with allow_unsafe_interrupts=1",
					      g->number);
		return vfd__err_errno(e, ret, "VFIO_SET_IOMMU(type1v2) failed "
				      "for group %d", g->number);
	}
	c->iommu_set = true;
	c->has_map_dmabuf =
		ioctl(c->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_MAP_DMABUF) > 0;
	return 0;
}

int vfd__group_get(struct vfd_container *c, int number, struct vfd_group **out,
		   struct vfd_error *e)
{
	struct vfio_group_status st;
	struct vfd_group *g;
	char path[300];
	int ret;

	for (g = c->groups; g; g = g->next) {
		if (g->number == number) {
			g->refs++;
			*out = g;
			return 0;
		}
	}
	if (vfd__path(path, sizeof(path), "%s/vfio/%s%d", c->dev_root,
		      (c->flags & VFD_CONTAINER_NOIOMMU) ? "noiommu-" : "",
		      number))
		return vfd__err(e, -ENAMETOOLONG, "dev_root too long");
	g = calloc(1, sizeof(*g));
	if (!g)
		return vfd__err(e, -ENOMEM, "out of memory");
	g->number = number;
	g->refs = 1;
	g->fd = open(path, O_RDWR | O_CLOEXEC);
	if (g->fd < 0) {
		ret = -errno;
		free(g);
		if (ret == -ENOENT)
			return vfd__err(e, -ENXIO,
					"%s does not exist: no device of IOMMU "
					"group %d is bound to a VFIO driver",
					path, number);
		if (ret == -EBUSY)
			return vfd__err(e, -EBUSY,
					"IOMMU group %d (%s) is already in use "
					"by another process or container",
					number, path);
		if (ret == -EACCES || ret == -EPERM)
			return vfd__err_errno(e, ret, "cannot open %s: run as "
					      "root or give access to it", path);
		return vfd__err_errno(e, ret, "cannot open %s", path);
	}

	memset(&st, 0, sizeof(st));
	st.argsz = sizeof(st);
	if (ioctl(g->fd, VFIO_GROUP_GET_STATUS, &st)) {
		ret = vfd__err_errno(e, -errno, "VFIO_GROUP_GET_STATUS on %s",
				     path);
		goto fail_close;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		ret = not_viable(c, number, e);
		goto fail_close;
	}
	if (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET) {
		ret = vfd__err(e, -EBUSY, "IOMMU group %d is already attached "
			       "to another container", number);
		goto fail_close;
	}
	if (ioctl(g->fd, VFIO_GROUP_SET_CONTAINER, &c->fd)) {
		ret = vfd__err_errno(e, -errno, "cannot attach IOMMU group %d "
				     "to the container (VFIO_GROUP_SET_CONTAINER)",
				     number);
		goto fail_close;
	}
	if (!c->iommu_set) {
		ret = set_iommu(c, g, e);
		if (ret)
			goto fail_unset;
	}
	/* The first group makes the IOMMU usable; every further group may
	 * shrink the usable IOVA ranges (its reserved regions).  No IOMMU,
	 * no IOVAs. */
	if (!(c->flags & VFD_CONTAINER_NOIOMMU)) {
		ret = vfd__container_refresh_iova(c, e);
		if (ret)
			goto fail_unset;
	}

	g->next = c->groups;
	c->groups = g;
	c->nr_groups++;
	*out = g;
	return 0;

fail_unset:
	ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
	if (!c->groups) {
		/* the container lost its IOMMU with its only group */
		c->iommu_set = false;
		vfd_iova_destroy(&c->iova);
	}
fail_close:
	close(g->fd);
	free(g);
	return ret;
}

void vfd__group_put(struct vfd_container *c, struct vfd_group *g)
{
	struct vfd_group **pp;

	if (!g || --g->refs)
		return;
	if (c->nr_groups == 1) {
		/* The last group leaving tears the IOMMU down (type1 drops all
		 * mappings): unmap explicitly to keep our records true. */
		struct vfd_error e;
		vfd__dma_unmap_all_locked(c, &e);
		vfd__dma_forget_all(c);
	}
	ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
	close(g->fd);
	for (pp = &c->groups; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	c->nr_groups--;
	if (!c->groups) {
		c->iommu_set = false;
		vfd_iova_destroy(&c->iova);
	}
	free(g);
}
