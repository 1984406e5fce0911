// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_IOMMU_GET_INFO (its DMA entries left must match the model) and
 * VFIO_IOMMU_DMABUF_GET_STATE (the state and size of a mapping).
 */
#define _GNU_SOURCE
#include "fuzz.h"

void do_get_info(struct fz *z)
{
	struct vfio_iommu_type1_info a = { 0 };
	const size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info *out;
	int want = 0;
	uint8_t *p;

	switch (rndn(&z->rng, 8)) {
	case 0: a.argsz = (uint32_t)rndn(&z->rng, minsz + 1); break;
	case 1: a.argsz = sizeof(a); break;
	case 2: a.argsz = (uint32_t)z->info_needed - 1; break;
	case 3: a.argsz = ~0u; break;
	default: a.argsz = (uint32_t)z->info_needed + (uint32_t)rndn(&z->rng, 64); break;
	}
	a.flags = (uint32_t)rnd(&z->rng);	/* output only: ignored */
	p = place(z, &a, sizeof(a), minsz);
	note(z, IOC_INFO, "argsz %u arg %p", a.argsz, (void *)p);
	if (!readable(z, p, 0, minsz))
		want = EFAULT;
	else if (a.argsz < minsz)
		want = EINVAL;
	else if (a.argsz >= z->info_needed && !readable(z, p, 0, z->info_needed))
		want = EFAULT;		/* the capabilities cannot be written */
	else if (!readable(z, p, 0, a.argsz < sizeof(a) ? a.argsz : sizeof(a)))
		want = EFAULT;
	if (call(z, IOC_INFO, VFIO_IOMMU_GET_INFO, p, want, -1))
		return;
	out = (void *)p;
	if (!(out->flags & VFIO_IOMMU_INFO_PGSIZES) || out->iova_pgsizes != z->fx->info.pgsizes)
		ZFAIL(z, "call %" PRIu64 ": GET_INFO flags 0x%x pgsizes 0x%llx, expected 0x%" PRIx64,
		      z->call - 1, out->flags, (unsigned long long)out->iova_pgsizes,
		      z->fx->info.pgsizes);
	if (a.argsz < z->info_needed) {
		if (a.argsz >= sizeof(*out) && out->argsz != z->info_needed)
			ZFAIL(z, "call %" PRIu64 ": GET_INFO asks for argsz %u, before %zu",
			      z->call - 1, out->argsz, z->info_needed);
		return;
	}
	/* walk the capabilities: the entries left must match the model */
	for (uint32_t off = out->cap_offset; off; ) {
		struct vfio_info_cap_header *h = (void *)(p + off);

		if (off + sizeof(*h) > z->info_needed)
			ZFAIL(z, "GET_INFO capability at %u beyond %zu", off, z->info_needed);
		if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			struct vfio_iommu_type1_info_dma_avail *d = (void *)h;

			if (d->avail != z->limit - z->n)
				ZFAIL(z, "call %" PRIu64 ": GET_INFO: %u DMA entries left, the model has"
				      " %u mappings of %u", z->call - 1, d->avail, z->n, z->limit);
		}
		off = h->next;
	}
}

void do_get_state(struct fz *z)
{
	struct vfio_iommu_type1_dmabuf_state a = { 0 };
	const size_t minsz = sizeof(a);
	struct vfio_iommu_type1_dmabuf_state *out;
	int want = 0, i;
	uint8_t *p;

	a.argsz = g_argsz(z, minsz, sizeof(a));
	a.flags = rndn(&z->rng, 30) ? 0 : (uint32_t)rnd(&z->rng) | 1;
	a.iova = z->n && rndn(&z->rng, 2) ? z->m[rndn(&z->rng, z->n)].iova : g_iova(z);
	a.size = rnd(&z->rng);		/* outputs: must be overwritten */
	a.state = (uint32_t)rnd(&z->rng);
	a.__reserved = (uint32_t)rnd(&z->rng);
	p = place(z, &a, sizeof(a), minsz);
	note(z, IOC_STATE, "argsz %u flags 0x%x iova 0x%llx arg %p", a.argsz, a.flags,
	     (unsigned long long)a.iova, (void *)p);
	i = m_find(z, a.iova);
	if (!readable(z, p, 0, minsz))
		want = EFAULT;
	else if (a.argsz < minsz || a.flags)
		want = EINVAL;
	else if (i < 0)
		want = ENOENT;
	else if (!z->m[i].dmabuf || z->m[i].iova != a.iova)
		want = EINVAL;
	if (call(z, IOC_STATE, VFIO_IOMMU_DMABUF_GET_STATE, p, want, -1))
		return;
	out = (void *)p;
	if (out->size != z->m[i].size || out->__reserved ||
	    out->state != (z->m[i].revoked ? VFIO_DMABUF_STATE_REVOKED : VFIO_DMABUF_STATE_MAPPED))
		ZFAIL(z, "call %" PRIu64 ": GET_STATE 0x%llx: state %u size 0x%llx reserved %u, the model"
		      " has %s 0x%" PRIx64, z->call - 1, (unsigned long long)a.iova, out->state,
		      (unsigned long long)out->size, out->__reserved,
		      z->m[i].revoked ? "REVOKED" : "MAPPED", z->m[i].size);
}
