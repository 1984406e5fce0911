// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exporter revocation racing with device DMA in flight, with unmap, with
 * map, and with the teardown of a container that maps the buffer.
 */
#define _GNU_SOURCE
#include "torture.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

/* Bytes [0, 4096) of @fd's page @page read through a fresh mapping. */
static bool page_is(int fd, uint64_t size, unsigned int page, uint8_t v, bool *pattern,
		    uint32_t seed)
{
	uint8_t *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	bool all = true;

	if (p == MAP_FAILED)
		FAIL("mmap after restore: %s", strerror(errno));
	fx_cpu_begin(fd);
	for (unsigned int i = 0; i < XFER_BYTES; i++)
		if (p[page * 4096 + i] != v)
			all = false;
	*pattern = fx_check(p + page * 4096, XFER_BYTES, seed) < 0;
	fx_cpu_end(fd);
	munmap(p, size);
	return all;
}

TEST_TIMEOUT(revoke_dma_in_flight, tmo(60))
{
	unsigned int rounds = 10 * scale(), round, decided = 0, landed = 0, blocked = 0;
	uint64_t max_revoke_us = 0, t0 = now_ms();
	volatile void *bar;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	bar = edu_bar(fx->edu);
	for (round = 0; round < rounds; round++) {
		unsigned int v = round % 5;
		uint64_t size = 4 * 4096, ts, dt;
		bool mapped = true, revoked = false, pattern, clean;
		struct buf b;

		ASSERT_EQ(buf_new(&b, SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER,
				  VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, size, true), 0);
		ASSERT_OK(fx_map_dmabuf_raw(cfd, b.fd, 0, RIOVA, size, RW));
		fx_cpu_begin(b.fd);
		fx_fill(b.cpu, XFER_BYTES, round);
		memset(b.cpu + 2 * 4096, 0xee, 4096);
		fx_cpu_end(b.fd);
		/* the edu buffer gets the pattern; then it writes it to page 2 */
		if (vfd_edu_dma_to_device(fx->edu, RIOVA, 0, XFER_BYTES, 0) < 0)
			FAIL("edu DMA: %s", vfd_edu_errmsg(fx->edu));
		edu_start(bar, v != 2, v == 2 ? RIOVA : RIOVA + 2 * 4096, XFER_BYTES);
		ts = now_us();
		switch (v) {
		case 0:	/* revoke under a device write */
		case 3:	/* ... then unmap under it */
			ASSERT_EQ(tx_revoke_fd(b.fd, 0), 0);
			revoked = true;
			break;
		case 1:	/* a move (notify only) under a device write */
			ASSERT_EQ(tx_revoke_fd(b.fd, VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY), 0);
			break;
		case 2:	/* revoke under a device read */
			ASSERT_EQ(tx_revoke_fd(b.fd, 0), 0);
			revoked = true;
			break;
		case 4:	/* unmap under a device write, then revoke */
			unmap_exact(cfd, RIOVA, size);
			mapped = false;
			ASSERT_EQ(tx_revoke_fd(b.fd, 0), 0);
			revoked = true;
			break;
		}
		dt = now_us() - ts;
		if (dt > max_revoke_us)
			max_revoke_us = dt;
		if (v == 3) {
			unmap_exact(cfd, RIOVA, size);
			mapped = false;
		}
		dt = now_us() - ts;
		if (mapped)
			expect_state(cfd, RIOVA, VFIO_DMABUF_STATE_REVOKED, size);
		else
			expect_no_mapping(cfd, RIOVA);
		edu_wait_idle(bar, 2000);
		/* still consistent after the transfer hit the revoked range */
		if (mapped)
			expect_state(cfd, RIOVA, VFIO_DMABUF_STATE_REVOKED, size);
		if (revoked)
			ASSERT_EQ(tx_revoke_fd(b.fd, VFIO_DMABUF_TEST_REVOKE_RESTORE), 0);
		if (v != 2) {
			/* the write either landed before the range went away, or not
			 * at all; it cannot have landed if the revoke (or unmap) was
			 * done within 50 ms of the 100 ms the transfer waits */
			clean = page_is(b.fd, size, 2, 0xee, &pattern, round);
			if (!clean && !pattern)
				FAIL("round %u: page 2 holds neither the old bytes nor the device's",
				     round);
			if (dt < 50000) {
				decided++;
				if (!clean)
					FAIL("round %u (variant %u): the device wrote through a range"
					     " revoked %" PRIu64 " us after the transfer started",
					     round, v, dt);
			}
			landed += !clean;
			blocked += clean;
		}
		if (mapped)
			unmap_exact(cfd, RIOVA, size);
		expect_detached(b.fd, "revoked buffer after unmap");
		buf_free(&b);
	}
	FIGURE("revoke_dma_in_flight", "rounds=%u decided=%u writes_blocked=%u"
	       " writes_landed_before_revoke=%u max_revoke_us=%" PRIu64 " ms=%" PRIu64,
	       rounds, decided, blocked, landed, max_revoke_us, now_ms() - t0);
}

