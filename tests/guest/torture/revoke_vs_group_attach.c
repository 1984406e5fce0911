// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exporter revocation racing with a group attach (the replay of the
 * dma-buf mappings into a new IOMMU domain), a group detach and a map
 * into two domains: no domain may keep a stale mapping.
 */
#define _GNU_SOURCE
#include "torture.h"

#include <pthread.h>

#define FORCE_PARAM	"/sys/module/vfio_iommu_type1/parameters/dmabuf_test_force_new_domain"

/*
 * With dmabuf_test_force_new_domain every group gets an IOMMU domain of its
 * own: attaching edu #1's group replays the dma-buf mappings into a new
 * domain, detaching a group unmaps them from its domain before it is freed,
 * and MAP_DMABUF maps into both.  The exporter revokes (or moves) buffer V
 * while, depending on the round:
 *   0  edu #1's group is attached (replay),
 *   1  edu #1's group is detached,
 *   2  V is mapped into the two domains (MAP_DMABUF),
 *   3  edu #0's group, the first one, is detached (then attached again).
 * Afterwards V must be mapped in no domain: both devices write at its IOVA
 * and the CPU checks that nothing landed; the other buffers still work
 * through the replayed domain.
 */
static void stale_check(struct fx *fx, struct vfd_edu *e1, struct buf *v, uint64_t iova,
			unsigned int round)
{
	fx_cpu_begin(v->fd);
	memset(v->cpu + 4096, 0xee, 4096);
	fx_cpu_end(v->fd);
	if (e1)
		fx_edu_write(e1, iova + 4096, XFER_BYTES);
	fx_edu_write(fx->edu, iova + 4096, XFER_BYTES);
	fx_cpu_begin(v->fd);
	for (unsigned int k = 0; k < 4096; k++)
		if (v->cpu[4096 + k] != 0xee)
			FAIL("round %u: byte %u of the revoked buffer changed: a device wrote"
			     " through a stale IOMMU mapping", round, k);
	fx_cpu_end(v->fd);
}

