/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Torture tests of VFIO_IOMMU_MAP_DMABUF: many map/unmap cycles of mixed
 * dma-bufs, kill -9 with live mappings, threads racing on one container,
 * exporter revocation racing with unmap, map, container teardown, group
 * attach (replay) and detach, and device DMA in flight, the DMA entry
 * limit filled with dma-buf mappings, and the largest mapping the guest
 * can hold.
 *
 * Every test is bounded in time and count.  The counts scale with
 * VFD_TORTURE_SCALE (default 1, the 'make check' size, about 40 s of a
 * TCG guest; 10 gives the full numbers of the reliability plan), and so do
 * the tests' timeouts.  The variable is read from the environment ('make
 * check VFD_TORTURE_SCALE=10' passes it through /etc/machine.env), else
 * from the kernel command line (APPEND_EXTRA="VFD_TORTURE_SCALE=10").
 * VFD_TORTURE_SEED fixes the random choices (threads still interleave as
 * they like).  Tests that change a module parameter run their body in a
 * child process and restore the parameter whatever happens to it.
 *
 * Figures go to the console as "# FIGURE torture/<test> key=value ...",
 * read by tests/harness/reliability-report.sh.
 *
 * One program, 'torture', of these files (tests/guest/Makefile links them
 * in the order its tests run):
 *   settings.c               the knobs above, module parameters for a test
 *   buffers.c                struct buf: a dma-buf of any exporter
 *   expect.c                 container calls and the checks after them
 *   edu_async.c              edu DMA left in flight
 *   revoke_duel.c            the revoking thread of the revocation races
 *   map_unmap_cycles.c       test map_unmap_cycles
 *   kill9_live_mappings.c    test kill9_live_mappings
 *   threads_one_container.c  test threads_one_container
 *   revoke_races.c           tests revoke_dma_in_flight, revoke_vs_unmap,
 *                            revoke_vs_map, revoke_vs_container_close
 *   limits.c                 tests dma_entry_limit_filled, largest_mapping
 *   revoke_vs_group_attach.c test revoke_vs_group_attach
 */
#ifndef VFD_TORTURE_H
#define VFD_TORTURE_H

#include "exporter_client.h"
#include "fixture.h"
#include "prng.h"

#include <linux/vfio.h>
#include <linux/vfio_dmabuf.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#define RW	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define KiB	(1ull << 10)
#define MiB	(1ull << 20)
#define GiB	(1ull << 30)

/* Where the revocation races map the buffers they revoke. */
#define RIOVA	0x40000000ull

#define FIGURE(test, fmt, ...) \
	vt_info("FIGURE torture/" test " scale=%u " fmt, scale(), __VA_ARGS__)

/* ---- settings.c ---- */

/* VFD_TORTURE_SCALE, 1 to 1000. */
unsigned int scale(void);
/* Test timeout: @base seconds per unit of scale. */
unsigned int tmo(unsigned int base);
/* The random seed of @test (a test name, or test/thread): VFD_TORTURE_SEED
 * mixed with the name, so that every test draws its own numbers. */
uint64_t seed_for(const char *test);
/* Run @body in a child process, then restore @p whatever became of it. */
void with_param(const struct fx_param *p, void (*body)(void));

/* ---- time ---- */

static inline uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static inline uint64_t now_ms(void)
{
	return now_us() / 1000;
}

/* Busy-wait @us microseconds: the races' random delays, shorter than a
 * sleep can be. */
static inline void spin_us(unsigned int us)
{
	uint64_t end = now_us() + us;

	while (now_us() < end)
		;
}

/* ---- expect.c ---- */

/* The mapping granule: CPU page and IOMMU page, whichever is larger. */
uint64_t granule(const struct fx *fx);
/* Unmap exactly [iova, iova + size): must succeed with exactly @size. */
void unmap_exact(int cfd, uint64_t iova, uint64_t size);
/* GET_STATE must say @state and @size for the dma-buf mapping at @iova. */
void expect_state(int cfd, uint64_t iova, uint32_t state, uint64_t size);
/* GET_STATE must say ENOENT: nothing is mapped at @iova. */
void expect_no_mapping(int cfd, uint64_t iova);
/* The exporter sees no attachment, pin or mapping of @fd's buffer. */
void expect_detached(int fd, const char *what);
/* The exporter's counters balance between snapshots @a and @b. */
void expect_balanced(const struct vfio_dmabuf_test_stats *a,
		     const struct vfio_dmabuf_test_stats *b);

/* ---- buffers.c ---- */

enum src_type { SRC_TX, SRC_UDMABUF, SRC_HEAP };

struct buf {
	enum src_type src;
	unsigned int kind, mode;
	int fd;
	uint64_t size;
	uint8_t *cpu;			/* the dma-buf's mmap, or NULL */
	struct vfd_dmabuf *lib;		/* udmabuf, heap */
};

/* "tx", "udmabuf", "heap", by enum src_type */
extern const char *const src_names[];

/*
 * Make a buffer of @size bytes into @b (the test exporter's of @kind and
 * @mode, or a udmabuf or heap one), mmapped if @cpu: 0, or the exporter's
 * errno.
 */
int buf_new(struct buf *b, enum src_type src, unsigned int kind,
	    unsigned int mode, uint64_t size, bool cpu);
/* Close the fd and the CPU mapping (an IOMMU mapping keeps the buffer). */
void buf_free(struct buf *b);
/* buf_free() for vt_defer(): @b must be arena (or heap) memory. */
void buf_cleanup(void *b);
/* An empty struct buf on the test's arena, freed at the end of the test. */
struct buf *buf_on_arena(void);

/* ---- edu_async.c ---- */

/* The edu device's BAR 0, mapped. */
volatile void *edu_bar(struct vfd_edu *e);
/* Is a DMA of the edu device in flight? */
bool edu_busy(volatile void *bar);
/* Start a DMA of @len bytes between edu buffer offset 0 and @iova. */
void edu_start(volatile void *bar, bool to_ram, uint64_t iova, uint32_t len);
/* Wait up to @ms for the edu DMA in flight to end; FAIL if it does not. */
void edu_wait_idle(volatile void *bar, unsigned int ms);

/* ---- revoke_duel.c ---- */

/* Two threads, each doing one thing per round, started together. */
struct duel {
	pthread_barrier_t go, done;
	unsigned int rounds;
	int fd;
	uint64_t rng;
	int *res;		/* per round: the revoke's result */
	bool alternate;		/* odd rounds: a move (NOTIFY_ONLY) instead */
};

/* Set up @d for @rounds rounds revoking @fd, seeded by @name; the caller
 * starts duel_revoker() on it and frees d->res. */
void duel_start(struct duel *d, unsigned int rounds, int fd, const char *name);
/* The revoking thread: each round, after the "go" barrier and a random
 * delay, revoke (or move) d->fd, then meet at the "done" barrier. */
void *duel_revoker(void *arg);

#endif /* VFD_TORTURE_H */