TEST_TIMEOUT(revoke_vs_unmap, tmo(60))
{
	unsigned int rounds = 200 * scale(), i, notify = 0;
	struct vfio_dmabuf_test_stats st0, st1;
	uint64_t rng = seed_for("revoke_vs_unmap"), t0 = now_ms();
	struct duel d = { .alternate = true };
	struct buf *b;
	pthread_t th;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = buf_on_arena();
	ASSERT_EQ(buf_new(b, SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER,
			  VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 16 * 4096, false), 0);
	tx_stats(&st0);
	duel_start(&d, rounds, b->fd, "revoke_vs_unmap/thread");
	ASSERT_EQ(pthread_create(&th, NULL, duel_revoker, &d), 0);
	for (i = 0; i < rounds; i++) {
		uint64_t size = (1 + rndn(&rng, 16)) * 4096;

		/* the revoker alternates between a revoke and a move */
		ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 16 * 4096 - size, RIOVA, size, RW));
		pthread_barrier_wait(&d.go);
		spin_us((unsigned int)rndn(&rng, 300));
		unmap_exact(cfd, RIOVA, size);
		pthread_barrier_wait(&d.done);
		if (d.res[i])
			FAIL("round %u: revoke racing with unmap: %s", i, strerror(d.res[i]));
		expect_no_mapping(cfd, RIOVA);
		expect_detached(b->fd, "after unmap raced with revoke");
		ASSERT_EQ(tx_revoke_fd(b->fd, VFIO_DMABUF_TEST_REVOKE_RESTORE), 0);
	}
	pthread_join(th, NULL);
	tx_stats(&st1);
	expect_balanced(&st0, &st1);
	notify = (unsigned int)(st1.move_notifies - st0.move_notifies);
	FIGURE("revoke_vs_unmap", "rounds=%u revokes=%u ms=%" PRIu64, rounds, notify,
	       now_ms() - t0);
	free(d.res);
}

