// SPDX-License-Identifier: GPL-2.0-only
/*
 * libmetal with the VFIO backend and the dma-buf import API (the patch
 * series in integrations/libmetal/patches), in the test guests:
 *
 *   upstream_tests   libmetal's own test programs pass, with the real
 *                    vfio-pci driver registered on the "pci" bus
 *   edu_driver       a libmetal application (../app/metal_edu.c) drives
 *                    the edu device: ID register, interrupts on libmetal's
 *                    IRQ thread, DMA from and to metal_dma_map()ped memory
 *   dmabuf_dma       the same application DMAs into dma-bufs attached with
 *                    metal_dmabuf_attach(), at a chosen and an allocated
 *                    IOVA; after detach the same DMA faults in the IOMMU
 *   platform_device  arm64: the virt machine's PL031 RTC on libmetal's
 *                    "platform" bus with vfio-platform (no-IOMMU mode):
 *                    its registers and its interrupt
 */
#define _GNU_SOURCE
#include "exporter_client.h"
#include "fixture.h"

#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <metal/device.h>
#include <metal/dma.h>
#include <metal/dmabuf.h>
#include <metal/irq.h>
#include <metal/sleep.h>
#include <metal/sys.h>

#include "../app/metal_edu.h"

/* libmetal's own test programs, as its CMake builds them */
#define UPSTREAM_DIR	"/usr/libexec/libmetal"
/* the failure that upstream's test-all prints today (test/utilities.c
 * expects metal_div_round_down(-10, 3) == -4; the macro is C division) */
#define KNOWN_FAILURE	"utilities.c"

#define IOVA_FIXED	0x20000000ull	/* below edu's default 28-bit mask */
#define DMABUF_SIZE	(64 * 1024)

/* ---- helpers ---------------------------------------------------------- */

static void metal_up(void)
{
	struct metal_init_params p = METAL_INIT_DEFAULTS;
	int ret;

	p.log_level = getenv("VFD_METAL_DEBUG") ? METAL_LOG_DEBUG : METAL_LOG_WARNING;
	ret = metal_init(&p);
	if (ret)
		FAIL("metal_init: %d (%s)", ret, strerror(-ret));
}

static void metal_down(void *unused)
{
	(void)unused;
	metal_finish();
}

/* Run @path, its stdout and stderr into @out (NUL-terminated); returns its
 * wait status. */
static int run_capture(const char *path, char *out, size_t len)
{
	size_t used = 0;
	int p[2], st;
	ssize_t n;
	pid_t pid;

	ASSERT_OK(pipe(p));
	pid = fork();
	ASSERT_OK(pid);
	if (!pid) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], out + used, len - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(p[0]);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	return st;
}

/* The edu device @index, unbound from its driver first when @unbind, so
 * that libmetal has to bind it (driver_override + bind, as for UIO).  Its
 * VFIO binding is put back at the end of the test. */
struct edu_slot {
	char name[64];
	char path[128];
};

static void edu_rebind(void *arg)
{
	struct edu_slot *s = arg;
	char p[200];

	snprintf(p, sizeof(p), "%s/driver_override", s->path);
	vt_write_file(p, "vfio-pci");
	snprintf(p, sizeof(p), "%s/driver", s->path);
	if (access(p, F_OK))
		vt_write_file("/sys/bus/pci/drivers_probe", s->name);
}

static const char *edu_name(unsigned int index, bool unbind)
{
	struct edu_slot *s = vt_calloc(sizeof(*s));
	struct vfd_error err;
	char p[200];

	if (vfd_edu_find(NULL, index, s->name, sizeof(s->name), &err))
		SKIP("%s", err.msg);
	snprintf(s->path, sizeof(s->path), "/sys/bus/pci/devices/%s", s->name);
	vt_defer(edu_rebind, s);
	if (unbind) {
		snprintf(p, sizeof(p), "%s/driver/unbind", s->path);
		if (!access(p, F_OK) && !vt_write_file(p, s->name))
			FAIL("unbind %s: %s", s->name, strerror(errno));
		snprintf(p, sizeof(p), "%s/driver_override", s->path);
		vt_write_file(p, "\n");
		snprintf(p, sizeof(p), "%s/driver", s->path);
		ASSERT_TRUE(access(p, F_OK));
	}
	return s->name;
}

static void edu_close(void *arg)
{
	metal_edu_close(arg);
}

