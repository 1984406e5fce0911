// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fixtures shared by the guest tests: see fixture.h.
 */
#define _GNU_SOURCE
#include "fixture.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/dma-buf.h>
#include <linux/vfio.h>
#include <linux/vfio_dmabuf.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <regex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void fx_close(void *arg)
{
	struct fx *fx = arg;

	vfd_edu_close(fx->edu);
	vfd_container_close(fx->c);
}

struct fx *fx_open(unsigned int index)
{
	struct fx *fx = vt_calloc(sizeof(*fx));
	struct vfd_error err = { 0 };
	int r;

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
	return fx;
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
}

bool fx_free_memory_comparable(void)
{
	const char *d = getenv("VFD_DEBUG_KERNEL");

	return !d || !*d;
}

void fx_param_restore(const struct fx_param *p)
{
	if (!vt_write_file(p->path, p->old))
		vt_info("write %s: %s", p->path, strerror(errno));
}

static void fx_param_restore_deferred(void *arg)
{
	fx_param_restore(arg);
}

/*
 * The saved value and the path are copied onto the arena: the deferred
 * restore runs after the test function (and whatever string it passed)
 * has gone.
 */
struct fx_param *fx_param_set(const char *path, unsigned long long v)
{
	struct fx_param *p = vt_calloc(sizeof(*p));
	char buf[32];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(p->path, sizeof(p->path), "%s", path) >= sizeof(p->path))
		FAIL("%s: path too long for struct fx_param", path);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		FAIL("%s: %s", path, strerror(errno));
	n = read(fd, p->old, sizeof(p->old) - 1);
	ASSERT_GT(n, 0);
	p->old[n] = '\0';
	vt_defer(fx_param_restore_deferred, p);
	snprintf(buf, sizeof(buf), "%llu", v);
	if (pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf))
		FAIL("writing %s to %s: %s", buf, path, strerror(errno));
	close(fd);
	return p;
}

void fx_drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	ASSERT_OK(syscall(SYS_capget, &h, d));
	d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
	ASSERT_OK(syscall(SYS_capset, &h, d));
}

long fx_vmlck_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		FAIL("/proc/self/status: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmLck:", 6))
			v = atol(line + 6);
	fclose(f);
	return v;
}

long fx_meminfo_kb(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		FAIL("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = atol(line + kl + 1);
	fclose(f);
	return v;
}

long fx_free_kb(void)
{
	char line[256];
	long pcp = 0;
	FILE *f;

	sync();
	if (!vt_write_file("/proc/sys/vm/drop_caches", "3"))
		vt_info("drop_caches: %s", strerror(errno));
	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		FAIL("/proc/zoneinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *c = strstr(line, "count:");

		if (c)
			pcp += atol(c + 6);
	}
	fclose(f);
	return fx_meminfo_kb("MemFree") + pcp * (sysconf(_SC_PAGESIZE) / 1024);
}

void *fx_alloc(size_t size)
{
	struct fx_mem *m = vt_calloc(sizeof(*m));
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
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

/*
 * The IOMMU drivers rate-limit their fault reports (the default ratelimit
 * state: 10 per 5 s), and intel-iommu's dmar_fault() spends three of those
 * on one fault (status line, the record, the final empty record), so a
 * burst of expected faults from consecutive tests would be dropped from
 * the log.
 * Expected faults are therefore paced across all test processes of the
 * guest: at most FAULT_BURST of them in any FAULT_WINDOW_MS, with their
 * times kept in a file on the guest's tmpfs.
 */
#define FAULT_LOG	"/tmp/vfd-expected-faults"
#define FAULT_BURST	3
#define FAULT_WINDOW_MS	5300

static int64_t fx_now_ms(void);

static void fx_pace_faults(void)
{
	int64_t t[FAULT_BURST] = { 0 }, now = fx_now_ms();
	FILE *f = fopen(FAULT_LOG, "r");
	unsigned int n = 0, i;
	long long v;

	while (f && fscanf(f, "%lld", &v) == 1)
		t[n++ % FAULT_BURST] = v;
	if (f)
		fclose(f);
	/* the oldest of the last FAULT_BURST expected faults */
	if (n >= FAULT_BURST && now - t[n % FAULT_BURST] < FAULT_WINDOW_MS)
		usleep((useconds_t)(FAULT_WINDOW_MS - (now - t[n % FAULT_BURST])) * 1000);
	f = fopen(FAULT_LOG, "w");
	if (!f)
		return;
	for (i = n >= FAULT_BURST - 1 ? n - (FAULT_BURST - 1) : 0; i < n; i++)
		fprintf(f, "%lld\n", (long long)t[i % FAULT_BURST]);
	fprintf(f, "%lld\n", (long long)fx_now_ms());
	fclose(f);
}

/* Start watching into @k, which the caller stops (no clean-up deferred). */
static void fx_kmsg_open(struct fx_kmsg *k, bool expect_fault)
{
	if (expect_fault)
		fx_pace_faults();
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		FAIL("open /dev/kmsg: %s", strerror(errno));
	lseek(k->fd, 0, SEEK_END);
}

void fx_kmsg_stop(struct fx_kmsg *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

static void fx_kmsg_stop_deferred(void *arg)
{
	fx_kmsg_stop(arg);
}

struct fx_kmsg *fx_kmsg_start(bool expect_fault)
{
	struct fx_kmsg *k = vt_calloc(sizeof(*k));

	k->fd = -1;
	vt_defer(fx_kmsg_stop_deferred, k);
	fx_kmsg_open(k, expect_fault);
	return k;
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

int fx_map_dmabuf_raw(int cfd, int fd, uint64_t offset, uint64_t iova,
		      uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map_dmabuf m = {
		.argsz = sizeof(m), .flags = flags, .fd = fd,
		.offset = offset, .iova = iova, .size = size,
	};

	return ioctl(cfd, VFIO_IOMMU_MAP_DMABUF, &m);
}

int fx_map_mem_raw(int cfd, void *vaddr, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = flags, .vaddr = (uintptr_t)vaddr,
		.iova = iova, .size = size,
	};

	return ioctl(cfd, VFIO_IOMMU_MAP_DMA, &m);
}

int fx_dmabuf_state_raw(int cfd, uint64_t iova, struct vfio_iommu_type1_dmabuf_state *s)
{
	*s = (struct vfio_iommu_type1_dmabuf_state){ .argsz = sizeof(*s), .iova = iova };
	return ioctl(cfd, VFIO_IOMMU_DMABUF_GET_STATE, s);
}

int fx_unmap_raw(int cfd, uint64_t iova, uint64_t size, uint32_t flags,
		 uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = size,
	};
	int r = ioctl(cfd, VFIO_IOMMU_UNMAP_DMA, &u);

	if (unmapped)
		*unmapped = u.size;
	return r;
}

static void fx_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags | DMA_BUF_SYNC_RW };

	if (fd >= 0 && ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0)
		FAIL("DMA_BUF_IOCTL_SYNC: %s", strerror(errno));
}

