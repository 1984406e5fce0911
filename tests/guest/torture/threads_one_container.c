// SPDX-License-Identifier: GPL-2.0-only
/*
 * threads_one_container: threads map, unmap, query and DMA through one
 * container at once, each in a zone of its own and all over a few shared
 * slots; every answer is checked against what the thread's own model
 * says, and the final mapping set against all of them.
 */
#define _GNU_SOURCE
#include "torture.h"

#include <linux/dma-buf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/ioctl.h>

#define NTHREADS	4
#define ZONE		(64 * MiB)	/* a thread's own IOVA zone */
#define WINDOW_PAGES	2048		/* where in its zone it maps */
#define MAXM		256
#define NSLOTS		8		/* contended slots, shared by all */
#define SLOT_SIZE	(64 * KiB)

struct ment {
	uint64_t iova, size, off;
	int b;			/* pool index, -1: process memory */
	uint32_t flags;
};

struct race;

struct tstate {
	struct race *r;
	int id;
	pthread_t th;
	uint64_t rng, zone;
	uint8_t *mem;		/* MAP_DMA source, MEM_PAGES */
	struct ment m[MAXM];
	unsigned int n;
	/* figures */
	uint64_t ops, maps, map_eexist, mem_maps, unmaps, range_unmaps, range_einval;
	uint64_t states, dmas, c_maps, c_eexist, c_unmaps, c_empty;
};

#define MEM_PAGES	256
#define POOL		7

struct race {
	struct fx *fx;
	int cfd;
	uint64_t pg, base, cbase, deadline_ms;
	struct buf pool[POOL];
	unsigned int npool;
	pthread_mutex_t dma_mu, fail_mu;
	atomic_long slot_maps[NSLOTS], slot_unmaps[NSLOTS];
	atomic_int stop;
	char why[512];		/* the first failure of a thread */
	struct tstate t[NTHREADS];
};