static void group_attach_body(void)
{
	unsigned int rounds = 40 * scale(), i, n[4] = { 0 }, checks = 0, map_won = 0;
	uint64_t rng = seed_for("revoke_vs_group_attach"), t0 = now_ms();
	const uint64_t A = RIOVA, B = RIOVA + 16 * MiB, C = RIOVA + 32 * MiB;
	struct duel d = { .alternate = true };	/* odd rounds: a move */
	struct vfd_edu *e1 = NULL;
	struct vfd_error err;
	struct buf v, b, c;
	char name0[64], name1[64];
	pthread_t th;
	struct fx *fx;
	int cfd;

	ASSERT_OK(vfd_edu_find(NULL, 1, name1, sizeof(name1), &err));
	fx = fx_open(0);
	snprintf(name0, sizeof(name0), "%s", fx->name);
	cfd = fx_cfd(fx);
	ASSERT_EQ(buf_new(&v, SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER,
			  VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 16 * 4096, true), 0);
	ASSERT_EQ(buf_new(&b, SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER,
			  VFIO_DMABUF_TEST_MODE_STATIC, 16 * 4096, true), 0);
	ASSERT_EQ(buf_new(&c, SRC_TX, VFIO_DMABUF_TEST_KIND_CHUNKED,
			  VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 2 * MiB, false), 0);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b.fd, 0, B, b.size, RW));
	ASSERT_OK(fx_map_dmabuf_raw(cfd, c.fd, 0, C, c.size, RW));
	duel_start(&d, rounds, v.fd, "revoke_vs_group_attach/thread");
	ASSERT_EQ(pthread_create(&th, NULL, duel_revoker, &d), 0);
	for (i = 0; i < rounds; i++) {
		unsigned int var = (i / 2) % 4;
		bool moved = i & 1, mapped = true;
		uint32_t want = VFIO_DMABUF_STATE_REVOKED;
		int r = 0;

		if (var != 2)
			ASSERT_OK(fx_map_dmabuf_raw(cfd, v.fd, 0, A, v.size, RW));
		if (var != 0 && vfd_edu_open(fx->c, name1, VFD_EDU_WIDE_DMA, &e1) < 0)
			FAIL("round %u: attaching %s: %s", i, name1, vfd_container_errmsg(fx->c));
		pthread_barrier_wait(&d.go);
		spin_us((unsigned int)rndn(&rng, 2000));
		switch (var) {
		case 0:
			if (vfd_edu_open(fx->c, name1, VFD_EDU_WIDE_DMA, &e1) < 0)
				FAIL("round %u: attaching %s while the exporter revokes: %s", i,
				     name1, vfd_container_errmsg(fx->c));
			break;
		case 1:
			vfd_edu_close(e1);
			e1 = NULL;
			break;
		case 2:
			r = fx_map_dmabuf_raw(cfd, v.fd, 0, A, v.size, RW);
			if (r < 0 && errno != ENODEV)
				FAIL("round %u: MAP_DMABUF into two domains racing with a revoke: %s",
				     i, strerrorname(errno));
			mapped = r == 0;
			break;
		default:
			vfd_edu_close(fx->edu);
			fx->edu = NULL;
			break;
		}
		n[var]++;
		pthread_barrier_wait(&d.done);
		if (d.res[i])
			FAIL("round %u (case %u): revoke: %s", i, var, strerror(d.res[i]));
		if (!fx->edu && vfd_edu_open(fx->c, name0, VFD_EDU_WIDE_DMA, &fx->edu) < 0)
			FAIL("round %u: attaching %s again: %s", i, name0, vfd_container_errmsg(fx->c));
		if (var == 2 && mapped) {
			struct vfio_iommu_type1_dmabuf_state st;

			/* a move before the attach leaves nothing to revoke */
			ASSERT_OK(fx_dmabuf_state_raw(cfd, A, &st));
			want = st.state;
			if (!moved)
				ASSERT_EQ(want, VFIO_DMABUF_STATE_REVOKED);
			map_won++;
		}
		if (mapped)
			expect_state(cfd, A, want, v.size);
		else
			expect_no_mapping(cfd, A);
		expect_state(cfd, B, VFIO_DMABUF_STATE_MAPPED, b.size);
		expect_state(cfd, C, VFIO_DMABUF_STATE_MAPPED, c.size);
		if (moved && mapped && want == VFIO_DMABUF_STATE_REVOKED && (i / 8) % 2 == 0) {
			/* V is accessible (only moved) but mapped nowhere */
			if (e1)
				fx_verify_rw(e1, b.fd, b.cpu, B, b.size, i);
			stale_check(fx, e1, &v, A, i);
			checks++;
		}
		if (e1) {
			vfd_edu_close(e1);
			e1 = NULL;
		}
		if (mapped)
			unmap_exact(cfd, A, v.size);
		expect_detached(v.fd, "the revoked buffer after unmap");
		if (!moved)
			ASSERT_EQ(tx_revoke_fd(v.fd, VFIO_DMABUF_TEST_REVOKE_RESTORE), 0);
	}
	pthread_join(th, NULL);
	fx_verify_rw(fx->edu, b.fd, b.cpu, B, b.size, 0x77);
	FIGURE("revoke_vs_group_attach", "rounds=%u attach_races=%u detach_races=%u"
	       " map_two_domains_races=%u map_won=%u first_group_detach_races=%u"
	       " stale_mapping_checks=%u ms=%" PRIu64, rounds, n[0], n[1], n[2], map_won, n[3],
	       checks, now_ms() - t0);
	free(d.res);
}

TEST_TIMEOUT(revoke_vs_group_attach, tmo(90))
{
	struct vfd_error err;
	char name[64];

	if (vfd_edu_find(NULL, 1, name, sizeof(name), &err) < 0)
		SKIP("no second edu device: %s", err.msg);
	with_param(fx_param_set(FORCE_PARAM, 1), group_attach_body);
}
