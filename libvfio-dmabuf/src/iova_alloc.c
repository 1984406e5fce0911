/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IOVA allocator (pure logic, see iova_alloc.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Round @x up to a multiple of @align (power of two); false on overflow. */
static bool align_up(uint64_t x, uint64_t align, uint64_t *out)
{
	uint64_t mask = align - 1;

	if (x > UINT64_MAX - mask)
		return false;
	*out = (x + mask) & ~mask;
	return true;
}

static int cmp_range(const void *pa, const void *pb)
{
	const struct vfd_iova_range *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	return 0;
}

static int build_ranges(const struct vfd_iova_range *in, size_t n,
			struct vfd_iova_range **out, size_t *nout,
			struct vfd_error *e)
{
	struct vfd_iova_range *r;
	size_t i, m = 0;

	if (n == 0)
		return vfd__err(e, -EINVAL, "no usable IOVA range");
	for (i = 0; i < n; i++)
		if (in[i].start > in[i].end)
			return vfd__err(e, -EINVAL,
					"bad IOVA range 0x%" PRIx64 "-0x%" PRIx64
					" (start > end)",
					in[i].start, in[i].end);
	r = malloc(n * sizeof(*r));
	if (!r)
		return vfd__err(e, -ENOMEM, "out of memory");
	memcpy(r, in, n * sizeof(*r));
	qsort(r, n, sizeof(*r), cmp_range);
	for (i = 1; i < n; i++) {
		struct vfd_iova_range *last = &r[m];
		/* merge overlapping or adjacent ranges */
		if (last->end == UINT64_MAX || r[i].start <= last->end + 1) {
			if (r[i].end > last->end)
				last->end = r[i].end;
		} else {
			r[++m] = r[i];
		}
	}
	*out = r;
	*nout = m + 1;
	return 0;
}

int vfd_iova_init(struct vfd_iova_alloc *a, const struct vfd_iova_range *ranges,
		  size_t n, uint64_t pgsizes, struct vfd_error *e)
{
	memset(a, 0, sizeof(*a));
	a->min_page = pgsizes ? (pgsizes & (~pgsizes + 1)) : 4096;
	a->lo = 0;
	a->hi = UINT64_MAX;
	return build_ranges(ranges, n, &a->ranges, &a->nr_ranges, e);
}

void vfd_iova_destroy(struct vfd_iova_alloc *a)
{
	free(a->ranges);
	free(a->used);
	memset(a, 0, sizeof(*a));
}

int vfd_iova_set_ranges(struct vfd_iova_alloc *a,
			const struct vfd_iova_range *ranges, size_t n,
			struct vfd_error *e)
{
	struct vfd_iova_range *r;
	size_t nr;
	int ret = build_ranges(ranges, n, &r, &nr, e);

	if (ret)
		return ret;
	free(a->ranges);
	a->ranges = r;
	a->nr_ranges = nr;
	return 0;
}

int vfd_iova_restrict(struct vfd_iova_alloc *a, uint64_t lo, uint64_t hi,
		      struct vfd_error *e)
{
	if (lo > hi)
		return vfd__err(e, -EINVAL,
				"IOVA window 0x%" PRIx64 "-0x%" PRIx64
				" is empty (lo > hi)", lo, hi);
	if (lo > a->lo)
		a->lo = lo;
	if (hi < a->hi)
		a->hi = hi;
	return 0;
}

uint64_t vfd_iova_default_align(uint64_t pgsizes, uint64_t size)
{
	uint64_t min = pgsizes ? (pgsizes & (~pgsizes + 1)) : 4096;
	uint64_t best = min;
	const uint64_t cap = 1ull << 30;

	for (int b = 0; b < 64; b++) {
		uint64_t p = 1ull << b;
		if ((pgsizes & p) && p <= size && p <= cap && p > best)
			best = p;
	}
	return best;
}

/* Index of the first used block with last >= @iova. */
static size_t first_not_below(const struct vfd_iova_alloc *a, uint64_t iova)
{
	size_t lo = 0, hi = a->nr_used;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->used[mid].last < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int check_args(const struct vfd_iova_alloc *a, uint64_t iova,
		      uint64_t size, uint64_t *last, struct vfd_error *e)
{
	if (size == 0)
		return vfd__err(e, -EINVAL, "size is 0");
	if (size % a->min_page)
		return vfd__err(e, -EINVAL,
				"size 0x%" PRIx64 " is not a multiple of the "
				"IOMMU page size 0x%" PRIx64, size, a->min_page);
	if (iova % a->min_page)
		return vfd__err(e, -EINVAL,
				"IOVA 0x%" PRIx64 " is not aligned to the IOMMU "
				"page size 0x%" PRIx64, iova, a->min_page);
	if (iova > UINT64_MAX - (size - 1))
		return vfd__err(e, -EINVAL,
				"IOVA 0x%" PRIx64 " + size 0x%" PRIx64
				" overflows", iova, size);
	*last = iova + (size - 1);
	return 0;
}

int vfd_iova_check(const struct vfd_iova_alloc *a, uint64_t iova,
		   uint64_t size, struct vfd_error *e)
{
	uint64_t last;
	int ret = check_args(a, iova, size, &last, e);
	size_t i;

	if (ret)
		return ret;
	for (i = 0; i < a->nr_ranges; i++)
		if (iova >= a->ranges[i].start && last <= a->ranges[i].end)
			break;
	if (i == a->nr_ranges)
		return vfd__err(e, -ERANGE,
				"IOVA range 0x%" PRIx64 "-0x%" PRIx64
				" is not inside a usable IOVA range of the IOMMU",
				iova, last);
	i = first_not_below(a, iova);
	if (i < a->nr_used && a->used[i].start <= last)
		return vfd__err(e, -EEXIST,
				"IOVA range 0x%" PRIx64 "-0x%" PRIx64
				" overlaps the mapping at 0x%" PRIx64 "-0x%" PRIx64,
				iova, last, a->used[i].start, a->used[i].last);
	return 0;
}

static int insert_block(struct vfd_iova_alloc *a, uint64_t start,
			uint64_t last, struct vfd_error *e)
{
	size_t pos = first_not_below(a, start);

	if (a->nr_used == a->cap_used) {
		size_t ncap = a->cap_used ? a->cap_used * 2 : 16;
		struct vfd_iova_block *n = realloc(a->used, ncap * sizeof(*n));
		if (!n)
			return vfd__err(e, -ENOMEM, "out of memory");
		a->used = n;
		a->cap_used = ncap;
	}
	memmove(&a->used[pos + 1], &a->used[pos],
		(a->nr_used - pos) * sizeof(*a->used));
	a->used[pos].start = start;
	a->used[pos].last = last;
	a->nr_used++;
	return 0;
}

int vfd_iova_reserve(struct vfd_iova_alloc *a, uint64_t iova, uint64_t size,
		     struct vfd_error *e)
{
	int ret = vfd_iova_check(a, iova, size, e);

	if (ret)
		return ret;
	return insert_block(a, iova, iova + (size - 1), e);
}

int vfd_iova_alloc(struct vfd_iova_alloc *a, uint64_t size, uint64_t align,
		   uint64_t *iova, struct vfd_error *e)
{
	uint64_t dummy;
	int ret = check_args(a, 0, size, &dummy, e);

	if (ret)
		return ret;
	if (align == 0 || align < a->min_page)
		align = a->min_page;
	if (!is_pow2(align))
		return vfd__err(e, -EINVAL,
				"alignment 0x%" PRIx64 " is not a power of two",
				align);

	for (size_t r = 0; r < a->nr_ranges; r++) {
		uint64_t lo = a->ranges[r].start, hi = a->ranges[r].end;
		uint64_t cand;

		if (lo < a->lo)
			lo = a->lo;
		if (lo == 0)
			lo = 1;		/* never hand out IOVA 0 */
		if (hi > a->hi)
			hi = a->hi;
		if (lo > hi || !align_up(lo, align, &cand))
			continue;
		for (;;) {
			size_t i = first_not_below(a, cand);

			if (cand > hi || cand > UINT64_MAX - (size - 1))
				break;
			uint64_t last = cand + (size - 1);
			if (last > hi)
				break;
			if (i >= a->nr_used || a->used[i].start > last) {
				ret = insert_block(a, cand, last, e);
				if (ret)
					return ret;
				*iova = cand;
				return 0;
			}
			/* collides with used[i]: continue after it */
			if (a->used[i].last == UINT64_MAX ||
			    !align_up(a->used[i].last + 1, align, &cand))
				break;
		}
	}
	return vfd__err(e, -ENOSPC,
			"IOVA space exhausted: no free 0x%" PRIx64 "-byte block "
			"aligned to 0x%" PRIx64 " in the usable IOVA ranges%s",
			size, align,
			(a->lo || a->hi != UINT64_MAX) ? " (allocation window "
			"restricted, e.g. by the device's DMA mask)" : "");
}

int vfd_iova_free(struct vfd_iova_alloc *a, uint64_t iova)
{
	size_t i = first_not_below(a, iova);

	if (i >= a->nr_used || a->used[i].start != iova)
		return -ENOENT;
	memmove(&a->used[i], &a->used[i + 1],
		(a->nr_used - i - 1) * sizeof(*a->used));
	a->nr_used--;
	return 0;
}
