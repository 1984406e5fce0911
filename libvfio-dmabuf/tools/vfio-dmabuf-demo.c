/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-dmabuf-demo: VFIO_IOMMU_MAP_DMABUF in six steps, for newcomers.
 *
 *   vfio-dmabuf-demo [--iova ADDR] [--device BDF] [--exporter auto|udmabuf|heap|test]
 *                    [--wide-dma] [--bind]
 *
 * 1. open a VFIO container, 2. open the edu device, 3. create a dma-buf,
 * 4. map it at an IOVA with VFIO_IOMMU_MAP_DMABUF, 5. let the device write
 * a message into it and read it back through the dma-buf's mmap,
 * 6. unmap it and show that the same DMA no longer reaches the buffer:
 * the IOMMU blocks it, and the demo shows the fault the kernel logged.
 * "DEMO: PASS" only when the device's bytes arrived while mapped, and
 * after the unmap the buffer stayed empty and the IOMMU reported a fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vfio-dmabuf.h>
#include <vfio-dmabuf/edu.h>

#include "dmabuf_source.h"
#include "kmsg_watch.h"


/* Default IOVA: 64 MiB.  Below the edu device's 28-bit DMA mask (QEMU's
 * default; 0x10000000 and up would be silently truncated) and clear of
 * the arm64 virt machine's MSI window at 0x8000000. */
#define DEFAULT_IOVA 0x4000000ull
#define BUF_SIZE (64 * 1024)
#define MSG_LEN 256u	/* bytes the device copies (inside its 4 KiB buffer) */

static const char message[] =
	"Hello from the edu device! It wrote this into a dma-buf through "
	"VFIO_IOMMU_MAP_DMABUF.";

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

static int die(const char *what, const char *msg)
{
	printf("      FAILED: %s: %s\n", what, msg);
	printf("DEMO: FAIL\n");
	return 1;
}

