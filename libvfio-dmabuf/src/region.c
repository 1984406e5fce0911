/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device regions: info (with capability chain), mmap, pread/pwrite, and
 * PCI config space access on top of them. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "uapi.h"

int vfd__region_info(struct vfd_device *d, uint32_t index,
		     struct vfd_region_info *info, struct vfd_error *e)
{
	size_t len = 512;

	if (index >= d->num_regions)
		return vfd__err(e, -EINVAL, "region index %u out of range: %s "
				"has %u regions", index, d->name, d->num_regions);
	for (int tries = 0; tries < 4; tries++) {
		struct vfio_region_info *ri = calloc(1, len);
		int ret;

		if (!ri)
			return vfd__err(e, -ENOMEM, "out of memory");
		ri->argsz = (uint32_t)len;
		ri->index = index;
		if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, ri)) {
			ret = -errno;
			free(ri);
			return vfd__err_errno(e, ret, "VFIO_DEVICE_GET_REGION_INFO "
					      "region %u of %s", index, d->name);
		}
		if (ri->argsz > len) {
			len = ri->argsz;
			free(ri);
			continue;
		}
		ret = vfd_parse_region_info(ri, ri->argsz < len ? ri->argsz : len,
					    info, e);
		free(ri);
		if (ret)
			return vfd__err_prefix(e, "region %u of %s", index,
					       d->name);
		pthread_mutex_lock(&d->lock);
		d->rcache[index].valid = true;
		d->rcache[index].flags = info->flags;
		d->rcache[index].offset = info->offset;
		d->rcache[index].size = info->size;
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	return vfd__err(e, -EPROTO, "VFIO_DEVICE_GET_REGION_INFO keeps growing");
}

int vfd_region_info(struct vfd_device *d, uint32_t index,
		    struct vfd_region_info *info)
{
	struct vfd_error e = { 0 };

	if (!d || !info)
		return -EINVAL;
	if (vfd__region_info(d, index, info, &e))
		return vfd__errslot_store(&d->err, &e);
	return 0;
}

/* Offset/size/flags of region @index, from the cache or the kernel. */
static int region_get(struct vfd_device *d, uint32_t index,
		      struct vfd_region_cache *out, struct vfd_error *e)
{
	if (index < d->num_regions) {
		pthread_mutex_lock(&d->lock);
		*out = d->rcache[index];
		pthread_mutex_unlock(&d->lock);
		if (out->valid)
			return 0;
	}
	struct vfd_region_info *info = malloc(sizeof(*info));
	if (!info)
		return vfd__err(e, -ENOMEM, "out of memory");
	int ret = vfd__region_info(d, index, info, e);
	if (!ret) {
		out->valid = true;
		out->flags = info->flags;
		out->offset = info->offset;
		out->size = info->size;
	}
	free(info);
	return ret;
}

static struct vfd_region_map *find_map(struct vfd_device *d, uint32_t index)
{
	for (size_t i = 0; i < d->nr_maps; i++)
		if (d->maps[i].index == index)
			return &d->maps[i];
	return NULL;
}

