// SPDX-License-Identifier: GPL-2.0-only
/*
 * map_bench: what the kernel's tracers say about a mapping.
 *
 * The iommu:map tracepoint fires once per successful
 * iommu_map() call, with the call's (iova, paddr, size), not once per
 * IOMMU page.  The page sizes that call used are derived here exactly as
 * __iommu_map() chooses them (iommu_pgsize(), drivers/iommu/iommu.c):
 * repeatedly the largest size of the domain's page-size bitmap that the
 * remaining length and the alignment of iova | paddr allow, shortened to
 * end at the next larger page's boundary when iova and paddr are equally
 * offset within that larger page and a larger page fits after it.  The
 * bitmap is the container's VFIO_IOMMU_GET_INFO iova_pgsizes: with one
 * IOMMU domain (QEMU has one vIOMMU) and 4 KiB CPU pages that is the
 * domain's own pgsize_bitmap.
 *
 * Only this task's events count (another device's DMA-API mappings would
 * fire the tracepoint too), by an event filter on common_pid, not by
 * set_event_pid: that, the record-cmd option and the function_graph
 * tracer hook the sched_switch tracepoint, which patches the text of
 * __schedule() while the other vCPU runs it, and under QEMU's TCG that
 * took the guest down with an "Oops: int3" in __schedule().  Enabling
 * iommu:map itself patches only __iommu_map(), which no one else runs
 * meanwhile.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define TR "/sys/kernel/tracing/"

/* Write @val to tracefs file @file: truncating it, or appending. */
static int tr_write(const char *file, const char *val, bool append)
{
	char path[256];
	ssize_t n;
	int fd, e;

	snprintf(path, sizeof(path), TR "%s", file);
	fd = open(path, O_WRONLY | O_CLOEXEC | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

bool trace_available(void)
{
	return access(TR "events/iommu/map/enable", W_OK) == 0;
}

bool steps_available(void)
{
	return access(TR "kprobe_events", W_OK) == 0;
}

int tr_map_begin(void)
{
	char filter[64];
	int r;

	tr_write("tracing_on", "0", false);
	tr_write("trace", "", false);
	/* before any event is on: no sched_switch hook for the comm cache */
	tr_write("options/record-cmd", "0", false);
	/* a 256 MiB buffer of 4 KiB pages is up to 65536 events */
	tr_write("buffer_size_kb", "8192", false);
	snprintf(filter, sizeof(filter), "common_pid == %d", (int)getpid());
	r = tr_write("events/iommu/map/filter", filter, false);
	if (!r)
		r = tr_write("events/iommu/map/enable", "1", false);
	if (!r)
		r = tr_write("tracing_on", "1", false);
	return r;
}

/* fls/ffs on 64 bits; @x != 0 */
static unsigned int fls64_(uint64_t x)
{
	return 63 - (unsigned int)__builtin_clzll(x);
}

static unsigned int ffs64_(uint64_t x)
{
	return (unsigned int)__builtin_ctzll(x);
}

/* bits 0..@h */
static uint64_t mask_to(unsigned int h)
{
	return h >= 63 ? ~0ull : (2ull << h) - 1;
}

/* The pages one iommu_map(iova, paddr, size) uses: __iommu_map()'s loop. */
static void tr_account(uint64_t bitmap, uint64_t iova, uint64_t paddr,
		       uint64_t size, struct tr_map *m)
{
	while (size) {
		uint64_t merge = iova | paddr, pgsizes, next, len = size;
		uint64_t count;
		unsigned int idx;

		pgsizes = bitmap & mask_to(fls64_(size));
		if (merge)
			pgsizes &= mask_to(ffs64_(merge));
		if (!pgsizes) {
			m->unaligned += size;	/* iommu_map() would refuse */
			return;
		}
		idx = fls64_(pgsizes);
		next = bitmap & ~mask_to(idx);
		if (next) {
			uint64_t pg_next = 1ull << ffs64_(next);

			if (!((iova ^ paddr) & (pg_next - 1))) {
				uint64_t off = pg_next - (merge & (pg_next - 1));

				if (off + pg_next >= off && off + pg_next <= size)
					len = off;
			}
		}
		count = len >> idx;
		m->pages[idx] += count;
		size -= count << idx;
		iova += count << idx;
		paddr += count << idx;
	}
}

int tr_map_end(uint64_t pgsizes, struct tr_map *m)
{
	uint64_t iova, end, paddr, size;
	char *line = NULL, *p;
	size_t cap = 0;
	int lost = 0;
	FILE *f;

	memset(m, 0, sizeof(*m));
	tr_write("tracing_on", "0", false);
	tr_write("events/iommu/map/enable", "0", false);
	tr_write("events/iommu/map/filter", "0", false);
	f = fopen(TR "trace", "r");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (strstr(line, "LOST") && strstr(line, "EVENTS"))
			lost = 1;
		p = strstr(line, ": map: IOMMU: iova=");
		if (!p || sscanf(p, ": map: IOMMU: iova=0x%" SCNx64 " - 0x%" SCNx64
				 " paddr=0x%" SCNx64 " size=%" SCNu64,
				 &iova, &end, &paddr, &size) != 4)
			continue;
		m->events++;
		m->bytes += size;
		tr_account(pgsizes, iova, paddr, size, m);
	}
	free(line);
	fclose(f);
	tr_write("trace", "", false);
	return lost ? -EOVERFLOW : 0;
}

uint64_t tr_map_bytes_from(const struct tr_map *m, unsigned int shift)
{
	uint64_t b = 0;
	unsigned int i;

	for (i = shift; i < TR_NSIZES; i++)
		b += m->pages[i] << i;
	return b;
}

static void size_name(char *buf, size_t len, unsigned int shift)
{
	if (shift >= 30)
		snprintf(buf, len, "%lluG", 1ull << (shift - 30));
	else if (shift >= 20)
		snprintf(buf, len, "%lluM", 1ull << (shift - 20));
	else
		snprintf(buf, len, "%lluK", 1ull << (shift - 10));
}

void tr_map_pages_info(const char *tag, const struct tr_map *m)
{
	char out[512] = "", sz[16];
	size_t n = 0;
	unsigned int i;

	for (i = 10; i < TR_NSIZES && n < sizeof(out) - 32; i++) {
		if (!m->pages[i])
			continue;
		size_name(sz, sizeof(sz), i);
		n += (size_t)snprintf(out + n, sizeof(out) - n, " %" PRIu64 " x %s",
				      m->pages[i], sz);
	}
	info("%s: iommu:map saw %" PRIu64 " iommu_map() calls, %" PRIu64
	     " bytes; IOMMU pages (as iommu_pgsize() picks them):%s",
	     tag, m->events, m->bytes, n ? out : " none");
}

/*
 * Steps of an import and its release, from kprobe and kretprobe events on
 * the dma-buf calls the importer makes (and the exporters' map callbacks):
 * each call's duration is its return's timestamp minus its entry's.
 * tracefs prints timestamps in microseconds, so a step is known to about
 * a microsecond: good for the millisecond steps of a large buffer.  Only
 * these functions are patched, which no other task runs meanwhile (see
 * the top of this file for what not to patch), and only while a split is
 * being measured: the probes are made once, disabled, and armed around
 * the one call measured (and a warm-up call before it).
 */
#define TR_GROUP	"map_bench"

int tr_steps_setup(const char *const *fns)
{
	char line[160], filter[64];
	int i, ok = 0;

	tr_write("options/record-cmd", "0", false);
	tr_write("kprobe_events", "", false);
	for (i = 0; fns[i] && i < TR_MAX_STEPS; i++) {
		snprintf(line, sizeof(line), "p:" TR_GROUP "/in%d %s\n", i, fns[i]);
		if (tr_write("kprobe_events", line, true))
			continue;	/* not in this kernel (or inlined) */
		snprintf(line, sizeof(line), "r:" TR_GROUP "/out%d %s\n", i, fns[i]);
		if (tr_write("kprobe_events", line, true))
			continue;
		ok++;
	}
	if (!ok)
		return -ENOENT;
	snprintf(filter, sizeof(filter), "common_pid == %d", (int)getpid());
	return tr_write("events/" TR_GROUP "/filter", filter, false);
}

void tr_steps_teardown(void)
{
	tr_write("events/" TR_GROUP "/enable", "0", false);
	tr_write("kprobe_events", "", false);
}

int tr_steps_begin(void)
{
	int r;

	tr_write("tracing_on", "0", false);
	tr_write("trace", "", false);
	r = tr_write("events/" TR_GROUP "/enable", "1", false);
	if (!r)
		r = tr_write("tracing_on", "1", false);
	return r;
}

/* forget what was traced so far (a warm-up) */
void tr_steps_clear(void)
{
	tr_write("trace", "", false);
}

/* "<timestamp>: in3: ..." -> 3, entry or return, the timestamp in us */
static int tr_steps_line(const char *line, int *fn, bool *in, double *us)
{
	const char *p = strstr(line, ": in"), *q;

	*in = p != NULL;
	if (!p)
		p = strstr(line, ": out");
	if (!p)
		return 0;
	*fn = atoi(p + (*in ? 4 : 5));
	for (q = p; q > line && (isdigit((unsigned char)q[-1]) || q[-1] == '.'); q--)
		;
	if (q == p)
		return 0;
	*us = strtod(q, NULL) * 1e6;
	return 1;
}

int tr_steps_collect(struct tr_call *calls, int max)
{
	double open_at[TR_MAX_STEPS] = { 0 }, us;
	int n = 0, fn;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	bool in;

	f = fopen(TR "trace", "r");
	while (f && getline(&line, &cap, f) > 0) {
		if (!tr_steps_line(line, &fn, &in, &us) || fn < 0 || fn >= TR_MAX_STEPS)
			continue;
		if (in) {
			open_at[fn] = us;
			continue;
		}
		if (n < max) {
			calls[n].fn = fn;
			calls[n].start_us = open_at[fn];
			calls[n].us = us - open_at[fn];
			n++;
		}
	}
	free(line);
	if (f)
		fclose(f);
	return n;
}

void tr_steps_end(void)
{
	tr_write("tracing_on", "0", false);
	tr_write("events/" TR_GROUP "/enable", "0", false);
	tr_write("trace", "", false);
}
