// SPDX-License-Identifier: BSD-3-Clause
/*
 * metal-edu-demo: a libmetal application DMAs into a dma-buf.
 *
 * The edu device is opened on libmetal's "pci" bus (the VFIO backend), a
 * dma-buf is attached to it with metal_dmabuf_attach() at a device address
 * (IOVA), the device copies a message into it, and the CPU reads the
 * message through the I/O region libmetal gave for the attachment.  After
 * metal_dmabuf_detach() the same DMA is blocked by the IOMMU, and the
 * kernel's fault report is shown.  Where the dma-buf comes from (udmabuf,
 * a heap, the project's test exporter) is not libmetal's business: the
 * demo borrows the command line tools' helper for it.
 *
 *   metal-edu-demo [--iova ADDR] [--device BDF] [--exporter auto|udmabuf|heap|test]
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <metal/device.h>
#include <metal/dma.h>
#include <metal/dmabuf.h>
#include <metal/sys.h>

#include "dmabuf_source.h"
#include "kmsg_watch.h"
#include "metal_edu.h"

#define BUF_SIZE	(64 * 1024)
#define DEFAULT_IOVA	0x4000000ull	/* below edu's 28-bit mask, clear of
					   the arm64 MSI window */

static const char message[] =
	"Hello from the edu device! It wrote this into a dma-buf through "
	"libmetal's metal_dmabuf_attach().";
#define MSG_LEN	((uint32_t)sizeof(message))

