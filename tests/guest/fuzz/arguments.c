// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generators of the fuzzed arguments: IOVAs near the landmarks of the
 * IOVA space and of the mappings the model holds, boundary sizes, bad
 * argsz and flags, argument structures in faulting places, and fds of
 * every kind.
 */
#define _GNU_SOURCE
#include "fuzz.h"

static void add_land(struct fz *z, uint64_t v)
{
	if (z->nland < sizeof(z->land) / sizeof(z->land[0]))
		z->land[z->nland++] = v;
}

uint64_t g_iova(struct fz *z)
{
	uint64_t pg = z->pg, r = rndn(&z->rng, 100), v;

	if (r < 35)
		return z->hot + rndn(&z->rng, HOT_PAGES) * pg;
	if (r < 60 && z->n) {
		const struct mm *m = &z->m[rndn(&z->rng, z->n)];
		const uint64_t e[] = { m->iova, m->iova + m->size, m->iova - pg, m->iova + pg,
				       m->iova + m->size - pg, m->iova + m->size + pg };

		return e[rndn(&z->rng, 6)];
	}
	if (r < 80)
		return z->land[rndn(&z->rng, z->nland)];
	if (r < 88) {
		v = z->land[rndn(&z->rng, z->nland)];
		switch (rndn(&z->rng, 4)) {
		case 0: return v + pg;
		case 1: return v - pg;
		case 2: return v + 1;
		default: return v - 1;
		}
	}
	if (r < 94)
		return rndn(&z->rng, 1ull << 28) * pg;	/* anywhere below 2^40 */
	return rnd(&z->rng);
}

uint64_t g_size(struct fz *z, uint64_t iova, uint64_t natural)
{
	static const uint64_t b[] = {
		0, 1, 4095, 4096, 4097, 8192, 1ull << 21, 1ull << 30, 1ull << 32,
		(1ull << 32) - 4096, 1ull << 63, ~0ull, ~0ull - 4095, (1ull << 63) + 4096,
	};
	uint64_t pg = z->pg, r = rndn(&z->rng, 100);
	int i;

	if (r < 35)
		return (1 + rndn(&z->rng, 16)) * pg;
	if (r < 50 && natural)
		return natural;
	if (r < 62)
		return b[rndn(&z->rng, sizeof(b) / sizeof(b[0]))];
	if (r < 77) {
		/* up to the next mapping's start or end: exact adjacency */
		for (unsigned int k = 0; k < z->n; k++) {
			i = (int)rndn(&z->rng, z->n);
			if (z->m[i].iova > iova)
				return z->m[i].iova - iova;
			if (z->m[i].iova + z->m[i].size > iova)
				return z->m[i].iova + z->m[i].size - iova;
		}
		return pg;
	}
	if (r < 85)
		return rnd(&z->rng);
	return (1 + rndn(&z->rng, 1024)) * pg;
}

uint32_t g_argsz(struct fz *z, uint32_t minsz, uint32_t full)
{
	uint64_t r = rndn(&z->rng, 100);

	if (r < 80)
		return full;
	switch (r % 7) {
	case 0: return 0;
	case 1: return minsz - 1;
	case 2: return minsz;
	case 3: return full + 8;
	case 4: return ~0u;
	case 5: return (uint32_t)rndn(&z->rng, 4096);
	default: return full - 1;
	}
}

uint32_t g_flags(struct fz *z, uint32_t usual)
{
	uint64_t r = rndn(&z->rng, 100);

	if (r < 75)
		return usual;
	switch (r % 6) {
	case 0: return 0;
	case 1: return VFIO_DMA_MAP_FLAG_READ;
	case 2: return VFIO_DMA_MAP_FLAG_WRITE;
	case 3: return usual | (1u << rndn(&z->rng, 32));
	case 4: return (uint32_t)rnd(&z->rng);
	default: return usual | VFIO_DMA_MAP_FLAG_VADDR;
	}
}

/*
 * Where the argument structure goes: normally at the start of the argument
 * page; sometimes unaligned, straddling the guard page, in it, NULL or a
 * kernel address.  Returns the pointer; @len bytes of @s are copied to it
 * as far as it is writable.
 */
uint8_t *place(struct fz *z, const void *s, size_t len, size_t minsz)
{
	uint64_t r = rndn(&z->rng, 1000), pgsz = (uint64_t)sysconf(_SC_PAGESIZE);
	uint8_t *p;

	memset(z->arg, 0, 1024);
	if (r < 930)
		p = z->arg;
	else if (r < 960)
		p = z->arg + 1 + rndn(&z->rng, 63);
	else if (r < 980)
		p = z->arg + pgsz - 1 - rndn(&z->rng, minsz - 1);	/* straddles */
	else if (r < 987)
		p = z->arg + pgsz;					/* guard page */
	else if (r < 994)
		p = NULL;
	else
		p = (uint8_t *)(uintptr_t)0xffff800000001000ull;	/* kernel */
	if (p >= z->arg && p < z->arg + pgsz) {
		size_t room = (size_t)(z->arg + pgsz - p);

		memcpy(p, s, len < room ? len : room);
	}
	return p;
}

/* Can the kernel read [p + off, p + off + len)? */
bool readable(const struct fz *z, const uint8_t *p, size_t off, size_t len)
{
	uint64_t pgsz = (uint64_t)sysconf(_SC_PAGESIZE);

	return p >= z->arg && p + off + len <= z->arg + pgsz;
}

struct fdent *g_fd(struct fz *z)
{
	unsigned int dmabufs = 0;

	/* three in four calls get a dma-buf */
	for (unsigned int i = 0; i < z->nfds; i++)
		dmabufs += z->fds[i].kind == FK_DMABUF;
	if (rndn(&z->rng, 4)) {
		unsigned int k = (unsigned int)rndn(&z->rng, dmabufs);

		for (unsigned int i = 0; i < z->nfds; i++)
			if (z->fds[i].kind == FK_DMABUF && !k--)
				return &z->fds[i];
	}
	return &z->fds[rndn(&z->rng, z->nfds)];
}

void setup_landmarks(struct fz *z)
{
	const struct vfd_iommu_info *in = &z->fx->info;
	uint64_t pg = z->pg;
	static const uint64_t fixed[] = {
		0, 1, 4095, 4096, 4097, 1ull << 32, (1ull << 32) - 4096, 1ull << 63,
		(1ull << 63) - 4096, ~0ull, ~0ull - 4095, 0xfee00000ull, 0x08000000ull,
	};

	for (unsigned int i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add_land(z, fixed[i]);
	for (uint32_t i = 0; i < in->nr_ranges && i < 16; i++) {
		add_land(z, in->ranges[i].start);
		add_land(z, in->ranges[i].end + 1);		/* reserved window start */
		add_land(z, in->ranges[i].end + 1 - pg);	/* last usable page */
		add_land(z, in->ranges[i].start - pg);		/* last reserved page */
	}
	add_land(z, z->hot);
	add_land(z, z->hot + HOT_PAGES * pg);
	add_land(z, z->canary_iova);
	add_land(z, z->canary_iova + CANARY_PAGES * 4096ull);
}
