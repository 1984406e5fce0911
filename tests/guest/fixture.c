// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fixtures shared by the guest tests: see fixture.h.
 */
#define _GNU_SOURCE
#include "fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void fx_close(void *arg)
{
	struct fx *fx = arg;

	vfd_edu_close(fx->edu);
	vfd_container_close(fx->c);
}

void fx_open(struct fx *fx, unsigned int index)
{
	struct vfd_error err = { 0 };
	int r;

	memset(fx, 0, sizeof(*fx));
	r = vfd_edu_find(NULL, index, fx->name, sizeof(fx->name), &err);
	if (r == -ENODEV)
		SKIP("no edu device #%u in this guest", index);
	if (r < 0)
		FAIL("vfd_edu_find: %s", err.msg);
	r = vfd_container_open(&fx->c, NULL, &err);
	if (r < 0)
		FAIL("vfd_container_open: %s", err.msg);
	vt_defer(fx_close, fx);
	r = vfd_edu_open(fx->c, fx->name, VFD_EDU_WIDE_DMA, &fx->edu);
	if (r < 0)
		FAIL("vfd_edu_open(%s): %s", fx->name, vfd_container_errmsg(fx->c));
	r = vfd_container_iommu_info(fx->c, &fx->info);
	if (r < 0)
		FAIL("vfd_container_iommu_info: %s", vfd_container_errmsg(fx->c));
}

static void fx_close_edu(void *arg)
{
	vfd_edu_close(arg);
}

struct vfd_edu *fx_add_edu(struct fx *fx, unsigned int index)
{
	struct vfd_error err = { 0 };
	struct vfd_edu *e;
	char name[64];
	int r;

	r = vfd_edu_find(NULL, index, name, sizeof(name), &err);
	if (r == -ENODEV)
		SKIP("no edu device #%u in this guest", index);
	if (r < 0)
		FAIL("vfd_edu_find: %s", err.msg);
	if (vfd_edu_open(fx->c, name, VFD_EDU_WIDE_DMA, &e) < 0)
		FAIL("vfd_edu_open(%s): %s", name, vfd_container_errmsg(fx->c));
	vt_defer(fx_close_edu, e);
	return e;
}

int fx_cfd(const struct fx *fx)
{
	return vfd_container_fd(fx->c);
}

uint64_t fx_pgsize(const struct fx *fx)
{
	uint64_t p = fx->info.pgsizes;

	return p ? p & -p : 4096;
}

bool fx_iova_usable(const struct fx *fx, uint64_t iova, uint64_t size)
{
	size_t i;

	if (!fx->info.ranges_reported)
		return true;
	for (i = 0; i < fx->info.nr_ranges; i++)
		if (iova >= fx->info.ranges[i].start &&
		    iova + size - 1 <= fx->info.ranges[i].end)
			return true;
	return false;
}

uint64_t fx_iova_at_or_above(const struct fx *fx, uint64_t min, uint64_t size)
{
	size_t i;

	for (i = 0; i < fx->info.nr_ranges; i++) {
		uint64_t s = fx->info.ranges[i].start, e = fx->info.ranges[i].end;
		uint64_t a = s > min ? s : min;

		a = (a + size - 1) & ~(size - 1);
		if (a >= s && a <= e && e - a >= size - 1)
			return a;
	}
	FAIL("no usable IOVA of size 0x%" PRIx64 " at or above 0x%" PRIx64, size, min);
}

struct fx_mem {
	void *p;
	size_t len;
};

static void fx_free(void *arg)
{
	struct fx_mem *m = arg;

	munmap(m->p, m->len);
	free(m);
}

void *fx_alloc(size_t size)
{
	struct fx_mem *m = malloc(sizeof(*m));
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (!m || p == MAP_FAILED)
		FAIL("mmap %zu bytes: %s", size, strerror(errno));
	m->p = p;
	m->len = size;
	vt_defer(fx_free, m);
	return p;
}

static uint8_t fx_byte(size_t i, uint32_t seed)
{
	uint32_t x = (uint32_t)i * 2654435761u ^ seed;

	return (uint8_t)(x >> 13 ^ x);
}

void fx_fill(void *buf, size_t len, uint32_t seed)
{
	uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = fx_byte(i, seed);
}

long fx_check(const void *buf, size_t len, uint32_t seed)
{
	const uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != fx_byte(i, seed))
			return (long)i;
	return -1;
}

void fx_edu_roundtrip(struct vfd_edu *e, uint64_t src_iova, uint64_t dst_iova,
		      uint32_t len)
{
	if (vfd_edu_dma_to_device(e, src_iova, 0, len, 0) < 0)
		FAIL("edu DMA RAM->device from 0x%" PRIx64 ": %s", src_iova,
		     vfd_edu_errmsg(e));
	if (vfd_edu_dma_from_device(e, 0, dst_iova, len, 0) < 0)
		FAIL("edu DMA device->RAM to 0x%" PRIx64 ": %s", dst_iova,
		     vfd_edu_errmsg(e));
}

int fx_edu_write(struct vfd_edu *e, uint64_t dst_iova, uint32_t len)
{
	return vfd_edu_dma_from_device(e, 0, dst_iova, len, 0);
}

void fx_kmsg_start(struct fx_kmsg *k)
{
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		FAIL("open /dev/kmsg: %s", strerror(errno));
	lseek(k->fd, 0, SEEK_END);
}

static int64_t fx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Next kernel log record's text (after the "prio,seq,ts,flags;" prefix), or
 * false when none arrives before @deadline. */
static bool fx_kmsg_next(struct fx_kmsg *k, int64_t deadline, char *text, size_t len)
{
	char rec[2048];

	for (;;) {
		ssize_t n = read(k->fd, rec, sizeof(rec) - 1);
		char *semi;

		if (n < 0 && errno == EPIPE)	/* overwritten records: go on */
			continue;
		if (n < 0 && errno == EAGAIN) {
			int64_t left = deadline - fx_now_ms();

			if (left <= 0)
				return false;
			poll(&(struct pollfd){ .fd = k->fd, .events = POLLIN }, 1, (int)left);
			continue;
		}
		if (n <= 0)
			return false;
		rec[n] = '\0';
		semi = strchr(rec, ';');
		snprintf(text, len, "%s", semi ? semi + 1 : rec);
		text[strcspn(text, "\n")] = '\0';
		return true;
	}
}

bool fx_kmsg_grep(struct fx_kmsg *k, const char *needle, unsigned int ms,
		  char *line, size_t len)
{
	int64_t deadline = fx_now_ms() + ms;

	while (fx_kmsg_next(k, deadline, line, len))
		if (strstr(line, needle))
			return true;
	return false;
}

bool fx_kmsg_fault(struct fx_kmsg *k, unsigned int ms, char *line, size_t len)
{
	const char *pat = getenv("VFD_FAULT_PATTERN");
	int64_t deadline = fx_now_ms() + ms;
	bool found = false;
	regex_t re;

	if (!pat || !*pat)
		FAIL("VFD_FAULT_PATTERN is not set for this machine");
	if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB))
		FAIL("bad VFD_FAULT_PATTERN '%s'", pat);
	while (!found && fx_kmsg_next(k, deadline, line, len))
		found = !regexec(&re, line, 0, NULL, 0);
	regfree(&re);
	return found;
}