static void step(int n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void step(int n, const char *fmt, ...)
{
	va_list ap;

	printf("[%d/6] ", n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int die(const char *what, int err)
{
	printf("      FAILED: %s: %s\n", what, strerror(err < 0 ? -err : err));
	printf("DEMO: FAIL\n");
	return 1;
}

static void show(const char *label, const uint8_t *p, size_t n)
{
	printf("      %s \"", label);
	for (size_t i = 0; i < n && p[i]; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	printf("\"\n");
}

/* The first edu device (PCI 1234:11e8) in sysfs, by name. */
static int find_edu(char *name, size_t len)
{
	struct dirent **list;
	int n = scandir("/sys/bus/pci/devices", &list, NULL, alphasort);
	int found = -ENODEV;

	for (int i = 0; i < n; i++) {
		char path[300], id[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 list[i]->d_name);
		f = fopen(path, "r");
		if (f && fgets(id, sizeof(id), f) && !strncmp(id, "0x1234", 6)) {
			fclose(f);
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
				 list[i]->d_name);
			f = fopen(path, "r");
			if (f && fgets(id, sizeof(id), f) && !strncmp(id, "0x11e8", 6) &&
			    found && strlen(list[i]->d_name) < len) {
				memcpy(name, list[i]->d_name, strlen(list[i]->d_name) + 1);
				found = 0;
			}
		}
		if (f)
			fclose(f);
		free(list[i]);
	}
	free(list);
	return found;
}

int main(int argc, char **argv)
{
	struct metal_init_params params = METAL_INIT_DEFAULTS;
	const char *exporter = "auto";
	char device[64] = "", fault[2048];
	metal_phys_addr_t iova = DEFAULT_IOVA, src_addr;
	struct metal_io_region *io = NULL;
	struct kmsg_watch kmsg = { .fd = -1 };
	struct metal_sg sg, sg_out;
	struct vfd_dmabuf *buf = NULL;
	struct metal_edu edu = { 0 };
	struct vfd_error err;
	uint8_t got[sizeof(message)], *src;
	int ret, rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iova") && i + 1 < argc) {
			char *end;

			iova = strtoull(argv[++i], &end, 0);
			if (*end) {
				fprintf(stderr, "bad --iova '%s'\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			snprintf(device, sizeof(device), "%s", argv[++i]);
		} else if (!strcmp(argv[i], "--exporter") && i + 1 < argc) {
			exporter = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--iova ADDR] [--device BDF] "
				"[--exporter auto|udmabuf|heap|test]\n", argv[0]);
			return 2;
		}
	}

	/* 1. libmetal finds its buses: "pci" has the vfio-pci driver now. */
	params.log_level = METAL_LOG_WARNING;
	ret = metal_init(&params);
	if (ret)
		return die("metal_init", ret);
	step(1, "metal_init: the \"pci\" bus is served by libmetal's vfio-pci driver");

	/* 2. The device: registers, interrupt, DMA, all through libmetal. */
	if (!*device && find_edu(device, sizeof(device)))
		return die("find an edu device (PCI 1234:11e8)", ENODEV);
	ret = metal_edu_open(device, &edu);
	if (ret) {
		rc = die("metal_device_open(\"pci\", ...)", ret);
		goto out;
	}
	step(2, "metal_device_open(\"pci\", \"%s\"): edu ID 0x%08x, %u I/O region(s), IRQ %d",
	     device, metal_edu_id(&edu), edu.dev->num_regions, edu.irq);

	/* 3. A dma-buf: memory that some exporter owns, shared by fd. */
	ret = tool_dmabuf_create(exporter, BUF_SIZE, &buf, &err);
	if (ret) {
		printf("      %s\n", err.msg);
		rc = die("create a dma-buf", ret);
		goto out;
	}
	step(3, "created a %d KiB dma-buf (%s, fd %d)", BUF_SIZE / 1024,
	     vfd_dmabuf_source_name(buf), vfd_dmabuf_fd(buf));

	/* 4. Attach it: the device reaches it at iova, the CPU through io. */
	ret = metal_dmabuf_attach(edu.dev, vfd_dmabuf_fd(buf), 0, BUF_SIZE,
				  METAL_DMA_DEV_WR, &iova, &io);
	if (ret) {
		rc = die("metal_dmabuf_attach", ret);
		goto out;
	}
	metal_dmabuf_begin_cpu_access(edu.dev, io, METAL_DMABUF_CPU_W);
	metal_io_block_set(io, 0, 0, BUF_SIZE);
	metal_dmabuf_end_cpu_access(edu.dev, io, METAL_DMABUF_CPU_W);
	step(4, "metal_dmabuf_attach: the dma-buf is at IOVA 0x%lx for the device,"
	     " and cleared through its I/O region", (unsigned long)iova);

	/* 5. The device copies a message into the dma-buf.  edu copies RAM ->
	 * its buffer -> RAM, so the message starts in ordinary memory that
	 * metal_dma_map() maps for the device. */
	src = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED) {
		rc = die("mmap", errno);
		goto out;
	}
	memset(src, 0, 4096);
	memcpy(src, message, sizeof(message));
	sg.virt = src;
	sg.len = 4096;
	sg.io = NULL;
	ret = metal_dma_map(edu.dev, METAL_DMA_DEV_R, &sg, 1, &sg_out);
	if (ret != 1) {
		rc = die("metal_dma_map", ret);
		goto out;
	}
	src_addr = metal_io_virt_to_phys(sg_out.io, sg_out.virt);
	ret = metal_edu_dma(&edu, src_addr, 0, MSG_LEN, false);
	if (!ret)
		ret = metal_edu_dma(&edu, iova, 0, MSG_LEN, true);
	metal_dma_unmap(edu.dev, METAL_DMA_DEV_R, &sg_out, 1);
	if (ret) {
		rc = die("edu DMA", ret);
		goto out;
	}
	metal_dmabuf_begin_cpu_access(edu.dev, io, METAL_DMABUF_CPU_R);
	metal_io_block_read(io, 0, got, MSG_LEN);
	metal_dmabuf_end_cpu_access(edu.dev, io, METAL_DMABUF_CPU_R);
	step(5, "edu DMA'd %u bytes to IOVA 0x%lx; the CPU reads through the I/O region:",
	     MSG_LEN, (unsigned long)iova);
	show("", got, MSG_LEN);
	if (memcmp(got, message, MSG_LEN)) {
		rc = die("check: the message did not arrive in the dma-buf", EIO);
		goto out;
	}
	printf("      -> the device wrote into the dma-buf: OK\n");

	/* 6. Detach, and try again: the IOMMU must block the device. */
	metal_dmabuf_begin_cpu_access(edu.dev, io, METAL_DMABUF_CPU_W);
	metal_io_block_set(io, 0, 0, BUF_SIZE);
	metal_dmabuf_end_cpu_access(edu.dev, io, METAL_DMABUF_CPU_W);
	metal_dmabuf_detach(edu.dev, io);
	io = NULL;
	ret = kmsg_watch_start(&kmsg);
	if (ret) {
		rc = die("open /dev/kmsg to watch for the IOMMU fault", ret);
		goto out;
	}
	ret = metal_edu_dma(&edu, iova, 0, MSG_LEN, true);
	if (ret) {
		rc = die("edu DMA", ret);
		goto out;
	}
	void *cpu;
	bool blocked = true;

	vfd_dmabuf_mmap(buf, &cpu);
	vfd_dmabuf_sync_begin(buf, VFD_SYNC_READ);
	for (size_t i = 0; i < MSG_LEN; i++)
		if (((uint8_t *)cpu)[i])
			blocked = false;
	vfd_dmabuf_sync_end(buf, VFD_SYNC_READ);
	step(6, "metal_dmabuf_detach, then the same DMA to IOVA 0x%lx: the dma-buf %s",
	     (unsigned long)iova, blocked ? "stayed empty" : "CHANGED");
	if (!blocked) {
		rc = die("check: the device still reached the dma-buf after detach", EIO);
		goto out;
	}
	if (!kmsg_watch_fault(&kmsg, 3000, fault, sizeof(fault))) {
		rc = die("check: the IOMMU reported no fault in the kernel log", EIO);
		goto out;
	}
	printf("      -> the IOMMU blocked the device; the kernel logged:\n");
	for (char *line = strtok(fault, "\n"); line; line = strtok(NULL, "\n"))
		printf("         | %s\n", line);
	printf("DEMO: PASS\n");
	rc = 0;
out:
	kmsg_watch_stop(&kmsg);
	if (io)
		metal_dmabuf_detach(edu.dev, io);
	metal_edu_close(&edu);
	vfd_dmabuf_free(buf);
	metal_finish();
	return rc;
}
