// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu DMA without waiting for it: the device's registers written directly
 * through its BAR, so that a transfer is in flight for the 100 ms of
 * QEMU's virtual time that the edu DMA timer takes while a test revokes,
 * unmaps or kills what it goes through.
 */
#define _GNU_SOURCE
#include "torture.h"

static inline void wmb_dev(void)
{
#if defined(__aarch64__)
	__asm__ __volatile__("dmb oshst" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

volatile void *edu_bar(struct vfd_edu *e)
{
	size_t size;
	void *p;

	if (vfd_region_map(vfd_edu_device(e), 0, &p, &size) < 0)
		FAIL("mmap edu BAR0: %s", vfd_device_errmsg(vfd_edu_device(e)));
	return p;
}

bool edu_busy(volatile void *bar)
{
	return vfd_mmio_read64(bar, VFD_EDU_REG_DMA_CMD) & VFD_EDU_DMA_CMD_START;
}

/* Start a DMA of @len bytes between edu buffer offset 0 and @iova. */
void edu_start(volatile void *bar, bool to_ram, uint64_t iova, uint32_t len)
{
	uint64_t dev = VFD_EDU_BUF_ADDR;

	if (edu_busy(bar))
		FAIL("edu DMA engine busy before a new transfer");
	vfd_mmio_write64(bar, VFD_EDU_REG_DMA_SRC, to_ram ? dev : iova);
	vfd_mmio_write64(bar, VFD_EDU_REG_DMA_DST, to_ram ? iova : dev);
	vfd_mmio_write64(bar, VFD_EDU_REG_DMA_COUNT, len);
	wmb_dev();
	vfd_mmio_write64(bar, VFD_EDU_REG_DMA_CMD,
			 VFD_EDU_DMA_CMD_START | (to_ram ? VFD_EDU_DMA_CMD_TO_RAM : 0));
}

void edu_wait_idle(volatile void *bar, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	while (edu_busy(bar)) {
		if (now_ms() > end)
			FAIL("edu DMA did not complete within %u ms", ms);
		usleep(1000);
	}
}