TEST_TIMEOUT(revoke_vs_map, tmo(60))
{
	unsigned int rounds = 200 * scale(), i, won = 0, refused = 0;
	struct vfio_dmabuf_test_stats st0, st1;
	uint64_t rng = seed_for("revoke_vs_map"), t0 = now_ms();
	struct duel d = { .alternate = false };
	struct buf *b;
	pthread_t th;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	b = buf_on_arena();
	ASSERT_EQ(buf_new(b, SRC_TX, VFIO_DMABUF_TEST_KIND_CHUNKED,
			  VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 2 * MiB, false), 0);
	tx_stats(&st0);
	duel_start(&d, rounds, b->fd, "revoke_vs_map/thread");
	ASSERT_EQ(pthread_create(&th, NULL, duel_revoker, &d), 0);
	for (i = 0; i < rounds; i++) {
		int r;

		pthread_barrier_wait(&d.go);
		spin_us((unsigned int)rndn(&rng, 300));
		r = fx_map_dmabuf_raw(cfd, b->fd, 0, RIOVA, b->size, RW);
		if (r < 0 && errno != ENODEV)
			FAIL("round %u: MAP_DMABUF racing with revoke: %s, expected success or"
			     " ENODEV", i, strerrorname(errno));
		pthread_barrier_wait(&d.done);
		if (d.res[i])
			FAIL("round %u: revoke racing with map: %s", i, strerror(d.res[i]));
		if (r == 0) {
			/* mapped before or during the revoke: the revoke reached it */
			expect_state(cfd, RIOVA, VFIO_DMABUF_STATE_REVOKED, b->size);
			unmap_exact(cfd, RIOVA, b->size);
			won++;
		} else {
			expect_no_mapping(cfd, RIOVA);
			refused++;
		}
		expect_detached(b->fd, "after map raced with revoke");
		ASSERT_EQ(tx_revoke_fd(b->fd, VFIO_DMABUF_TEST_REVOKE_RESTORE), 0);
	}
	pthread_join(th, NULL);
	tx_stats(&st1);
	expect_balanced(&st0, &st1);
	FIGURE("revoke_vs_map", "rounds=%u mapped_then_revoked=%u refused_enodev=%u ms=%" PRIu64,
	       rounds, won, refused, now_ms() - t0);
	free(d.res);
}

/*
 * A bare container with the group of edu #1 (no device open), dma-bufs
 * mapped; the exporter revokes one while the container goes away:
 * close(container fd) then close(group fd), VFIO_GROUP_UNSET_CONTAINER,
 * or the group first.  The release of the last group tears the IOMMU
 * down (detach: domain unmapped and freed; release: every vfio_dma
 * removed) while move_notify runs.
 */
