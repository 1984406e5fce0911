/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DMA mappings: map dma-bufs and process memory, unmap, look up. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Index of the first mapping whose last byte is >= @iova. */
static size_t map_pos(const struct vfd_container *c, uint64_t iova)
{
	size_t lo = 0, hi = c->nr_maps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct vfd_dma_mapping *m = &c->maps[mid];
		if (m->iova + (m->size - 1) < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int record(struct vfd_container *c, const struct vfd_dma_mapping *m,
		  struct vfd_error *e)
{
	size_t pos = map_pos(c, m->iova);

	if (c->nr_maps == c->cap_maps) {
		size_t ncap = c->cap_maps ? c->cap_maps * 2 : 16;
		struct vfd_dma_mapping *n = realloc(c->maps, ncap * sizeof(*n));
		if (!n)
			return vfd__err(e, -ENOMEM, "out of memory");
		c->maps = n;
		c->cap_maps = ncap;
	}
	memmove(&c->maps[pos + 1], &c->maps[pos],
		(c->nr_maps - pos) * sizeof(*c->maps));
	c->maps[pos] = *m;
	c->nr_maps++;
	return 0;
}

static void drop(struct vfd_container *c, size_t i)
{
	vfd_iova_free(&c->iova, c->maps[i].iova);
	memmove(&c->maps[i], &c->maps[i + 1],
		(c->nr_maps - i - 1) * sizeof(*c->maps));
	c->nr_maps--;
}

static int do_map(struct vfd_container *c, struct vfd_dma_mapping *m,
		  uint64_t *iova, uint32_t flags, struct vfd_error *e)
{
	bool fixed;
	int ret;

	if (!iova)
		return vfd__err(e, -EINVAL, "iova pointer is NULL");
	if (!(flags & VFD_DMA_RW))
		return vfd__err(e, -EINVAL, "flags must include VFD_DMA_READ "
				"and/or VFD_DMA_WRITE");
	if (flags & ~(VFD_DMA_RW | VFD_DMA_ALIGN_MASK))
		return vfd__err(e, -EINVAL, "unknown DMA flags 0x%x", flags);
	if (m->size == 0)
		return vfd__err(e, -EINVAL, "size is 0");
	if (c->flags & VFD_CONTAINER_NOIOMMU)
		return vfd__err(e, -EOPNOTSUPP,
				"a no-IOMMU container maps nothing for DMA: its "
				"devices reach physical memory untranslated");
	if (!c->iommu_set)
		return vfd__err(e, -ENODEV,
				"no device attached to the container yet: open "
				"a device before mapping");
	if (m->kind == VFD_DMA_KIND_DMABUF) {
		if (!c->has_map_dmabuf)
			return vfd__err(e, -EOPNOTSUPP,
					"the kernel does not offer "
					"VFIO_IOMMU_MAP_DMABUF (extension "
					"VFIO_TYPE1_MAP_DMABUF): load the "
					"vfio-dmabuf build of vfio_iommu_type1");
		if (m->dmabuf_fd < 0)
			return vfd__err(e, -EBADF, "invalid dma-buf fd %d",
					m->dmabuf_fd);
		if (m->dmabuf_offset % c->iova.min_page)
			return vfd__err(e, -EINVAL,
					"dma-buf offset 0x%" PRIx64 " is not "
					"aligned to the IOMMU page size 0x%" PRIx64,
					m->dmabuf_offset, c->iova.min_page);
	} else if ((uintptr_t)m->vaddr % c->iova.min_page) {
		return vfd__err(e, -EINVAL, "address %p is not aligned to the "
				"IOMMU page size 0x%" PRIx64, m->vaddr,
				c->iova.min_page);
	}

	fixed = *iova != VFD_IOVA_ANY;
	if (fixed) {
		ret = vfd_iova_reserve(&c->iova, *iova, m->size, e);
	} else {
		unsigned shift = (flags & VFD_DMA_ALIGN_MASK) >> 8;
		uint64_t align = shift ? (1ull << shift) :
			vfd_iova_default_align(c->pgsizes, m->size);
		if (shift && shift < 12)
			return vfd__err(e, -EINVAL, "alignment shift %u < 12",
					shift);
		ret = vfd_iova_alloc(&c->iova, m->size, align, iova, e);
	}
	if (ret)
		return ret;

	m->iova = *iova;
	m->flags = flags & VFD_DMA_RW;
	m->iova_allocated = !fixed;
	if (m->kind == VFD_DMA_KIND_DMABUF)
		ret = c->ops->map_dmabuf(c, m->dmabuf_fd, m->dmabuf_offset,
					 m->iova, m->size, m->flags, e);
	else
		ret = c->ops->map_vaddr(c, m->vaddr, m->iova, m->size,
					m->flags, e);
	if (ret)
		goto fail_free;
	ret = record(c, m, e);
	if (ret) {
		struct vfd_error ignored;
		c->ops->unmap(c, m->iova, m->size, &ignored);
		goto fail_free;
	}
	return 0;

fail_free:
	vfd_iova_free(&c->iova, m->iova);
	if (!fixed)
		*iova = VFD_IOVA_ANY;
	return ret;
}

int vfd_dma_map_dmabuf(struct vfd_container *c, int dmabuf_fd,
		       uint64_t offset, uint64_t size, uint64_t *iova,
		       uint32_t flags)
{
	struct vfd_dma_mapping m = {
		.kind = VFD_DMA_KIND_DMABUF,
		.dmabuf_fd = dmabuf_fd,
		.dmabuf_offset = offset,
		.size = size,
	};
	struct vfd_error e = { 0 };
	int ret;

	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	ret = do_map(c, &m, iova, flags, &e);
	pthread_mutex_unlock(&c->lock);
	if (ret)
		vfd__errslot_store(&c->err, &e);
	return ret;
}

int vfd_dma_map_mem(struct vfd_container *c, void *vaddr, uint64_t size,
		    uint64_t *iova, uint32_t flags)
{
	struct vfd_dma_mapping m = {
		.kind = VFD_DMA_KIND_MEM,
		.vaddr = vaddr,
		.dmabuf_fd = -1,
		.size = size,
	};
	struct vfd_error e = { 0 };
	int ret;

	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (!vaddr)
		ret = vfd__err(&e, -EINVAL, "vaddr is NULL");
	else
		ret = do_map(c, &m, iova, flags, &e);
	pthread_mutex_unlock(&c->lock);
	if (ret)
		vfd__errslot_store(&c->err, &e);
	return ret;
}

int vfd_dma_map_buf(struct vfd_container *c, struct vfd_dmabuf *b,
		    uint64_t *iova, uint32_t flags)
{
	if (!c)
		return -EINVAL;
	if (!b) {
		struct vfd_error e;
		vfd__err(&e, -EINVAL, "dma-buf handle is NULL");
		return vfd__errslot_store(&c->err, &e);
	}
	return vfd_dma_map_dmabuf(c, vfd_dmabuf_fd(b), 0, vfd_dmabuf_size(b),
				  iova, flags);
}

int vfd_dma_unmap(struct vfd_container *c, uint64_t iova)
{
	struct vfd_error e = { 0 };
	int ret;

	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	size_t i = map_pos(c, iova);
	if (i >= c->nr_maps || c->maps[i].iova > iova) {
		ret = vfd__err(&e, -ENOENT, "nothing is mapped at IOVA 0x%" PRIx64,
			       iova);
	} else if (c->maps[i].iova != iova) {
		ret = vfd__err(&e, -ENOENT,
			       "IOVA 0x%" PRIx64 " is inside the mapping at "
			       "0x%" PRIx64 " (size 0x%" PRIx64 "): unmap it by "
			       "its start", iova, c->maps[i].iova,
			       c->maps[i].size);
	} else {
		ret = c->ops->unmap(c, iova, c->maps[i].size, &e);
		if (!ret)
			drop(c, i);
	}
	pthread_mutex_unlock(&c->lock);
	if (ret)
		vfd__errslot_store(&c->err, &e);
	return ret;
}

int vfd__dma_unmap_all_locked(struct vfd_container *c, struct vfd_error *e)
{
	int n = 0, first_err = 0;
	size_t i = 0;

	while (i < c->nr_maps) {
		int ret = c->ops->unmap(c, c->maps[i].iova, c->maps[i].size, e);
		if (ret) {
			if (!first_err)
				first_err = ret;
			i++;		/* keep the record of what failed */
			continue;
		}
		drop(c, i);
		n++;
	}
	return first_err ? first_err : n;
}

const struct vfd_dma_mapping *vfd__dma_at_locked(const struct vfd_container *c,
					       uint64_t iova)
{
	size_t i = map_pos(c, iova);

	return i < c->nr_maps && c->maps[i].iova == iova ? &c->maps[i] : NULL;
}

void vfd__dma_forget_all(struct vfd_container *c)
{
	while (c->nr_maps)
		drop(c, c->nr_maps - 1);
}

int vfd_dma_unmap_all(struct vfd_container *c)
{
	struct vfd_error e = { 0 };
	int ret;

	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	ret = vfd__dma_unmap_all_locked(c, &e);
	pthread_mutex_unlock(&c->lock);
	if (ret < 0)
		vfd__errslot_store(&c->err, &e);
	return ret;
}

int vfd_dma_lookup(struct vfd_container *c, uint64_t iova,
		   struct vfd_dma_mapping *out)
{
	struct vfd_error e = { 0 };
	int ret = 0;

	if (!c || !out)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	size_t i = map_pos(c, iova);
	if (i < c->nr_maps && c->maps[i].iova <= iova)
		*out = c->maps[i];
	else
		ret = vfd__err(&e, -ENOENT, "nothing is mapped at IOVA 0x%" PRIx64,
			       iova);
	pthread_mutex_unlock(&c->lock);
	if (ret)
		vfd__errslot_store(&c->err, &e);
	return ret;
}

int vfd_dma_list(struct vfd_container *c, struct vfd_dma_mapping *out,
		 size_t max)
{
	int n;

	if (!c || (max && !out))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nr_maps && i < max; i++)
		out[i] = c->maps[i];
	n = c->nr_maps > INT32_MAX ? INT32_MAX : (int)c->nr_maps;
	pthread_mutex_unlock(&c->lock);
	return n;
}

int vfd_dma_dmabuf_state(struct vfd_container *c, uint64_t iova,
			 enum vfd_dmabuf_state *state)
{
	struct vfd_error e = { 0 };
	int ret;

	if (!c || !state)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	size_t i = map_pos(c, iova);
	if (i >= c->nr_maps || c->maps[i].iova != iova)
		ret = vfd__err(&e, -ENOENT, "no mapping starts at IOVA 0x%" PRIx64,
			       iova);
	else if (c->maps[i].kind != VFD_DMA_KIND_DMABUF)
		ret = vfd__err(&e, -EINVAL, "the mapping at IOVA 0x%" PRIx64
			       " is not a dma-buf mapping", iova);
	else
		ret = c->ops->dmabuf_state(c, iova, state, &e);
	pthread_mutex_unlock(&c->lock);
	if (ret)
		vfd__errslot_store(&c->err, &e);
	return ret;
}