static bool overl(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

static int find_overlap(const struct tstate *t, uint64_t iova, uint64_t size)
{
	for (unsigned int i = 0; i < t->n; i++)
		if (overl(iova, size, t->m[i].iova, t->m[i].size))
			return (int)i;
	return -1;
}

static void t_drop(struct tstate *t, unsigned int i)
{
	t->m[i] = t->m[--t->n];
}

/*
 * A thread never calls FAIL(): that would run the test's cleanups (close
 * the container, free the device) under the feet of the other threads.
 * It records the first failure, everyone stops, the main thread FAILs.
 */
static void t_fail(struct tstate *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void t_fail(struct tstate *t, const char *fmt, ...)
{
	struct race *r = t->r;
	va_list ap;

	pthread_mutex_lock(&r->fail_mu);
	if (!r->why[0]) {
		int n = snprintf(r->why, sizeof(r->why), "thread %d: ", t->id);

		va_start(ap, fmt);
		vsnprintf(r->why + n, sizeof(r->why) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->fail_mu);
	atomic_store(&r->stop, 1);
}

#define TFAIL(...) do { t_fail(t, __VA_ARGS__); return false; } while (0)

static bool t_expect_state(struct tstate *t, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dmabuf_state s;

	if (fx_dmabuf_state_raw(t->r->cfd, iova, &s) < 0)
		TFAIL("GET_STATE 0x%" PRIx64 ": %s, expected MAPPED 0x%" PRIx64, iova,
		      strerrorname(errno), size);
	if (s.state != VFIO_DMABUF_STATE_MAPPED || s.size != size)
		TFAIL("GET_STATE 0x%" PRIx64 ": state %u size 0x%llx, expected MAPPED 0x%" PRIx64,
		      iova, s.state, (unsigned long long)s.size, size);
	return true;
}

static bool t_unmap_exact(struct tstate *t, uint64_t iova, uint64_t size)
{
	uint64_t got = 0;

	if (fx_unmap_raw(t->r->cfd, iova, size, 0, &got) < 0)
		TFAIL("UNMAP 0x%" PRIx64 "+0x%" PRIx64 ": %s", iova, size, strerrorname(errno));
	if (got != size)
		TFAIL("UNMAP 0x%" PRIx64 "+0x%" PRIx64 " unmapped 0x%" PRIx64, iova, size, got);
	return true;
}

static bool t_map(struct tstate *t, bool mem)
{
	struct race *r = t->r;
	uint64_t pg = r->pg, len, off = 0, iova, maxp;
	uint32_t flags = RW;
	int b = -1, ov, ret;

	if (t->n == MAXM)
		return true;
	if (mem) {
		len = (1 + rndn(&t->rng, 16)) * pg;
		off = rndn(&t->rng, MEM_PAGES - len / pg + 1) * pg;
	} else {
		b = (int)rndn(&t->rng, r->npool);
		maxp = r->pool[b].size / pg;
		len = (1 + rndn(&t->rng, maxp < 64 ? maxp : 64)) * pg;
		off = rndn(&t->rng, maxp - len / pg + 1) * pg;
		if (rndn(&t->rng, 8) == 0)
			flags = rndn(&t->rng, 2) ? VFIO_DMA_MAP_FLAG_READ : VFIO_DMA_MAP_FLAG_WRITE;
	}
	if (t->n && rndn(&t->rng, 3) == 0) {
		/* deliberately over an existing mapping of this thread */
		const struct ment *e = &t->m[rndn(&t->rng, t->n)];

		iova = e->iova + rndn(&t->rng, e->size / pg) * pg;
		if (rndn(&t->rng, 2))
			iova -= rndn(&t->rng, len / pg) * pg;
		if (iova < t->zone)
			iova = t->zone;
	} else {
		iova = t->zone + rndn(&t->rng, WINDOW_PAGES) * pg;
	}
	ov = find_overlap(t, iova, len);
	ret = mem ? fx_map_mem_raw(r->cfd, t->mem + off, iova, len, RW) :
		    fx_map_dmabuf_raw(r->cfd, r->pool[b].fd, off, iova, len, flags);
	if (!ret) {
		if (ov >= 0)
			TFAIL("%s 0x%" PRIx64 "+0x%" PRIx64 " succeeded over the mapping at 0x%" PRIx64
			      "+0x%" PRIx64, mem ? "MAP_DMA" : "MAP_DMABUF", iova, len, t->m[ov].iova,
			      t->m[ov].size);
		t->m[t->n++] = (struct ment){ iova, len, off, b, flags };
		if (mem)
			t->mem_maps++;
		else
			t->maps++;
		return true;
	}
	if (errno != EEXIST || ov < 0)
		TFAIL("%s 0x%" PRIx64 "+0x%" PRIx64 " (buffer %d off 0x%" PRIx64 "): %s, expected %s%s",
		      mem ? "MAP_DMA" : "MAP_DMABUF", iova, len, b, off, strerrorname(errno),
		      ov >= 0 ? "EEXIST" : "success",
		      errno == ENOSPC ? " (the container's DMA entries are exhausted)" : "");
	t->map_eexist++;
	/* the refused request left the existing mapping alone */
	if (t->m[ov].b >= 0)
		return t_expect_state(t, t->m[ov].iova, t->m[ov].size);
	return true;
}

static bool t_unmap(struct tstate *t)
{
	struct race *r = t->r;
	uint64_t pg = r->pg, iova, len, got = 0, want = 0;
	bool bisect = false;
	unsigned int i;

	if (t->n && rndn(&t->rng, 4)) {
		i = (unsigned int)rndn(&t->rng, t->n);
		if (!t_unmap_exact(t, t->m[i].iova, t->m[i].size))
			return false;
		t_drop(t, i);
		t->unmaps++;
		return true;
	}
	/* a range: type1v2 refuses to bisect a mapping, else unmaps all inside */
	iova = t->zone + rndn(&t->rng, WINDOW_PAGES) * pg;
	len = (1 + rndn(&t->rng, 256)) * pg;
	for (i = 0; i < t->n; i++) {
		const struct ment *e = &t->m[i];

		if (!overl(iova, len, e->iova, e->size))
			continue;
		if (e->iova < iova || e->iova + e->size > iova + len)
			bisect = true;
		want += e->size;
	}
	if (fx_unmap_raw(r->cfd, iova, len, 0, &got) < 0) {
		if (errno != EINVAL || !bisect)
			TFAIL("UNMAP 0x%" PRIx64 "+0x%" PRIx64 ": %s, expected %s", iova, len,
			      strerrorname(errno), bisect ? "EINVAL" : "success");
		t->range_einval++;
		return true;
	}
	if (bisect || got != want)
		TFAIL("UNMAP 0x%" PRIx64 "+0x%" PRIx64 " unmapped 0x%" PRIx64 ", expected %s0x%" PRIx64,
		      iova, len, got, bisect ? "EINVAL (the range bisects a mapping), model " : "",
		      want);
	for (i = 0; i < t->n; )
		if (overl(iova, len, t->m[i].iova, t->m[i].size))
			t_drop(t, i);
		else
			i++;
	t->range_unmaps++;
	return true;
}

static bool t_state(struct tstate *t)
{
	struct vfio_iommu_type1_dmabuf_state s;
	struct race *r = t->r;
	uint64_t iova;
	int i, ret;

	t->states++;
	if (t->n && rndn(&t->rng, 2)) {
		const struct ment *e = &t->m[rndn(&t->rng, t->n)];

		if (e->b >= 0) {
			if (!t_expect_state(t, e->iova, e->size))
				return false;
		} else if (fx_dmabuf_state_raw(r->cfd, e->iova, &s) == 0 || errno != EINVAL) {
			TFAIL("GET_STATE of a MAP_DMA mapping: %s, expected EINVAL",
			      errno ? strerrorname(errno) : "success");
		}
		if (e->size > r->pg && (fx_dmabuf_state_raw(r->cfd, e->iova + r->pg, &s) == 0 || errno != EINVAL))
			TFAIL("GET_STATE inside a mapping: %s, expected EINVAL",
			      errno ? strerrorname(errno) : "success");
		return true;
	}
	iova = t->zone + rndn(&t->rng, WINDOW_PAGES) * r->pg;
	i = find_overlap(t, iova, 1);
	errno = 0;
	ret = fx_dmabuf_state_raw(r->cfd, iova, &s);
	if (i < 0 && (ret == 0 || errno != ENOENT))
		TFAIL("GET_STATE 0x%" PRIx64 " in a gap: %s, expected ENOENT", iova,
		      ret ? strerrorname(errno) : "success");
	if (i >= 0 && (t->m[i].iova != iova || t->m[i].b < 0) && (ret == 0 || errno != EINVAL))
		TFAIL("GET_STATE 0x%" PRIx64 " not at a dma-buf mapping's start: %s", iova,
		      ret ? strerrorname(errno) : "success");
	if (i >= 0 && t->m[i].iova == iova && t->m[i].b >= 0 &&
	    (ret || s.state != VFIO_DMABUF_STATE_MAPPED || s.size != t->m[i].size))
		TFAIL("GET_STATE 0x%" PRIx64 ": %s state %u size 0x%llx, expected MAPPED 0x%" PRIx64,
		      iova, ret ? strerrorname(errno) : "ok", s.state, (unsigned long long)s.size,
		      t->m[i].size);
	return true;
}

/* Everyone maps and unmaps the same few ranges: exactly one map wins. */
static bool t_contend(struct tstate *t)
{
	struct vfio_iommu_type1_dmabuf_state s;
	struct race *r = t->r;
	unsigned int k = (unsigned int)rndn(&t->rng, NSLOTS);
	uint64_t iova = r->cbase + k * MiB, got = 0;

	switch (rndn(&t->rng, 3)) {
	case 0:
		if (!fx_map_dmabuf_raw(r->cfd, r->pool[0].fd, 0, iova, SLOT_SIZE, RW)) {
			atomic_fetch_add(&r->slot_maps[k], 1);
			t->c_maps++;
		} else if (errno == EEXIST) {
			t->c_eexist++;
		} else {
			TFAIL("contended MAP_DMABUF slot %u: %s", k, strerrorname(errno));
		}
		break;
	case 1:
		if (fx_unmap_raw(r->cfd, iova, SLOT_SIZE, 0, &got) < 0)
			TFAIL("contended UNMAP slot %u: %s", k, strerrorname(errno));
		if (got == SLOT_SIZE) {
			atomic_fetch_add(&r->slot_unmaps[k], 1);
			t->c_unmaps++;
		} else if (got == 0) {
			t->c_empty++;
		} else {
			TFAIL("contended UNMAP slot %u unmapped 0x%" PRIx64, k, got);
		}
		break;
	default:
		if (fx_dmabuf_state_raw(r->cfd, iova, &s) == 0) {
			if (s.state != VFIO_DMABUF_STATE_MAPPED || s.size != SLOT_SIZE)
				TFAIL("contended slot %u: state %u size 0x%llx", k, s.state,
				      (unsigned long long)s.size);
		} else if (errno != ENOENT) {
			TFAIL("contended GET_STATE slot %u: %s", k, strerrorname(errno));
		}
		break;
	}
	return true;
}

static bool t_sync(struct tstate *t, int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags | DMA_BUF_SYNC_RW };

	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0)
		TFAIL("DMA_BUF_IOCTL_SYNC: %s", strerror(errno));
	return true;
}

/* fx_verify_rw() without FAIL(): CPU pattern in the first page, the device
 * copies it to the last page, the CPU checks it there.  Device held. */
static bool t_verify(struct tstate *t, const struct buf *b, const struct ment *e, uint32_t seed)
{
	struct vfd_edu *edu = t->r->fx->edu;
	uint8_t *cpu = b->cpu + e->off;
	uint64_t last = e->size - 4096;
	long bad;

	if (!t_sync(t, b->fd, DMA_BUF_SYNC_START))
		return false;
	fx_fill(cpu, XFER_BYTES, seed);
	memset(cpu + last, 0, 4096);
	if (!t_sync(t, b->fd, DMA_BUF_SYNC_END))
		return false;
	if (vfd_edu_dma_to_device(edu, e->iova, 0, XFER_BYTES, 0) < 0 ||
	    vfd_edu_dma_from_device(edu, 0, e->iova + last, XFER_BYTES, 0) < 0)
		TFAIL("edu DMA through 0x%" PRIx64 ": %s", e->iova, vfd_edu_errmsg(edu));
	if (!t_sync(t, b->fd, DMA_BUF_SYNC_START))
		return false;
	bad = fx_check(cpu + last, XFER_BYTES, seed);
	if (!t_sync(t, b->fd, DMA_BUF_SYNC_END))
		return false;
	if (bad >= 0)
		TFAIL("byte %ld differs: device copy 0x%" PRIx64 " -> 0x%" PRIx64 " did not land in"
		      " the dma-buf", bad, e->iova, e->iova + last);
	return true;
}

/* A device round trip through one of this thread's dma-buf mappings. */
static bool t_dma(struct tstate *t)
{
	struct race *r = t->r;
	unsigned int tries;
	bool ok;

	for (tries = 0; tries < 8 && t->n; tries++) {
		const struct ment *e = &t->m[rndn(&t->rng, t->n)];
		const struct buf *b;

		if (e->b < 0 || e->flags != RW || e->size < 2 * r->pg)
			continue;
		b = &r->pool[e->b];
		if (!b->cpu)
			continue;
		/* one device: whoever holds it does DMA, the others go on */
		if (pthread_mutex_trylock(&r->dma_mu))
			return true;
		ok = t_verify(t, b, e, (uint32_t)rnd(&t->rng));
		pthread_mutex_unlock(&r->dma_mu);
		t->dmas += ok;
		return ok;
	}
	return true;
}

static void *race_thread(void *arg)
{
	struct tstate *t = arg;
	struct race *r = t->r;
	bool ok = true;

	while (ok && !atomic_load(&r->stop) && now_ms() < r->deadline_ms) {
		unsigned int op = (unsigned int)rndn(&t->rng, 100);

		t->ops++;
		if (op < 35)
			ok = t_map(t, false);
		else if (op < 40)
			ok = t_map(t, true);
		else if (op < 63)
			ok = t_unmap(t);
		else if (op < 78)
			ok = t_state(t);
		else if (op < 97)
			ok = t_contend(t);
		else
			ok = t_dma(t);
	}
	return NULL;
}

TEST_TIMEOUT(threads_one_container, tmo(120))
{
	static const struct { enum src_type src; unsigned int kind, mode; uint64_t size; } pd[] = {
		{ SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 256 * KiB },
		{ SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 256 * KiB },
		{ SRC_TX, VFIO_DMABUF_TEST_KIND_CONTIG, VFIO_DMABUF_TEST_MODE_STATIC, MiB },
		{ SRC_TX, VFIO_DMABUF_TEST_KIND_CHUNKED, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 4 * MiB },
		{ SRC_TX, VFIO_DMABUF_TEST_KIND_CONTIG, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 512 * KiB },
		{ SRC_UDMABUF, 0, 0, MiB },
		{ SRC_HEAP, 0, 0, 256 * KiB },
	};
	struct race *r = vt_calloc(sizeof(*r));
	uint64_t secs = 6ull * scale(), total = 0, count = 0, avail0, t0;
	uint64_t sum[14] = { 0 }, got = 0;
	struct vfd_iommu_info info;
	unsigned int i, k;

	r->fx = fx_open(0);
	r->cfd = fx_cfd(r->fx);
	r->pg = granule(r->fx);
	ASSERT_TRUE(r->fx->info.dma_avail_reported);
	avail0 = r->fx->info.dma_avail;
	pthread_mutex_init(&r->dma_mu, NULL);
	pthread_mutex_init(&r->fail_mu, NULL);
	if (avail0 < 4 * MAXM + NSLOTS)
		FAIL("only %" PRIu64 " DMA entries per container (dma_entry_limit): did an earlier"
		     " test leave it lowered?", avail0);
	for (i = 0; i < sizeof(pd) / sizeof(pd[0]); i++) {
		if (pd[i].src == SRC_UDMABUF && access("/dev/udmabuf", F_OK))
			continue;
		if (pd[i].src == SRC_HEAP && access("/dev/dma_heap/system", F_OK))
			continue;
		if (buf_new(&r->pool[r->npool], pd[i].src, pd[i].kind, pd[i].mode, pd[i].size, true))
			FAIL("creating pool buffer %u", i);
		vt_defer(buf_cleanup, &r->pool[r->npool]);
		r->npool++;
	}
	r->base = fx_iova_at_or_above(r->fx, 0x40000000ull, (NTHREADS + 1) * ZONE);
	r->cbase = r->base + NTHREADS * ZONE;
	r->deadline_ms = now_ms() + secs * 1000;
	t0 = now_ms();
	for (i = 0; i < NTHREADS; i++) {
		struct tstate *t = &r->t[i];

		t->r = r;
		t->id = (int)i;
		t->rng = seed_for("threads_one_container") + i;
		t->zone = r->base + i * ZONE;
		t->mem = fx_alloc(MEM_PAGES * r->pg);
		ASSERT_EQ(pthread_create(&t->th, NULL, race_thread, t), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(r->t[i].th, NULL);
	if (r->why[0])
		FAIL("%s", r->why);

	/* the mapping set is exactly what the successful calls imply */
	for (i = 0; i < NTHREADS; i++) {
		const struct tstate *t = &r->t[i];

		for (k = 0; k < t->n; k++) {
			const struct ment *e = &t->m[k];
			struct vfio_iommu_type1_dmabuf_state s;

			if (e->b >= 0)
				expect_state(r->cfd, e->iova, VFIO_DMABUF_STATE_MAPPED, e->size);
			else
				ASSERT_ERRNO(fx_dmabuf_state_raw(r->cfd, e->iova, &s), EINVAL);
			total += e->size;
			count++;
		}
		sum[0] += t->ops; sum[1] += t->maps; sum[2] += t->map_eexist;
		sum[3] += t->mem_maps; sum[4] += t->unmaps; sum[5] += t->range_unmaps;
		sum[6] += t->range_einval; sum[7] += t->states; sum[8] += t->dmas;
		sum[9] += t->c_maps; sum[10] += t->c_eexist; sum[11] += t->c_unmaps;
		sum[12] += t->c_empty;
	}
	for (k = 0; k < NSLOTS; k++) {
		long m = atomic_load(&r->slot_maps[k]), u = atomic_load(&r->slot_unmaps[k]);
		uint64_t iova = r->cbase + k * MiB;

		if (m - u != 0 && m - u != 1)
			FAIL("contended slot %u: %ld successful maps but %ld unmaps", k, m, u);
		if (m - u == 1) {
			expect_state(r->cfd, iova, VFIO_DMABUF_STATE_MAPPED, SLOT_SIZE);
			total += SLOT_SIZE;
			count++;
		} else {
			expect_no_mapping(r->cfd, iova);
		}
	}
	ASSERT_OK(vfd_container_iommu_info(r->fx->c, &info));
	if (info.dma_avail != avail0 - count)
		FAIL("DMA entries available %u, expected %" PRIu64 " - %" PRIu64 " mappings",
		     info.dma_avail, avail0, count);
	ASSERT_OK(fx_unmap_raw(r->cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &got));
	FIGURE("threads_one_container", "threads=%d seconds=%" PRIu64 " ops=%" PRIu64
	       " dmabuf_maps=%" PRIu64 " eexist=%" PRIu64 " mem_maps=%" PRIu64
	       " unmaps=%" PRIu64 " range_unmaps=%" PRIu64 " range_einval=%" PRIu64
	       " state_probes=%" PRIu64 " dma_verified=%" PRIu64 " contended_maps=%" PRIu64
	       " contended_eexist=%" PRIu64 " contended_unmaps=%" PRIu64
	       " contended_empty_unmaps=%" PRIu64 " final_mappings=%" PRIu64
	       " final_bytes=%" PRIu64 " unmap_all_bytes=%" PRIu64 " ms=%" PRIu64,
	       NTHREADS, secs, sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6],
	       sum[7], sum[8], sum[9], sum[10], sum[11], sum[12], count, total, got,
	       now_ms() - t0);
	if (got != total)
		FAIL("UNMAP_DMA(ALL) unmapped 0x%" PRIx64 " bytes, the successful calls imply 0x%"
		     PRIx64, got, total);
	for (i = 0; i < r->npool; i++)
		if (r->pool[i].src == SRC_TX)
			expect_detached(r->pool[i].fd, "pool buffer after UNMAP_DMA(ALL)");
	ASSERT_GT(sum[2], 0);	/* overlapping requests were tried */
	ASSERT_GT(sum[10], 0);
}
