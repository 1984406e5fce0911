// SPDX-License-Identifier: BSD-3-Clause
/* QEMU's edu device on libmetal alone: see metal_edu.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <metal/atomic.h>
#include <metal/irq.h>
#include <metal/sleep.h>

#include "metal_edu.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* On libmetal's IRQ thread: read and acknowledge what the device raised.
 * Returning HANDLED makes libmetal call the bus's irq_ack (which consumes
 * the event and unmasks the interrupt). */
static int metal_edu_irq_handler(int irq, void *arg)
{
	struct metal_edu *e = arg;
	uint32_t st = metal_io_read32(e->regs, EDU_IRQ_STATUS);

	(void)irq;
	atomic_store(&e->handler_tid, gettid());
	atomic_store(&e->handler_policy, sched_getscheduler(0));
	if (!st) {
		atomic_fetch_add(&e->spurious, 1);
		return METAL_IRQ_HANDLED;
	}
	metal_io_write32(e->regs, EDU_IRQ_ACK, st);
	atomic_fetch_or(&e->status, st);
	atomic_fetch_add(&e->irqs, 1);
	return METAL_IRQ_HANDLED;
}

int metal_edu_open(const char *name, struct metal_edu *e)
{
	int ret;

	memset(e, 0, sizeof(*e));
	e->irq = -1;
	ret = metal_device_open("pci", name, &e->dev);
	if (ret)
		return ret;
	e->regs = metal_device_io_region(e->dev, 0);
	if (!e->regs || e->regs->size < EDU_BUF + 4096) {
		metal_device_close(e->dev);
		e->dev = NULL;
		return -ENXIO;
	}
	if (e->dev->irq_num > 0)
		e->irq = (int)(intptr_t)e->dev->irq_info;
	return 0;
}

void metal_edu_close(struct metal_edu *e)
{
	if (!e->dev)
		return;
	metal_edu_irq_stop(e);
	metal_device_close(e->dev);
	e->dev = NULL;
}

uint32_t metal_edu_id(struct metal_edu *e)
{
	return metal_io_read32(e->regs, EDU_ID);
}

uint32_t metal_edu_liveness(struct metal_edu *e, uint32_t v)
{
	metal_io_write32(e->regs, EDU_LIVENESS, v);
	return metal_io_read32(e->regs, EDU_LIVENESS);
}

int metal_edu_irq_start(struct metal_edu *e)
{
	int ret;

	if (e->irq < 0)
		return -ENODEV;
	ret = metal_irq_register(e->irq, metal_edu_irq_handler, e);
	if (ret)
		return ret;
	metal_irq_enable(e->irq);
	return 0;
}

void metal_edu_irq_stop(struct metal_edu *e)
{
	if (e->irq < 0)
		return;
	metal_irq_disable(e->irq);
	metal_irq_unregister(e->irq);
}

void metal_edu_raise(struct metal_edu *e, uint32_t bits)
{
	metal_io_write32(e->regs, EDU_IRQ_RAISE, bits);
}

bool metal_edu_wait_irqs(struct metal_edu *e, unsigned int count,
			 unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	while (atomic_load(&e->irqs) < count) {
		if (now_ms() > end)
			return false;
		metal_sleep_usec(1000);
	}
	return true;
}

int metal_edu_dma(struct metal_edu *e, metal_phys_addr_t addr, uint32_t off,
		  uint32_t len, bool to_ram)
{
	uint64_t end;

	if (!len || len > EDU_XFER_MAX || off + len >= 4096)
		return -EINVAL;
	/* what the CPU wrote reaches memory before the device reads it */
	atomic_thread_fence(memory_order_seq_cst);
	metal_io_write64(e->regs, EDU_DMA_SRC, to_ram ? EDU_BUF + off : addr);
	metal_io_write64(e->regs, EDU_DMA_DST, to_ram ? addr : EDU_BUF + off);
	metal_io_write64(e->regs, EDU_DMA_COUNT, len);
	metal_io_write64(e->regs, EDU_DMA_CMD,
			 EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
	/* a transfer takes 100 ms of the machine's time */
	end = now_ms() + 10000;
	while (metal_io_read64(e->regs, EDU_DMA_CMD) & EDU_DMA_START) {
		if (now_ms() > end)
			return -ETIMEDOUT;
		metal_sleep_usec(2000);
	}
	atomic_thread_fence(memory_order_seq_cst);
	return 0;
}
