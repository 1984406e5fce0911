// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_IOMMU_MAP_DMABUF and VFIO_IOMMU_MAP_DMA: random arguments, the
 * errno the kernel's order of checks gives them, and the mapping added to
 * the model when they succeed.
 */
#define _GNU_SOURCE
#include "fuzz.h"

void do_map_dmabuf(struct fz *z)
{
	struct vfio_iommu_type1_dma_map_dmabuf a = { 0 };
	const size_t minsz = sizeof(a);
	struct fdent *f = g_fd(z);
	uint64_t pgsz = (uint64_t)sysconf(_SC_PAGESIZE);
	int want = 0, alt = -1, prot;
	uint8_t *p;

	a.argsz = g_argsz(z, minsz, sizeof(a));
	a.flags = g_flags(z, RW);
	a.fd = f->fd;
	a.__reserved = rndn(&z->rng, 50) ? 0 : (uint32_t)rnd(&z->rng) | 1;
	a.iova = g_iova(z);
	a.size = g_size(z, a.iova, f->size);
	switch (rndn(&z->rng, 8)) {
	case 0: case 1: case 2: case 3: a.offset = 0; break;
	case 4: a.offset = rndn(&z->rng, f->size / z->pg + 1) * z->pg; break;
	case 5: a.offset = f->size > a.size ? f->size - a.size : 0; break;
	case 6: a.offset = (uint64_t)1 << rndn(&z->rng, 64); break;
	default: a.offset = rnd(&z->rng); break;
	}
	if (a.offset && rndn(&z->rng, 2) && a.size < f->size)
		a.offset &= ~(z->pg - 1);
	if (f->kind == FK_DMABUF && rndn(&z->rng, 5) < 2) {
		/* a plausible request, so that mappings pile up to the limit */
		uint64_t pages = f->size / z->pg, len = 1 + rndn(&z->rng, pages < 16 ? pages : 16);

		a.argsz = sizeof(a);
		a.flags = f->wr ? RW : VFIO_DMA_MAP_FLAG_READ;
		a.__reserved = 0;
		a.size = len * z->pg;
		a.offset = rndn(&z->rng, pages - len + 1) * z->pg;
		a.iova = z->hot + rndn(&z->rng, HOT_PAGES) * z->pg;
	}
	p = place(z, &a, sizeof(a), minsz);
	note(z, IOC_MAP_DMABUF, "argsz %u flags 0x%x fd %d (%s) rsv 0x%x off 0x%llx iova 0x%llx size 0x%llx arg %p",
	     a.argsz, a.flags, a.fd, f->name, a.__reserved, (unsigned long long)a.offset,
	     (unsigned long long)a.iova, (unsigned long long)a.size, (void *)p);

	/*
	 * The kernel's order of checks: arguments, fd, then the IOVA space,
	 * and only then the exporter (a refused request never reaches it).
	 */
	prot = a.flags & RW;
	if (!readable(z, p, 0, minsz))
		want = EFAULT;
	else if (a.argsz < minsz || a.flags & ~RW || a.__reserved || !prot)
		want = EINVAL;
	else if (!a.size || a.iova + a.size <= a.iova || a.offset + a.size <= a.offset ||
		 ((a.offset | a.iova | a.size) & (pgsz - 1)))
		want = EINVAL;		/* a range may not end at 2^64 either */
	else if (f->kind == FK_BADF)
		want = EBADF;
	else if (f->kind == FK_NOT_DMABUF)
		want = EINVAL;
	else if (a.offset + a.size > f->size)
		want = EINVAL;
	else if (((a.flags & VFIO_DMA_MAP_FLAG_WRITE) && !f->wr) ||
		 ((a.flags & VFIO_DMA_MAP_FLAG_READ) && !f->rd))
		want = EACCES;
	else if ((a.size | a.iova | a.offset) & (z->pg - 1))
		want = EINVAL;
	else if (k_overlap(z, a.iova, a.size) >= 0)
		want = EEXIST;
	else if (z->n >= z->limit)
		want = ENOSPC;
	else if (!iova_valid(z, a.iova, a.size))
		want = EINVAL;
	else if (f->kind == FK_REFUSE)
		want = f->err;
	else if (f->revoked)
		want = ENODEV;
	else if (f->kind == FK_NOPIN) {
		/* the core pins at map time unless DMABUF_MOVE_NOTIFY */
		want = EOPNOTSUPP;
		alt = 0;
	}
	if (call(z, IOC_MAP_DMABUF, VFIO_IOMMU_MAP_DMABUF, p, want, alt))
		return;
	z->m[z->n++] = (struct mm){ .iova = a.iova, .size = a.size, .off = a.offset, .flags = a.flags,
				       .dmabuf = true, .bufid = f->bufid };
	z->maps_ok++;
}

