/* SPDX-License-Identifier: MIT */
/*
 * Example: let a device DMA into and out of a dma-buf with libvfio-dmabuf.
 *
 * The device is QEMU's "edu" teaching device (qemu -device edu), which can
 * copy between an IOVA and its own 4 KiB buffer.  Replace the two
 * vfd_edu_dma_*() calls with your device's way of starting a DMA.
 *
 *   ./edu_dmabuf_dma [PCI-ADDRESS]        e.g. ./edu_dmabuf_dma 0000:00:03.0
 *
 * Needs root, an IOMMU, and a kernel with VFIO_IOMMU_MAP_DMABUF and
 * /dev/udmabuf or /dev/dma_heap/system.
 */
#include <err.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <vfio-dmabuf.h>
#include <vfio-dmabuf/edu.h>

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;	/* NULL: first edu */
	struct vfd_error e;
	struct vfd_container *c;
	struct vfd_edu *edu;
	struct vfd_dmabuf *buf;
	uint64_t iova = VFD_IOVA_ANY;	/* let the library choose the IOVA */
	uint8_t *cpu;

	/* 1. An IOMMU context.  Functions without a handle report errors in
	 *    a struct vfd_error; the others in their handle (..._errmsg()). */
	if (vfd_container_open(&c, NULL, &e) < 0)
		errx(1, "%s", e.msg);

	/* 2. The device.  VFD_DEVICE_BIND binds it to vfio-pci if needed;
	 *    opening it attaches its IOMMU group to the container.  For your
	 *    own device: vfd_device_open(c, "0000:01:00.0", VFD_DEVICE_BIND,
	 *    &dev), then vfd_pci_enable_bus_master() and vfd_region_map(). */
	if (vfd_edu_open(c, name, VFD_DEVICE_BIND, &edu) < 0)
		errx(1, "%s", vfd_container_errmsg(c));

	/* 3. A dma-buf (udmabuf, else the system dma-buf heap).  With a
	 *    dma-buf fd from elsewhere (GPU, camera, ...) you would call
	 *    vfd_dma_map_dmabuf(c, fd, offset, size, &iova, flags) instead. */
	if (vfd_dmabuf_create(2 * 4096, &buf, &e) < 0)
		errx(1, "%s", e.msg);
	if (vfd_dmabuf_mmap(buf, (void **)&cpu) < 0)
		errx(1, "%s", vfd_dmabuf_errmsg(buf));

	/* 4. Map the whole dma-buf for device reads and writes. */
	if (vfd_dma_map_buf(c, buf, &iova, VFD_DMA_RW) < 0)
		errx(1, "%s", vfd_container_errmsg(c));
	printf("dma-buf (%s) mapped at IOVA 0x%" PRIx64 "\n",
	       vfd_dmabuf_source_name(buf), iova);

	/* 5. CPU writes the first page.  Bracket CPU access with sync calls
	 *    so caches are right for the device. */
	vfd_dmabuf_sync_begin(buf, VFD_SYNC_WRITE);
	memset(cpu, 0, 2 * 4096);
	snprintf((char *)cpu, 4096, "written by the CPU, copied by the device");
	vfd_dmabuf_sync_end(buf, VFD_SYNC_WRITE);

	/* 6. The device copies page 0 -> its buffer -> page 1, both through
	 *    the IOMMU.  (edu transfers must stay below 4095 bytes.) */
	if (vfd_edu_dma_to_device(edu, iova, 0, 1024, 0) < 0 ||
	    vfd_edu_dma_from_device(edu, 0, iova + 4096, 1024, 0) < 0)
		errx(1, "%s", vfd_edu_errmsg(edu));

	/* 7. The CPU sees what the device wrote. */
	vfd_dmabuf_sync_begin(buf, VFD_SYNC_READ);
	int same = memcmp(cpu, cpu + 4096, 1024) == 0;
	printf("page 1 now reads: \"%s\" -> %s\n", (char *)cpu + 4096,
	       same ? "OK" : "MISMATCH");
	vfd_dmabuf_sync_end(buf, VFD_SYNC_READ);

	/* 8. Clean up: closing the container unmaps and closes everything
	 *    that belongs to it; the dma-buf is freed separately. */
	vfd_dma_unmap(c, iova);
	vfd_edu_close(edu);
	vfd_container_close(c);
	vfd_dmabuf_free(buf);
	return same ? 0 : 1;
}
