// SPDX-License-Identifier: GPL-2.0-only
/*
 * kill9_live_mappings: a process holding live dma-buf mappings (and a
 * device write in flight) is killed, sometimes while the exporter revokes
 * one of its buffers; everything is released and the group is usable
 * again at once.
 */
#define _GNU_SOURCE
#include "torture.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define KILL_IOVA	0x40000000ull
#define KILL_TX_PER_CHILD 3

struct revoke_race {
	pthread_barrier_t go;
	int fd;
	unsigned int flags;
	int result;
};

static void *revoke_thread(void *arg)
{
	struct revoke_race *rr = arg;

	pthread_barrier_wait(&rr->go);
	rr->result = tx_revoke_fd(rr->fd, rr->flags);
	return NULL;
}

/* The child: map dma-bufs of every kind and some process memory, maybe
 * start a device write, tell the parent, wait for SIGKILL. */
static __attribute__((noreturn)) void kill_child(int wfd, int shared_fd, unsigned int round)
{
	static const unsigned int k[KILL_TX_PER_CHILD][3] = {
		{ VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 16 },
		{ VFIO_DMABUF_TEST_KIND_CHUNKED, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 1024 },
		{ VFIO_DMABUF_TEST_KIND_CONTIG, VFIO_DMABUF_TEST_MODE_STATIC, 64 },
	};
	struct vfd_container *c;
	struct vfd_error err;
	struct vfd_edu *e;
	struct vfd_dmabuf *u = NULL;
	uint64_t iova = KILL_IOVA;
	char name[64], msg = 'f';
	void *mem;
	int fd, i;

	if (vfd_edu_find(NULL, 0, name, sizeof(name), &err) < 0 ||
	    vfd_container_open(&c, NULL, &err) < 0 ||
	    vfd_edu_open(c, name, VFD_EDU_WIDE_DMA, &e) < 0)
		goto out;
	/* the parent's revocable buffer first: the device writes into it */
	if (fx_map_dmabuf_raw(vfd_container_fd(c), shared_fd, 0, iova, 16 * 4096, RW) < 0)
		goto out;
	iova += 16 * MiB;
	for (i = 0; i < KILL_TX_PER_CHILD; i++, iova += 16 * MiB) {
		if (tx_create_fd_any_layout(k[i][2] * 4096ull, k[i][0], k[i][1], 0, 0, &fd) ||
		    fx_map_dmabuf_raw(vfd_container_fd(c), fd, 0, iova, k[i][2] * 4096ull, RW) < 0)
			goto out;
		if (i & 1)
			close(fd);	/* only the mapping holds this one */
	}
	if (!access("/dev/udmabuf", F_OK) &&
	    (vfd_dmabuf_create_udmabuf(256 * KiB, &u, &err) < 0 ||
	     fx_map_dmabuf_raw(vfd_container_fd(c), vfd_dmabuf_fd(u), 0, iova, 256 * KiB, RW) < 0))
		goto out;
	iova += 16 * MiB;
	mem = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED || fx_map_mem_raw(vfd_container_fd(c), mem, iova, MiB, RW) < 0)
		goto out;
	if (round & 1) {
		/* a device write into the shared buffer, in flight at the kill */
		size_t sz;
		void *bar;

		if (vfd_region_map(vfd_edu_device(e), 0, &bar, &sz) < 0 || edu_busy(bar))
			goto out;	/* (no FAIL() in the child: that is the parent's) */
		edu_start(bar, true, KILL_IOVA + 4096, XFER_BYTES);
	}
	msg = 'm';
