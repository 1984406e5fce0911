/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Revocation events: when an exporter takes back a dma-buf that the
 * container maps, the kernel unmaps it from the IOMMU and signals an
 * eventfd (VFIO_IOMMU_DMABUF_SET_EVENTFD).  The driver polls that fd and
 * asks which mappings were revoked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"

int vfd_container_revoke_fd(struct vfd_container *c)
{
	struct vfd_error e = { 0 };
	int fd, ret;

	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (c->revoke_fd >= 0) {
		ret = c->revoke_fd;
		goto out;
	}
	if (!c->iommu_set) {
		ret = vfd__err(&e, -ENODEV, "the revoke fd needs a device "
			       "opened in the container first");
		goto out;
	}
	if (!c->ops->set_revoke_eventfd) {
		ret = vfd__err(&e, -EOPNOTSUPP, "the %s backend cannot signal "
			       "revocations", c->ops->name);
		goto out;
	}
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		ret = vfd__err_errno(&e, -errno, "eventfd");
		goto out;
	}
	ret = c->ops->set_revoke_eventfd(c, fd, &e);
	if (ret) {
		close(fd);
		goto out;
	}
	c->revoke_fd = ret = fd;
out:
	pthread_mutex_unlock(&c->lock);
	if (ret < 0)
		vfd__errslot_store(&c->err, &e);
	return ret;
}

int vfd_dma_revoked(struct vfd_container *c, struct vfd_dma_mapping *out,
		    size_t max)
{
	struct vfd_error e = { 0 };
	uint64_t iova = 0, size, count;
	int n = 0, ret = 0;

	if (!c || (max && !out))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (!c->ops->find_revoked) {
		ret = vfd__err(&e, -EOPNOTSUPP, "the %s backend cannot report "
			       "revocations", c->ops->name);
		goto out;
	}
	/* Clear the event first: a revoke from now on fires it again. */
	if (c->revoke_fd >= 0 &&
	    read(c->revoke_fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
		ret = vfd__err_errno(&e, -errno, "read the revoke eventfd");
		goto out;
	}
	if (!c->iommu_set)
		goto out;
	for (;;) {
		const struct vfd_dma_mapping *m;

		ret = c->ops->find_revoked(c, &iova, &size, &e);
		if (ret == -ENOENT) {
			ret = 0;
			break;
		}
		if (ret)
			goto out;
		m = vfd__dma_at_locked(c, iova);
		if (!m) {
			ret = vfd__err(&e, -EPROTO, "the kernel reports a revoked "
				       "mapping at IOVA 0x%" PRIx64 " that this "
				       "library did not make", iova);
			goto out;
		}
		if ((size_t)n < max)
			out[n] = *m;
		if (n < INT32_MAX)
			n++;
		if (iova + size < iova)
			break;		/* the last range of the IOVA space */
		iova += size;
	}
out:
	pthread_mutex_unlock(&c->lock);
	if (ret)
		return vfd__errslot_store(&c->err, &e);
	return n;
}
