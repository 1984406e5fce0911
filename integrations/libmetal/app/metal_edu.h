/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A driver for QEMU's edu device (PCI 1234:11e8) written against libmetal
 * alone: the device is opened on libmetal's "pci" bus, its registers are
 * an I/O region, its interrupt is a libmetal IRQ handled on libmetal's IRQ
 * thread, and its DMA reaches memory mapped with metal_dma_map() or a
 * dma-buf attached with metal_dmabuf_attach().  Nothing here knows about
 * VFIO, the IOMMU or physical addresses.
 *
 * edu (QEMU docs/specs/edu.rst): 0x00 identification 0xRRrr00ed, 0x04
 * liveness (reads back the inverse), 0x24 interrupt status, 0x60 raise
 * (ORs the value into the status, raises the interrupt), 0x64 acknowledge
 * (clears those bits, lowers the interrupt at 0), 0x80 DMA source, 0x88
 * destination, 0x90 count, 0x98 command (bit 0 start, bit 1 device ->
 * RAM); the device's 4 KiB buffer is at 0x40000.
 */
#ifndef METAL_EDU_H
#define METAL_EDU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <metal/device.h>
#include <metal/io.h>

#define EDU_ID			0x00
#define EDU_LIVENESS		0x04
#define EDU_IRQ_STATUS		0x24
#define EDU_IRQ_RAISE		0x60
#define EDU_IRQ_ACK		0x64
#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_COUNT		0x90
#define EDU_DMA_CMD		0x98
#define EDU_DMA_START		0x1
#define EDU_DMA_TO_RAM		0x2
#define EDU_BUF			0x40000
/* bytes of one transfer: inside the 4 KiB buffer, never its last byte
 * (QEMU 7.2's bounds check is off by one there) */
#define EDU_XFER_MAX		2048

struct metal_edu {
	struct metal_device *dev;
	struct metal_io_region *regs;	/* BAR0 */
	int irq;			/* libmetal IRQ number, -1: none */
	/* written by the handler, on libmetal's IRQ thread */
	atomic_uint irqs;		/* interrupts handled */
	atomic_uint spurious;		/* handler calls with status 0 */
	atomic_uint status;		/* status bits the handler saw (OR) */
	atomic_int handler_tid;		/* thread the handler ran on */
	atomic_int handler_policy;	/* and its scheduling policy */
};

/* Open edu @name ("0000:00:03.0") on libmetal's "pci" bus (libmetal binds
 * it to vfio-pci if it has no driver).  metal_init() must have run.
 * 0 or -errno. */
int metal_edu_open(const char *name, struct metal_edu *e);
void metal_edu_close(struct metal_edu *e);

uint32_t metal_edu_id(struct metal_edu *e);
/* Write @v to the liveness register and read back what it makes. */
uint32_t metal_edu_liveness(struct metal_edu *e, uint32_t v);

/* Register the interrupt handler and enable the IRQ.  -ENODEV: no IRQ. */
int metal_edu_irq_start(struct metal_edu *e);
void metal_edu_irq_stop(struct metal_edu *e);
/* Ask the device for an interrupt with status @bits. */
void metal_edu_raise(struct metal_edu *e, uint32_t bits);
/* Wait up to @ms until the handler has run @count times in all. */
bool metal_edu_wait_irqs(struct metal_edu *e, unsigned int count,
			 unsigned int ms);

/* DMA between the device buffer (at @off) and device address @addr;
 * @to_ram: device -> memory.  Waits for the end.  0 or -ETIMEDOUT. */
int metal_edu_dma(struct metal_edu *e, metal_phys_addr_t addr, uint32_t off,
		  uint32_t len, bool to_ram);

#endif /* METAL_EDU_H */