static struct metal_edu *edu_open(unsigned int index, bool unbind)
{
	const char *name = edu_name(index, unbind);
	struct metal_edu *e = vt_calloc(sizeof(*e));
	int ret;

	metal_up();
	vt_defer(metal_down, NULL);
	ret = metal_edu_open(name, e);
	if (ret)
		FAIL("metal_device_open(\"pci\", \"%s\"): %d (%s)", name, ret,
		     strerror(-ret));
	vt_defer(edu_close, e);
	return e;
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static long differs(const uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seed + i * 7 + (i >> 8)))
			return (long)i;
	return -1;
}

/* ---- upstream_tests --------------------------------------------------- */

static const char *strip_ansi(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r == '\033') {
			while (*r && *r != 'm')
				r++;
			if (!*r)
				break;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

TEST_TIMEOUT(upstream_tests, 300)
{
	static char out[256 * 1024];
	char pass[1024] = "", extra[600] = "", known[300] = "", *line, *save;
	unsigned int metal_pass = 0, all_pass = 0, all_fail = 0, metal_errors = 0;
	struct metal_edu e;
	const char *name;
	int st, ret;

	/* libmetal's shmem tests use shm_open(), which needs /dev/shm, as any
	 * ordinary Linux system has; the test guests' /dev is a bare devtmpfs */
	if (access("/dev/shm", F_OK)) {
		ASSERT_OK(mkdir("/dev/shm", 01777));
		ASSERT_OK(mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777"));
	}

	/* test-metal: every test case passes, and metal_init() succeeded
	 * (its exit status is the number of failed cases, or metal_init's
	 * error); and nothing logged an error: its shmem case counts the
	 * errors of its threads before it starts them, so a failing
	 * metal_shmem_open() shows only as an error line */
	st = run_capture(UPSTREAM_DIR "/test-metal-static", out, sizeof(out));
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char tname[64];

		if (!strncmp(line, "metal: error:", 13)) {
			if (!metal_errors++)
				vt_info("test-metal: %s", line);
			continue;
		}
		if (sscanf(line, "metal: info: result [%63[^]]]", tname) != 1 &&
		    sscanf(line, "metal: info:      result [%63[^]]]", tname) != 1)
			continue;
		if (strstr(line, " fail"))
			FAIL("test-metal: %s fails: %s", tname, line);
		metal_pass++;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		FAIL("test-metal exited with status %d (%s)", WEXITSTATUS(st),
		     WEXITSTATUS(st) > 200 ? "metal_init failed" : "failed cases");
	if (metal_pass < 8)
		FAIL("test-metal: only %u result lines", metal_pass);
	if (metal_errors)
		FAIL("test-metal: all cases pass, but it logged %u errors (the first is in"
		     " the console log)", metal_errors);

	/* test-all: each line "<file.c> [PASS]" or "[FAIL] (code N)"; it
	 * returns 0 whatever happened, so its output is the verdict */
	st = run_capture(UPSTREAM_DIR "/test-all-metal-static", out, sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		FAIL("test-all exited with status %d", WEXITSTATUS(st));
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char file[64];

		strip_ansi(line);
		if (sscanf(line, "%63s", file) != 1 || !strstr(line, " ["))
			continue;
		if (strstr(line, "[PASS]")) {
			all_pass++;
			continue;
		}
		if (!strstr(line, "[FAIL]"))
			continue;
		all_fail++;
		/* one space between the words, for the result line */
		for (char *r = line, *w = line;; r++) {
			if (*r == ' ' && w > line && w[-1] == ' ')
				continue;
			*w++ = *r;
			if (!*r)
				break;
		}
		if (!strcmp(file, KNOWN_FAILURE))
			snprintf(known, sizeof(known), "%s", line);
		else
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
				 "%s%s", *extra ? "; " : "", line);
	}
	if (*extra)
		FAIL("test-all: %s", extra);
	if (all_pass + all_fail < 12)
		FAIL("test-all: only %u result lines", all_pass + all_fail);

	/* the bus that made metal_init() work is the real vfio-pci driver */
	name = edu_name(0, false);
	metal_up();
	vt_defer(metal_down, NULL);
	ret = metal_edu_open(name, &e);
	if (ret)
		FAIL("metal_device_open(\"pci\", \"%s\"): %d", name, ret);
	metal_edu_close(&e);

	snprintf(pass, sizeof(pass), "test-metal: %u/%u cases pass; test-all: %u/%u pass",
		 metal_pass, metal_pass, all_pass, all_pass + all_fail);
	if (*known)
		vt_note("%s; known upstream failure, not ours: %s (test/utilities.c expects"
			" metal_div_round_down(-10, 3) == -4); vfio-pci opened %s",
			pass, known, name);
	else
		vt_note("%s (the known upstream failure of %s is gone); vfio-pci opened %s",
			pass, KNOWN_FAILURE, name);
}

/* ---- edu_driver ------------------------------------------------------- */

/* The device reads @src (mapped for device reads) into its buffer and
 * writes it to @dst (mapped for device writes): both with metal_dma_map()
 * at IOVAs the backend allocates.  Returns the sg of @dst, still mapped. */
static void dma_roundtrip(struct metal_edu *e, uint8_t *src, uint8_t *dst,
			  uint32_t len, uint32_t seed, struct metal_sg *dsg)
{
	struct metal_sg sg = { .virt = src, .len = (int)len }, ssg;
	metal_phys_addr_t sa, da;

	fill(src, len, seed);
	memset(dst, 0, len);
	ASSERT_EQ(metal_dma_map(e->dev, METAL_DMA_DEV_R, &sg, 1, &ssg), 1);
	sa = metal_io_virt_to_phys(ssg.io, ssg.virt);
	ASSERT_NE(sa, METAL_BAD_PHYS);
	sg.virt = dst;
	ASSERT_EQ(metal_dma_map(e->dev, METAL_DMA_DEV_W, &sg, 1, dsg), 1);
	da = metal_io_virt_to_phys(dsg->io, dsg->virt);
	ASSERT_NE(da, METAL_BAD_PHYS);
	vt_info("metal_dma_map: %p -> device address 0x%lx, %p -> 0x%lx", (void *)src,
		(unsigned long)sa, (void *)dst, (unsigned long)da);
	ASSERT_OK(metal_edu_dma(e, sa, 0, len, false));
	ASSERT_OK(metal_edu_dma(e, da, 0, len, true));
	metal_dma_unmap(e->dev, METAL_DMA_DEV_R, &ssg, 1);
	if (differs(dst, len, seed) >= 0)
		FAIL("byte %ld of the device's write differs: the DMA did not reach the"
		     " memory metal_dma_map() mapped", differs(dst, len, seed));
}

TEST_TIMEOUT(edu_driver, 180)
{
	struct metal_edu *e = edu_open(0, true);
	char drv[256], path[200];
	uint8_t *a, *b;
	struct metal_sg dsg;
	struct fx_kmsg *k;
	char line[512];
	uint32_t id;

	/* libmetal bound the unbound device to vfio-pci */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", e->dev->name);
	ASSERT_GT(readlink(path, drv, sizeof(drv) - 1), 0);
	ASSERT_TRUE(strstr(drv, "/vfio-pci") != NULL);

	/* registers: the ID, and the liveness register's inverse */
	id = metal_edu_id(e);
	if ((id & 0xffff) != 0x00ed)
		FAIL("edu ID register reads 0x%08x, not 0xRRrr00ed", id);
	ASSERT_EQ(metal_edu_liveness(e, 0x12345678), ~0x12345678u);

	/* an interrupt, handled on libmetal's IRQ thread; the ack unmasks,
	 * so a second one arrives; and each one is handled exactly once */
	ASSERT_TRUE(e->irq >= 0);
	ASSERT_OK(metal_edu_irq_start(e));
	metal_edu_raise(e, 0x1);
	if (!metal_edu_wait_irqs(e, 1, 5000))
		FAIL("no interrupt reached the handler in 5 s");
	ASSERT_EQ(atomic_load(&e->status), 0x1);
	ASSERT_NE(atomic_load(&e->handler_tid), gettid());
	ASSERT_EQ(atomic_load(&e->handler_policy), SCHED_FIFO);
	metal_edu_raise(e, 0x2);
	if (!metal_edu_wait_irqs(e, 2, 5000))
		FAIL("the second interrupt never came: irq_ack did not unmask it"
		     " (handled %u)", atomic_load(&e->irqs));
	ASSERT_EQ(atomic_load(&e->status), 0x3);
	metal_sleep_usec(300000);
	if (atomic_load(&e->irqs) != 2 || atomic_load(&e->spurious))
		FAIL("2 interrupts raised, handler ran %u times (+%u with no status):"
		     " irq_ack did not consume the event", atomic_load(&e->irqs),
		     atomic_load(&e->spurious));

	/* DMA both ways through metal_dma_map()ped memory: a page-aligned
	 * buffer, and one that starts in the middle of a page */
	a = fx_alloc(3 * 4096);
	b = fx_alloc(3 * 4096);
	dma_roundtrip(e, a, b, EDU_XFER_MAX, 0x51, &dsg);
	metal_dma_unmap(e->dev, METAL_DMA_DEV_W, &dsg, 1);
	dma_roundtrip(e, a + 4096 + 100, b + 4096 + 3000, 1500, 0x93, &dsg);

	/* after metal_dma_unmap() the same DMA faults in the IOMMU */
	metal_phys_addr_t da = metal_io_virt_to_phys(dsg.io, dsg.virt);

	metal_dma_unmap(e->dev, METAL_DMA_DEV_W, &dsg, 1);
	memset(b, 0, 3 * 4096);
	k = fx_kmsg_start(true);
	ASSERT_OK(metal_edu_dma(e, da, 0, FAULT_PROBE_BYTES, true));
	if (!fx_kmsg_fault(k, 5000, line, sizeof(line)))
		FAIL("a DMA to 0x%lx after metal_dma_unmap() logged no IOMMU fault",
		     (unsigned long)da);
	for (int i = 0; i < 3 * 4096; i++)
		if (b[i])
			FAIL("the device wrote byte %d after metal_dma_unmap()", i);
	vt_note("ID 0x%08x, 2 interrupts on the IRQ thread, DMA both ways, fault after unmap",
		id);
}

/* ---- dmabuf_dma ------------------------------------------------------- */

/* CPU writes a pattern into the first page through @io, the device copies
 * it to @half bytes further on (reading and writing the dma-buf at @iova),
 * and the CPU reads it back through @io. */
static void dmabuf_roundtrip(struct metal_edu *e, struct metal_io_region *io,
			     metal_phys_addr_t iova, size_t half, uint32_t seed)
{
	uint8_t pat[EDU_XFER_MAX], got[EDU_XFER_MAX];

	fill(pat, sizeof(pat), seed);
	ASSERT_OK(metal_dmabuf_begin_cpu_access(e->dev, io, METAL_DMABUF_CPU_RW));
	ASSERT_EQ(metal_io_block_write(io, 0, pat, sizeof(pat)), (int)sizeof(pat));
	metal_io_block_set(io, half, 0, sizeof(pat));
	ASSERT_OK(metal_dmabuf_end_cpu_access(e->dev, io, METAL_DMABUF_CPU_RW));
	ASSERT_OK(metal_edu_dma(e, iova, 0, sizeof(pat), false));
	ASSERT_OK(metal_edu_dma(e, iova + half, 0, sizeof(pat), true));
	ASSERT_OK(metal_dmabuf_begin_cpu_access(e->dev, io, METAL_DMABUF_CPU_R));
	ASSERT_EQ(metal_io_block_read(io, half, got, sizeof(got)), (int)sizeof(got));
	ASSERT_OK(metal_dmabuf_end_cpu_access(e->dev, io, METAL_DMABUF_CPU_R));
	if (differs(got, sizeof(got), seed) >= 0)
		FAIL("byte %ld the device wrote into the dma-buf at 0x%lx reads back"
		     " wrong through the I/O region", differs(got, sizeof(got), seed),
		     (unsigned long)(iova + half));
}

static void unmap_cpu(void *arg)
{
	munmap(arg, DMABUF_SIZE);
}

TEST_TIMEOUT(dmabuf_dma, 180)
{
	struct metal_edu *e = edu_open(0, false);
	struct metal_io_region *io, *io2;
	metal_phys_addr_t iova, iova2;
	struct fx_kmsg *k;
	uint8_t *cpu;
	char line[512];
	int fd, fd2, ret;

	/* a dma-buf of the project's test exporter (any kernel), with a CPU
	 * view of our own to look at after the detach */
	ret = tx_create_fd(DMABUF_SIZE, VFIO_DMABUF_TEST_KIND_SCATTER,
			   VFIO_DMABUF_TEST_MODE_STATIC, 0, 0, &fd);
	if (ret)
		FAIL("test exporter: %s", strerror(ret));
	cpu = mmap(NULL, DMABUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(cpu != MAP_FAILED);
	vt_defer(unmap_cpu, cpu);

	/* at a chosen IOVA; the caller's fd may go right after */
	iova = IOVA_FIXED;
	ret = metal_dmabuf_attach(e->dev, fd, 0, DMABUF_SIZE, METAL_DMA_DEV_WR, &iova, &io);
	if (ret)
		FAIL("metal_dmabuf_attach at 0x%llx: %d (%s)", IOVA_FIXED, ret, strerror(-ret));
	ASSERT_EQ(iova, IOVA_FIXED);
	ASSERT_EQ(metal_io_phys(io, 0), IOVA_FIXED);
	ASSERT_EQ(metal_io_phys(io, 4096), IOVA_FIXED + 4096);
	ASSERT_EQ(io->size, DMABUF_SIZE);
	fd2 = dup(fd);
	close(fd);
	dmabuf_roundtrip(e, io, iova, DMABUF_SIZE / 2, 0x21);

	/* at an IOVA that libmetal allocates, from the second page on */
	iova2 = METAL_BAD_PHYS;
	ret = metal_dmabuf_attach(e->dev, fd2, 4096, DMABUF_SIZE - 8192, METAL_DMA_DEV_WR,
				  &iova2, &io2);
	if (ret)
		FAIL("metal_dmabuf_attach, allocated IOVA: %d (%s)", ret, strerror(-ret));
	ASSERT_NE(iova2, METAL_BAD_PHYS);
	ASSERT_EQ(metal_io_phys(io2, 0), iova2);
	if (iova2 < IOVA_FIXED + DMABUF_SIZE && iova2 + DMABUF_SIZE - 8192 > IOVA_FIXED)
		FAIL("allocated IOVA 0x%lx overlaps the fixed one", (unsigned long)iova2);
	dmabuf_roundtrip(e, io2, iova2, 8192, 0x77);
	/* both views are the same buffer: page 1 of io is page 0 of io2 */
	ASSERT_EQ(*(uint8_t *)metal_io_virt(io2, 0), *(uint8_t *)metal_io_virt(io, 4096));
	metal_dmabuf_detach(e->dev, io2);
	close(fd2);

	/* detached: the same DMA now faults, and the buffer stays as it was */
	metal_dmabuf_detach(e->dev, io);
	memset(cpu + DMABUF_SIZE / 2, 0x5a, EDU_XFER_MAX);
	k = fx_kmsg_start(true);
	ASSERT_OK(metal_edu_dma(e, iova + DMABUF_SIZE / 2, 0, FAULT_PROBE_BYTES, true));
	if (!fx_kmsg_fault(k, 5000, line, sizeof(line)))
		FAIL("a DMA to 0x%lx after metal_dmabuf_detach() logged no IOMMU fault",
		     (unsigned long)(iova + DMABUF_SIZE / 2));
	for (int i = 0; i < EDU_XFER_MAX; i++)
		if (cpu[DMABUF_SIZE / 2 + i] != 0x5a)
			FAIL("the device wrote byte %d of the dma-buf after the detach", i);
	vt_note("fixed IOVA 0x%lx and allocated 0x%lx: device bytes read through the"
		" I/O region; after detach: %s", (unsigned long)iova, (unsigned long)iova2,
		line);
}

/* ---- platform_device -------------------------------------------------- */

#define PL031			"9010000.pl031"
#define PL031_DR		0x00	/* data (seconds) */
#define PL031_MR		0x04	/* match */
#define PL031_IMSC		0x10	/* interrupt mask set/clear */
#define PL031_MIS		0x18	/* masked interrupt status */
#define PL031_ICR		0x1c	/* interrupt clear */
#define PL031_PERIPH_ID0	0xfe0

struct pl031 {
	struct metal_device *dev;
	struct metal_io_region *regs;
	atomic_uint irqs;
	atomic_uint spurious;		/* handler calls with nothing pending */
	atomic_int handler_tid;
};

static int pl031_handler(int irq, void *arg)
{
	struct pl031 *p = arg;

	(void)irq;
	atomic_store(&p->handler_tid, gettid());
	if (metal_io_read32(p->regs, PL031_MIS) & 1) {
		metal_io_write32(p->regs, PL031_ICR, 1);
		atomic_fetch_add(&p->irqs, 1);
	} else {
		atomic_fetch_add(&p->spurious, 1);
	}
	return METAL_IRQ_HANDLED;
}

/* Set the match register to the time now: the PL031 interrupts at once
 * (QEMU raises it when the match equals the count).  Retried if the
 * second turned between the read and the write. */
static bool pl031_alarm(struct pl031 *p, unsigned int want)
{
	for (int tries = 0; tries < 5; tries++) {
		metal_io_write32(p->regs, PL031_MR, metal_io_read32(p->regs, PL031_DR));
		for (int ms = 0; ms < 1500; ms++) {
			if (atomic_load(&p->irqs) >= want)
				return true;
			metal_sleep_usec(1000);
		}
	}
	return false;
}

static void pl031_close(void *arg)
{
	struct pl031 *p = arg;
	int irq = (int)(intptr_t)p->dev->irq_info;

	metal_io_write32(p->regs, PL031_IMSC, 0);
	metal_irq_disable(irq);
	metal_irq_unregister(irq);
	metal_device_close(p->dev);
}

TEST_TIMEOUT(platform_device, 120)
{
	static const uint8_t id[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	struct pl031 *p = vt_calloc(sizeof(*p));
	struct metal_sg sg, sgo;
	uint8_t buf[64];
	int irq, ret;

#if !defined(__aarch64__)
	SKIP("no platform device here: x86_64 q35 machines have PCI devices only");
#endif
	if (access("/sys/bus/platform/devices/" PL031, F_OK))
		SKIP("no platform device " PL031 " (this machine describes its PL031 as an"
		     " AMBA device, which vfio-platform cannot bind)");
	if (access("/sys/bus/platform/drivers/vfio-platform", F_OK))
		SKIP("vfio-platform is not loaded (Debian's arm64 kernels lack"
		     " CONFIG_VFIO_PLATFORM; the harness builds it from linux-source)");
	if (access("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", F_OK))
		SKIP("vfio has no no-IOMMU mode (CONFIG_VFIO_NOIOMMU), and " PL031
		     " is behind no IOMMU");
	fx_param_set("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", 1);

	metal_up();
	vt_defer(metal_down, NULL);
	ret = metal_device_open("platform", PL031, &p->dev);
	if (ret)
		FAIL("metal_device_open(\"platform\", \"" PL031 "\"): %d (%s)", ret,
		     strerror(-ret));
	p->regs = metal_device_io_region(p->dev, 0);
	ASSERT_TRUE(p->regs != NULL);
	ASSERT_GE(p->regs->size, 0x1000);
	ASSERT_TRUE(p->dev->irq_num > 0);
	vt_defer(pl031_close, p);

	/* its registers: the PrimeCell identification, the running clock */
	for (int i = 0; i < 8; i++)
		if ((metal_io_read32(p->regs, PL031_PERIPH_ID0 + 4 * i) & 0xff) != id[i])
			FAIL("PL031 ID register 0x%x reads 0x%x, not 0x%02x",
			     PL031_PERIPH_ID0 + 4 * i,
			     (unsigned int)metal_io_read32(p->regs, PL031_PERIPH_ID0 + 4 * i),
			     id[i]);
	ASSERT_NE(metal_io_read32(p->regs, PL031_DR), 0);
	/* no physical address: no-IOMMU devices cannot map memory for DMA */
	sg.virt = buf;
	sg.len = sizeof(buf);
	sg.io = NULL;
	ASSERT_NEG(metal_dma_map(p->dev, METAL_DMA_DEV_WR, &sg, 1, &sgo), EOPNOTSUPP);

	/* its interrupt (level, automasked): twice, so the ack unmasks it */
	irq = (int)(intptr_t)p->dev->irq_info;
	ASSERT_OK(metal_irq_register(irq, pl031_handler, p));
	metal_irq_enable(irq);
	metal_io_write32(p->regs, PL031_IMSC, 1);
	if (!pl031_alarm(p, 1))
		FAIL("no PL031 interrupt reached the handler");
	ASSERT_NE(atomic_load(&p->handler_tid), gettid());
	if (!pl031_alarm(p, 2))
		FAIL("the second PL031 interrupt never came: irq_ack did not unmask it");
	metal_sleep_usec(300000);
	if (atomic_load(&p->irqs) != 2 || atomic_load(&p->spurious))
		FAIL("2 interrupts raised, handler ran %u times (+%u with nothing pending):"
		     " irq_ack did not consume the event", atomic_load(&p->irqs),
		     atomic_load(&p->spurious));
	vt_note("PL031 on the platform bus through vfio-platform (no-IOMMU): ID"
		" registers, 2 interrupts; DMA mapping refused as documented");
}
