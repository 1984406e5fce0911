/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * map_bench: shared declarations of the benchmark's files (one program).
 *
 *   map_bench.c     options, the container, the order of the figure groups
 *   stats.c         clocks, medians, the figure lines
 *   kio.c           the raw ioctls: MAP_DMA, MAP_DMABUF, UNMAP_DMA, the
 *                   test floor, the test exporter
 *   buffers.c       memfds (4 KiB pages, hugetlb), udmabufs, hugetlb pages
 *   trace.c         tracefs: iommu:map events and the page sizes behind
 *                   them; kprobe timings of an import's steps
 *   fig_map.c       one large mapping: 4 KiB pages, hugetlb, contiguous
 *   fig_cycle.c     4 KiB map+unmap cycles: MAP_DMA, MAP_DMABUF, library
 *   fig_windows.c   many windows of one buffer, and revoking them
 *
 * Output lines: "BENCH <name> <value> <unit>", "RATIO <name> <value>",
 * "INFO <text>".  Figures are medians over --reps repetitions.
 */
#ifndef MAP_BENCH_H
#define MAP_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfio_iommu_type1_dmabuf_test.h>

#define MiB		((uint64_t)1 << 20)
#define PG		((uint64_t)4096)
#define HPAGE		(2 * MiB)
/* Every figure maps at IOVAs from here: usable on both machines. */
#define IOVA_BASE	0x100000000ull
#define MAX_REPS	64

struct opts {
	int reps;		/* --reps: samples per figure (median) */
	uint64_t size;		/* --size: bytes of the large mappings */
	double seconds;		/* --seconds: the 4 KiB cycles, all kinds */
	unsigned int windows;	/* --windows: most windows of one buffer */
};

struct vfd_container;
struct vfd_edu;

struct bench {
	struct opts o;
	struct vfd_container *c;
	struct vfd_edu *edu;
	int cfd;
	uint64_t pgsizes;	/* VFIO_IOMMU_GET_INFO iova_pgsizes */
	bool have_udmabuf;
	bool have_texp;		/* the project's test exporter */
	bool have_floor;	/* VFIO_IOMMU_DMABUF_TEST_FLOOR */
	bool have_trace;	/* tracefs with events/iommu/map */
	bool have_steps;	/* kprobe_events */
};

/* ---- stats.c ---- */
uint64_t now_ns(void);
/* a sample series: its median */
struct series {
	double v[MAX_REPS];
	int n;
};
void series_add(struct series *s, double v);
double series_median(const struct series *s);
double median_of(double *v, size_t n);	/* sorts @v */
/* the mean of @v without the samples above 10 times its median */
double mean_without_preemptions(const double *v, size_t n, size_t *dropped);
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "BENCH name value unit"; a negative or non-finite value is not printed */
void fig(double v, const char *unit, const char *namefmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "RATIO name num/den"; not printed (INFO says why) if den <= 0 */
void ratio(double num, double den, const char *namefmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "RATIO name" the median of num[i] / den[i], repetition by repetition */
void ratio_of(const struct series *num, const struct series *den, const char *namefmt, ...)
	__attribute__((format(printf, 3, 4)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- kio.c: 0 or -errno ---- */
int k_map_dma(int cfd, void *va, uint64_t iova, uint64_t size);
int k_map_dmabuf(int cfd, int fd, uint64_t offset, uint64_t iova, uint64_t size);
int k_unmap(int cfd, uint64_t iova, uint64_t size);
int k_unmap_all(int cfd, uint64_t *bytes);
int k_floor(int cfd, int fd, uint64_t offset, uint64_t iova, uint64_t size,
	    struct vfio_iommu_dmabuf_test_floor *f);
/* the test exporter */
int texp_create(uint64_t size, uint32_t kind, uint32_t mode, int *fd);
int texp_revoke(int fd, uint32_t flags);
int texp_attachments(int fd);	/* >= 0, or -errno */

/* ---- buffers.c ---- */
struct membuf {
	int memfd;
	void *va;		/* the memfd's mapping, populated */
	uint64_t size;
	int dmabuf;		/* udmabuf of the memfd, or -1 */
	bool hugetlb;
};
bool udmabuf_available(void);
/*
 * A memfd of @size (and with @dmabuf a udmabuf of it, if the kernel has
 * udmabuf): 0, or -errno.  A hugetlb memfd needs reserved pages
 * (hugepages_set()).
 */
int membuf_make(struct membuf *b, uint64_t size, bool hugetlb, bool dmabuf);
void membuf_free(struct membuf *b);
long hugepages_set(long n);	/* HugePages_Total afterwards */
long meminfo_kb(const char *key);

/* ---- trace.c ---- */
#define TR_NSIZES 64
struct tr_map {
	uint64_t events;		/* iommu_map() calls seen */
	uint64_t bytes;			/* bytes they mapped */
	uint64_t pages[TR_NSIZES];	/* pages of size 1 << i they used */
	uint64_t unaligned;		/* bytes no page size fits (none) */
};
bool trace_available(void);
int tr_map_begin(void);
/* events of this task since tr_map_begin(), pages as iommu_pgsize() picks */
int tr_map_end(uint64_t pgsizes, struct tr_map *m);
uint64_t tr_map_bytes_from(const struct tr_map *m, unsigned int shift);
void tr_map_pages_info(const char *tag, const struct tr_map *m);

/* durations of calls to functions, kprobe + kretprobe events */
#define TR_MAX_STEPS	16
#define TR_MAX_CALLS	64
struct tr_call {
	int fn;			/* index into tr_steps_setup()'s @fns */
	double start_us;
	double us;		/* duration */
};
bool steps_available(void);
/* probes on @fns (NULL-terminated), disabled; 0 or -errno */
int tr_steps_setup(const char *const *fns);
void tr_steps_teardown(void);
int tr_steps_begin(void);		/* arm the probes */
void tr_steps_clear(void);		/* forget what they saw */
/* this task's calls since the last clear, in the order they returned */
int tr_steps_collect(struct tr_call *calls, int max);
void tr_steps_end(void);		/* disarm them */

/* ---- figure groups ---- */
void steps_setup(struct bench *b);	/* fig_map.c */
void fig_cycles(struct bench *b);
void fig_large(struct bench *b);
void fig_windows(struct bench *b);

#endif /* MAP_BENCH_H */
