/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Backend: legacy VFIO container (/dev/vfio/vfio) with the type1v2 IOMMU
 * and the VFIO_IOMMU_MAP_DMABUF extension. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"
#include "uapi.h"

static int type1_open(struct vfd_container *c, struct vfd_error *e)
{
	char path[300];
	int fd, api, ret;

	if (vfd__path(path, sizeof(path), "%s/vfio/vfio", c->dev_root))
		return vfd__err(e, -ENAMETOOLONG, "dev_root too long");
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return vfd__err(e, -ENODEV,
					"%s does not exist: load VFIO "
					"(modprobe vfio-pci) on a kernel with "
					"CONFIG_VFIO_CONTAINER", path);
		if (ret == -EACCES || ret == -EPERM)
			return vfd__err_errno(e, ret, "cannot open %s: run as "
					      "root or give access to it", path);
		return vfd__err_errno(e, ret, "cannot open %s", path);
	}
	api = ioctl(fd, VFIO_GET_API_VERSION);
	if (api < 0) {
		ret = -errno;
		close(fd);
		return vfd__err_errno(e, ret, "%s is not a VFIO container "
				      "(VFIO_GET_API_VERSION failed)", path);
	}
	if (api != VFIO_API_VERSION) {
		close(fd);
		return vfd__err(e, -EPROTO,
				"%s speaks VFIO API version %d, this library "
				"needs %d", path, api, VFIO_API_VERSION);
	}
	if (c->flags & VFD_CONTAINER_NOIOMMU) {
		if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) <= 0) {
			close(fd);
			return vfd__err(e, -EOPNOTSUPP,
					"VFIO's no-IOMMU mode is off: it needs "
					"a vfio module built with "
					"CONFIG_VFIO_NOIOMMU, with "
					"enable_unsafe_noiommu_mode=1");
		}
		c->fd = fd;
		c->has_map_dmabuf = false;
		return 0;
	}
	if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		close(fd);
		return vfd__err(e, -EOPNOTSUPP,
				"the VFIO type1v2 IOMMU is not available: "
				"load vfio_iommu_type1 (modprobe "
				"vfio_iommu_type1) and enable the IOMMU "
				"(intel_iommu=on, iommu.passthrough=0, ...)");
	}
	c->fd = fd;
	c->has_map_dmabuf =
		ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_MAP_DMABUF) > 0;
	return 0;
}

static void type1_close(struct vfd_container *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int type1_attach_device(struct vfd_container *c,
			       const struct vfd_sysfs_device *sd, int *devfd,
			       void **priv, struct vfd_error *e)
{
	struct vfd_group *g;
	int ret = vfd__group_get(c, sd->iommu_group, &g, e);
	int fd;

	if (ret)
		return ret;
	fd = ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, sd->name);
	if (fd < 0) {
		ret = -errno;
		vfd__group_put(c, g);
		if (ret == -EBUSY)
			return vfd__err_errno(e, ret, "cannot get the VFIO "
					      "device fd of %s: it is already "
					      "open", sd->name);
		return vfd__err_errno(e, ret, "cannot get the VFIO device fd "
				      "of %s (group %d)", sd->name, g->number);
	}
	*devfd = fd;
	*priv = g;
	return 0;
}

static void type1_detach_device(struct vfd_container *c, void *priv)
{
	vfd__group_put(c, priv);
}

static int type1_iommu_info(struct vfd_container *c,
			    struct vfd_iommu_info *info, struct vfd_error *e)
{
	size_t len = 1024;

	for (int tries = 0; tries < 4; tries++) {
		struct vfio_iommu_type1_info *buf = calloc(1, len);
		int ret;

		if (!buf)
			return vfd__err(e, -ENOMEM, "out of memory");
		buf->argsz = (uint32_t)len;
		if (ioctl(c->fd, VFIO_IOMMU_GET_INFO, buf)) {
			ret = -errno;
			free(buf);
			return vfd__err_errno(e, ret, "VFIO_IOMMU_GET_INFO failed");
		}
		if (buf->argsz > len) {
			/* capability chain did not fit: retry bigger */
			len = buf->argsz;
			free(buf);
			continue;
		}
		ret = vfd_parse_iommu_info(buf, buf->argsz < len ? buf->argsz : len,
					   info, e);
		free(buf);
		return ret;
	}
	return vfd__err(e, -EPROTO, "VFIO_IOMMU_GET_INFO keeps growing");
}