void fx_cpu_begin(int dmabuf_fd)
{
	fx_sync(dmabuf_fd, DMA_BUF_SYNC_START);
}

void fx_cpu_end(int dmabuf_fd)
{
	fx_sync(dmabuf_fd, DMA_BUF_SYNC_END);
}

void fx_verify_rw(struct vfd_edu *e, int dmabuf_fd, uint8_t *cpu,
		  uint64_t iova, uint64_t size, uint32_t seed)
{
	uint64_t last = size - 4096;
	long bad;

	if (size < 8192)
		FAIL("fx_verify_rw needs two pages");
	fx_cpu_begin(dmabuf_fd);
	fx_fill(cpu, XFER_BYTES, seed);
	memset(cpu + last, 0, 4096);
	fx_cpu_end(dmabuf_fd);
	fx_edu_roundtrip(e, iova, iova + last, XFER_BYTES);
	fx_cpu_begin(dmabuf_fd);
	bad = fx_check(cpu + last, XFER_BYTES, seed);
	fx_cpu_end(dmabuf_fd);
	if (bad >= 0)
		FAIL("byte %ld differs: device copy IOVA 0x%" PRIx64 " -> 0x%" PRIx64
		     " did not land in the dma-buf", bad, iova, iova + last);
}

void fx_expect_write_fault(struct vfd_edu *e, int dmabuf_fd, uint8_t *cpu,
			   uint64_t iova)
{
	/*
	 * On this frame, not the arena: stopped below, never deferred.  Tests
	 * call this in loops, where a deferred stop per call would fill the
	 * table of clean-ups.
	 */
	struct fx_kmsg k;
	char line[512];
	unsigned int i, attempt;
	bool found = false;

	if (cpu) {
		fx_cpu_begin(dmabuf_fd);
		memset(cpu, 0xee, 4096);
		fx_cpu_end(dmabuf_fd);
	}
	/*
	 * Faults of other tests (or of other CPUs' work) may have used up the
	 * IOMMU driver's report budget: a second probe after the rate limit
	 * window (5 s) is reported for sure.
	 */
	for (attempt = 0; attempt < 2 && !found; attempt++) {
		int64_t t0 = fx_now_ms();

		fx_kmsg_open(&k, true);
		fx_edu_write(e, iova, FAULT_PROBE_BYTES);
		found = fx_kmsg_fault(&k, 3000, line, sizeof(line));
		fx_kmsg_stop(&k);
		if (!found && !attempt) {
			vt_info("no fault report yet for IOVA 0x%" PRIx64 " (rate limited?): probing again",
				iova);
			usleep((useconds_t)(5600 - (fx_now_ms() - t0)) * 1000);
		}
	}
	if (cpu) {
		fx_cpu_begin(dmabuf_fd);
		for (i = 0; i < 4096; i++)
			if (cpu[i] != 0xee)
				FAIL("byte %u at IOVA 0x%" PRIx64 " changed: the device wrote through the IOMMU",
				     i, iova);
		fx_cpu_end(dmabuf_fd);
	}
	if (!found)
		FAIL("no IOMMU fault in the kernel log for a device write to IOVA 0x%" PRIx64, iova);
	vt_info("fault as expected: %s", line);
}

#define FORCE_NEW_DOMAIN "/sys/module/vfio_iommu_type1/parameters/dmabuf_test_force_new_domain"

static void fx_set_force_new_domain(const char *v)
{
	int fd = open(FORCE_NEW_DOMAIN, O_WRONLY);

	if (fd < 0 || write(fd, v, 1) != 1)
		FAIL("%s: %s", FORCE_NEW_DOMAIN, strerror(errno));
	close(fd);
}

static void fx_clear_force_new_domain(void *arg)
{
	(void)arg;
	fx_set_force_new_domain("0");
}

void fx_force_new_domain(void)
{
	fx_set_force_new_domain("1");
	vt_defer(fx_clear_force_new_domain, NULL);
}
