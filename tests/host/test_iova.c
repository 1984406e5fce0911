/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the IOVA allocator (libvfio-dmabuf/src/iova_alloc.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "iova_alloc.h"
#include "tap.h"

#define K4 0x1000ull
#define M2 0x200000ull
#define G1 0x40000000ull

static const struct vfd_iova_range q35[] = {
	{ 0, 0xfedfffffull },
	{ 0xfef00000ull, 0x7fffffffffull },
};

static void test_basic_alloc(void)
{
	struct vfd_iova_alloc a;
	struct vfd_error e;
	uint64_t iova = 0, iova2 = 0;

	CHECK_EQ(vfd_iova_init(&a, q35, 2, K4 | M2 | G1, &e), 0);
	CHECK_U64(a.min_page, K4);
	CHECK_EQ(vfd_iova_alloc(&a, K4, 0, &iova, &e), 0);
	CHECK(iova != 0);		/* IOVA 0 is never handed out */
	CHECK_U64(iova % K4, 0);
	CHECK_EQ(vfd_iova_alloc(&a, K4, 0, &iova2, &e), 0);
	CHECK(iova2 != iova);
	CHECK(iova2 >= iova + K4 || iova2 + K4 <= iova);
	vfd_iova_destroy(&a);
}

static void test_alignment(void)
{
	struct vfd_iova_alloc a;
	struct vfd_error e;
	uint64_t iova;

	CHECK_EQ(vfd_iova_init(&a, q35, 2, K4 | M2 | G1, &e), 0);
	CHECK_EQ(vfd_iova_alloc(&a, K4, 0, &iova, &e), 0);
	CHECK_EQ(vfd_iova_alloc(&a, 4 * M2, M2, &iova, &e), 0);
	CHECK_U64(iova % M2, 0);
	CHECK_EQ(vfd_iova_alloc(&a, G1, G1, &iova, &e), 0);
	CHECK_U64(iova % G1, 0);
	/* 0x2000 is not a power of two? it is; 0x3000 is not */
	CHECK_EQ(vfd_iova_alloc(&a, K4, 0x3000, &iova, &e), -EINVAL);
	CHECK_STR_HAS(e.msg, "power of two");
	/* alignment below the page size is raised to the page size */
	CHECK_EQ(vfd_iova_alloc(&a, K4, 16, &iova, &e), 0);
	CHECK_U64(iova % K4, 0);
	vfd_iova_destroy(&a);
}

static void test_default_align(void)
{
	CHECK_U64(vfd_iova_default_align(K4 | M2 | G1, K4), K4);
	CHECK_U64(vfd_iova_default_align(K4 | M2 | G1, 3 * K4), K4);
	CHECK_U64(vfd_iova_default_align(K4 | M2 | G1, M2), M2);
	CHECK_U64(vfd_iova_default_align(K4 | M2 | G1, 5 * M2), M2);
	CHECK_U64(vfd_iova_default_align(K4 | M2 | G1, 4 * G1), G1);
	/* capped at 1 GiB even if larger pages exist */
	CHECK_U64(vfd_iova_default_align(K4 | (1ull << 39), 1ull << 40), K4);
	/* SMMU-like bitmap with 64K pages */
	CHECK_U64(vfd_iova_default_align(0x10000 | 0x20000000, 0x10000), 0x10000);
	CHECK_U64(vfd_iova_default_align(0, 1 << 20), 4096);
}

static void test_size_checks(void)
{
	struct vfd_iova_alloc a;
	struct vfd_error e;
	uint64_t iova;

	CHECK_EQ(vfd_iova_init(&a, q35, 2, K4, &e), 0);
	CHECK_EQ(vfd_iova_alloc(&a, 0, 0, &iova, &e), -EINVAL);
	CHECK_EQ(vfd_iova_alloc(&a, 100, 0, &iova, &e), -EINVAL);
	CHECK_STR_HAS(e.msg, "multiple of the IOMMU page size");
	CHECK_EQ(vfd_iova_reserve(&a, 0x1800, K4, &e), -EINVAL);
	CHECK_STR_HAS(e.msg, "not aligned");
	CHECK_EQ(vfd_iova_reserve(&a, 0x1000, 0, &e), -EINVAL);
	CHECK_EQ(vfd_iova_reserve(&a, 0xfffffffffffff000ull, 0x2000, &e), -EINVAL);
	CHECK_STR_HAS(e.msg, "overflows");
	vfd_iova_destroy(&a);
}

static void test_hole_skipping(void)
{
	const struct vfd_iova_range r[] = { { 0x1000, 0x1fff }, { 0x10000, 0x1ffff } };
	struct vfd_iova_alloc a;
	struct vfd_error e;
	uint64_t iova;

	CHECK_EQ(vfd_iova_init(&a, r, 2, K4, &e), 0);
	CHECK_EQ(vfd_iova_alloc(&a, 2 * K4, 0, &iova, &e), 0);
	CHECK_U64(iova, 0x10000);	/* does not fit the first range */
	CHECK_EQ(vfd_iova_alloc(&a, K4, 0, &iova, &e), 0);
	CHECK_U64(iova, 0x1000);	/* lowest fit */
	/* a reservation spanning the hole is outside the usable ranges */
	CHECK_EQ(vfd_iova_reserve(&a, 0x1000, 0x10000, &e), -ERANGE);
	CHECK_STR_HAS(e.msg, "usable IOVA range");
	vfd_iova_destroy(&a);
}

static void test_exhaustion_and_free(void)
{
	const struct vfd_iova_range r[] = { { 0x1000, 0x4fff } };
	struct vfd_iova_alloc a;
	struct vfd_error e;
	uint64_t v[4], iova;

	CHECK_EQ(vfd_iova_init(&a, r, 1, K4, &e), 0);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(vfd_iova_alloc(&a, K4, 0, &v[i], &e), 0);
		CHECK_U64(v[i], 0x1000 + (uint64_t)i * K4);
	}
	CHECK_EQ(vfd_iova_alloc(&a, K4, 0, &iova, &e), -ENOSPC);
	CHECK_STR_HAS(e.msg, "exhausted");
	CHECK_EQ(vfd_iova_free(&a, v[2]), 0);
	CHECK_EQ(vfd_iova_free(&a, v[2]), -ENOENT);	/* double free */
	CHECK_EQ(vfd_iova_alloc(&a, 2 * K4, 0, &iova, &e), -ENOSPC);
	CHECK_EQ(vfd_iova_alloc(&a, K4, 0, &iova, &e), 0);
	CHECK_U64(iova, v[2]);
	vfd_iova_destroy(&a);
}

