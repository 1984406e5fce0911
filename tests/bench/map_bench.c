// SPDX-License-Identifier: GPL-2.0-only
/*
 * map_bench: the performance of VFIO_IOMMU_MAP_DMABUF, measured in one
 * guest run ('make bench'; not a test) against VFIO_IOMMU_MAP_DMA of the
 * same memory and against the IOMMU's own floor (the test build's
 * VFIO_IOMMU_DMABUF_TEST_FLOOR).  The figure groups, in order:
 *
 *   fig_cycle.c    4 KiB map+unmap cycle rates, raw and through the library
 *   fig_map.c      one large mapping of 4 KiB pages, of hugetlb folios, of
 *                  a contiguous buffer: times, the floor, each step of an
 *                  import, the IOMMU page sizes used
 *   fig_windows.c  1,000 to 65,535 windows of one buffer, and revoking them
 *
 * Prints "BENCH <name> <value> <unit>", "RATIO <name> <value>" and
 * "INFO <text>" lines; every figure is a median of --reps repetitions
 * (default 9).
 *
 *   map_bench [--reps N] [--size MiB] [--seconds S] [--windows N]
 *
 * --size: the large mappings (default 256 MiB; the scaling sizes 1 and 16
 * MiB are measured too when smaller), and the buffer the windows are cut
 * from, so at most size / 4 KiB windows; --seconds: how long the 4 KiB
 * cycles run, all kinds and repetitions together (default 4); --windows:
 * the most windows (default 65535, type1's dma_entry_limit).  A small
 * run: --reps 3 --size 16 --seconds 0.5 (a few seconds of guest time).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <vfio-dmabuf.h>
#include <vfio-dmabuf/edu.h>
#include <vfio_dmabuf_test_exporter.h>

#include "bench.h"

static void usage(void)
{
	fprintf(stderr, "usage: map_bench [--reps N] [--size MiB] [--seconds S] [--windows N]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	char *end;
	int i;

	*o = (struct opts){ .reps = 9, .size = 256 * MiB, .seconds = 4, .windows = 65535 };
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		errno = 0;
		if (!strcmp(argv[i], "--reps"))
			o->reps = (int)strtol(v, &end, 10);
		else if (!strcmp(argv[i], "--size"))
			o->size = strtoull(v, &end, 10) * MiB;
		else if (!strcmp(argv[i], "--seconds"))
			o->seconds = strtod(v, &end);
		else if (!strcmp(argv[i], "--windows"))
			o->windows = (unsigned int)strtoul(v, &end, 10);
		else
			usage();
		if (errno || *end || end == v)
			usage();
		i++;
	}
	if (o->reps < 1 || o->reps > MAX_REPS || !o->size || o->size > 1024 * MiB ||
	    !(o->seconds > 0) || o->windows < 3)
		usage();
}

static void cat_info(const char *label, const char *path)
{
	char line[256] = "";
	FILE *f = fopen(path, "r");

	if (f) {
		if (fgets(line, sizeof(line), f))
			line[strcspn(line, "\n")] = 0;
		fclose(f);
	}
	info("%s: %s", label, f ? line : "(none)");
}

static void setup(struct bench *b)
{
	struct vfio_iommu_dmabuf_test_floor f;
	struct vfd_iommu_info ii;
	struct vfd_error err;
	char avail[16] = "unknown";
	int r;

	if (vfd_container_open(&b->c, NULL, &err) < 0)
		die("%s", err.msg);
	if (vfd_edu_open(b->c, NULL, VFD_EDU_WIDE_DMA, &b->edu) < 0)
		die("%s", vfd_container_errmsg(b->c));
	b->cfd = vfd_container_fd(b->c);
	if ((r = vfd_container_iommu_info(b->c, &ii)))
		die("VFIO_IOMMU_GET_INFO: %s", strerror(-r));
	b->pgsizes = ii.pgsizes;
	if (ii.dma_avail_reported)
		snprintf(avail, sizeof(avail), "%u", ii.dma_avail);
	info("container: iova_pgsizes 0x%llx, %s mappings available (dma_entry_limit)",
	     (unsigned long long)b->pgsizes, avail);
	if (!(b->pgsizes & ~((2 * MiB) - 1)))
		info("the emulated IOMMU offers no page of 2 MiB or more (iova_pgsizes 0x%llx): every mapping uses smaller pages, and the large-page shares below say so",
		     (unsigned long long)b->pgsizes);

	b->have_udmabuf = udmabuf_available();
	b->have_texp = access(VFIO_DMABUF_TEST_DEVICE, R_OK | W_OK) == 0;
	b->have_trace = trace_available();
	b->have_steps = steps_available();
	/* fd -1 passes the argument checks and fails at dma_buf_get() */
	r = k_floor(b->cfd, -1, 0, IOVA_BASE, PG, &f);
	b->have_floor = r != -ENOTTY;
	info("exporters: udmabuf %s, test exporter %s; VFIO_IOMMU_DMABUF_TEST_FLOOR %s; tracefs iommu:map %s, kprobe events %s",
	     b->have_udmabuf ? "yes" : "no", b->have_texp ? "yes" : "no",
	     b->have_floor ? "yes" : "no (not a test build of the module)",
	     b->have_trace ? "yes" : "no", b->have_steps ? "yes" : "no");
}

/* guest time of a part of the run */
static void phase(const char *what, uint64_t *t)
{
	uint64_t now = now_ns();

	info("time: %s %.1f s", what, (double)(now - *t) / 1e9);
	*t = now;
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	struct utsname u;
	uint64_t t0 = now_ns(), t = t0;
	long need, got;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv, &b.o);
	uname(&u);
	info("map_bench: kernel %s %s; --reps %d --size %llu --seconds %g --windows %u",
	     u.release, u.machine, b.o.reps, (unsigned long long)(b.o.size / MiB),
	     b.o.seconds, b.o.windows);
	info("MemTotal %ld kB, MemAvailable %ld kB", meminfo_kb("MemTotal"),
	     meminfo_kb("MemAvailable"));
	cat_info("clocksource", "/sys/devices/system/clocksource/clocksource0/current_clocksource");
	cat_info("shmem THP", "/sys/kernel/mm/transparent_hugepage/shmem_enabled");
	/* hugetlb pages for the largest hugetlb mapping, reserved while memory is free */
	need = (long)((b.o.size + HPAGE - 1) / HPAGE);
	got = hugepages_set(need);
	info("hugetlb: %ld pages of 2 MiB wanted, %ld reserved", need, got);

	setup(&b);
	phase("setup", &t);
	steps_setup(&b);
	phase("probes", &t);
	fig_cycles(&b);
	phase("cycles", &t);
	fig_large(&b);
	phase("large mappings", &t);
	fig_windows(&b);
	phase("windows", &t);

	if (b.have_steps)
		tr_steps_teardown();
	hugepages_set(0);
	vfd_container_close(b.c);
	vfd_edu_close(b.edu);
	phase("teardown", &t);
	info("map_bench: done in %.1f s", (double)(now_ns() - t0) / 1e9);
	return 0;
}
