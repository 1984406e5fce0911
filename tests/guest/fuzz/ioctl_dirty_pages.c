// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty page tracking: VFIO_IOMMU_DIRTY_PAGES, and the model of the
 * kernel's per-mapping dirty bitmaps that it and UNMAP_DMA's
 * GET_DIRTY_BITMAP report.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <sys/ioctl.h>

/*
 * Dirty bitmaps.  The kernel keeps a bitmap per mapping (vfio_dma->bitmap)
 * and reports it with update_user_bitmap(): set bits [0, nbits) (a dma-buf
 * range, or any range while a non-pinning group is attached, is always
 * dirty), shift the whole bitmap left by the mapping's bit offset modulo
 * 64 in place, OR the user's word in, copy the words out; a GET_BITMAP
 * then clears bits [0, nbits) only.  The model does the same, word for
 * word, including what the in-place shift leaves above nbits (see the
 * FIGURE's stale_dirty_bits).
 */
unsigned int in_range(const struct fz *z, uint64_t a, uint64_t s, unsigned int *idx)
{
	unsigned int n = 0, i, j;

	for (i = 0; i < z->n; i++)
		if (m_starts_in(&z->m[i], a, s))
			idx[n++] = i;
	for (i = 1; i < n; i++)		/* ascending IOVA, as the rbtree walk */
		for (j = i; j > 0 && z->m[idx[j - 1]].iova > z->m[idx[j]].iova; j--) {
			unsigned int t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	return n;
}

static void bm_bits(uint64_t *bm, uint64_t nbits, bool set)
{
	for (uint64_t b = 0; b < nbits; b++)
		if (set)
			bm[b / 64] |= 1ull << (b % 64);
		else
			bm[b / 64] &= ~(1ull << (b % 64));
}

/* update_user_bitmap() on the model; false: the copy to the user faults */
bool emu_update(struct fz *z, struct mm *m, uint64_t base, bool data_ok)
{
	uint64_t nbits = m->size / z->pg, off = (m->iova - base) / z->pg;
	uint64_t copy = off / 64, shift = off % 64, words = (nbits + shift + 63) / 64;

	if (words > BMW)
		ZFAIL(z, "model: a mapping of %" PRIu64 " pages is too large for its bitmap",
		      nbits);
	bm_bits(m->bm, nbits, true);
	if (shift) {
		for (uint64_t k = words; k-- > 0; )
			m->bm[k] = (m->bm[k] << shift) | (k ? m->bm[k - 1] >> (64 - shift) : 0);
		if (!data_ok)
			return false;
		m->bm[0] |= z->ubm[copy];
	}
	if (!data_ok)
		return false;
	memcpy(&z->ubm[copy], m->bm, words * 8);
	return true;
}

/* The bitmap the kernel wrote for [base, base + size) against the model:
 * word for word, and no mapped page reported clean. */
void check_bitmap(struct fz *z, uint64_t base, uint64_t size, const unsigned int *idx,
		  unsigned int k)
{
	uint64_t npages = size / z->pg;

	for (unsigned int j = 0; j < k; j++) {
		const struct mm *m = &z->m[idx[j]];

		for (uint64_t p = (m->iova - base) / z->pg; p < (m->iova + m->size - base) / z->pg; p++)
			if (!(z->bitmap[p / 8] & (1u << (p % 8))))
				ZFAIL(z, "call %" PRIu64 ": IOVA 0x%" PRIx64 " of the mapping 0x%" PRIx64
				      "+0x%" PRIx64 " is reported clean: dma-buf and pinned ranges are"
				      " always dirty", z->call - 1, base + p * z->pg, m->iova, m->size);
	}
	if (memcmp(z->bitmap, z->ubm, BITMAP_BYTES)) {
		for (unsigned int j = 0; j < k; j++)
			vt_info("in range: 0x%" PRIx64 "+0x%" PRIx64, z->m[idx[j]].iova,
				z->m[idx[j]].size);
		for (uint64_t w = 0; w < BITMAP_BYTES / 8; w++)
			if (((uint64_t *)z->bitmap)[w] != z->ubm[w])
				vt_info("bitmap word %" PRIu64 " (IOVA 0x%" PRIx64 "): 0x%016" PRIx64
					", the model has 0x%016" PRIx64, w, base + w * 64 * z->pg,
					((uint64_t *)z->bitmap)[w], z->ubm[w]);
		ZFAIL(z, "call %" PRIu64 ": the dirty bitmap differs from the model", z->call - 1);
	}
	/* bits beyond the mappings: what the in-place shift left behind */
	for (uint64_t p = 0; p < npages; p++) {
		uint64_t a = base + p * z->pg;
		bool mapped = false;

		for (unsigned int j = 0; j < k && !mapped; j++)
			mapped = a >= z->m[idx[j]].iova && a - z->m[idx[j]].iova < z->m[idx[j]].size;
		if (!mapped && (z->bitmap[p / 8] & (1u << (p % 8))))
			z->stale_bits++;
	}
	z->dirty_checks++;
}

void do_dirty(struct fz *z)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap d;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} a = { 0 };
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	const uint32_t mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
			      VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	uint64_t r = rndn(&z->rng, 100), npages;
	unsigned int idx[MAXMAP];
	bool bad_data = false, bits_fault = false, getb;
	int want = 0;
	uint8_t *p;

	a.d.argsz = sizeof(a);
	if (r < 15)
		a.d.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	else if (r < 25)
		a.d.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
	else if (r < 90)
		a.d.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	else
		a.d.flags = (uint32_t)rnd(&z->rng) & (rndn(&z->rng, 2) ? mask : ~0u);
	if (rndn(&z->rng, 10) == 0)
		a.d.argsz = rndn(&z->rng, 2) ? (uint32_t)rndn(&z->rng, sizeof(a)) : ~0u;
	if (z->n && rndn(&z->rng, 2)) {
		const struct mm *m = &z->m[rndn(&z->rng, z->n)];

		a.g.iova = m->iova;
		a.g.size = m->size + (rndn(&z->rng, 3) ? 0 : rndn(&z->rng, 64) * z->pg);
	} else {
		a.g.iova = rndn(&z->rng, 2) ? z->hot + rndn(&z->rng, HOT_PAGES) * z->pg : g_iova(z);
		a.g.size = g_size(z, a.g.iova, 0);
	}
	a.g.bitmap.pgsize = rndn(&z->rng, 8) ? z->pg : (uint64_t)1 << rndn(&z->rng, 40);
	npages = a.g.bitmap.pgsize ? a.g.size / a.g.bitmap.pgsize : 0;
	a.g.bitmap.size = ((npages + 63) / 64) * 8;
	if (rndn(&z->rng, 8) == 0)
		a.g.bitmap.size = rndn(&z->rng, 2) ? a.g.bitmap.size - 8 : rnd(&z->rng) >> rndn(&z->rng, 64);
	if (a.g.bitmap.size > BITMAP_BYTES && a.g.bitmap.size <= ((1ull << 31) / 8)) {
		a.g.size = z->pg * 64;
		a.g.bitmap.size = 8;
		npages = a.g.bitmap.pgsize ? a.g.size / a.g.bitmap.pgsize : 0;
	}
	switch (rndn(&z->rng, 12)) {
	case 0: a.g.bitmap.data = NULL; bad_data = true; break;
	case 1: a.g.bitmap.data = (__u64 *)(uintptr_t)0xffff800000000000ull; break;
	default: a.g.bitmap.data = (__u64 *)z->bitmap; break;
	}
	memset(z->bitmap, 0, BITMAP_BYTES);
	p = place(z, &a, sizeof(a), minsz);
	note(z, IOC_DIRTY, "argsz %u flags 0x%x iova 0x%llx size 0x%llx pgsize 0x%llx bsize 0x%llx"
	     " data %p arg %p", a.d.argsz, a.d.flags, (unsigned long long)a.g.iova,
	     (unsigned long long)a.g.size, (unsigned long long)a.g.bitmap.pgsize,
	     (unsigned long long)a.g.bitmap.size, (void *)a.g.bitmap.data, (void *)p);

	getb = a.d.flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	if (!readable(z, p, 0, minsz))
		want = EFAULT;
	else if (a.d.argsz < minsz || a.d.flags & ~mask || !a.d.flags ||
		 (a.d.flags & (a.d.flags - 1)))
		want = EINVAL;
	else if (!getb)
		want = 0;
	else if (a.d.argsz - minsz < sizeof(a.g))
		want = EINVAL;
	else if (!readable(z, p, minsz, sizeof(a.g)))
		want = EFAULT;
	else if (a.g.iova + a.g.size < a.g.iova)
		want = EINVAL;
	else if ((uintptr_t)a.g.bitmap.data >= 0xffff000000000000ull || !a.g.bitmap.pgsize ||
		 !npages || !a.g.bitmap.size || a.g.bitmap.size > BITMAP_BYTES ||
		 a.g.bitmap.size < ((npages + 63) / 64) * 8)
		want = EINVAL;
	else if (a.g.bitmap.pgsize != z->pg || a.g.iova & (z->pg - 1) || !a.g.size ||
		 a.g.size & (z->pg - 1) || !z->dirty)
		want = EINVAL;
	else if (bisects(z, a.g.iova, a.g.size))
		want = EINVAL;
	else if (bad_data) {
		for (unsigned int i = 0; i < z->n && !want; i++)
			if (m_starts_in(&z->m[i], a.g.iova, a.g.size)) {
				want = EFAULT;
				bits_fault = true;
			}
	}
	if (call(z, IOC_DIRTY, VFIO_IOMMU_DIRTY_PAGES, p, want, -1)) {
		if (bits_fault) {
			in_range(z, a.g.iova, a.g.size, idx);
			emu_update(z, &z->m[idx[0]], a.g.iova, false);
		}
		return;
	}
	if (a.d.flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
		if (!z->dirty)	/* fresh bitmaps for everyone */
			for (unsigned int i = 0; i < z->n; i++)
				memset(z->m[i].bm, 0, sizeof(z->m[i].bm));
		z->dirty = true;
	} else if (a.d.flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
		z->dirty = false;
	} else {
		unsigned int k = in_range(z, a.g.iova, a.g.size, idx);

		memset(z->ubm, 0, sizeof(z->ubm));
		for (unsigned int i = 0; i < k; i++) {
			emu_update(z, &z->m[idx[i]], a.g.iova, true);
			bm_bits(z->m[idx[i]].bm, z->m[idx[i]].size / z->pg, false);
		}
		check_bitmap(z, a.g.iova, a.g.size, idx, k);
	}
}