static void test_reserve(void)
{
	struct vfd_iova_alloc a;
	struct vfd_error e;
	uint64_t iova;

	CHECK_EQ(vfd_iova_init(&a, q35, 2, K4 | M2, &e), 0);
	CHECK_EQ(vfd_iova_reserve(&a, 0x10000000, 0x10000, &e), 0);
	CHECK_EQ(vfd_iova_reserve(&a, 0x1000f000, K4, &e), -EEXIST);
	CHECK_STR_HAS(e.msg, "overlaps");
	CHECK_EQ(vfd_iova_reserve(&a, 0x0fff0000, 0x20000, &e), -EEXIST);
	CHECK_EQ(vfd_iova_reserve(&a, 0x10010000, K4, &e), 0);	/* adjacent */
	CHECK_EQ(vfd_iova_reserve(&a, 0xfee00000, K4, &e), -ERANGE); /* MSI hole */
	CHECK_EQ(vfd_iova_reserve(&a, 0x8000000000ull, K4, &e), -ERANGE);
	CHECK_EQ(vfd_iova_reserve(&a, 0, K4, &e), 0);	/* fixed 0 is allowed */
	CHECK_EQ(vfd_iova_check(&a, 0, K4, &e), -EEXIST);
	/* freeing inside a block is not a free */
	CHECK_EQ(vfd_iova_free(&a, 0x10001000), -ENOENT);
	CHECK_EQ(vfd_iova_free(&a, 0x10000000), 0);
	CHECK_EQ(vfd_iova_check(&a, 0x10000000, 0x10000, &e), 0);
	CHECK_EQ(vfd_iova_alloc(&a, K4, 0, &iova, &e), 0);
	CHECK_U64(iova, K4);
	vfd_iova_destroy(&a);
}

