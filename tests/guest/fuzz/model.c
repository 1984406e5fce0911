// SPDX-License-Identifier: GPL-2.0-only
/*
 * The model of the container: which mappings it holds, and the lookups
 * type1 makes in them, as these kernels compute them.
 */
#define _GNU_SOURCE
#include "fuzz.h"

int m_find(const struct fz *z, uint64_t a)
{
	for (unsigned int i = 0; i < z->n; i++)
		if (a >= z->m[i].iova && a - z->m[i].iova < z->m[i].size)
			return (int)i;
	return -1;
}

/* [a, a + s) with s >= 1 and no wrap */
int m_overlap(const struct fz *z, uint64_t a, uint64_t s)
{
	for (unsigned int i = 0; i < z->n; i++)
		if (a < z->m[i].iova + z->m[i].size && z->m[i].iova <= a + (s - 1))
			return (int)i;
	return -1;
}

/*
 * type1's vfio_find_dma() as the kernel computes it: a range that ends
 * exactly at 2^64 (start + size wraps to 0) is never found to overlap
 * anything (upstream type1 of these kernels; see the FIGURE's
 * wrap_to_zero_calls).
 */
int k_overlap(struct fz *z, uint64_t a, uint64_t s)
{
	if (a + s == 0 && s) {
		z->wrap_hits += m_overlap(z, a, s) >= 0;
		return -1;
	}
	return m_overlap(z, a, s);
}

void m_del(struct fz *z, unsigned int i)
{
	z->m[i] = z->m[--z->n];
}

bool iova_valid(const struct fz *z, uint64_t a, uint64_t s)
{
	const struct vfd_iommu_info *in = &z->fx->info;

	if (!in->ranges_reported)
		return true;
	for (uint32_t i = 0; i < in->nr_ranges; i++)
		if (a >= in->ranges[i].start && a + (s - 1) <= in->ranges[i].end)
			return true;
	return false;
}

/* type1v2: a range may not bisect a mapping (nor may a bitmap request) */
bool bisects(const struct fz *z, uint64_t a, uint64_t s)
{
	int i = m_find(z, a);

	if (i >= 0 && z->m[i].iova != a)
		return true;
	i = m_find(z, a + s - 1);
	return i >= 0 && z->m[i].iova + z->m[i].size != a + s;
}

/* mappings whose start is in [a, a + s) */
bool m_starts_in(const struct mm *m, uint64_t a, uint64_t s)
{
	return s && m->iova >= a && m->iova - a <= s - 1;
}
