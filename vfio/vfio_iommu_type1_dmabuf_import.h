/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The dma-buf importer of VFIO type1 (vfio_iommu_type1_dmabuf_import.c):
 * one struct vfio_dmabuf_import per dma-buf and container, and the IOMMU
 * mappings of its windows.  Used by vfio_iommu_type1_dmabuf.c, which owns
 * the container side (ioctls, vfio_dma entries, the tree of imports).
 *
 * Lock order: iommu->lock -> dma_resv of the dma-buf -> import->lock.
 * See the top of vfio_iommu_type1_dmabuf_import.c for what each protects.
 */
#ifndef __VFIO_IOMMU_TYPE1_DMABUF_IMPORT_H
#define __VFIO_IOMMU_TYPE1_DMABUF_IMPORT_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct dma_buf;
struct dma_buf_attachment;
struct iommu_domain;
struct mm_struct;
struct sg_table;
struct vfio_dmabuf_batch;
struct vfio_iommu;

/* A physically contiguous piece of the dma-buf, in dma-buf offset order. */
struct vfio_dmabuf_run {
	u64			offset;		/* into the dma-buf */
	phys_addr_t		phys;
	u64			len;
	bool			mmio;		/* no struct pages: IOMMU_MMIO */
};

/* An IOMMU domain that every window of an import is mapped into. */
struct vfio_dmabuf_domain {
	struct list_head	node;		/* import->domains */
	struct iommu_domain	*domain;
};

struct vfio_dmabuf_import {
	/* Container side, under iommu->lock (vfio_iommu_type1_dmabuf.c) */
	struct rb_node			node;		/* iommu->dmabuf_imports */
	bool				in_tree;

	/*
	 * Written by vfio_dmabuf_import_create() before anyone else can
	 * see the import, then constant.  ->key is the dma_buf's address,
	 * for the container's tree only: it is never dereferenced, and
	 * stays valid as a key after a revoked import dropped its dma_buf.
	 */
	const void			*key;
	struct vfio_iommu		*iommu;
	struct vfio_dmabuf_run		*runs;
	unsigned int			nr_runs;
	u64				mapped_len;	/* what the runs cover */
	struct mm_struct		*mm;		/* charged, or NULL */
	unsigned long			locked_pages;	/* charged to mm */

	/*
	 * The exporter's side, under the dma_resv: our references, until
	 * the import is released (a revoke releases at once, in
	 * ->release_work; else the last put).
	 */
	struct dma_buf			*dmabuf;
	struct dma_buf_attachment	*attach;
	struct sg_table			*sgt;		/* NULL once unmapped */
	bool				pinned;
	bool				creating;	/* a move now is a migration */

	/* The IOMMU side, under ->lock */
	struct mutex			lock;
	bool				revoked;
	struct list_head		windows;	/* vfio_dmabuf.node */
	struct list_head		domains;	/* vfio_dmabuf_domain */

	/* Windows, the creating ioctl, a queued release */
	struct kref			ref;
	struct work_struct		release_work;
};

/* A window: one VFIO_IOMMU_MAP_DMABUF range, the ->dmabuf of a vfio_dma. */
struct vfio_dmabuf {
	/* Set up by vfio_dmabuf_window_create(), then constant */
	struct vfio_dmabuf_import	*import;	/* holds a reference */
	u64				offset;		/* into the dma-buf */
	size_t				size;
	int				prot;		/* IOMMU_READ/WRITE */
	dma_addr_t			iova;
	struct list_head		node;		/* import->windows, ->lock */
};

int vfio_dmabuf_importer_init(void);
void vfio_dmabuf_importer_exit(void);

/*
 * Attach, pin and map @dmabuf for @iommu, with no container lock held.
 * The import takes its own reference on @dmabuf.  Returns the import with
 * one reference (the caller's), or an ERR_PTR.
 */
struct vfio_dmabuf_import *vfio_dmabuf_import_create(struct vfio_iommu *iommu,
						     struct dma_buf *dmabuf);
void vfio_dmabuf_import_get(struct vfio_dmabuf_import *imp);
/* Drops a reference; the last gives everything back to the exporter. */
void vfio_dmabuf_import_put(struct vfio_dmabuf_import *imp);
bool vfio_dmabuf_import_revoked(struct vfio_dmabuf_import *imp);

/*
 * A window [@offset, @offset + @size) of @imp: checks that the exporter's
 * memory covers it with page-aligned runs.  Takes a reference on @imp.
 */
struct vfio_dmabuf *vfio_dmabuf_window_create(struct vfio_dmabuf_import *imp,
					      u64 offset, size_t size,
					      int prot);
void vfio_dmabuf_window_free(struct vfio_dmabuf *w);
/* Are all physically contiguous slices of @w aligned to @align? */
bool vfio_dmabuf_window_aligned(const struct vfio_dmabuf *w, u64 align,
				phys_addr_t *badp, size_t *badlenp);
/* The physically contiguous slices of @w: its iommu_map() calls. */
unsigned int vfio_dmabuf_window_slices(const struct vfio_dmabuf *w);

/*
 * Map window @w at @iova into every domain on @domains (a list of struct
 * vfio_domain, iommu->domain_list) and add it to its import.  -ENODEV if
 * the import is revoked.  Nothing is left mapped on failure.
 */
int vfio_dmabuf_window_insert(struct vfio_dmabuf *w, dma_addr_t iova,
			      struct list_head *domains);
/*
 * Unmap @w from every domain and take it off its import.  With @batch, the
 * IOTLB flush is left to vfio_dmabuf_batch_end() for the domains @batch
 * gathers.  Returns whether the import has other windows.
 */
bool vfio_dmabuf_window_remove(struct vfio_dmabuf *w,
			       struct vfio_dmabuf_batch *batch);
/* Is @w mapped in at least one IOMMU domain? */
bool vfio_dmabuf_window_mapped(struct vfio_dmabuf *w);

/* Map every window of @imp into @domain (replay); all or nothing. */
int vfio_dmabuf_import_map_domain(struct vfio_dmabuf_import *imp,
				  struct iommu_domain *domain);
/* Unmap every window of @imp from @domain before the domain is freed. */
void vfio_dmabuf_import_unmap_domain(struct vfio_dmabuf_import *imp,
				     struct iommu_domain *domain);

/* Called by the importer when an import with windows was revoked. */
void vfio_dmabuf_revoked(struct vfio_iommu *iommu);
/* The gather of an open batch for @domain, or NULL (flush at once). */
struct iommu_iotlb_gather *vfio_dmabuf_batch_gather(struct vfio_dmabuf_batch *batch,
						    struct iommu_domain *domain);

/* iommu_map() the slices of @w into @domain (the test floor uses it too). */
int vfio_dmabuf_map_window(struct vfio_dmabuf *w, struct iommu_domain *domain);

#endif /* __VFIO_IOMMU_TYPE1_DMABUF_IMPORT_H */