static void test_restrict_window(void)
{
	struct vfd_iova_alloc a;
	struct vfd_error e;
	uint64_t iova;

	CHECK_EQ(vfd_iova_init(&a, q35, 2, K4, &e), 0);
	CHECK_EQ(vfd_iova_restrict(&a, 0x100000, 0x103fff, &e), 0);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(vfd_iova_alloc(&a, K4, 0, &iova, &e), 0);
		CHECK(iova >= 0x100000 && iova <= 0x103000);
	}
	CHECK_EQ(vfd_iova_alloc(&a, K4, 0, &iova, &e), -ENOSPC);
	CHECK_STR_HAS(e.msg, "restricted");
	/* fixed reservations ignore the window */
	CHECK_EQ(vfd_iova_reserve(&a, 0x40000000, K4, &e), 0);
	/* restricting only narrows */
	CHECK_EQ(vfd_iova_restrict(&a, 0, UINT64_MAX, &e), 0);
	CHECK_U64(a.lo, 0x100000);
	CHECK_U64(a.hi, 0x103fff);
	CHECK_EQ(vfd_iova_restrict(&a, 5, 4, &e), -EINVAL);
	vfd_iova_destroy(&a);
}

static void test_top_of_space(void)
{
	const struct vfd_iova_range r[] = { { 0xffffffffffff0000ull, UINT64_MAX } };
	struct vfd_iova_alloc a;
	struct vfd_error e;
	uint64_t iova;

	CHECK_EQ(vfd_iova_init(&a, r, 1, 0x10000, &e), 0);
	CHECK_EQ(vfd_iova_alloc(&a, 0x10000, 0, &iova, &e), 0);
	CHECK_U64(iova, 0xffffffffffff0000ull);
	CHECK_EQ(vfd_iova_alloc(&a, 0x10000, 0, &iova, &e), -ENOSPC);
	CHECK_EQ(vfd_iova_alloc(&a, 0x10000, 1ull << 63, &iova, &e), -ENOSPC);
	vfd_iova_destroy(&a);
}

static void test_full_space_and_merge(void)
{
	const struct vfd_iova_range full[] = { { 0, UINT64_MAX } };
	const struct vfd_iova_range adj[] = {
		{ 0x3000, 0x3fff }, { 0x1000, 0x1fff }, { 0x2000, 0x2fff },
		{ 0x1800, 0x27ff },
	};
	const struct vfd_iova_range bad[] = { { 0x2000, 0x1000 } };
	struct vfd_iova_alloc a;
	struct vfd_error e;
	uint64_t iova;

	CHECK_EQ(vfd_iova_init(&a, full, 1, K4, &e), 0);
	CHECK_EQ(vfd_iova_alloc(&a, 1ull << 62, 1ull << 62, &iova, &e), 0);
	CHECK_U64(iova, 1ull << 62);
	vfd_iova_destroy(&a);

	CHECK_EQ(vfd_iova_init(&a, adj, 4, K4, &e), 0);
	CHECK_EQ((long long)a.nr_ranges, 1);
	CHECK_EQ(vfd_iova_reserve(&a, 0x1000, 0x3000, &e), 0);
	vfd_iova_destroy(&a);

	CHECK_EQ(vfd_iova_init(&a, bad, 1, K4, &e), -EINVAL);
	vfd_iova_destroy(&a);
	CHECK_EQ(vfd_iova_init(&a, full, 0, K4, &e), -EINVAL);
	vfd_iova_destroy(&a);
}

