// SPDX-License-Identifier: GPL-2.0-only
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
 */
#define _GNU_SOURCE
#include "exporter_client.h"
#include "fixture.h"
#include "knob.h"
#include "prng.h"

#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/vfio.h>
#include <linux/vfio_dmabuf.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RW	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define KiB	(1ull << 10)
#define MiB	(1ull << 20)
#define GiB	(1ull << 30)

#define FIGURE(test, fmt, ...) \
	vt_info("FIGURE torture/" test " scale=%u " fmt, scale(), __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Knobs                                                               */
/* ------------------------------------------------------------------ */

/* VFD_<name> from the environment, else from /proc/cmdline, else @def. */
static unsigned long long env_knob(const char *name, unsigned long long def)
{
	unsigned long long v;

	return vt_knob(name, &v) ? v : def;
}

static unsigned int scale(void)
{
	static unsigned int s;

	if (!s) {
		unsigned long long v = env_knob("VFD_TORTURE_SCALE", 1);

		s = v < 1 ? 1 : v > 1000 ? 1000 : (unsigned int)v;
	}
	return s;
}

/* Test timeout: @base seconds per unit of scale. */
static unsigned int tmo(unsigned int base)
{
	return base * scale();
}

static uint64_t seed_for(const char *test)
{
	uint64_t s = env_knob("VFD_TORTURE_SEED", 0), h = 1469598103934665603ull;

	for (const char *c = test; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ull;
	return (s ? s : 1) ^ h;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t now_ms(void)
{
	return now_us() / 1000;
}

static void spin_us(unsigned int us)
{
	uint64_t end = now_us() + us;

	while (now_us() < end)
		;
}

static uint64_t cpu_page(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The mapping granule: CPU page and IOMMU page, whichever is larger. */
static uint64_t granule(const struct fx *fx)
{
	uint64_t p = fx_pgsize(fx), c = cpu_page();

	return p > c ? p : c;
}

static int get_state(int cfd, uint64_t iova, struct vfio_iommu_type1_dmabuf_state *s)
{
	*s = (struct vfio_iommu_type1_dmabuf_state){ .argsz = sizeof(*s), .iova = iova };
	return ioctl(cfd, VFIO_IOMMU_DMABUF_GET_STATE, s);
}

/* GET_STATE must say @state and @size for the dma-buf mapping at @iova. */
static void expect_state(int cfd, uint64_t iova, uint32_t state, uint64_t size)
{
	struct vfio_iommu_type1_dmabuf_state s;

	if (get_state(cfd, iova, &s) < 0)
		FAIL("GET_STATE 0x%" PRIx64 ": %s, expected state %u size 0x%" PRIx64,
		     iova, strerrorname(errno), state, size);
	if (s.state != state || s.size != size)
		FAIL("GET_STATE 0x%" PRIx64 ": state %u size 0x%llx, expected %u 0x%" PRIx64,
		     iova, s.state, (unsigned long long)s.size, state, size);
}

static void expect_no_mapping(int cfd, uint64_t iova)
{
	struct vfio_iommu_type1_dmabuf_state s;

	errno = 0;
	if (get_state(cfd, iova, &s) == 0 || errno != ENOENT)
		FAIL("GET_STATE 0x%" PRIx64 ": %s, expected ENOENT (nothing mapped)",
		     iova, errno ? strerrorname(errno) : "success");
}

/* Unmap exactly [iova, iova + size): must succeed with exactly @size. */
static void unmap_exact(int cfd, uint64_t iova, uint64_t size)
{
	uint64_t got = 0;

	if (fx_unmap_raw(cfd, iova, size, 0, &got) < 0)
		FAIL("UNMAP_DMA 0x%" PRIx64 "+0x%" PRIx64 ": %s", iova, size,
		     strerrorname(errno));
	if (got != size)
		FAIL("UNMAP_DMA 0x%" PRIx64 "+0x%" PRIx64 " unmapped 0x%" PRIx64,
		     iova, size, got);
}

static int map_mem_raw(int cfd, void *vaddr, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = flags, .vaddr = (uintptr_t)vaddr,
		.iova = iova, .size = size,
	};

	return ioctl(cfd, VFIO_IOMMU_MAP_DMA, &m);
}

/* The importer holds nothing of the buffer any more. */
static void expect_detached(int fd, const char *what)
{
	struct vfio_dmabuf_test_info i;

	tx_info_fd(fd, &i);
	if (i.attachments || i.pinned || i.mapped)
		FAIL("%s: exporter still sees %u attachment(s), %u pin(s), %u mapping(s)",
		     what, i.attachments, i.pinned, i.mapped);
}

/* Counters that must balance between two snapshots. */
static void expect_balanced(const struct vfio_dmabuf_test_stats *a,
			    const struct vfio_dmabuf_test_stats *b)
{
	ASSERT_EQ(b->buffers_live, a->buffers_live);
	ASSERT_EQ(b->pages_allocated, a->pages_allocated);
	ASSERT_EQ(b->attaches - a->attaches, b->detaches - a->detaches);
	ASSERT_EQ(b->pins - a->pins, b->unpins - a->unpins);
	ASSERT_EQ(b->maps - a->maps, b->unmaps - a->unmaps);
}

/* ---- any dma-buf: the test exporter's, udmabuf, the system heap ---- */

enum src_type { SRC_TX, SRC_UDMABUF, SRC_HEAP };

struct buf {
	enum src_type src;
	unsigned int kind, mode;
	int fd;
	uint64_t size;
	uint8_t *cpu;			/* the dma-buf's mmap, or NULL */
	struct vfd_dmabuf *lib;		/* udmabuf, heap */
};

static const char *const src_names[] = { "tx", "udmabuf", "heap" };

/* 0, or the errno of the exporter. */
static int buf_new(struct buf *b, enum src_type src, unsigned int kind,
		   unsigned int mode, uint64_t size, bool cpu)
{
	struct vfd_error err;
	void *p;
	int r;

	memset(b, 0, sizeof(*b));
	b->src = src;
	b->kind = kind;
	b->mode = mode;
	b->size = size;
	b->fd = -1;
	if (src == SRC_TX) {
		r = tx_create_fd_any_layout(size, kind, mode, 0, 0, &b->fd);
		if (r)
			return r;
		if (cpu) {
			p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
			if (p == MAP_FAILED)
				FAIL("mmap of a test dma-buf: %s", strerror(errno));
			b->cpu = p;
		}
		return 0;
	}
	r = src == SRC_UDMABUF ? vfd_dmabuf_create_udmabuf(size, &b->lib, &err) :
				 vfd_dmabuf_create_heap("system", size, &b->lib, &err);
	if (r < 0)
		return -r;
	b->fd = vfd_dmabuf_fd(b->lib);
	if (cpu) {
		if (vfd_dmabuf_mmap(b->lib, &p) < 0)
			FAIL("mmap of a %s dma-buf: %s", src_names[src], vfd_dmabuf_errmsg(b->lib));
		b->cpu = p;
	}
	return 0;
}

/* Close the fd and the CPU mapping (an IOMMU mapping keeps the buffer). */
static void buf_free(struct buf *b)
{
	if (b->lib) {
		vfd_dmabuf_free(b->lib);	/* its mmap and fds */
		b->lib = NULL;
	} else {
		if (b->cpu)
			munmap(b->cpu, b->size);
		if (b->fd >= 0)
			close(b->fd);
	}
	b->cpu = NULL;
	b->fd = -1;
}

static void buf_cleanup(void *arg)
{
	buf_free(arg);
}

/*
 * An empty struct buf on the test's arena for buf_new() to fill: its
 * buffer is freed at the end of the test (or earlier, by buf_free()).
 */
static struct buf *buf_on_arena(void)
{
	struct buf *b = vt_calloc(sizeof(*b));

	b->fd = -1;
	vt_defer(buf_cleanup, b);
	return b;
}

/* ---- edu DMA without waiting: the transfer is in flight for 100 ms of
 * QEMU's virtual time (the edu DMA timer) ---- */

static inline void wmb_dev(void)
{
#if defined(__aarch64__)
	__asm__ __volatile__("dmb oshst" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static volatile void *edu_bar(struct vfd_edu *e)
{
	size_t size;
	void *p;

	if (vfd_region_map(vfd_edu_device(e), 0, &p, &size) < 0)
		FAIL("mmap edu BAR0: %s", vfd_device_errmsg(vfd_edu_device(e)));
	return p;
}

static bool edu_busy(volatile void *bar)
{
	return vfd_mmio_read64(bar, VFD_EDU_REG_DMA_CMD) & VFD_EDU_DMA_CMD_START;
}

/* Start a DMA of @len bytes between edu buffer offset 0 and @iova. */
static void edu_start(volatile void *bar, bool to_ram, uint64_t iova, uint32_t len)
{
	uint64_t dev = VFD_EDU_BUF_ADDR;

	if (edu_busy(bar))
		FAIL("edu DMA engine busy before a new transfer");
	vfd_mmio_write64(bar, VFD_EDU_REG_DMA_SRC, to_ram ? dev : iova);
	vfd_mmio_write64(bar, VFD_EDU_REG_DMA_DST, to_ram ? iova : dev);
	vfd_mmio_write64(bar, VFD_EDU_REG_DMA_COUNT, len);
	wmb_dev();
	vfd_mmio_write64(bar, VFD_EDU_REG_DMA_CMD,
			 VFD_EDU_DMA_CMD_START | (to_ram ? VFD_EDU_DMA_CMD_TO_RAM : 0));
}

static void edu_wait_idle(volatile void *bar, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	while (edu_busy(bar)) {
		if (now_ms() > end)
			FAIL("edu DMA did not complete within %u ms", ms);
		usleep(1000);
	}
}

/* ------------------------------------------------------------------ */
/* 1. map/unmap cycles of mixed dma-bufs                               */
/* ------------------------------------------------------------------ */

struct source {
	enum src_type src;
	unsigned int kind, mode;
	uint64_t max;		/* largest buffer */
};

static unsigned int sources(struct source *s)
{
	static const unsigned int kinds[] = {
		VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_KIND_CONTIG,
		VFIO_DMABUF_TEST_KIND_CHUNKED,
	};
	static const unsigned int modes[] = {
		VFIO_DMABUF_TEST_MODE_STATIC, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN,
	};
	unsigned int n = 0;

	for (unsigned int k = 0; k < 3; k++)
		for (unsigned int m = 0; m < 2; m++)
			s[n++] = (struct source){ SRC_TX, kinds[k], modes[m],
				kinds[k] == VFIO_DMABUF_TEST_KIND_SCATTER ? 2 * MiB : 4 * MiB };
	if (!access("/dev/udmabuf", F_OK))
		s[n++] = (struct source){ SRC_UDMABUF, 0, 0, 4 * MiB };
	if (!access("/dev/dma_heap/system", F_OK))
		s[n++] = (struct source){ SRC_HEAP, 0, 0, 4 * MiB };
	return n;
}

#define RING 8

struct ring_slot {
	struct buf b;
	bool live;		/* mapped */
	uint64_t iova, off, len;
};

struct cycles {
	struct fx *fx;
	int cfd;
	uint64_t pg, base, rng;
	struct source src[8];
	unsigned int nsrc;
	struct ring_slot ring[RING];
	/* figures */
	uint64_t cycles, bytes, tx_buffers, verified, early_close, partial;
	uint64_t create_failed, per_src[3];
};

static void cycle_retire(struct cycles *c, struct ring_slot *r)
{
	if (!r->live)
		return;
	unmap_exact(c->cfd, r->iova, r->len);
	expect_no_mapping(c->cfd, r->iova);
	buf_free(&r->b);
	r->live = false;
}

static void cycle_one(struct cycles *c, uint64_t i, bool count)
{
	struct ring_slot *r = &c->ring[i % RING];
	const struct source *s = &c->src[i % c->nsrc];
	uint64_t pages, size, maxp = s->max / c->pg;
	bool verify = count && i % 100 == 50;
	int e;

	cycle_retire(c, r);
	/* sizes: one page, a few, odd, and up to the source's maximum */
	switch (rndn(&c->rng, 4)) {
	case 0:  pages = 1 + rndn(&c->rng, 3); break;
	case 1:  pages = 1 + rndn(&c->rng, 64); break;
	case 2:  pages = (MiB / c->pg) << rndn(&c->rng, 3); break;
	default: pages = 1 + rndn(&c->rng, maxp); break;
	}
	if (pages > maxp)
		pages = maxp;
	if (verify && pages < 2)
		pages = 2;
	size = pages * c->pg;
	e = buf_new(&r->b, s->src, s->kind, s->mode, size, verify);
	if (e == ENOMEM || e == EAGAIN) {	/* fragmentation: not our business */
		c->create_failed++;
		return;
	}
	if (e)
		FAIL("creating a %s dma-buf of %" PRIu64 " bytes: %s", src_names[s->src],
		     size, strerror(e));
	r->off = 0;
	r->len = size;
	if (pages > 2 && rndn(&c->rng, 4) == 0) {	/* a window of the buffer */
		r->off = rndn(&c->rng, pages - 2) * c->pg;
		r->len = (2 + rndn(&c->rng, pages - r->off / c->pg - 1)) * c->pg;
		if (r->off + r->len > size)
			r->len = size - r->off;
		if (count)
			c->partial++;
	}
	r->iova = c->base + (i % RING) * 16 * MiB;
	if (fx_map_dmabuf_raw(c->cfd, r->b.fd, r->off, r->iova, r->len, RW) < 0)
		FAIL("cycle %" PRIu64 ": MAP_DMABUF %s kind %u mode %u size 0x%" PRIx64
		     " off 0x%" PRIx64 " len 0x%" PRIx64 ": %s", i, src_names[s->src],
		     s->kind, s->mode, size, r->off, r->len, strerrorname(errno));
	r->live = true;
	expect_state(c->cfd, r->iova, VFIO_DMABUF_STATE_MAPPED, r->len);
	if (verify && r->len >= 2 * c->pg) {
		fx_verify_rw(c->fx->edu, r->b.fd, r->b.cpu + r->off, r->iova, r->len,
			     (uint32_t)i);
		c->verified++;
	}
	/* the mapping holds its own reference: drop ours now, sometimes */
	if (rndn(&c->rng, 3) == 0) {
		buf_free(&r->b);
		if (count)
			c->early_close++;
	}
	if (count) {
		c->cycles++;
		c->bytes += r->len;
		c->per_src[s->src]++;
		c->tx_buffers += s->src == SRC_TX;
	}
}

static void cycles_retire_all(void *arg)
{
	struct cycles *c = arg;

	for (unsigned int i = 0; i < RING; i++)
		cycle_retire(c, &c->ring[i]);
}

TEST_TIMEOUT(map_unmap_cycles, tmo(150))
{
	struct vfio_dmabuf_test_stats st0, st1;
	uint64_t n = 1000ull * scale(), i, t0, t1;
	struct cycles *c = vt_calloc(sizeof(*c));
	long free0, free1, tol;

	c->fx = fx_open(0);
	c->cfd = fx_cfd(c->fx);
	c->pg = granule(c->fx);
	c->rng = seed_for("map_unmap_cycles");
	c->nsrc = sources(c->src);
	c->base = fx_iova_at_or_above(c->fx, 0x40000000ull, RING * 16 * MiB);
	/* warm up the caches, then measure */
	for (i = 0; i < 4 * RING; i++)
		cycle_one(c, i, false);
	cycles_retire_all(c);
	vt_defer(cycles_retire_all, c);
	tx_stats(&st0);
	free0 = fx_free_kb();
	t0 = now_ms();
	for (i = 0; i < n; i++)
		cycle_one(c, i, true);
	cycles_retire_all(c);
	t1 = now_ms();
	tx_wait_released(st0.buffers_released + c->tx_buffers);
	tx_stats(&st1);
	free1 = fx_free_kb();
	FIGURE("map_unmap_cycles", "cycles=%" PRIu64 " bytes=%" PRIu64 " tx=%" PRIu64
	       " udmabuf=%" PRIu64 " heap=%" PRIu64 " partial=%" PRIu64
	       " early_close=%" PRIu64 " dma_verified=%" PRIu64 " create_enomem=%" PRIu64
	       " contig_fallbacks=%u"
	       " released=%llu free_kb_before=%ld free_kb_after=%ld ms=%" PRIu64,
	       c->cycles, c->bytes, c->per_src[SRC_TX], c->per_src[SRC_UDMABUF],
	       c->per_src[SRC_HEAP], c->partial, c->early_close, c->verified,
	       c->create_failed, tx_layout_fallbacks(),
	       (unsigned long long)(st1.buffers_released - st0.buffers_released),
	       free0, free1, t1 - t0);
	ASSERT_EQ(st1.buffers_created - st0.buffers_created, c->tx_buffers);
	ASSERT_EQ(st1.buffers_released - st0.buffers_released, c->tx_buffers);
	ASSERT_EQ(st1.attaches - st0.attaches, c->per_src[SRC_TX]);
	expect_balanced(&st0, &st1);
	ASSERT_GT(c->cycles, n * 9 / 10);
	/* a page per cycle would be 4 MiB at scale 1; the buffers GiBs */
	tol = 4096 + (long)(c->bytes / 1024 / 1000);
	if (free1 < free0 - tol)
		FAIL("free memory %ld -> %ld KiB after %" PRIu64 " cycles of %" PRIu64
		     " MiB in all: more than %ld KiB lost", free0, free1, c->cycles,
		     c->bytes >> 20, tol);
}

/* ------------------------------------------------------------------ */
/* 2. kill -9 of a process holding live dma-buf mappings              */
/* ------------------------------------------------------------------ */

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
	if (mem == MAP_FAILED || map_mem_raw(vfd_container_fd(c), mem, iova, MiB, RW) < 0)
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

/* ------------------------------------------------------------------ */
/* 3. threads racing on one container                                  */
/* ------------------------------------------------------------------ */

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

	if (get_state(t->r->cfd, iova, &s) < 0)
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
	ret = mem ? map_mem_raw(r->cfd, t->mem + off, iova, len, RW) :
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
		} else if (get_state(r->cfd, e->iova, &s) == 0 || errno != EINVAL) {
			TFAIL("GET_STATE of a MAP_DMA mapping: %s, expected EINVAL",
			      errno ? strerrorname(errno) : "success");
		}
		if (e->size > r->pg && (get_state(r->cfd, e->iova + r->pg, &s) == 0 || errno != EINVAL))
			TFAIL("GET_STATE inside a mapping: %s, expected EINVAL",
			      errno ? strerrorname(errno) : "success");
		return true;
	}
	iova = t->zone + rndn(&t->rng, WINDOW_PAGES) * r->pg;
	i = find_overlap(t, iova, 1);
	errno = 0;
	ret = get_state(r->cfd, iova, &s);
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
		if (get_state(r->cfd, iova, &s) == 0) {
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
				ASSERT_ERRNO(get_state(r->cfd, e->iova, &s), EINVAL);
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

/* ------------------------------------------------------------------ */
/* 4. revocation racing with DMA in flight, unmap, map, teardown       */
/* ------------------------------------------------------------------ */

#define RIOVA	0x40000000ull

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

/* Two threads, each doing one thing per round, started together. */
struct duel {
	pthread_barrier_t go, done;
	unsigned int rounds;
	int fd;
	uint64_t rng;
	int *res;		/* per round: the revoke's result */
	bool alternate;		/* odd rounds: a move (NOTIFY_ONLY) instead */
};

static void *duel_revoker(void *arg)
{
	struct duel *d = arg;

	for (unsigned int i = 0; i < d->rounds; i++) {
		pthread_barrier_wait(&d->go);
		spin_us((unsigned int)rndn(&d->rng, 300));
		d->res[i] = tx_revoke_fd(d->fd, d->alternate && (i & 1) ?
				      VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY : 0);
		pthread_barrier_wait(&d->done);
	}
	return NULL;
}

static void duel_start(struct duel *d, unsigned int rounds, int fd, const char *name)
{
	d->rounds = rounds;
	d->fd = fd;
	d->rng = seed_for(name);
	d->res = calloc(rounds, sizeof(int));
	ASSERT_TRUE(d->res != NULL);
	pthread_barrier_init(&d->go, NULL, 2);
	pthread_barrier_init(&d->done, NULL, 2);
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
			tx_info_fd(fds[j], &info);
			if (info.attachments != 1)
				FAIL("round %u: buffer %u has %u attachments after the container went"
				     " away, expected the long-lived container's only", i, j,
				     info.attachments);
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

/* ------------------------------------------------------------------ */
/* 5. the DMA entry limit, and one very large mapping                  */
/* ------------------------------------------------------------------ */

#define LIMIT_PARAM	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"
#define MAXBUF_PARAM	"/sys/module/vfio_dmabuf_test_exporter/parameters/max_buffer_size"

/*
 * Run @body in a child process and restore the parameter @p here, whatever
 * happens to the child, a crash included: a parameter left changed would
 * break the tests that follow.  The child dies with this process (the
 * harness kills this one on a timeout).
 */
static void with_param(const struct fx_param *p, void (*body)(void))
{
	int st = vt_run_child(body);

	fx_param_restore(p);
	vt_child_result(st, "the test's child");
}

static unsigned int entry_limit(void)
{
	unsigned int limit = 6554 * scale();

	return limit > 65535 ? 65535 : limit;
}

static void entry_limit_body(void);

TEST_TIMEOUT(dma_entry_limit_filled, tmo(60))
{
	/* read when a container opens */
	with_param(fx_param_set(LIMIT_PARAM, entry_limit()), entry_limit_body);
}

static void entry_limit_body(void)
{
	struct vfio_iommu_type1_dmabuf_state s;
	unsigned int limit = entry_limit(), i;
	uint64_t pg, base, t0, t_map, t_revoke, t_unmap, got, probe;
	struct vfd_iommu_info info;
	uint8_t *mem;
	struct buf *b, *b2;
	struct fx *fx;
	int cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	pg = granule(fx);
	ASSERT_TRUE(fx->info.dma_avail_reported);
	ASSERT_EQ(fx->info.dma_avail, limit);
	b = buf_on_arena();
	ASSERT_EQ(buf_new(b, SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER,
			  VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 2 * pg, false), 0);
	b2 = buf_on_arena();
	ASSERT_EQ(buf_new(b2, SRC_TX, VFIO_DMABUF_TEST_KIND_SCATTER,
			  VFIO_DMABUF_TEST_MODE_STATIC, pg, false), 0);
	mem = fx_alloc(pg);
	base = fx_iova_at_or_above(fx, 1ull << 32, (uint64_t)(limit + 64) * pg);
	t0 = now_ms();
	for (i = 0; i < limit; i++)
		if (fx_map_dmabuf_raw(cfd, b->fd, (i & 1) * pg, base + (uint64_t)i * pg, pg, RW) < 0)
			FAIL("mapping %u of %u: %s", i, limit, strerrorname(errno));
	t_map = now_ms() - t0;
	ASSERT_OK(vfd_container_iommu_info(fx->c, &info));
	ASSERT_EQ(info.dma_avail, 0);
	/* full: ENOSPC, precisely, for both kinds of mapping ... */
	probe = base + (uint64_t)(limit + 1) * pg;
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, probe, pg, RW), ENOSPC);
	ASSERT_ERRNO(map_mem_raw(cfd, mem, probe, pg, RW), ENOSPC);
	/* ... but an overlap is still EEXIST: that check comes first */
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, base + 7 * pg, pg, RW), EEXIST);
	/* one entry back, one mapping more, full again */
	unmap_exact(cfd, base, pg);
	ASSERT_OK(fx_map_dmabuf_raw(cfd, b->fd, 0, probe, pg, RW));
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, probe + pg, pg, RW), ENOSPC);
	expect_state(cfd, probe, VFIO_DMABUF_STATE_MAPPED, pg);
	/* the exporter revokes the buffer under all of them at once */
	t0 = now_ms();
	ASSERT_EQ(tx_revoke_fd(b->fd, 0), 0);
	t_revoke = now_ms() - t0;
	for (i = 1; i < limit; i += limit / 7)
		expect_state(cfd, base + (uint64_t)i * pg, VFIO_DMABUF_STATE_REVOKED, pg);
	expect_state(cfd, probe, VFIO_DMABUF_STATE_REVOKED, pg);
	ASSERT_ERRNO(get_state(cfd, base, &s), ENOENT);
	/* still reserved, still counted (a revoked buffer itself would be
	 * refused earlier, by its exporter: ENODEV) */
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b->fd, 0, probe + pg, pg, RW), ENODEV);
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b2->fd, 0, probe + pg, pg, RW), ENOSPC);
	ASSERT_ERRNO(fx_map_dmabuf_raw(cfd, b2->fd, 0, probe, pg, RW), EEXIST);
	t0 = now_ms();
	ASSERT_OK(fx_unmap_raw(cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &got));
	t_unmap = now_ms() - t0;
	ASSERT_EQ(got, (uint64_t)limit * pg);
	ASSERT_OK(vfd_container_iommu_info(fx->c, &info));
	ASSERT_EQ(info.dma_avail, limit);
	expect_detached(b->fd, "after UNMAP_DMA(ALL) of the full container");
	ASSERT_EQ(tx_revoke_fd(b->fd, VFIO_DMABUF_TEST_REVOKE_RESTORE), 0);
	FIGURE("dma_entry_limit_filled", "limit=%u map_ms=%" PRIu64 " map_us_each=%" PRIu64
	       " revoke_all_ms=%" PRIu64 " unmap_all_ms=%" PRIu64, limit, t_map,
	       t_map * 1000 / limit, t_revoke, t_unmap);
}

