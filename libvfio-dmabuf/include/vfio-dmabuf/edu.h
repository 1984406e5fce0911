/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reference userspace driver for QEMU's "edu" teaching PCI device
 * (vendor 1234, device 11e8), built on libvfio-dmabuf.
 *
 * The edu device has a 4096-byte internal buffer at device address
 * 0x40000 and a DMA engine that copies between that buffer and an IOVA:
 *
 *	struct vfd_edu *e;
 *	if (vfd_edu_open(c, NULL, VFD_DEVICE_BIND, &e) < 0)	// first edu
 *		errx(1, "%s", vfd_container_errmsg(c));
 *	vfd_edu_dma_to_device(e, src_iova, 0, 256, 0);    // RAM -> edu buf
 *	vfd_edu_dma_from_device(e, 0, dst_iova, 256, 0);  // edu buf -> RAM
 *	vfd_edu_close(e);
 *
 * Device-buffer offsets (@buf_off) are relative to the start of the edu
 * buffer (0 = device address 0x40000).  Every transfer must stay strictly
 * inside the buffer and never touch its last byte: buf_off + len must be
 * <= VFD_EDU_DMA_LIMIT (4095).  QEMU 7.2 has an off-by-one bounds check
 * that aborts the whole emulator otherwise; the library refuses such
 * transfers with -EINVAL.
 *
 * The edu DMA engine masks addresses with its dma_mask (28 bits by
 * default: IOVAs >= 256 MiB silently land at the wrong place).
 * vfd_edu_open() therefore restricts the container's IOVA allocator to
 * [0, VFD_EDU_DEFAULT_DMA_MASK] unless VFD_EDU_WIDE_DMA is given (use it
 * when QEMU runs with -device edu,dma_mask=0xffffffffffffffff); fixed
 * IOVAs above the mask are refused with -ERANGE unless VFD_EDU_WIDE_DMA.
 *
 * A transfer to an unmapped IOVA still "completes" in QEMU (the vIOMMU
 * drops it and the guest kernel logs a DMAR fault / SMMU event); only a
 * transfer that does not finish within the timeout is an error
 * (-ETIMEDOUT).
 *
 * Errors are reported in the edu handle (vfd_edu_errmsg()), except for
 * vfd_edu_open(), which reports in the container.
 */
#ifndef VFIO_DMABUF_EDU_H
#define VFIO_DMABUF_EDU_H

#include <vfio-dmabuf.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VFD_EDU_VENDOR_ID	0x1234
#define VFD_EDU_DEVICE_ID	0x11e8

/* BAR0 registers */
#define VFD_EDU_REG_ID		0x00	/* 0x010000ed: major.minor.0xed */
#define VFD_EDU_REG_LIVENESS	0x04	/* reads back ~value written */
#define VFD_EDU_REG_FACTORIAL	0x08
#define VFD_EDU_REG_STATUS	0x20
#define VFD_EDU_REG_IRQ_STATUS	0x24
#define VFD_EDU_REG_IRQ_RAISE	0x60
#define VFD_EDU_REG_IRQ_ACK	0x64
#define VFD_EDU_REG_DMA_SRC	0x80
#define VFD_EDU_REG_DMA_DST	0x88
#define VFD_EDU_REG_DMA_COUNT	0x90
#define VFD_EDU_REG_DMA_CMD	0x98

#define VFD_EDU_DMA_CMD_START	0x1
#define VFD_EDU_DMA_CMD_TO_RAM	0x2	/* 0: RAM -> device, 1: device -> RAM */
#define VFD_EDU_DMA_CMD_IRQ	0x4

#define VFD_EDU_BUF_ADDR	0x40000u	/* device address of the buffer */
#define VFD_EDU_BUF_SIZE	4096u
/** Transfers must satisfy buf_off + len <= VFD_EDU_DMA_LIMIT. */
#define VFD_EDU_DMA_LIMIT	(VFD_EDU_BUF_SIZE - 1)
#define VFD_EDU_DEFAULT_DMA_MASK 0x0fffffffULL	/* 28 bits */

/** Default DMA completion timeout (ms) when 0 is passed. */
#define VFD_EDU_DEFAULT_TIMEOUT_MS 5000u

/* flags for vfd_edu_open(): VFD_DEVICE_BIND, VFD_DEVICE_RESET, plus: */
/** The device was started with a 64-bit dma_mask: do not restrict IOVAs. */
#define VFD_EDU_WIDE_DMA	(1u << 16)

struct vfd_edu;

/**
 * Find the @index-th edu device (sorted by PCI address) and write its name
 * to @name.  @sysfs_root NULL = "/sys".  -ENODEV if there is none.
 */
int vfd_edu_find(const char *sysfs_root, unsigned int index, char *name,
		 size_t namelen, struct vfd_error *err);

/**
 * Open the edu device @name (NULL = the first edu device found) in @c
 * (vfd_device_open() with @flags), check its ID register and liveness
 * register, enable Memory + Bus Master, map BAR0.  Errors go to @c;
 * -ENODEV if the device is not an edu device.
 */
int vfd_edu_open(struct vfd_container *c, const char *name, uint32_t flags,
		 struct vfd_edu **out);

/** Close the edu handle and its device.  NULL ignored.  May also be
 *  called after vfd_container_close() (which already closed the device);
 *  other edu calls then fail with -ENODEV. */
void vfd_edu_close(struct vfd_edu *e);

const char *vfd_edu_errmsg(const struct vfd_edu *e);
int vfd_edu_last_error(const struct vfd_edu *e, struct vfd_error *out);

/** The underlying VFIO device. */
struct vfd_device *vfd_edu_device(const struct vfd_edu *e);
/** Value of the ID register (0x010000ed for QEMU's edu 1.0). */
uint32_t vfd_edu_id(const struct vfd_edu *e);

/** Write @v to the liveness register and check ~@v reads back. */
int vfd_edu_check_liveness(struct vfd_edu *e, uint32_t v);

/**
 * DMA @len bytes from @src_iova (RAM) into the edu buffer at @buf_off and
 * wait for completion (@timeout_ms 0 = VFD_EDU_DEFAULT_TIMEOUT_MS).
 * -EINVAL: zero length, or outside the buffer / touches its last byte;
 * -ERANGE: IOVA above the device's DMA mask;
 * -EBUSY: a previous transfer is still running;
 * -ETIMEDOUT: the transfer did not complete.
 */
int vfd_edu_dma_to_device(struct vfd_edu *e, uint64_t src_iova,
			  uint32_t buf_off, uint32_t len,
			  unsigned int timeout_ms);

/** DMA @len bytes from the edu buffer at @buf_off to @dst_iova (RAM).
 *  Same rules and errors as vfd_edu_dma_to_device(). */
int vfd_edu_dma_from_device(struct vfd_edu *e, uint32_t buf_off,
			    uint64_t dst_iova, uint32_t len,
			    unsigned int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* VFIO_DMABUF_EDU_H */
