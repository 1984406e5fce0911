/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An in-guest fuzzer of the type1 container ioctls that dma-buf mappings
 * touch: VFIO_IOMMU_MAP_DMABUF, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA
 * (plain, ALL, VADDR, GET_DIRTY_BITMAP), VFIO_IOMMU_GET_INFO,
 * VFIO_IOMMU_DMABUF_GET_STATE and VFIO_IOMMU_DIRTY_PAGES, with random and
 * boundary-biased arguments (0, 1, page +-1, 2^32, 2^63, ~0, the edges of
 * the usable IOVA ranges, of the reserved (MSI) windows and of existing
 * mappings), random fds (dma-bufs of every exporter and exporter mode, a
 * revoked one, memfd, /dev/null, an eventfd, a pipe, an O_PATH fd, the
 * container and the device fd, closed and negative numbers) and argument
 * pointers that fault.
 *
 * It keeps a model of the container (mappings, revoked state, vaddr
 * validity, dirty tracking, DMA entries left) and checks every return
 * against it: the exact errno the kernel's order of checks gives, the
 * unmapped size, GET_STATE's answer, GET_INFO's entries left, the dirty
 * bitmap's bits.  Every N calls the model is audited against the kernel
 * and a canary dma-buf mapping is proven by edu DMA.  At the end
 * UNMAP_DMA(ALL) must return exactly the model's total and the exporter
 * must see nothing attached.
 *
 * VFD_FUZZ_SEED (default: from the clock; printed, also on failure with
 * the last 16 calls and the model) makes a run reproducible: a run of N
 * calls is the prefix of any longer run with the same seed.
 * VFD_FUZZ_CALLS (default 20000, ~10 s of a TCG guest) sets its length.
 * Both are read from the environment ('make check' passes them through
 * /etc/machine.env) or from the kernel command line.  An errno histogram
 * per ioctl is printed as "# FIGURE fuzz/errnos ..." lines.  The fuzzer
 * runs in a child process with dma_entry_limit at 40 (so that ENOSPC is
 * reached); the parent restores the limit whatever happens.
 *
 * On kernels that can inject allocation failures (the debug kernels; see
 * failnth.h), VFD_FUZZ_FAIL_PCT percent of the calls (default 10; 0 turns
 * it off) make the N-th allocation inside the ioctl fail, N random in
 * 1..24.  A call that then fails with ENOMEM is accepted whatever the
 * model expected, and the model stays as it was: the next audit, the
 * canary and the final UNMAP_DMA(ALL) prove that the failed call left
 * nothing behind.  Any other outcome must match the model exactly.
 * UNMAP_DMA and DIRTY_PAGES are never injected: they allocate nothing of
 * ours, and the model could not know how much of a dirty bitmap upstream
 * type1 had cleared when it failed half way.  The
 * injection draws from a random stream of its own, so the calls made are
 * the same as without it.
 *
 * The model follows the type1 code of these kernels where it differs from
 * the documented ideal, and counts it: dirty bits left above a mapping by
 * the in-place shift of update_user_bitmap() (stale_dirty_bits), and
 * lookups of ranges that end exactly at 2^64 (wrap_to_zero_calls).  A
 * MAP_DMA that would create a mapping ending at 2^64 is not issued (see
 * top_of_iova_space.c; VFD_KNOWN_BUGS=1 runs that part).
 *
 * One program, 'fuzz', of these files (tests/guest/Makefile links them in
 * the order its tests run):
 *   settings.c           the knobs above
 *   calls.c              every fuzzed ioctl: recorded, injected, checked
 *   model.c              the model of the container and type1's lookups
 *   arguments.c          the generators of random and boundary arguments
 *   ioctl_map.c          MAP_DMABUF and MAP_DMA
 *   ioctl_unmap.c        UNMAP_DMA
 *   ioctl_dirty_pages.c  DIRTY_PAGES and the dirty bitmap model
 *   ioctl_info_state.c   GET_INFO and DMABUF_GET_STATE
 *   fd_pool.c            the fds passed, and the exporter's moves
 *   audit.c              audits, the canary, DMA through the mappings
 *   runner.c             test container_ioctls: set-up, loop, accounting
 *   top_of_iova_space.c  test top_of_iova_space
 */
#ifndef VFD_FUZZ_H
#define VFD_FUZZ_H

#include "exporter_client.h"
#include "failnth.h"
#include "fixture.h"
#include "prng.h"

#include <linux/vfio.h>
#include <linux/vfio_dmabuf.h>
#include <unistd.h>