static int type1_map_dmabuf(struct vfd_container *c, int fd, uint64_t offset,
			    uint64_t iova, uint64_t size, uint32_t flags,
			    struct vfd_error *e)
{
	struct vfio_iommu_type1_dma_map_dmabuf m;

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = ((flags & VFD_DMA_READ) ? VFIO_DMA_MAP_FLAG_READ : 0) |
		  ((flags & VFD_DMA_WRITE) ? VFIO_DMA_MAP_FLAG_WRITE : 0);
	m.fd = fd;
	m.offset = offset;
	m.iova = iova;
	m.size = size;
	if (ioctl(c->fd, VFIO_IOMMU_MAP_DMABUF, &m) == 0)
		return 0;

	int ret = -errno;
	const char *why = "";
	switch (ret) {
	case -ENOTTY:
		return vfd__err(e, -EOPNOTSUPP,
				"VFIO_IOMMU_MAP_DMABUF is not supported by this "
				"kernel's vfio_iommu_type1");
	case -EBADF:
		why = " (not an open file descriptor)";
		break;
	case -EINVAL:
		why = " (not a dma-buf, offset+size beyond the buffer, or "
		      "unaligned)";
		break;
	case -EACCES:
		why = " (the dma-buf fd is not open for the requested access)";
		break;
	case -EEXIST:
		why = " (overlaps an existing mapping)";
		break;
	case -ENOSPC:
		why = " (the container's DMA mapping limit is reached)";
		break;
	case -ENODEV:
		why = " (the exporter revoked the buffer)";
		break;
	case -ENXIO:
		why = " (the exporter's addresses cannot be mapped by an IOMMU)";
		break;
	case -EOPNOTSUPP:
		why = " (DMA for this platform is bounced or translated)";
		break;
	default:
		break;
	}
	return vfd__err_errno(e, ret,
			      "VFIO_IOMMU_MAP_DMABUF fd %d offset 0x%" PRIx64
			      " size 0x%" PRIx64 " at IOVA 0x%" PRIx64 "%s",
			      fd, offset, size, iova, why);
}

static int type1_map_vaddr(struct vfd_container *c, void *vaddr,
			   uint64_t iova, uint64_t size, uint32_t flags,
			   struct vfd_error *e)
{
	struct vfio_iommu_type1_dma_map m;

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = ((flags & VFD_DMA_READ) ? VFIO_DMA_MAP_FLAG_READ : 0) |
		  ((flags & VFD_DMA_WRITE) ? VFIO_DMA_MAP_FLAG_WRITE : 0);
	m.vaddr = (uintptr_t)vaddr;
	m.iova = iova;
	m.size = size;
	if (ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &m) == 0)
		return 0;

	int ret = -errno;
	const char *why = "";
	if (ret == -ENOMEM)
		why = " (RLIMIT_MEMLOCK too low?)";
	else if (ret == -EFAULT)
		why = " (memory not mapped, or not pinnable, e.g. a dma-buf "
		      "mmap: use vfd_dma_map_dmabuf)";
	else if (ret == -ENOSPC)
		why = " (the container's DMA mapping limit is reached)";
	return vfd__err_errno(e, ret,
			      "VFIO_IOMMU_MAP_DMA vaddr %p size 0x%" PRIx64
			      " at IOVA 0x%" PRIx64 "%s", vaddr, size, iova, why);
}

static int type1_unmap(struct vfd_container *c, uint64_t iova, uint64_t size,
		       struct vfd_error *e)
{
	struct vfio_iommu_type1_dma_unmap u;

	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.iova = iova;
	u.size = size;
	if (ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &u))
		return vfd__err_errno(e, -errno,
				      "VFIO_IOMMU_UNMAP_DMA IOVA 0x%" PRIx64
				      " size 0x%" PRIx64, iova, size);
	if (u.size != size)
		return vfd__err(e, -EIO,
				"VFIO_IOMMU_UNMAP_DMA IOVA 0x%" PRIx64 " unmapped "
				"0x%llx bytes instead of 0x%" PRIx64, iova,
				(unsigned long long)u.size, size);
	return 0;
}