int vfd_region_map(struct vfd_device *d, uint32_t index, void **ptr,
		   size_t *size)
{
	struct vfd_error e = { 0 };
	struct vfd_region_info *info;
	struct vfd_region_map *m;
	void *base = MAP_FAILED;
	int ret = 0, prot;

	if (!d || !ptr)
		return -EINVAL;
	info = malloc(sizeof(*info));
	if (!info) {
		vfd__err(&e, -ENOMEM, "out of memory");
		return vfd__errslot_store(&d->err, &e);
	}
	pthread_mutex_lock(&d->lock);
	m = find_map(d, index);
	if (m) {
		*ptr = m->ptr;
		if (size)
			*size = m->size;
		goto out;
	}
	pthread_mutex_unlock(&d->lock);
	ret = vfd__region_info(d, index, info, &e);
	pthread_mutex_lock(&d->lock);
	if (ret)
		goto out;
	if (find_map(d, index)) {	/* raced with another thread */
		m = find_map(d, index);
		*ptr = m->ptr;
		if (size)
			*size = m->size;
		goto out;
	}
	if (!(info->flags & VFD_REGION_MMAP) || info->size == 0 ||
	    info->size > SIZE_MAX) {
		ret = vfd__err(&e, -EINVAL, "region %u of %s cannot be mmapped "
			       "(size 0x%" PRIx64 ", flags 0x%x): use "
			       "vfd_region_read/write", index, d->name,
			       info->size, info->flags);
		goto out;
	}
	prot = ((info->flags & VFD_REGION_READ) ? PROT_READ : 0) |
	       ((info->flags & VFD_REGION_WRITE) ? PROT_WRITE : 0);
	if (info->sparse_reported) {
		/* Reserve the whole range, map only the mmap-able areas. */
		base = mmap(NULL, (size_t)info->size, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == MAP_FAILED) {
			ret = vfd__err_errno(&e, -errno, "cannot reserve address "
					     "space for region %u", index);
			goto out;
		}
		for (uint32_t i = 0; i < info->nr_sparse; i++) {
			if (!info->sparse[i].size)
				continue;
			void *p = mmap((char *)base + info->sparse[i].offset,
				       (size_t)info->sparse[i].size, prot,
				       MAP_SHARED | MAP_FIXED, d->fd,
				       (off_t)(info->offset + info->sparse[i].offset));
			if (p == MAP_FAILED) {
				ret = vfd__err_errno(&e, -errno,
						     "mmap of sparse area %u of "
						     "region %u of %s", i, index,
						     d->name);
				munmap(base, (size_t)info->size);
				goto out;
			}
		}
	} else {
		base = mmap(NULL, (size_t)info->size, prot, MAP_SHARED, d->fd,
			    (off_t)info->offset);
		if (base == MAP_FAILED) {
			ret = vfd__err_errno(&e, -errno, "mmap of region %u of %s",
					     index, d->name);
			goto out;
		}
	}
	m = realloc(d->maps, (d->nr_maps + 1) * sizeof(*m));
	if (!m) {
		munmap(base, (size_t)info->size);
		ret = vfd__err(&e, -ENOMEM, "out of memory");
		goto out;
	}
	d->maps = m;
	d->maps[d->nr_maps].index = index;
	d->maps[d->nr_maps].ptr = base;
	d->maps[d->nr_maps].size = (size_t)info->size;
	d->nr_maps++;
	*ptr = base;
	if (size)
		*size = (size_t)info->size;
out:
	pthread_mutex_unlock(&d->lock);
	free(info);
	if (ret)
		vfd__errslot_store(&d->err, &e);
	return ret;
}

int vfd_region_unmap(struct vfd_device *d, uint32_t index)
{
	struct vfd_error e = { 0 };
	struct vfd_region_map *m;

	if (!d)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	m = find_map(d, index);
	if (m) {
		munmap(m->ptr, m->size);
		*m = d->maps[--d->nr_maps];
	}
	pthread_mutex_unlock(&d->lock);
	if (!m) {
		vfd__err(&e, -ENOENT, "region %u of %s is not mapped", index,
			 d->name);
		return vfd__errslot_store(&d->err, &e);
	}
	return 0;
}

void vfd__region_unmap_all(struct vfd_device *d)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->nr_maps; i++)
		munmap(d->maps[i].ptr, d->maps[i].size);
	free(d->maps);
	d->maps = NULL;
	d->nr_maps = 0;
	pthread_mutex_unlock(&d->lock);
}