void do_map_dma(struct fz *z)
{
	struct vfio_iommu_type1_dma_map a = { 0 };
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	uint64_t pg = z->pg, r;
	bool vaddr_ok = false, set_vaddr;
	int want = 0, prot, i;
	uint8_t *p;

	a.argsz = g_argsz(z, minsz, sizeof(a));
	a.flags = g_flags(z, RW);
	if (z->n && rndn(&z->rng, 6) == 0) {
		/* give an invalidated mapping its vaddr back, or try to */
		const struct mm *m = &z->m[rndn(&z->rng, z->n)];

		a.flags = rndn(&z->rng, 8) ? VFIO_DMA_MAP_FLAG_VADDR : RW | VFIO_DMA_MAP_FLAG_VADDR;
		a.iova = m->iova;
		a.size = m->size;
	} else {
		a.iova = g_iova(z);
		a.size = g_size(z, a.iova, 0);
	}
	r = rndn(&z->rng, 100);
	if (r < 75) {
		uint64_t pages = a.size / pg < MEM_PAGES ? a.size / pg : MEM_PAGES;

		a.vaddr = (uintptr_t)z->mem + rndn(&z->rng, MEM_PAGES - pages + 1) * pg;
		vaddr_ok = a.size && a.size % pg == 0 && a.size <= MEM_PAGES * pg &&
			   a.vaddr + a.size <= (uintptr_t)z->mem + MEM_PAGES * pg;
	} else if (r < 80) {
		a.vaddr = (uintptr_t)z->mem + MEM_PAGES * pg;	/* guard page */
	} else if (r < 85) {
		a.vaddr = 0;
	} else if (r < 90) {
		a.vaddr = 0xffff800000000000ull;
	} else if (r < 95) {
		a.vaddr = (uintptr_t)z->mem + 1 + rndn(&z->rng, pg - 1);
	} else {
		a.vaddr = rnd(&z->rng) & ~(pg - 1);
	}
	set_vaddr = a.flags & VFIO_DMA_MAP_FLAG_VADDR;
	p = place(z, &a, sizeof(a), minsz);
	note(z, IOC_MAP_DMA, "argsz %u flags 0x%x vaddr 0x%llx iova 0x%llx size 0x%llx arg %p",
	     a.argsz, a.flags, (unsigned long long)a.vaddr, (unsigned long long)a.iova,
	     (unsigned long long)a.size, (void *)p);

	prot = a.flags & RW;
	i = -1;
	if (!readable(z, p, 0, minsz))
		want = EFAULT;
	else if (a.argsz < minsz || a.flags & ~(RW | VFIO_DMA_MAP_FLAG_VADDR))
		want = EINVAL;
	else if ((prot && set_vaddr) || (!prot && !set_vaddr))
		want = EINVAL;
	else if (!a.size || (a.size | a.iova | a.vaddr) & (pg - 1))
		want = EINVAL;
	else if (a.iova + a.size - 1 < a.iova || a.vaddr + a.size - 1 < a.vaddr)
		want = EINVAL;
	else if (set_vaddr) {
		i = k_overlap(z, a.iova, a.size);
		if (i < 0)
			want = ENOENT;
		else if (!z->m[i].vinv || z->m[i].iova != a.iova || z->m[i].size != a.size)
			want = EINVAL;
	} else if (k_overlap(z, a.iova, a.size) >= 0)
		want = EEXIST;
	else if (z->n >= z->limit)
		want = ENOSPC;
	else if (!iova_valid(z, a.iova, a.size))
		want = EINVAL;
	else if (!vaddr_ok)
		want = EFAULT;		/* pinning fails */
	if (!want && !set_vaddr && a.iova + a.size == 0) {
		/* upstream type1 would make a mapping that no lookup finds
		 * and whose pages are never unpinned (see top_of_iova_space
		 * below): do not, it would poison the rest of the run */
		z->top_skipped++;
		return;
	}
	if (call(z, IOC_MAP_DMA, VFIO_IOMMU_MAP_DMA, p, want, -1))
		return;
	if (set_vaddr) {
		z->m[i].vinv = false;
		return;
	}
	z->m[z->n++] = (struct mm){ .iova = a.iova, .size = a.size };
	z->maps_ok++;
}