static void test_set_ranges_keeps_used(void)
{
	const struct vfd_iova_range r1[] = { { 0x1000, 0xffff } };
	const struct vfd_iova_range r2[] = { { 0x1000, 0x7fff } };
	struct vfd_iova_alloc a;
	struct vfd_error e;
	uint64_t iova;

	CHECK_EQ(vfd_iova_init(&a, r1, 1, K4, &e), 0);
	CHECK_EQ(vfd_iova_reserve(&a, 0xa000, K4, &e), 0);
	CHECK_EQ(vfd_iova_set_ranges(&a, r2, 1, &e), 0);
	CHECK_EQ((long long)a.nr_used, 1);
	CHECK_EQ(vfd_iova_alloc(&a, 0x8000, 0, &iova, &e), -ENOSPC);
	CHECK_EQ(vfd_iova_free(&a, 0xa000), 0);
	vfd_iova_destroy(&a);
}

/* ---- randomized: compare against a brute-force page bitmap model ---- */

#define NPAGES 256
static uint64_t rng_state;
static unsigned long n_alloc_ok, n_enospc, n_reserve_ok, n_eexist, n_erange, n_free;
static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

struct model {
	bool usable[NPAGES];
	bool used[NPAGES];
	uint64_t lo_pg, hi_pg;	/* allocation window, in pages */
};

/* Lowest aligned free slot of @np pages in usable space within the
 * window, or -1.  Mirrors the allocator's contract (never page 0). */
static long model_find(const struct model *m, unsigned np, unsigned align_pg)
{
	for (unsigned s = 1; s + np <= NPAGES; s++) {
		if (s % align_pg || s < m->lo_pg || s + np - 1 > m->hi_pg)
			continue;
		bool ok = true;
		/* one usable range must hold it: usable pages contiguous */
		for (unsigned p = s; p < s + np; p++)
			if (!m->usable[p] || m->used[p]) {
				ok = false;
				break;
			}
		if (ok)
			return s;
	}
	return -1;
}

static void check_invariants(const struct vfd_iova_alloc *a)
{
	for (size_t i = 0; i < a->nr_used; i++) {
		CHECK(a->used[i].start <= a->used[i].last);
		CHECK_U64(a->used[i].start % a->min_page, 0);
		CHECK_U64((a->used[i].last + 1) % a->min_page, 0);
		if (i)
			CHECK(a->used[i - 1].last < a->used[i].start);
	}
}

