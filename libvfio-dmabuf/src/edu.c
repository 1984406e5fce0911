/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reference userspace driver for QEMU's edu PCI device (1234:11e8). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "vfio-dmabuf/edu.h"

struct vfd_edu {
	pthread_mutex_t lock;
	struct vfd_errslot err;
	struct vfd_device *d;
	volatile void *bar;
	size_t bar_size;
	uint32_t id;
	uint64_t dma_mask;
};

/* Order CPU writes to RAM before the doorbell write, and the completion
 * read before the CPU reads RAM the device wrote (like Linux's
 * dma_wmb()/dma_rmb() around writel()/readl()). */
static inline void wmb_dev(void)
{
#if defined(__aarch64__)
	__asm__ __volatile__("dmb oshst" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static inline void rmb_dev(void)
{
#if defined(__aarch64__)
	__asm__ __volatile__("dmb oshld" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

int vfd_edu_find(const char *sysfs_root, unsigned int index, char *name,
		 size_t namelen, struct vfd_error *err)
{
	int ret = vfd_sysfs_find_pci(sysfs_root, VFD_EDU_VENDOR_ID,
				     VFD_EDU_DEVICE_ID, index, name, namelen,
				     err);
	if (ret == -ENODEV)
		vfd__err(err, ret, "no edu device (PCI %04x:%04x)%s: start QEMU "
			 "with -device edu", VFD_EDU_VENDOR_ID,
			 VFD_EDU_DEVICE_ID, index ? " with that index" : "");
	return ret;
}

/* Move the device's last error into the container's slot. */
static int dev_err_to_container(struct vfd_container *c, struct vfd_device *d,
				int ret)
{
	struct vfd_error e;

	vfd_device_last_error(d, &e);
	e.code = ret;
	return vfd__errslot_store(&c->err, &e);
}

static void edu_device_gone(void *ctx)
{
	struct vfd_edu *e = ctx;

	e->d = NULL;
	e->bar = NULL;
}

int vfd_edu_open(struct vfd_container *c, const char *name, uint32_t flags,
		 struct vfd_edu **out)
{
	struct vfd_error e = { 0 };
	struct vfd_device *d = NULL;
	struct vfd_edu *edu = NULL;
	char found[64];
	uint16_t vendor, device;
	void *bar;
	size_t bar_size;
	int ret;

	if (!c)
		return -EINVAL;
	if (!out) {
		vfd__err(&e, -EINVAL, "vfd_edu_open: out is NULL");
		return vfd__errslot_store(&c->err, &e);
	}
	*out = NULL;
	if (!name) {
		ret = vfd_edu_find(c->sysfs_root, 0, found, sizeof(found), &e);
		if (ret)
			return vfd__errslot_store(&c->err, &e);
		name = found;
	}
	ret = vfd_device_open(c, name, flags & (VFD_DEVICE_BIND | VFD_DEVICE_RESET),
			      &d);
	if (ret)
		return ret;	/* message already in the container */

	ret = vfd_pci_config_read16(d, 0x00, &vendor);
	if (!ret)
		ret = vfd_pci_config_read16(d, 0x02, &device);
	if (ret) {
		dev_err_to_container(c, d, ret);
		goto fail;
	}
	if (vendor != VFD_EDU_VENDOR_ID || device != VFD_EDU_DEVICE_ID) {
		ret = vfd__err(&e, -ENODEV, "%s is PCI %04x:%04x, not an edu "
			       "device (%04x:%04x)", vfd_device_name(d), vendor,
			       device, VFD_EDU_VENDOR_ID, VFD_EDU_DEVICE_ID);
		vfd__errslot_store(&c->err, &e);
		goto fail;
	}
	ret = vfd_pci_enable_bus_master(d);
	if (!ret)
		ret = vfd_region_map(d, 0 /* BAR0 */, &bar, &bar_size);
	if (ret) {
		dev_err_to_container(c, d, ret);
		goto fail;
	}
	if (bar_size < VFD_EDU_REG_DMA_CMD + 8) {
		ret = vfd__err(&e, -ENODEV, "%s: BAR0 is only %zu bytes",
			       vfd_device_name(d), bar_size);
		vfd__errslot_store(&c->err, &e);
		goto fail;
	}

	edu = calloc(1, sizeof(*edu));
	if (!edu) {
		ret = vfd__err(&e, -ENOMEM, "out of memory");
		vfd__errslot_store(&c->err, &e);
		goto fail;
	}
	pthread_mutex_init(&edu->lock, NULL);
	vfd__errslot_init(&edu->err);
	edu->d = d;
	edu->bar = bar;
	edu->bar_size = bar_size;
	edu->id = vfd_mmio_read32(bar, VFD_EDU_REG_ID);
	edu->dma_mask = (flags & VFD_EDU_WIDE_DMA) ? UINT64_MAX :
						      VFD_EDU_DEFAULT_DMA_MASK;
	if ((edu->id & 0xff) != 0xed) {
		ret = vfd__err(&e, -ENODEV, "%s: unexpected edu ID register "
			       "0x%08x (expected 0x......ed)", vfd_device_name(d),
			       edu->id);
		vfd__errslot_store(&c->err, &e);
		goto fail;
	}
	ret = vfd_edu_check_liveness(edu, 0x12345678);
	if (ret) {
		vfd_edu_last_error(edu, &e);
		vfd__errslot_store(&c->err, &e);
		goto fail;
	}
	/* If the container closes the device first, forget it. */
	d->close_hook = edu_device_gone;
	d->close_ctx = edu;
	if (!(flags & VFD_EDU_WIDE_DMA)) {
		ret = vfd_container_restrict_iova(c, 0, VFD_EDU_DEFAULT_DMA_MASK);
		if (ret)
			goto fail;
	}
	*out = edu;
	return 0;

fail:
	d->close_hook = NULL;
	if (edu) {
		vfd__errslot_destroy(&edu->err);
		pthread_mutex_destroy(&edu->lock);
		free(edu);
	}
	vfd_device_close(d);
	return ret;
}

void vfd_edu_close(struct vfd_edu *e)
{
	if (!e)
		return;
	if (e->d)
		vfd_device_close(e->d);	/* clears e->d via the hook */
	vfd__errslot_destroy(&e->err);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

const char *vfd_edu_errmsg(const struct vfd_edu *e)
{
	return e ? vfd__errslot_msg(&e->err) : "no edu device";
}

int vfd_edu_last_error(const struct vfd_edu *e, struct vfd_error *out)
{
	if (!out)
		return -EINVAL;
	if (!e)
		return vfd__err(out, -EINVAL, "no edu device");
	return vfd__errslot_copy(&e->err, out);
}

struct vfd_device *vfd_edu_device(const struct vfd_edu *e)
{
	return e ? e->d : NULL;
}

uint32_t vfd_edu_id(const struct vfd_edu *e)
{
	return e ? e->id : 0;
}

int vfd_edu_check_liveness(struct vfd_edu *e, uint32_t v)
{
	struct vfd_error err;
	uint32_t got;

	if (!e)
		return -EINVAL;
	if (!e->d) {
		vfd__err(&err, -ENODEV, "the edu device was closed");
		return vfd__errslot_store(&e->err, &err);
	}
	pthread_mutex_lock(&e->lock);
	vfd_mmio_write32(e->bar, VFD_EDU_REG_LIVENESS, v);
	got = vfd_mmio_read32(e->bar, VFD_EDU_REG_LIVENESS);
	pthread_mutex_unlock(&e->lock);
	if (got != ~v) {
		vfd__err(&err, -EIO, "%s: liveness check failed: wrote 0x%08x, "
			 "read 0x%08x instead of 0x%08x", vfd_device_name(e->d),
			 v, got, ~v);
		return vfd__errslot_store(&e->err, &err);
	}
	return 0;
}

static int edu_dma(struct vfd_edu *e, bool to_ram, uint64_t iova,
		   uint32_t buf_off, uint32_t len, unsigned int timeout_ms)
{
	struct vfd_error err = { 0 };
	uint64_t src, dst, cmd, deadline;
	int ret = 0;

	if (!e->d) {
		vfd__err(&err, -ENODEV, "the edu device was closed (its "
			 "container was closed)");
		return vfd__errslot_store(&e->err, &err);
	}
	if (len == 0) {
		vfd__err(&err, -EINVAL, "edu DMA of 0 bytes");
		return vfd__errslot_store(&e->err, &err);
	}
	if (buf_off > VFD_EDU_DMA_LIMIT || len > VFD_EDU_DMA_LIMIT - buf_off) {
		vfd__err(&err, -EINVAL, "edu DMA of %u bytes at buffer offset "
			 "%u leaves the device buffer or touches its last byte "
			 "(limit: offset + length <= %u)", len, buf_off,
			 VFD_EDU_DMA_LIMIT);
		return vfd__errslot_store(&e->err, &err);
	}
	if (iova > e->dma_mask || len - 1 > e->dma_mask - iova) {
		vfd__err(&err, -ERANGE, "IOVA 0x%" PRIx64 "+%u is above the edu "
			 "DMA mask 0x%" PRIx64 " (the device would silently "
			 "truncate it; open with VFD_EDU_WIDE_DMA if QEMU runs "
			 "edu with a wider dma_mask)", iova, len, e->dma_mask);
		return vfd__errslot_store(&e->err, &err);
	}
	if (timeout_ms == 0)
		timeout_ms = VFD_EDU_DEFAULT_TIMEOUT_MS;
	src = to_ram ? VFD_EDU_BUF_ADDR + buf_off : iova;
	dst = to_ram ? iova : VFD_EDU_BUF_ADDR + buf_off;
	cmd = VFD_EDU_DMA_CMD_START | (to_ram ? VFD_EDU_DMA_CMD_TO_RAM : 0);

	pthread_mutex_lock(&e->lock);
	if (vfd_mmio_read64(e->bar, VFD_EDU_REG_DMA_CMD) & VFD_EDU_DMA_CMD_START) {
		ret = vfd__err(&err, -EBUSY, "%s: a previous edu DMA is still "
			       "running", vfd_device_name(e->d));
		goto out;
	}
	vfd_mmio_write64(e->bar, VFD_EDU_REG_DMA_SRC, src);
	vfd_mmio_write64(e->bar, VFD_EDU_REG_DMA_DST, dst);
	vfd_mmio_write64(e->bar, VFD_EDU_REG_DMA_COUNT, len);
	wmb_dev();
	vfd_mmio_write64(e->bar, VFD_EDU_REG_DMA_CMD, cmd);

	deadline = vfd__now_ns() + (uint64_t)timeout_ms * 1000000ull;
	while (vfd_mmio_read64(e->bar, VFD_EDU_REG_DMA_CMD) &
	       VFD_EDU_DMA_CMD_START) {
		if (vfd__now_ns() > deadline) {
			ret = vfd__err(&err, -ETIMEDOUT,
				       "%s: edu DMA %s (IOVA 0x%" PRIx64 ", %u "
				       "bytes) did not complete within %u ms",
				       vfd_device_name(e->d),
				       to_ram ? "device->RAM" : "RAM->device",
				       iova, len, timeout_ms);
			goto out;
		}
		struct timespec ts = { 0, 1000000 };	/* 1 ms */
		nanosleep(&ts, NULL);
	}
	rmb_dev();
out:
	pthread_mutex_unlock(&e->lock);
	if (ret)
		vfd__errslot_store(&e->err, &err);
	return ret;
}

int vfd_edu_dma_to_device(struct vfd_edu *e, uint64_t src_iova,
			  uint32_t buf_off, uint32_t len,
			  unsigned int timeout_ms)
{
	if (!e)
		return -EINVAL;
	return edu_dma(e, false, src_iova, buf_off, len, timeout_ms);
}

int vfd_edu_dma_from_device(struct vfd_edu *e, uint32_t buf_off,
			    uint64_t dst_iova, uint32_t len,
			    unsigned int timeout_ms)
{
	if (!e)
		return -EINVAL;
	return edu_dma(e, true, dst_iova, buf_off, len, timeout_ms);
}
