// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_IOMMU_UNMAP_DMA, plain, ALL, VADDR and GET_DIRTY_BITMAP: the
 * expected errno and unmapped size, the bitmap it returns, and the model
 * after it.
 */
#define _GNU_SOURCE
#include "fuzz.h"

void do_unmap(struct fz *z)
{
	struct {
		struct vfio_iommu_type1_dma_unmap u;
		struct vfio_bitmap b;
	} a = { 0 };
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	const uint32_t mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR |
			      VFIO_DMA_UNMAP_FLAG_ALL;
	uint64_t r = rndn(&z->rng, 100), want_size = 0, size;
	unsigned int idx[MAXMAP], k, i;
	bool all, vaddr, dirty, bad_data = false, bits_fault = false;
	int want = 0;
	uint8_t *p;

	a.u.argsz = g_argsz(z, minsz, sizeof(a.u));
	if (r < 73)
		a.u.flags = rndn(&z->rng, 500) ? 0 : VFIO_DMA_UNMAP_FLAG_ALL;
	else if (r < 81)
		a.u.flags = VFIO_DMA_UNMAP_FLAG_VADDR | (rndn(&z->rng, 10) ? 0 : VFIO_DMA_UNMAP_FLAG_ALL);
	else if (r < 93)
		a.u.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	else
		a.u.flags = (uint32_t)rnd(&z->rng) & (rndn(&z->rng, 2) ? mask : ~0u);
	all = a.u.flags & VFIO_DMA_UNMAP_FLAG_ALL;
	vaddr = a.u.flags & VFIO_DMA_UNMAP_FLAG_VADDR;
	dirty = a.u.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	if (all && rndn(&z->rng, 8)) {
		a.u.iova = 0;
		a.u.size = 0;
	} else if (z->n && rndn(&z->rng, 5) < 2) {
		const struct mm *m = &z->m[rndn(&z->rng, z->n)];

		a.u.iova = m->iova;
		a.u.size = m->size;
		if (rndn(&z->rng, 4) == 0)	/* and what follows */
			a.u.size += rndn(&z->rng, 64) * z->pg;
	} else {
		a.u.iova = g_iova(z);
		a.u.size = g_size(z, a.u.iova, 0);
	}
	if (dirty) {
		a.u.argsz = rndn(&z->rng, 10) ? sizeof(a) : a.u.argsz;
		a.b.pgsize = rndn(&z->rng, 8) ? z->pg : (uint64_t)1 << rndn(&z->rng, 40);
		a.b.size = ((a.u.size / z->pg + 63) / 64) * 8;
		if (rndn(&z->rng, 8) == 0)
			a.b.size = rndn(&z->rng, 2) ? a.b.size - 8 : rnd(&z->rng) >> rndn(&z->rng, 64);
		if (a.b.size > BITMAP_BYTES && a.b.size <= ((1ull << 31) / 8)) {
			/* too large for our buffer: ask for less */
			a.u.size = z->pg * 64;
			a.b.size = 8;
		}
		switch (rndn(&z->rng, 12)) {
		case 0: a.b.data = NULL; bad_data = true; break;
		case 1: a.b.data = (__u64 *)(uintptr_t)0xffff800000000000ull; break;
		default: a.b.data = (__u64 *)z->bitmap; break;
		}
		memset(z->bitmap, 0, BITMAP_BYTES);
	}
	p = place(z, &a, sizeof(a), minsz);
	note(z, IOC_UNMAP, "argsz %u flags 0x%x iova 0x%llx size 0x%llx bitmap pgsize 0x%llx"
	     " size 0x%llx data %p arg %p", a.u.argsz, a.u.flags, (unsigned long long)a.u.iova,
	     (unsigned long long)a.u.size, (unsigned long long)a.b.pgsize,
	     (unsigned long long)a.b.size, (void *)a.b.data, (void *)p);

	size = all ? ~0ull : a.u.size;
	if (!all && a.u.iova + a.u.size == 0 && a.u.size) {
		/* the kernel's walk stops at once: nothing in range */
		for (i = 0; i < z->n; i++)
			if (m_starts_in(&z->m[i], a.u.iova, a.u.size)) {
				z->wrap_hits++;
				break;
			}
		size = 0;
	}
	if (!readable(z, p, 0, minsz))
		want = EFAULT;
	else if (a.u.argsz < minsz || a.u.flags & ~mask)
		want = EINVAL;
	else if (dirty && (all || vaddr))
		want = EINVAL;
	else if (dirty && a.u.argsz < minsz + sizeof(a.b))
		want = EINVAL;
	else if (dirty && !readable(z, p, minsz, sizeof(a.b)))
		want = EFAULT;
	else if (dirty && ((uintptr_t)a.b.data >= 0xffff000000000000ull || !a.b.pgsize ||
			   a.b.size > BITMAP_BYTES || !a.b.size ||
			   a.b.size < ((a.u.size / a.b.pgsize + 63) / 64) * 8 ||
			   !(a.u.size / a.b.pgsize)))
		want = EINVAL;		/* access_ok() and verify_bitmap_size() */
	else if (a.u.iova & (z->pg - 1))
		want = EINVAL;
	else if (all && (a.u.iova || a.u.size))
		want = EINVAL;
	else if (!all && (!a.u.size || a.u.size & (z->pg - 1) || a.u.iova + a.u.size - 1 < a.u.iova))
		want = EINVAL;
	else if (dirty && (!z->dirty || a.b.pgsize != z->pg))
		want = EINVAL;
	else if (!all && bisects(z, a.u.iova, a.u.size))
		want = EINVAL;
	else if (vaddr) {
		/* dma-buf ranges have no vaddr: skipped, not counted */
		for (i = 0; i < z->n; i++)
			if (m_starts_in(&z->m[i], a.u.iova, size) && !z->m[i].dmabuf) {
				if (z->m[i].vinv)
					want = EINVAL;
				want_size += z->m[i].size;
			}
		if (want)
			want_size = 0;
	} else {
		for (i = 0; i < z->n; i++)
			if (m_starts_in(&z->m[i], a.u.iova, size))
				want_size += z->m[i].size;
		if (dirty && bad_data && want_size) {
			want = EFAULT;	/* the first mapping's bits cannot be written */
			bits_fault = true;
		}
	}
	if (!want && !vaddr && rndn(&z->rng, 20)) {
		/* mostly spare the canary, so that it lives long between checks */
		for (i = 0; i < z->n; i++)
			if (m_starts_in(&z->m[i], a.u.iova, size) && z->m[i].dmabuf &&
			    z->m[i].bufid == z->canary_bufid) {
				z->canary_spared++;
				return;
			}
	}
	if (call(z, IOC_UNMAP, VFIO_IOMMU_UNMAP_DMA, p, want, -1)) {
		if (bits_fault) {
			/* the first mapping's bitmap was set (and shifted) first */
			in_range(z, a.u.iova, size, idx);
			emu_update(z, &z->m[idx[0]], a.u.iova, false);
		}
		return;
	}
	if (((struct vfio_iommu_type1_dma_unmap *)p)->size != want_size)
		ZFAIL(z, "call %" PRIu64 ": UNMAP_DMA %s: unmapped 0x%llx, the model has 0x%" PRIx64,
		      z->call - 1, z->ring[(z->call - 1) % 16].what,
		      (unsigned long long)((struct vfio_iommu_type1_dma_unmap *)p)->size, want_size);
	if (vaddr) {
		for (i = 0; i < z->n; i++)
			if (m_starts_in(&z->m[i], a.u.iova, size) && !z->m[i].dmabuf)
				z->m[i].vinv = true;
		return;
	}
	if (dirty) {
		memset(z->ubm, 0, sizeof(z->ubm));
		k = in_range(z, a.u.iova, size, idx);
		for (i = 0; i < k; i++)
			emu_update(z, &z->m[idx[i]], a.u.iova, true);
		check_bitmap(z, a.u.iova, a.u.size, idx, k);
	}
	for (i = 0; i < z->n; )
		if (m_starts_in(&z->m[i], a.u.iova, size))
			m_del(z, i);
		else
			i++;
	z->unmapped_bytes += want_size;
}