static void largest_body(void);

TEST_TIMEOUT(largest_mapping, tmo(90))
{
	/* the test exporter's default limit is 256 MiB */
	with_param(fx_param_set(MAXBUF_PARAM, GiB), largest_body);
}

static void largest_body(void)
{
	struct vfio_dmabuf_test_stats st0, st1;
	uint64_t target = GiB, size, avail, iova, align, t0, t_create, t_map, t_unmap;
	unsigned int tries;
	struct buf *b;
	struct fx *fx;
	int e = ENOMEM, cfd;

	fx = fx_open(0);
	cfd = fx_cfd(fx);
	/* what fits: leave the guest 160 MiB, in 2 MiB chunks */
	avail = (uint64_t)fx_meminfo_kb("MemAvailable") * 1024;
	size = avail > target + 160 * MiB ? target : avail - 160 * MiB;
	size &= ~(2 * MiB - 1);
	if (size < 64 * MiB)
		SKIP("only %" PRIu64 " MiB available", avail >> 20);
	tx_stats(&st0);
	b = buf_on_arena();
	t0 = now_ms();
	for (tries = 0; tries < 10 && size >= 64 * MiB; tries++) {
		e = buf_new(b, SRC_TX, VFIO_DMABUF_TEST_KIND_CHUNKED,
			    VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, size, true);
		if (e != ENOMEM)
			break;
		size = (size - size / 8) & ~(2 * MiB - 1);
	}
	if (e)
		FAIL("creating a %" PRIu64 " MiB buffer: %s", size >> 20, strerror(e));
	t_create = now_ms() - t0;
	for (align = 2 * MiB; align < size; align <<= 1)
		;
	iova = fx_iova_at_or_above(fx, 1ull << 32, align);
	t0 = now_ms();
	if (fx_map_dmabuf_raw(cfd, b->fd, 0, iova, size, RW) < 0)
		FAIL("MAP_DMABUF of %" PRIu64 " MiB at 0x%" PRIx64 ": %s", size >> 20, iova,
		     strerrorname(errno));
	t_map = now_ms() - t0;
	expect_state(cfd, iova, VFIO_DMABUF_STATE_MAPPED, size);
	/* the device copies from the first page to the last, and within the
	 * middle 2 MiB chunk */
	fx_verify_rw(fx->edu, b->fd, b->cpu, iova, size, 0x1a);
	fx_verify_rw(fx->edu, b->fd, b->cpu + size / 2, iova + size / 2, 2 * MiB, 0x2b);
	t0 = now_ms();
	unmap_exact(cfd, iova, size);
	t_unmap = now_ms() - t0;
	expect_detached(b->fd, "the large buffer after unmap");
	buf_free(b);
	tx_wait_released(st0.buffers_released + 1);
	tx_stats(&st1);
	expect_balanced(&st0, &st1);
	FIGURE("largest_mapping", "bytes=%" PRIu64 " target_bytes=%" PRIu64 " reached=%d"
	       " mem_available_kb=%" PRIu64 " create_ms=%" PRIu64 " map_ms=%" PRIu64
	       " unmap_ms=%" PRIu64 " iova=0x%" PRIx64, size, target, size >= target,
	       avail >> 10, t_create, t_map, t_unmap, iova);
}

/* ------------------------------------------------------------------ */
/* 6. revocation racing with a group attach (replay) and detach        */
/* ------------------------------------------------------------------ */

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
			ASSERT_OK(get_state(cfd, A, &st));
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