#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define MiB		(1ull << 20)
#define ENTRY_LIMIT	40		/* dma_entry_limit for the fuzzed container */
#define MAXMAP		64
#define HOT_PAGES	4096		/* the busy IOVA window: 16 MiB */
#define MEM_PAGES	256		/* MAP_DMA source memory */
#define BITMAP_BYTES	65536
#define CANARY_PAGES	4
#define NSEEN		140		/* errnos counted in the histogram */

#define offsetofend(T, m)	(offsetof(T, m) + sizeof(((T *)0)->m))

#define LIMIT_PARAM	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"

/* ---- the fuzzer's state: the model, the fds, the figures ---- */

enum { IOC_MAP_DMABUF, IOC_MAP_DMA, IOC_UNMAP, IOC_INFO, IOC_STATE, IOC_DIRTY, NIOC };

/* What an fd of the pool is, and what MAP_DMABUF makes of it. */
enum fd_kind {
	FK_DMABUF,		/* maps */
	FK_NOPIN,		/* dynamic exporter that cannot pin */
	FK_REFUSE,		/* exporter refuses attach with ->err */
	FK_NOT_DMABUF,		/* an open file that is not a dma-buf: EINVAL */
	FK_BADF,		/* not an open file: EBADF */
};

struct fdent {
	const char *name;
	enum fd_kind kind;
	int fd;
	int err;		/* FK_REFUSE: the exporter's errno */
	uint64_t size;		/* dma-buf size */
	bool rd, wr;		/* file mode */
	bool revocable;		/* a dynamic test-exporter buffer */
	bool replaceable;	/* a test-exporter buffer */
	bool revoked;		/* the exporter refuses it now: ENODEV */
	unsigned int bufid;	/* identity of the buffer behind the fd */
	unsigned int tx_kind, tx_mode, tx_flags;
	uint8_t *cpu;		/* the buffer's mmap (read-write buffers) */
};

#define BMW	18		/* words of a mapping's dirty bitmap: 1024 pages + shift */

struct mm {
	uint64_t iova, size;
	uint64_t off;		/* dma-buf mappings: offset in the buffer */
	uint32_t flags;		/* dma-buf mappings: READ/WRITE */
	bool dmabuf, revoked, vinv;
	unsigned int bufid;
	uint64_t bm[BMW];	/* the kernel's vfio_dma->bitmap, as the model sees it */
};

struct rec {
	uint64_t call;
	int ioc, ret, err;
	char what[240];
};

struct fz {
	struct fx *fx;
	int cfd;
	uint64_t pg, rng, seed, call;
	/* IOVA landmarks */
	uint64_t land[96];
	unsigned int nland;
	uint64_t hot;
	/* fds */
	struct fdent fds[32];
	unsigned int nfds, next_bufid;
	/* model */
	struct mm m[MAXMAP];
	unsigned int n;
	bool dirty;
	uint32_t limit;
	size_t info_needed;	/* GET_INFO argsz that fits the caps */
	/* memory */
	uint8_t *mem;		/* MAP_DMA source, MEM_PAGES, then a guard page */
	uint8_t *arg;		/* argument page, then a PROT_NONE guard page */
	uint8_t *bitmap;	/* BITMAP_BYTES */
	uint64_t ubm[BITMAP_BYTES / 8];	/* what the bitmap should hold */
	/* canary */
	int canary_fd;
	uint8_t *canary_cpu;
	uint64_t canary_iova;
	unsigned int canary_bufid;
	/* figures */
	uint64_t hist[NIOC][NSEEN];
	uint64_t calls[NIOC], maps_ok, unmapped_bytes, canary_checks, canary_remaps;
	uint64_t audits, revokes, dirty_checks, fd_replaced, sum_n, max_n, stale_bits, canary_survived;
	uint64_t top_skipped, canary_spared, live_checks, revoked_checks;
	uint64_t wrap_hits;	/* calls where k_overlap()'s wrap mattered */
	/* allocation failure injection (fail-nth), when inject */
	struct vt_failnth nth;
	bool inject;
	unsigned int fail_pct;
	uint64_t frng, fi_armed, fi_injected, fi_enomem;
	struct rec ring[16];
};

/* ---- settings.c ---- */

/* VFD_FUZZ_CALLS: the length of the run (default 20000). */
uint64_t ncalls(void);
/* VFD_FUZZ_FAIL_PCT: percent of calls with an injected allocation failure. */
unsigned int fail_pct(void);
/* container_ioctls' timeout, which grows with the number of calls. */
unsigned int fuzz_timeout(void);
/* VFD_FUZZ_SEED, or one from the clock, the same for the whole test. */
unsigned long long fuzz_seed(void);

