// SPDX-License-Identifier: GPL-2.0-only
/*
 * container_ioctls: the fuzzer's set-up, its loop of random calls with
 * the audits and canary checks between them, and the final accounting,
 * in a child process with dma_entry_limit lowered for it.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void fuzz_body(void);

/*
 * The fuzzer runs in a child process; this one sets dma_entry_limit and
 * puts it back whatever happens to the child, a crash included (a limit
 * left at 40 would break every test that follows).
 */
TEST_TIMEOUT(container_ioctls, fuzz_timeout())
{
	const struct fx_param *limit;
	char what[96];
	int st;

	/* a small entry limit so that ENOSPC is part of the game */
	limit = fx_param_set(LIMIT_PARAM, ENTRY_LIMIT);
	(void)fuzz_seed();	/* chosen here: the child inherits it */
	st = vt_run_child(fuzz_body);
	fx_param_restore(limit);
	snprintf(what, sizeof(what), "the fuzzer (VFD_FUZZ_SEED=0x%llx reproduces)", fuzz_seed());
	vt_child_result(st, what);
}

static void fuzz_body(void)
{
	unsigned long long seed = fuzz_seed();
	struct vfio_dmabuf_test_info ti;
	struct vfd_iommu_info info;
	struct fz *z = vt_calloc(sizeof(*z));
	uint64_t n = ncalls(), every, t0, total = 0, got = 0;

	z->seed = seed;
	z->rng = seed;
	vt_info("fuzz seed 0x%llx, %" PRIu64 " calls (VFD_FUZZ_SEED, VFD_FUZZ_CALLS)", seed, n);
	z->limit = ENTRY_LIMIT;

	z->fx = fx_open(0);
	z->cfd = fx_cfd(z->fx);
	z->pg = fx_pgsize(z->fx);
	z->frng = seed ^ 0x5deece66dull;	/* a stream of its own */
	z->fail_pct = fail_pct();
	if (z->fail_pct) {
		char why[160];

		z->inject = !vt_failnth_open(&z->nth, why, sizeof(why));
		if (!z->inject)
			vt_info("no allocation failure injection: %s", why);
		else
			vt_info("an allocation fails in %u%% of the calls (VFD_FUZZ_FAIL_PCT)",
				z->fail_pct);
	}
	ASSERT_EQ(z->pg, 4096);
	ASSERT_TRUE(z->fx->info.dma_avail_reported);
	ASSERT_EQ(z->fx->info.dma_avail, ENTRY_LIMIT);
	{
		struct vfio_iommu_type1_info gi = { .argsz = sizeof(gi) };

		ASSERT_OK(ioctl(z->cfd, VFIO_IOMMU_GET_INFO, &gi));
		z->info_needed = gi.argsz;
		ASSERT_TRUE(z->info_needed > sizeof(gi) && z->info_needed < 1024);
	}
	z->mem = mmap(NULL, (MEM_PAGES + 1) * z->pg, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	z->arg = mmap(NULL, 2 * (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	z->bitmap = fx_alloc(BITMAP_BYTES);
	ASSERT_TRUE(z->mem != MAP_FAILED && z->arg != MAP_FAILED);
	ASSERT_OK(mprotect(z->mem + MEM_PAGES * z->pg, z->pg, PROT_NONE));
	ASSERT_OK(mprotect(z->arg + sysconf(_SC_PAGESIZE), (size_t)sysconf(_SC_PAGESIZE), PROT_NONE));

	for (uint32_t i = 0; i < z->fx->info.nr_ranges; i++)
		vt_info("usable IOVA range %u: [0x%" PRIx64 ", 0x%" PRIx64 "]", i,
			z->fx->info.ranges[i].start, z->fx->info.ranges[i].end);
	z->hot = fx_iova_at_or_above(z->fx, 0x40000000ull, 32 * MiB);
	/* the canary lives far above the busy window, where only large or
	 * ALL unmaps reach it */
	z->canary_iova = fx_iova_at_or_above(z->fx, 1ull << 38, MiB);
	setup_fds(z);
	z->canary_fd = tx_new(VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0, 0,
			      CANARY_PAGES * 4096ull);
	z->canary_bufid = ++z->next_bufid;
	z->canary_cpu = mmap(NULL, CANARY_PAGES * 4096ull, PROT_READ | PROT_WRITE, MAP_SHARED,
			     z->canary_fd, 0);
	ASSERT_TRUE(z->canary_cpu != MAP_FAILED);
	setup_landmarks(z);
	canary_map(z);
	canary_check(z);

	every = 1000;	/* fixed: a shorter run is a prefix of a longer one */
	t0 = now_ms();
	while (z->call < n) {
		uint64_t r = rndn(&z->rng, 1000), before = z->call;

		if (r < 380)
			do_map_dmabuf(z);
		else if (r < 480)
			do_map_dma(z);
		else if (r < 700)
			do_unmap(z);
		else if (r < 760)
			do_get_info(z);
		else if (r < 900)
			do_get_state(z);
		else if (r < 980)
			do_dirty(z);
		else if (r < 992)
			do_revoke(z);
		else
			replace_fd(z);
		if (z->call == before)
			continue;
		z->sum_n += z->n;
		if (z->n > z->max_n)
			z->max_n = z->n;
		if (z->call % 1000 == 0)
			audit(z);
		if (z->call % every == 0)
			canary_check(z);
	}
	audit(z);
	canary_check(z);

	/* the end: everything the model has, and nothing else, is unmapped */
	for (unsigned int i = 0; i < z->n; i++)
		total += z->m[i].size;
	ASSERT_OK(fx_unmap_raw(z->cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &got));
	if (got != total)
		ZFAIL(z, "UNMAP_DMA(ALL) at the end unmapped 0x%" PRIx64 ", the model has 0x%" PRIx64
		      " in %u mappings", got, total, z->n);
	z->n = 0;
	ASSERT_OK(vfd_container_iommu_info(z->fx->c, &info));
	ASSERT_EQ(info.dma_avail, ENTRY_LIMIT);
	for (unsigned int i = 0; i < z->nfds; i++)
		if (!strncmp(z->fds[i].name, "tx", 2)) {
			tx_info_fd(z->fds[i].fd, &ti);
			if (ti.attachments || ti.pinned || ti.mapped)
				ZFAIL(z, "%s still has %u attachments %u pins %u mappings",
				      z->fds[i].name, ti.attachments, ti.pinned, ti.mapped);
		}

	vt_info("FIGURE fuzz/container_ioctls seed=0x%llx calls=%" PRIu64 " ms=%" PRIu64
		" maps_ok=%" PRIu64 " unmapped_bytes=%" PRIu64 " revokes=%" PRIu64
		" fd_replaced=%" PRIu64 " dirty_bitmaps_checked=%" PRIu64 " audits=%" PRIu64
		" canary_dma_checks=%" PRIu64 " canary_survived=%" PRIu64 " canary_remaps=%" PRIu64
		" canary_spared_unmaps=%" PRIu64 " random_mapping_dma_checks=%" PRIu64
		" revoked_mapping_write_checks=%" PRIu64
		" entry_limit=%u"
		" mappings_mean=%" PRIu64 " mappings_max=%" PRIu64 " stale_dirty_bits=%" PRIu64
		" wrap_to_zero_calls=%" PRIu64 " top_map_dma_skipped=%" PRIu64
		" fail_pct=%u fail_armed=%" PRIu64 " fail_injected=%" PRIu64
		" fail_enomem=%" PRIu64 " layout_fallbacks=%u", seed, z->call,
		now_ms() - t0, z->maps_ok, z->unmapped_bytes, z->revokes, z->fd_replaced,
		z->dirty_checks, z->audits, z->canary_checks, z->canary_survived, z->canary_remaps,
		z->canary_spared, z->live_checks, z->revoked_checks, z->limit,
		z->sum_n / (z->call ? z->call : 1), z->max_n, z->stale_bits, z->wrap_hits,
		z->top_skipped,
		z->inject ? z->fail_pct : 0, z->fi_armed, z->fi_injected, z->fi_enomem,
		tx_layout_fallbacks());
	for (int i = 0; i < NIOC; i++) {
		char line[1024];
		int o = snprintf(line, sizeof(line), "ioctl=%s calls=%" PRIu64 " ok=%" PRIu64,
				 ioc_name[i], z->calls[i], z->hist[i][0]);

		for (int e = 1; e < NSEEN; e++)
			if (z->hist[i][e] && o < (int)sizeof(line) - 40)
				o += snprintf(line + o, sizeof(line) - (size_t)o, " %s=%" PRIu64,
					      strerrorname(e), z->hist[i][e]);
		vt_info("FIGURE fuzz/errnos %s", line);
	}
	/* documented errnos only (uapi/linux/vfio_dmabuf.h, plus what the
	 * test exporter's refusing buffers pass through) */
	{
		static const int doc[] = { EINVAL, EBADF, EACCES, EEXIST, ENOSPC, ENODEV, ENXIO,
					   EOPNOTSUPP, ENOMEM, EFAULT, EINTR, EPERM, EHOSTDOWN };

		for (int e = 1; e < NSEEN; e++) {
			bool ok = false;

			for (unsigned int k = 0; k < sizeof(doc) / sizeof(doc[0]); k++)
				ok |= doc[k] == e;
			if (z->hist[IOC_MAP_DMABUF][e] && !ok)
				FAIL("MAP_DMABUF returned %s, not in the documented set", strerrorname(e));
		}
	}
}