static int region_rw(struct vfd_device *d, uint32_t index, uint64_t off,
		     void *buf, size_t len, bool write, struct vfd_error *e)
{
	struct vfd_region_cache r = { 0 };
	int ret = region_get(d, index, &r, e);
	size_t done = 0;

	if (ret)
		return ret;
	if (!(r.flags & (write ? VFD_REGION_WRITE : VFD_REGION_READ)))
		return vfd__err(e, -EINVAL, "region %u of %s is not %s", index,
				d->name, write ? "writable" : "readable");
	if (off > r.size || len > r.size - off)
		return vfd__err(e, -EINVAL, "access 0x%" PRIx64 "+0x%zx beyond "
				"region %u of %s (size 0x%" PRIx64 ")", off, len,
				index, d->name, r.size);
	while (done < len) {
		ssize_t n = write ?
			pwrite(d->fd, (const char *)buf + done, len - done,
			       (off_t)(r.offset + off + done)) :
			pread(d->fd, (char *)buf + done, len - done,
			      (off_t)(r.offset + off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vfd__err_errno(e, -errno, "%s region %u of %s at "
					      "0x%" PRIx64, write ? "pwrite" :
					      "pread", index, d->name, off + done);
		if (n == 0)
			return vfd__err(e, -EIO, "short %s on region %u of %s at "
					"0x%" PRIx64, write ? "write" : "read",
					index, d->name, off + done);
		done += (size_t)n;
	}
	return 0;
}

int vfd_region_read(struct vfd_device *d, uint32_t index, uint64_t off,
		    void *buf, size_t len)
{
	struct vfd_error e = { 0 };

	if (!d || (!buf && len))
		return -EINVAL;
	if (region_rw(d, index, off, buf, len, false, &e))
		return vfd__errslot_store(&d->err, &e);
	return 0;
}

int vfd_region_write(struct vfd_device *d, uint32_t index, uint64_t off,
		     const void *buf, size_t len)
{
	struct vfd_error e = { 0 };

	if (!d || (!buf && len))
		return -EINVAL;
	if (region_rw(d, index, off, (void *)buf, len, true, &e))
		return vfd__errslot_store(&d->err, &e);
	return 0;
}

/* ---- PCI config space ------------------------------------------------- */

static int pci_cfg(struct vfd_device *d, uint32_t off, void *buf, size_t len,
		   bool write)
{
	struct vfd_error e = { 0 };

	if (!d || (!buf && len))
		return -EINVAL;
	if (d->bus != VFD_BUS_PCI) {
		vfd__err(&e, -ENOTTY, "%s is not a PCI device: no config space",
			 d->name);
		return vfd__errslot_store(&d->err, &e);
	}
	if (region_rw(d, VFIO_PCI_CONFIG_REGION_INDEX, off, buf, len, write, &e))
		return vfd__errslot_store(&d->err, &e);
	return 0;
}

int vfd_pci_config_read(struct vfd_device *d, uint32_t off, void *buf,
			size_t len)
{
	return pci_cfg(d, off, buf, len, false);
}

int vfd_pci_config_write(struct vfd_device *d, uint32_t off,
			 const void *buf, size_t len)
{
	return pci_cfg(d, off, (void *)buf, len, true);
}

int vfd_pci_config_read16(struct vfd_device *d, uint32_t off, uint16_t *v)
{
	uint16_t le;
	int ret;

	if (!v)
		return -EINVAL;
	ret = pci_cfg(d, off, &le, sizeof(le), false);
	if (!ret)
		*v = le16toh(le);
	return ret;
}

int vfd_pci_config_write16(struct vfd_device *d, uint32_t off, uint16_t v)
{
	uint16_t le = htole16(v);
	return pci_cfg(d, off, &le, sizeof(le), true);
}

int vfd_pci_config_read32(struct vfd_device *d, uint32_t off, uint32_t *v)
{
	uint32_t le;
	int ret;

	if (!v)
		return -EINVAL;
	ret = pci_cfg(d, off, &le, sizeof(le), false);
	if (!ret)
		*v = le32toh(le);
	return ret;
}

int vfd_pci_config_write32(struct vfd_device *d, uint32_t off, uint32_t v)
{
	uint32_t le = htole32(v);
	return pci_cfg(d, off, &le, sizeof(le), true);
}

int vfd_pci_enable_bus_master(struct vfd_device *d)
{
	uint16_t cmd;
	int ret = vfd_pci_config_read16(d, VFD_PCI_COMMAND, &cmd);

	if (ret)
		return ret;
	if ((cmd & (VFD_PCI_COMMAND_MEMORY | VFD_PCI_COMMAND_MASTER)) ==
	    (VFD_PCI_COMMAND_MEMORY | VFD_PCI_COMMAND_MASTER))
		return 0;
	cmd |= VFD_PCI_COMMAND_MEMORY | VFD_PCI_COMMAND_MASTER;
	ret = vfd_pci_config_write16(d, VFD_PCI_COMMAND, cmd);
	if (ret)
		return ret;
	ret = vfd_pci_config_read16(d, VFD_PCI_COMMAND, &cmd);
	if (ret)
		return ret;
	if (!(cmd & VFD_PCI_COMMAND_MASTER)) {
		struct vfd_error e;
		vfd__err(&e, -EIO, "%s: Bus Master bit did not stick "
			 "(command register 0x%04x)", d->name, cmd);
		return vfd__errslot_store(&d->err, &e);
	}
	return 0;
}