/* ---- calls.c ---- */

/* The ioctls' names, by IOC_*. */
extern const char *const ioc_name[NIOC];
/* The failure report: the seed, the last calls and the model. */
void dump_ring(const struct fz *z);
/* FAIL the test after the failure report of @z. */
#define ZFAIL(z, ...) do { dump_ring(z); FAIL(__VA_ARGS__); } while (0)
/* Describe the call about to be made, for the failure report. */
__attribute__((format(printf, 3, 4)))
void note(struct fz *z, int ioc, const char *fmt, ...);
/*
 * Run the ioctl @req on the container, count its errno, compare with
 * @want (0 or an errno) or @alt (another acceptable answer, -1 for none):
 * ZFAIL on anything else.  Returns the errno.
 */
int call(struct fz *z, int ioc, unsigned long req, void *arg, int want, int alt);

/* ---- model.c ---- */

/* The model's mapping holding IOVA @a, or -1. */
int m_find(const struct fz *z, uint64_t a);
/* The model's first mapping overlapping [a, a + s) (s >= 1, no wrap), or -1. */
int m_overlap(const struct fz *z, uint64_t a, uint64_t s);
/* m_overlap() as type1's vfio_find_dma() computes it (see model.c). */
int k_overlap(struct fz *z, uint64_t a, uint64_t s);
void m_del(struct fz *z, unsigned int i);
/* Is [a, a + s) in one usable IOVA range? */
bool iova_valid(const struct fz *z, uint64_t a, uint64_t s);
/* Does [a, a + s) start or end inside a mapping (type1v2 refuses that)? */
bool bisects(const struct fz *z, uint64_t a, uint64_t s);
/* Does mapping @m start in [a, a + s)? */
bool m_starts_in(const struct mm *m, uint64_t a, uint64_t s);

/* ---- arguments.c ---- */

uint64_t g_iova(struct fz *z);
/* A size for a range at @iova; @natural (the buffer's size) now and then. */
uint64_t g_size(struct fz *z, uint64_t iova, uint64_t natural);
uint32_t g_argsz(struct fz *z, uint32_t minsz, uint32_t full);
uint32_t g_flags(struct fz *z, uint32_t usual);
/* Where the argument structure goes (see arguments.c). */
uint8_t *place(struct fz *z, const void *s, size_t len, size_t minsz);
/* Can the kernel read [p + off, p + off + len)? */
bool readable(const struct fz *z, const uint8_t *p, size_t off, size_t len);
struct fdent *g_fd(struct fz *z);
/* The landmarks g_iova() aims at: fixed ones, the usable ranges' edges,
 * the busy window and the canary. */
void setup_landmarks(struct fz *z);

/* ---- ioctl_*.c: one random call each ---- */

void do_map_dmabuf(struct fz *z);
void do_map_dma(struct fz *z);
void do_unmap(struct fz *z);
void do_get_info(struct fz *z);
void do_get_state(struct fz *z);
void do_dirty(struct fz *z);

/* The dirty bitmap model (ioctl_dirty_pages.c), which UNMAP_DMA uses too:
 * the mappings that start in [a, a + s), in IOVA order, into @idx. */
unsigned int in_range(const struct fz *z, uint64_t a, uint64_t s, unsigned int *idx);
/* update_user_bitmap() on the model; false: the copy to the user faults. */
bool emu_update(struct fz *z, struct mm *m, uint64_t base, bool data_ok);
/* The bitmap the kernel wrote for [base, base + size) against the model. */
void check_bitmap(struct fz *z, uint64_t base, uint64_t size, const unsigned int *idx,
		  unsigned int k);

/* ---- fd_pool.c ---- */

/* A test-exporter buffer's fd; FAILs if the exporter cannot make it. */
int tx_new(unsigned int kind, unsigned int mode, unsigned int flags, int attach_errno,
	   uint64_t size);
/* The pool of fds every call draws from. */
void setup_fds(struct fz *z);
/* The exporter revokes (or moves) one of its dynamic buffers. */
void do_revoke(struct fz *z);
/* Close a pool dma-buf (its mappings keep it) and make a fresh one. */
void replace_fd(struct fz *z);

/* ---- audit.c ---- */

/* Map the canary buffer at its IOVA, into the model too. */
void canary_map(struct fz *z);
/* Prove the canary (mapped again if an unmap took it) and the fuzzer's
 * own mappings by device DMA. */
void canary_check(struct fz *z);
/* Every mapping's state and the DMA entries left against the model. */
void audit(struct fz *z);

#endif /* VFD_FUZZ_H */