TEST_TIMEOUT(revoke_vs_container_close, tmo(60))
{
	static const unsigned int lay[4][3] = {
		{ VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 4 },
		{ VFIO_DMABUF_TEST_KIND_CHUNKED, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 512 },
		{ VFIO_DMABUF_TEST_KIND_CONTIG, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 16 },
		{ VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 8 },
	};
	unsigned int rounds = 50 * scale(), i, j, how[3] = { 0 }, verified = 0;
	struct vfio_dmabuf_test_stats st0, st1;
	struct vfio_dmabuf_test_info info;
	struct vfd_sysfs_device sd;
	uint64_t rng = seed_for("revoke_vs_container_close"), t0 = now_ms();
	struct duel d = { .alternate = false };
	struct vfd_error err;
	char name[64], gpath[64];
	int fds[4], gfd, cfd, lcfd;
	uint8_t *cpu[4];
	pthread_t th;
	struct fx *fx;

	if (vfd_edu_find(NULL, 1, name, sizeof(name), &err) < 0)
		SKIP("no second edu device: %s", err.msg);
	ASSERT_OK(vfd_sysfs_lookup(NULL, name, &sd, &err));
	ASSERT_GE(sd.iommu_group, 0);
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", sd.iommu_group);
	tx_stats(&st0);
	/* a second, long-lived container (edu #0) maps the same buffers: the
	 * revocation reaches it too, the teardown of the other must not */
	fx = fx_open(0);
	lcfd = fx_cfd(fx);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(tx_create_fd_any_layout(lay[i][2] * 4096ull, lay[i][0], lay[i][1], 0, 0,
						  &fds[i]), 0);
		cpu[i] = mmap(NULL, lay[i][2] * 4096ull, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		ASSERT_TRUE(cpu[i] != MAP_FAILED);
		ASSERT_OK(fx_map_dmabuf_raw(lcfd, fds[i], 0, RIOVA + i * 16 * MiB, lay[i][2] * 4096ull, RW));
	}
	/* the revoker always revokes fds[0]; which buffer that is rotates */
	duel_start(&d, rounds, -1, "revoke_vs_container_close/thread");
	for (i = 0; i < rounds; i++) {
		struct vfio_group_status gs = { .argsz = sizeof(gs) };
		unsigned int v = i % 3;
		int victim = (int)(i % 3);

		cfd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		gfd = open(gpath, O_RDWR | O_CLOEXEC);
		if (cfd < 0 || gfd < 0)
			FAIL("round %u: open container/group %s: %s", i, gpath, strerror(errno));
		ASSERT_OK(ioctl(gfd, VFIO_GROUP_GET_STATUS, &gs));
		ASSERT_TRUE(gs.flags & VFIO_GROUP_FLAGS_VIABLE);
		if (ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &cfd) < 0)
			FAIL("round %u: VFIO_GROUP_SET_CONTAINER: %s (the group was not released"
			     " by the last round?)", i, strerror(errno));
		ASSERT_OK(ioctl(cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
		for (j = 0; j < 4; j++)
			ASSERT_OK(fx_map_dmabuf_raw(cfd, fds[j], 0, RIOVA + j * 16 * MiB,
						    lay[j][2] * 4096ull, RW));
		d.fd = fds[victim];
		if (!i)
			ASSERT_EQ(pthread_create(&th, NULL, duel_revoker, &d), 0);
		pthread_barrier_wait(&d.go);
		spin_us((unsigned int)rndn(&rng, 300));
		switch (v) {
		case 0:		/* the container fd, then the group: released there */
			close(cfd);
			close(gfd);
			break;
		case 1:		/* explicit unset, then both */
			ASSERT_OK(ioctl(gfd, VFIO_GROUP_UNSET_CONTAINER));
			close(gfd);
			close(cfd);
			break;
		default:	/* the group first */
			close(gfd);
			close(cfd);
			break;
		}
		how[v]++;
		pthread_barrier_wait(&d.done);
		if (d.res[i])
			FAIL("round %u: revoke racing with container teardown: %s", i,
			     strerror(d.res[i]));
		for (j = 0; j < 4; j++) {
			/* the revoked victim is given back by both containers */
			unsigned int want = (int)j == victim ? 0 : 1;

			if (!tx_wait_attachments(fds[j], want, 2000, &info))
				FAIL("round %u: buffer %u has %u attachments after the container went"
				     " away, expected %u (the long-lived container's, unless revoked)",
				     i, j, info.attachments, want);
			expect_state(lcfd, RIOVA + j * 16 * MiB, (int)j == victim ?
				     VFIO_DMABUF_STATE_REVOKED : VFIO_DMABUF_STATE_MAPPED,
				     lay[j][2] * 4096ull);
		}
		/* the long-lived container gets the victim back */
		unmap_exact(lcfd, RIOVA + victim * 16 * MiB, lay[victim][2] * 4096ull);
		ASSERT_EQ(tx_revoke_fd(fds[victim], VFIO_DMABUF_TEST_REVOKE_RESTORE), 0);
		ASSERT_OK(fx_map_dmabuf_raw(lcfd, fds[victim], 0, RIOVA + victim * 16 * MiB,
					    lay[victim][2] * 4096ull, RW));
		if (i % 10 == 9) {
			j = (i / 10) % 4;
			fx_verify_rw(fx->edu, fds[j], cpu[j], RIOVA + j * 16 * MiB, lay[j][2] * 4096ull, i);
			verified++;
		}
	}
	pthread_join(th, NULL);
	ASSERT_OK(fx_unmap_raw(lcfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL));
	for (i = 0; i < 4; i++) {
		expect_detached(fds[i], "after the long-lived container's UNMAP_DMA(ALL)");
		munmap(cpu[i], lay[i][2] * 4096ull);
		close(fds[i]);
	}
	tx_wait_released(st0.buffers_released + 4);
	tx_stats(&st1);
	expect_balanced(&st0, &st1);
	FIGURE("revoke_vs_container_close", "rounds=%u close_container_first=%u"
	       " unset_container=%u close_group_first=%u second_container_dma_verified=%u"
	       " ms=%" PRIu64, rounds, how[0], how[1], how[2], verified, now_ms() - t0);
	free(d.res);
}