/* Printable copy of a buffer (non-printing bytes shown as '.'). */
static void show(const char *label, const uint8_t *p, size_t n)
{
	printf("      %s \"", label);
	for (size_t i = 0; i < n && p[i]; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	printf("\"\n");
}

int main(int argc, char **argv)
{
	const char *device = NULL, *exporter = "auto";
	uint64_t iova = DEFAULT_IOVA, src_iova = VFD_IOVA_ANY;
	uint32_t eflags = 0;
	struct vfd_container *c = NULL;
	struct vfd_edu *edu = NULL;
	struct vfd_dmabuf *buf = NULL;
	struct kmsg_watch kmsg = { .fd = -1 };
	char fault[2048];
	struct vfd_error err;
	uint8_t *cpu, *src;
	int rc = 1;

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
			device = argv[++i];
		} else if (!strcmp(argv[i], "--exporter") && i + 1 < argc) {
			exporter = argv[++i];
		} else if (!strcmp(argv[i], "--wide-dma")) {
			eflags |= VFD_EDU_WIDE_DMA;
		} else if (!strcmp(argv[i], "--bind")) {
			eflags |= VFD_DEVICE_BIND;
		} else {
			fprintf(stderr, "usage: %s [--iova ADDR] [--device BDF] "
				"[--exporter auto|udmabuf|heap|test] [--wide-dma] "
				"[--bind]\n", argv[0]);
			return 2;
		}
	}

	if (!(eflags & VFD_EDU_WIDE_DMA) && iova + BUF_SIZE - 1 > VFD_EDU_DEFAULT_DMA_MASK) {
		/* edu's default DMA mask is 28 bits; the project's QEMU machine
		 * configs start edu with dma_mask=0xffffffffffffffff. */
		printf("note: IOVA 0x%" PRIx64 " is above edu's default 28-bit DMA "
		       "mask: assuming QEMU runs edu with a 64-bit dma_mask\n", iova);
		eflags |= VFD_EDU_WIDE_DMA;
	}

	/* 1. The container is the IOMMU address space our device will use. */
	if (vfd_container_open(&c, NULL, &err))
		return die("open VFIO container", err.msg);
	step(1, "opened the VFIO container (%s)", vfd_container_backend_name(c));

	/* 2. Opening the device attaches its IOMMU group to the container. */
	if (vfd_edu_open(c, device, eflags, &edu)) {
		rc = die("open the edu device", vfd_container_errmsg(c));
		goto out;
	}
	struct vfd_device_info di;
	vfd_device_info(vfd_edu_device(edu), &di);
	step(2, "opened edu device %s (IOMMU group %d); VFIO_IOMMU_MAP_DMABUF: %s",
	     di.name, di.iommu_group,
	     vfd_container_has_map_dmabuf(c) ? "supported" : "NOT supported");

	/* 3. A dma-buf: memory some exporter owns, shared by fd. */
	if (tool_dmabuf_create(exporter, BUF_SIZE, &buf, &err)) {
		rc = die("create a dma-buf", err.msg);
		goto out;
	}
	if (vfd_dmabuf_mmap(buf, (void **)&cpu)) {
		rc = die("mmap the dma-buf", vfd_dmabuf_errmsg(buf));
		goto out;
	}
	vfd_dmabuf_sync_begin(buf, VFD_SYNC_WRITE);
	memset(cpu, 0, BUF_SIZE);
	vfd_dmabuf_sync_end(buf, VFD_SYNC_WRITE);
	step(3, "created a %d KiB dma-buf (%s, fd %d) and cleared it",
	     BUF_SIZE / 1024, vfd_dmabuf_source_name(buf), vfd_dmabuf_fd(buf));

	/* 4. Give the device access to it at a device address (IOVA). */
	if (vfd_dma_map_buf(c, buf, &iova, VFD_DMA_RW)) {
		rc = die("VFIO_IOMMU_MAP_DMABUF", vfd_container_errmsg(c));
		goto out;
	}
	step(4, "mapped the dma-buf with VFIO_IOMMU_MAP_DMABUF at IOVA 0x%" PRIx64,
	     iova);

	/* 5. The device copies a message into the dma-buf.  edu can only copy
	 * RAM -> its internal buffer -> RAM, so the message starts in a small
	 * ordinary buffer mapped with VFIO_IOMMU_MAP_DMA. */
	src = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (src == MAP_FAILED) {
		rc = die("mmap", strerror(errno));
		goto out;
	}
	memset(src, 0, 4096);
	memcpy(src, message, sizeof(message));
	if (vfd_dma_map_mem(c, src, 4096, &src_iova, VFD_DMA_READ)) {
		rc = die("VFIO_IOMMU_MAP_DMA", vfd_container_errmsg(c));
		goto out;
	}
	if (vfd_edu_dma_to_device(edu, src_iova, 0, MSG_LEN, 0) ||
	    vfd_edu_dma_from_device(edu, 0, iova, MSG_LEN, 0)) {
		rc = die("edu DMA", vfd_edu_errmsg(edu));
		goto out;
	}
	vfd_dmabuf_sync_begin(buf, VFD_SYNC_READ);
	bool landed = memcmp(cpu, message, sizeof(message)) == 0;
	step(5, "edu DMA'd %u bytes to IOVA 0x%" PRIx64 "; the CPU reads through "
	     "the dma-buf mmap:", MSG_LEN, iova);
	show("", cpu, MSG_LEN);
	vfd_dmabuf_sync_end(buf, VFD_SYNC_READ);
	if (!landed) {
		rc = die("check", "the message did not arrive in the dma-buf");
		goto out;
	}
	printf("      -> the device wrote into the dma-buf: OK\n");

	/* 6. Take the mapping away and try again. */
	vfd_dmabuf_sync_begin(buf, VFD_SYNC_WRITE);
	memset(cpu, 0, BUF_SIZE);
	vfd_dmabuf_sync_end(buf, VFD_SYNC_WRITE);
	if (vfd_dma_unmap(c, iova)) {
		rc = die("unmap", vfd_container_errmsg(c));
		goto out;
	}
	if (kmsg_watch_start(&kmsg)) {
		rc = die("open /dev/kmsg to watch for the IOMMU fault", strerror(errno));
		goto out;
	}
	if (vfd_edu_dma_from_device(edu, 0, iova, MSG_LEN, 0)) {
		rc = die("edu DMA", vfd_edu_errmsg(edu));
		goto out;
	}
	vfd_dmabuf_sync_begin(buf, VFD_SYNC_READ);
	bool blocked = true;
	for (size_t i = 0; i < MSG_LEN; i++)
		if (cpu[i])
			blocked = false;
	vfd_dmabuf_sync_end(buf, VFD_SYNC_READ);
	step(6, "unmapped IOVA 0x%" PRIx64 " and ran the same DMA again: the "
	     "dma-buf %s", iova, blocked ? "stayed empty" : "CHANGED");
	if (!blocked) {
		rc = die("check", "the device still reached the dma-buf after unmap");
		goto out;
	}
	/* QEMU's IOMMUs report the blocked write at once; allow for a busy host. */
	if (!kmsg_watch_fault(&kmsg, 3000, fault, sizeof(fault))) {
		rc = die("check", "the IOMMU reported no fault in the kernel log");
		goto out;
	}
	printf("      -> the IOMMU blocked the device; the kernel logged:\n");
	for (char *line = strtok(fault, "\n"); line; line = strtok(NULL, "\n"))
		printf("         | %s\n", line);
	printf("DEMO: PASS\n");
	rc = 0;
out:
	kmsg_watch_stop(&kmsg);
	vfd_edu_close(edu);
	vfd_container_close(c);		/* unmaps the rest */
	vfd_dmabuf_free(buf);
	return rc;
}