static int type1_dmabuf_state(struct vfd_container *c, uint64_t iova,
			      enum vfd_dmabuf_state *state, struct vfd_error *e)
{
	struct vfio_iommu_type1_dmabuf_state s;

	memset(&s, 0, sizeof(s));
	s.argsz = sizeof(s);
	s.iova = iova;
	if (ioctl(c->fd, VFIO_IOMMU_DMABUF_GET_STATE, &s)) {
		int ret = -errno;
		if (ret == -ENOTTY)
			return vfd__err(e, -EOPNOTSUPP,
					"VFIO_IOMMU_DMABUF_GET_STATE is not "
					"supported by this kernel");
		return vfd__err_errno(e, ret, "VFIO_IOMMU_DMABUF_GET_STATE "
				      "IOVA 0x%" PRIx64, iova);
	}
	switch (s.state) {
	case VFIO_DMABUF_STATE_MAPPED:
		*state = VFD_DMABUF_STATE_MAPPED;
		return 0;
	case VFIO_DMABUF_STATE_REVOKED:
		*state = VFD_DMABUF_STATE_REVOKED;
		return 0;
	case VFIO_DMABUF_STATE_UNMAPPED:
		*state = VFD_DMABUF_STATE_UNMAPPED;
		return 0;
	default:
		return vfd__err(e, -EPROTO, "unknown dma-buf mapping state %u",
				s.state);
	}
}

static int type1_set_revoke_eventfd(struct vfd_container *c, int eventfd,
				    struct vfd_error *e)
{
	struct vfio_iommu_type1_dmabuf_eventfd ev;

	memset(&ev, 0, sizeof(ev));
	ev.argsz = sizeof(ev);
	ev.flags = VFIO_DMABUF_EVENT_REVOKED;
	ev.fd = eventfd;
	if (ioctl(c->fd, VFIO_IOMMU_DMABUF_SET_EVENTFD, &ev)) {
		int ret = -errno;

		if (ret == -ENOTTY)
			return vfd__err(e, -EOPNOTSUPP,
					"VFIO_IOMMU_DMABUF_SET_EVENTFD is not "
					"supported by this kernel: its "
					"vfio_iommu_type1 cannot signal "
					"revocations");
		return vfd__err_errno(e, ret, "VFIO_IOMMU_DMABUF_SET_EVENTFD");
	}
	return 0;
}

static int type1_find_revoked(struct vfd_container *c, uint64_t *iova,
			      uint64_t *size, struct vfd_error *e)
{
	struct vfio_iommu_type1_dmabuf_state s;

	memset(&s, 0, sizeof(s));
	s.argsz = sizeof(s);
	s.flags = VFIO_DMABUF_STATE_FLAG_FIND_REVOKED;
	s.iova = *iova;
	if (ioctl(c->fd, VFIO_IOMMU_DMABUF_GET_STATE, &s)) {
		int ret = -errno;

		if (ret == -ENOENT)
			return ret;
		return vfd__err_errno(e, ret, "VFIO_IOMMU_DMABUF_GET_STATE "
				      "(FIND_REVOKED) from IOVA 0x%" PRIx64,
				      *iova);
	}
	*iova = s.iova;
	*size = s.size;
	return 0;
}

const struct vfd_backend_ops vfd__backend_type1 = {
	.name = "vfio-type1",
	.open = type1_open,
	.close = type1_close,
	.attach_device = type1_attach_device,
	.detach_device = type1_detach_device,
	.iommu_info = type1_iommu_info,
	.map_dmabuf = type1_map_dmabuf,
	.map_vaddr = type1_map_vaddr,
	.unmap = type1_unmap,
	.dmabuf_state = type1_dmabuf_state,
	.set_revoke_eventfd = type1_set_revoke_eventfd,
	.find_revoked = type1_find_revoked,
};
