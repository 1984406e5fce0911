/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device interrupts: info, eventfd wiring, mask/unmask, trigger. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"
#include "uapi.h"

static int fail(struct vfd_device *d, struct vfd_error *e)
{
	return vfd__errslot_store(&d->err, e);
}

int vfd_irq_info(struct vfd_device *d, uint32_t index,
		 struct vfd_irq_info *info)
{
	struct vfio_irq_info ii;
	struct vfd_error e = { 0 };

	if (!d || !info)
		return -EINVAL;
	if (index >= d->num_irqs) {
		vfd__err(&e, -EINVAL, "IRQ index %u out of range: %s has %u",
			 index, d->name, d->num_irqs);
		return fail(d, &e);
	}
	memset(&ii, 0, sizeof(ii));
	ii.argsz = sizeof(ii);
	ii.index = index;
	if (ioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii)) {
		vfd__err_errno(&e, -errno, "VFIO_DEVICE_GET_IRQ_INFO index %u "
			       "of %s", index, d->name);
		return fail(d, &e);
	}
	info->index = ii.index;
	info->flags = ii.flags;
	info->count = ii.count;
	return 0;
}

static int set_irqs(struct vfd_device *d, uint32_t flags, uint32_t index,
		    uint32_t start, uint32_t count, const int *fds,
		    const char *what)
{
	size_t data = fds ? count * sizeof(int32_t) : 0;
	struct vfio_irq_set *s = calloc(1, sizeof(*s) + data);
	struct vfd_error e = { 0 };
	int ret = 0;

	if (!s) {
		vfd__err(&e, -ENOMEM, "out of memory");
		return fail(d, &e);
	}
	s->argsz = (uint32_t)(sizeof(*s) + data);
	s->flags = flags;
	s->index = index;
	s->start = start;
	s->count = count;
	for (uint32_t i = 0; fds && i < count; i++) {
		int32_t v = fds[i];
		memcpy(s->data + i * sizeof(v), &v, sizeof(v));
	}
	if (ioctl(d->fd, VFIO_DEVICE_SET_IRQS, s))
		ret = vfd__err_errno(&e, -errno, "VFIO_DEVICE_SET_IRQS (%s) IRQ "
				     "index %u vectors %u+%u of %s", what, index,
				     start, count, d->name);
	free(s);
	return ret ? fail(d, &e) : 0;
}

int vfd_irq_enable(struct vfd_device *d, uint32_t index, uint32_t start,
		   uint32_t count, const int *eventfds)
{
	if (!d || !eventfds || count == 0)
		return -EINVAL;
	return set_irqs(d, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			index, start, count, eventfds, "enable");
}

int vfd_irq_enable_new(struct vfd_device *d, uint32_t index, uint32_t count,
		       int *eventfds)
{
	struct vfd_error e = { 0 };
	uint32_t i;
	int ret;

	if (!d || !eventfds || count == 0)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		eventfds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (eventfds[i] < 0) {
			ret = vfd__err_errno(&e, -errno, "eventfd");
			goto fail_close;
		}
	}
	ret = vfd_irq_enable(d, index, 0, count, eventfds);
	if (ret)
		goto fail_close_noerr;
	return 0;

fail_close:
	fail(d, &e);
fail_close_noerr:
	while (i-- > 0) {
		close(eventfds[i]);
		eventfds[i] = -1;
	}
	return ret;
}

int vfd_irq_disable(struct vfd_device *d, uint32_t index)
{
	if (!d)
		return -EINVAL;
	return set_irqs(d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			index, 0, 0, NULL, "disable");
}

int vfd_irq_mask(struct vfd_device *d, uint32_t index, uint32_t vector)
{
	if (!d)
		return -EINVAL;
	return set_irqs(d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
			index, vector, 1, NULL, "mask");
}

int vfd_irq_unmask(struct vfd_device *d, uint32_t index, uint32_t vector)
{
	if (!d)
		return -EINVAL;
	return set_irqs(d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
			index, vector, 1, NULL, "unmask");
}

int vfd_irq_trigger(struct vfd_device *d, uint32_t index, uint32_t vector)
{
	if (!d)
		return -EINVAL;
	return set_irqs(d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			index, vector, 1, NULL, "trigger");
}
