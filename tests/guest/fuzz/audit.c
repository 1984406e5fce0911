// SPDX-License-Identifier: GPL-2.0-only
/*
 * The model against the kernel beyond single answers: an audit of every
 * mapping's state and the entries left, a canary mapping proven by
 * device DMA, and DMA through (and blocked at) the fuzzer's own mappings.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <sys/ioctl.h>

static void data_checks(struct fz *z);

void canary_map(struct fz *z)
{
	if (fx_map_dmabuf_raw(z->cfd, z->canary_fd, 0, z->canary_iova, CANARY_PAGES * 4096ull, RW) < 0)
		ZFAIL(z, "mapping the canary at 0x%" PRIx64 ": %s", z->canary_iova,
		      strerrorname(errno));
	z->m[z->n++] = (struct mm){ .iova = z->canary_iova, .size = CANARY_PAGES * 4096ull,
				    .dmabuf = true, .bufid = z->canary_bufid };
}

void canary_check(struct fz *z)
{
	int i = m_find(z, z->canary_iova);

	if (i < 0 || !z->m[i].dmabuf || z->m[i].bufid != z->canary_bufid) {
		/* an UNMAP took it: map it again if there is room */
		if (m_overlap(z, z->canary_iova, CANARY_PAGES * 4096ull) >= 0 || z->n >= z->limit)
			return;
		canary_map(z);
		z->canary_remaps++;
	} else {
		z->canary_survived++;	/* the same mapping as at the last check */
	}
	fx_verify_rw(z->fx->edu, z->canary_fd, z->canary_cpu, z->canary_iova,
		     CANARY_PAGES * 4096ull, (uint32_t)z->call);
	z->canary_checks++;
	data_checks(z);
}

static struct fdent *fd_of(struct fz *z, unsigned int bufid)
{
	for (unsigned int i = 0; i < z->nfds; i++)
		if (z->fds[i].bufid == bufid && z->fds[i].kind == FK_DMABUF)
			return &z->fds[i];
	return NULL;	/* its fd was replaced: only the mapping holds it */
}

/*
 * Device DMA through a random live dma-buf mapping the fuzzer made (any
 * layout, any offset): the bytes must land in the right pages of the
 * buffer.  And a device write through a revoked mapping of a buffer the
 * exporter has given back (RESTORE) or only moved must not land at all.
 */
static void data_checks(struct fz *z)
{
	unsigned int start = z->n ? (unsigned int)rndn(&z->rng, z->n) : 0, k;
	bool live = false, dead = false;

	for (k = 0; k < z->n && !(live && dead); k++) {
		const struct mm *m = &z->m[(start + k) % z->n];
		struct fdent *f = m->dmabuf ? fd_of(z, m->bufid) : NULL;
		uint8_t *cpu;

		if (!f || !f->cpu || f->revoked || m->size < 2 * z->pg)
			continue;
		cpu = f->cpu + m->off;
		if (!m->revoked && m->flags == RW && !live) {
			fx_verify_rw(z->fx->edu, f->fd, cpu, m->iova, m->size, (uint32_t)z->call);
			z->live_checks++;
			live = true;
		} else if (m->revoked && !dead) {
			fx_cpu_begin(f->fd);
			memset(cpu, 0xee, 4096);
			fx_cpu_end(f->fd);
			fx_edu_write(z->fx->edu, m->iova, FAULT_PROBE_BYTES);
			fx_cpu_begin(f->fd);
			for (unsigned int b = 0; b < 4096; b++)
				if (cpu[b] != 0xee)
					ZFAIL(z, "a device write through the revoked mapping 0x%" PRIx64
					      "+0x%" PRIx64 " of %s reached byte %u of the buffer: a"
					      " stale IOMMU mapping", m->iova, m->size, f->name, b);
			fx_cpu_end(f->fd);
			z->revoked_checks++;
			dead = true;
		}
	}
}

void audit(struct fz *z)
{
	struct vfio_iommu_type1_dmabuf_state s;
	struct vfd_iommu_info info;

	for (unsigned int i = 0; i < z->n; i++) {
		const struct mm *m = &z->m[i];

		s = (struct vfio_iommu_type1_dmabuf_state){ .argsz = sizeof(s), .iova = m->iova };
		errno = 0;
		if (ioctl(z->cfd, VFIO_IOMMU_DMABUF_GET_STATE, &s) < 0) {
			if (!m->dmabuf && errno == EINVAL)
				continue;
			ZFAIL(z, "audit at call %" PRIu64 ": GET_STATE 0x%" PRIx64 " (%s in the model): %s",
			      z->call, m->iova, m->dmabuf ? "dma-buf" : "MAP_DMA", strerrorname(errno));
		}
		if (!m->dmabuf || s.size != m->size ||
		    s.state != (m->revoked ? VFIO_DMABUF_STATE_REVOKED : VFIO_DMABUF_STATE_MAPPED))
			ZFAIL(z, "audit at call %" PRIu64 ": 0x%" PRIx64 ": state %u size 0x%llx, the"
			      " model has %s 0x%" PRIx64 " %s", z->call, m->iova, s.state,
			      (unsigned long long)s.size, m->dmabuf ? "dma-buf" : "MAP_DMA", m->size,
			      m->revoked ? "revoked" : "");
	}
	if (vfd_container_iommu_info(z->fx->c, &info) < 0)
		ZFAIL(z, "GET_INFO: %s", vfd_container_errmsg(z->fx->c));
	if (info.dma_avail != z->limit - z->n)
		ZFAIL(z, "audit at call %" PRIu64 ": %u DMA entries left, the model has %u of %u",
		      z->call, info.dma_avail, z->n, z->limit);
	z->audits++;
}