out:
	if (write(wfd, &msg, 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

TEST_TIMEOUT(kill9_live_mappings, tmo(120))
{
	struct vfio_dmabuf_test_stats start, st0, st1;
	unsigned int rounds = 10 * scale(), round, races = 0, in_flight = 0, verified = 0;
	uint64_t expect_released, max_reopen_ms = 0, t0 = now_ms();
	long free0 = 0, free1;

	tx_stats(&start);
	expect_released = start.buffers_released;
	for (round = 0; round < rounds; round++) {
		struct revoke_race rr = { .flags = 0 };
		struct vfd_container *c;
		struct vfd_error err;
		struct vfd_edu *e;
		pthread_t th;
		uint64_t t;
		bool race = round % 3 == 1;
		char name[64], ok = 0;
		int p[2], shared = -1;
		pid_t pid;

		ASSERT_EQ(tx_create_fd_any_layout(16 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER,
				    VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0, 0, &shared), 0);
		ASSERT_OK(pipe(p));
		pid = fork();
		ASSERT_GE(pid, 0);
		if (!pid) {
			close(p[0]);
			kill_child(p[1], shared, round);
		}
		close(p[1]);
		if (read(p[0], &ok, 1) != 1 || ok != 'm') {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			FAIL("round %u: the child could not set up its mappings", round);
		}
		close(p[0]);
		if (race) {	/* the exporter revokes while the process dies */
			rr.fd = shared;
			pthread_barrier_init(&rr.go, NULL, 2);
			ASSERT_EQ(pthread_create(&th, NULL, revoke_thread, &rr), 0);
			pthread_barrier_wait(&rr.go);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* the group is usable again right away: no sleep, first try */
		t = now_ms();
		ASSERT_OK(vfd_edu_find(NULL, 0, name, sizeof(name), &err));
		if (vfd_container_open(&c, NULL, &err) < 0)
			FAIL("round %u: container after kill -9: %s", round, err.msg);
		if (vfd_edu_open(c, name, VFD_EDU_WIDE_DMA, &e) < 0)
			FAIL("round %u: reopening %s right after kill -9: %s", round, name,
			     vfd_container_errmsg(c));
		t = now_ms() - t;
		if (t > max_reopen_ms)
			max_reopen_ms = t;
		edu_wait_idle(edu_bar(e), 2000);	/* the dead child's DMA */
		if (round % 5 == 0 || round + 1 == rounds) {
			struct buf b;

			ASSERT_EQ(buf_new(&b, SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER,
					  VFIO_DMABUF_TEST_MODE_STATIC, 4 * 4096, true), 0);
			ASSERT_OK(fx_map_dmabuf_raw(vfd_container_fd(c), b.fd, 0, KILL_IOVA,
						    b.size, RW));
			fx_verify_rw(e, b.fd, b.cpu, KILL_IOVA, b.size, round);
			buf_free(&b);
			expect_released++;
			verified++;
		}
		vfd_edu_close(e);
		vfd_container_close(c);
		if (race) {
			pthread_join(th, NULL);
			pthread_barrier_destroy(&rr.go);
			if (rr.result)
				FAIL("round %u: revoke racing with kill -9: %s", round,
				     strerror(rr.result));
			races++;
		}
		in_flight += round & 1;
		expect_detached(shared, "the shared buffer after kill -9");
		close(shared);
		expect_released += 1 + KILL_TX_PER_CHILD;
		tx_wait_released(expect_released);
		if (!round) {	/* the first round warms up caches */
			tx_stats(&st0);
			free0 = fx_free_kb();
		}
	}
	tx_stats(&st1);
	free1 = fx_free_kb();
	FIGURE("kill9_live_mappings", "rounds=%u buffers_released=%llu revoke_races=%u"
	       " dma_in_flight=%u group_reuse_max_ms=%" PRIu64 " dma_verified=%u"
	       " free_kb_before=%ld free_kb_after=%ld ms=%" PRIu64, rounds,
	       (unsigned long long)(st1.buffers_released - start.buffers_released), races,
	       in_flight, max_reopen_ms, verified, free0, free1, now_ms() - t0);
	ASSERT_EQ(st1.buffers_released, expect_released);
	expect_balanced(&start, &st1);
	/* leaking the buffers would cost 4.3 MiB a round */
	if (!fx_free_memory_comparable())
		vt_info("KASAN kernel: free memory not compared (quarantine); kmemleak checks leaks");
	else
		ASSERT_GT(free1, free0 - 4096);
}