static void random_round(uint64_t seed)
{
	struct vfd_iova_range ranges[8];
	struct vfd_iova_alloc a;
	struct model m = { 0 };
	struct vfd_error e;
	size_t nr = 0;
	uint64_t live[NPAGES];
	unsigned live_pages[NPAGES];
	size_t nlive = 0;

	rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
	/* random disjoint, non-adjacent ranges (so the model's "contiguous
	 * usable pages" equals "inside one range") */
	unsigned p = (unsigned)(rnd() % 4);
	while (nr < 8 && p < NPAGES) {
		unsigned len = 1 + (unsigned)(rnd() % 64);
		if (p + len > NPAGES)
			len = NPAGES - p;
		ranges[nr].start = (uint64_t)p * K4;
		ranges[nr].end = (uint64_t)(p + len) * K4 - 1;
		for (unsigned q = p; q < p + len; q++)
			m.usable[q] = true;
		nr++;
		p += len + 1 + (unsigned)(rnd() % 16);
	}
	if (!nr)
		return;
	CHECK_EQ(vfd_iova_init(&a, ranges, nr, K4, &e), 0);
	m.lo_pg = 0;
	m.hi_pg = NPAGES - 1;
	if (rnd() % 3 == 0) {
		m.lo_pg = rnd() % (NPAGES / 2);
		m.hi_pg = m.lo_pg + rnd() % (NPAGES / 2);
		CHECK_EQ(vfd_iova_restrict(&a, m.lo_pg * K4,
					   (m.hi_pg + 1) * K4 - 1, &e), 0);
	}

	for (int op = 0; op < 400; op++) {
		unsigned r = (unsigned)(rnd() % 10);
		if (r < 5) {		/* allocate */
			unsigned np = 1 + (unsigned)(rnd() % 8);
			unsigned align_pg = 1u << (rnd() % 4);
			long want = model_find(&m, np, align_pg);
			uint64_t iova = 0;
			int ret = vfd_iova_alloc(&a, np * K4, align_pg * K4,
						 &iova, &e);
			if (want < 0) {
				n_enospc++;
				CHECK_EQ(ret, -ENOSPC);
			} else {
				n_alloc_ok++;
				CHECK_EQ(ret, 0);
				CHECK_U64(iova, (uint64_t)want * K4);
			}
			if (ret == 0) {
				unsigned s = (unsigned)(iova / K4);
				for (unsigned q = s; q < s + np; q++) {
					CHECK(!m.used[q]);
					m.used[q] = true;
				}
				live[nlive] = iova;
				live_pages[nlive++] = np;
			}
		} else if (r < 7) {	/* fixed reservation */
			unsigned s = (unsigned)(rnd() % NPAGES);
			unsigned np = 1 + (unsigned)(rnd() % 8);
			int expect = 0;
			bool in_one = s + np <= NPAGES;
			for (unsigned q = s; in_one && q < s + np; q++)
				if (!m.usable[q])
					in_one = false;
			if (!in_one) {
				expect = -ERANGE;
			} else {
				for (unsigned q = s; q < s + np; q++)
					if (m.used[q])
						expect = -EEXIST;
			}
			int ret = vfd_iova_reserve(&a, (uint64_t)s * K4, np * K4, &e);
			CHECK_EQ(ret, expect);
			n_reserve_ok += expect == 0;
			n_eexist += expect == -EEXIST;
			n_erange += expect == -ERANGE;
			if (ret == 0) {
				for (unsigned q = s; q < s + np; q++)
					m.used[q] = true;
				live[nlive] = (uint64_t)s * K4;
				live_pages[nlive++] = np;
			}
		} else if (nlive) {	/* free */
			size_t i = rnd() % nlive;
			CHECK_EQ(vfd_iova_free(&a, live[i]), 0);
			n_free++;
			unsigned s = (unsigned)(live[i] / K4);
			for (unsigned q = s; q < s + live_pages[i]; q++)
				m.used[q] = false;
			live[i] = live[nlive - 1];
			live_pages[i] = live_pages[nlive - 1];
			nlive--;
		}
		check_invariants(&a);
		if (tap.cur_failed) {
			printf("#   seed %" PRIu64 " op %d\n", seed, op);
			break;
		}
	}
	vfd_iova_destroy(&a);
}

static void test_randomized_vs_model(void)
{
	for (uint64_t seed = 1; seed <= 300 && !tap.cur_failed; seed++)
		random_round(seed);
	printf("#   %lu allocs, %lu ENOSPC, %lu reserves, %lu EEXIST, "
	       "%lu ERANGE, %lu frees\n", n_alloc_ok, n_enospc, n_reserve_ok,
	       n_eexist, n_erange, n_free);
}

int main(void)
{
	RUN(test_basic_alloc);
	RUN(test_alignment);
	RUN(test_default_align);
	RUN(test_size_checks);
	RUN(test_hole_skipping);
	RUN(test_exhaustion_and_free);
	RUN(test_reserve);
	RUN(test_restrict_window);
	RUN(test_top_of_space);
	RUN(test_full_space_and_merge);
	RUN(test_set_ranges_keeps_used);
	RUN(test_randomized_vs_model);
	return tap_done();
}
