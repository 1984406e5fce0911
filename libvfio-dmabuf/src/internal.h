/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal declarations shared by the library's source files. */
#ifndef VFD_INTERNAL_H
#define VFD_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "vfio-dmabuf.h"
#include "iova_alloc.h"
#include "caps.h"

#define VFD_INTERNAL __attribute__((visibility("hidden")))
#define VFD_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define VFD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- error.c ---------------------------------------------------------- */

/* Per-handle "last error" slot, with its own lock (never held while
 * taking another lock). */
struct vfd_errslot {
	pthread_mutex_t lock;
	struct vfd_error e;
};

VFD_INTERNAL void vfd__errslot_init(struct vfd_errslot *s);
VFD_INTERNAL void vfd__errslot_destroy(struct vfd_errslot *s);
/* Store @e in @s (if e->code != 0); returns e->code. */
VFD_INTERNAL int vfd__errslot_store(struct vfd_errslot *s,
				    const struct vfd_error *e);
VFD_INTERNAL const char *vfd__errslot_msg(const struct vfd_errslot *s);
VFD_INTERNAL int vfd__errslot_copy(const struct vfd_errslot *s,
				   struct vfd_error *out);

/* Set @e (may be NULL) to @code (negative errno) and a formatted message;
 * returns @code.  vfd__err_errno appends ": <strerror(-code)>". */
VFD_INTERNAL int vfd__err(struct vfd_error *e, int code, const char *fmt, ...)
	VFD_PRINTF(3, 4);
VFD_INTERNAL int vfd__err_errno(struct vfd_error *e, int code,
				const char *fmt, ...) VFD_PRINTF(3, 4);
VFD_INTERNAL void vfd__err_clear(struct vfd_error *e);
/* Prefix the message already in @e with "<prefix>: "; returns e->code. */
VFD_INTERNAL int vfd__err_prefix(struct vfd_error *e, const char *fmt, ...)
	VFD_PRINTF(2, 3);

/* ---- util.c ----------------------------------------------------------- */

/* Read a small text file, strip trailing newline.  -errno. */
VFD_INTERNAL int vfd__read_text(const char *path, char *buf, size_t len);
/* Write a string to a (sysfs) file in one write().  -errno. */
VFD_INTERNAL int vfd__write_text(const char *path, const char *s);
/* Basename of a symlink's target.  -errno. */
VFD_INTERNAL int vfd__readlink_base(const char *path, char *buf, size_t len);
/* snprintf that reports truncation as -ENAMETOOLONG. */
VFD_INTERNAL int vfd__path(char *buf, size_t len, const char *fmt, ...)
	VFD_PRINTF(3, 4);
/* Strict unsigned parse (base 0), whole string.  -EINVAL. */
VFD_INTERNAL int vfd__parse_u64(const char *s, uint64_t *out);
/* Monotonic clock in nanoseconds. */
VFD_INTERNAL uint64_t vfd__now_ns(void);
VFD_INTERNAL uint64_t vfd__page_size(void);

/* ---- sysfs.c (internal part) ----------------------------------------- */

VFD_INTERNAL bool vfd__is_vfio_driver(const char *driver);
VFD_INTERNAL const char *vfd__sysfs_root(const char *root);

/* ---- backends --------------------------------------------------------- */

struct vfd_group;

/*
 * A backend implements the IOMMU context.  The legacy VFIO container
 * (backend_type1.c) is the only one today; an iommufd backend would open
 * /dev/iommu, allocate an IOAS, open devices through
 * /dev/vfio/devices/vfioN (VFIO_DEVICE_BIND_IOMMUFD +
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT) and map dma-bufs with
 * IOMMU_IOAS_MAP_FILE.  The container code (DMA bookkeeping, IOVA
 * allocation, error reporting) is shared.
 * All ops are called with the container lock held.
 */
struct vfd_backend_ops {
	const char *name;
	int (*open)(struct vfd_container *c, struct vfd_error *e);
	void (*close)(struct vfd_container *c);
	/* Give the device fd for @sd; *priv identifies the attachment. */
	int (*attach_device)(struct vfd_container *c,
			     const struct vfd_sysfs_device *sd, int *devfd,
			     void **priv, struct vfd_error *e);
	/* Called after the device fd was closed. */
	void (*detach_device)(struct vfd_container *c, void *priv);
	int (*iommu_info)(struct vfd_container *c, struct vfd_iommu_info *info,
			  struct vfd_error *e);
	int (*map_dmabuf)(struct vfd_container *c, int fd, uint64_t offset,
			  uint64_t iova, uint64_t size, uint32_t flags,
			  struct vfd_error *e);
	int (*map_vaddr)(struct vfd_container *c, void *vaddr, uint64_t iova,
			 uint64_t size, uint32_t flags, struct vfd_error *e);
	int (*unmap)(struct vfd_container *c, uint64_t iova, uint64_t size,
		     struct vfd_error *e);
	int (*dmabuf_state)(struct vfd_container *c, uint64_t iova,
			    enum vfd_dmabuf_state *state, struct vfd_error *e);
	/* Signal @eventfd when a dma-buf mapping is revoked. */
	int (*set_revoke_eventfd)(struct vfd_container *c, int eventfd,
				  struct vfd_error *e);
	/* The revoked dma-buf mapping with the lowest IOVA >= *@iova: sets
	 * *@iova and *@size; -ENOENT if there is none. */
	int (*find_revoked)(struct vfd_container *c, uint64_t *iova,
			    uint64_t *size, struct vfd_error *e);
};

VFD_INTERNAL extern const struct vfd_backend_ops vfd__backend_type1;

/* ---- container -------------------------------------------------------- */

struct vfd_container {
	pthread_mutex_t lock;
	struct vfd_errslot err;
	const struct vfd_backend_ops *ops;
	char sysfs_root[256];
	char dev_root[256];
	uint32_t flags;

	int fd;			/* container / iommufd fd */
	bool iommu_set;		/* IOMMU type set (>= 1 group attached) */
	bool has_map_dmabuf;
	struct vfd_group *groups;
	unsigned int nr_groups;
	struct vfd_device *devices;
	unsigned int nr_devices;

	struct vfd_iova_alloc iova;	/* valid once iommu_set */
	uint64_t pgsizes;
	uint64_t restrict_lo, restrict_hi;

	struct vfd_dma_mapping *maps;	/* sorted by iova */
	size_t nr_maps, cap_maps;

	int revoke_fd;		/* eventfd, or -1 (revoke.c) */
};

/* vfd_container_open() with an explicit backend (NULL = from opts);
 * lets unit tests plug in a fake backend. */
VFD_INTERNAL int vfd__container_open_ops(struct vfd_container **out,
					 const struct vfd_container_opts *opts,
					 const struct vfd_backend_ops *ops,
					 struct vfd_error *err);

/* Called by the backend after the IOMMU became usable or its IOVA
 * ranges may have changed (new group).  Container lock held. */
VFD_INTERNAL int vfd__container_refresh_iova(struct vfd_container *c,
					     struct vfd_error *e);
/* Drop all DMA mappings (unmapping them). Container lock held. */
VFD_INTERNAL int vfd__dma_unmap_all_locked(struct vfd_container *c,
					   struct vfd_error *e);
VFD_INTERNAL void vfd__dma_forget_all(struct vfd_container *c);
/* The recorded mapping that starts at @iova, or NULL.  Container lock. */
VFD_INTERNAL const struct vfd_dma_mapping *
vfd__dma_at_locked(const struct vfd_container *c, uint64_t iova);

/* ---- group.c (type1 backend helper) ----------------------------------- */

struct vfd_group {
	struct vfd_group *next;
	int number;
	int fd;
	unsigned int refs;
};

VFD_INTERNAL int vfd__group_get(struct vfd_container *c, int number,
				struct vfd_group **out, struct vfd_error *e);
VFD_INTERNAL void vfd__group_put(struct vfd_container *c, struct vfd_group *g);

/* ---- device ----------------------------------------------------------- */

struct vfd_region_map {
	uint32_t index;
	void *ptr;
	size_t size;
};

struct vfd_device {
	struct vfd_device *next;	/* in container->devices */
	struct vfd_container *c;
	pthread_mutex_t lock;
	struct vfd_errslot err;
	char name[64];
	enum vfd_bus bus;
	int iommu_group;
	int fd;
	void *attach_priv;
	uint32_t flags;			/* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions, num_irqs;
	struct vfd_region_map *maps;
	size_t nr_maps;
	/* called when the device is closed (also by container close) */
	void (*close_hook)(void *ctx);
	void *close_ctx;
	struct vfd_region_cache {
		bool valid;
		uint32_t flags;
		uint64_t offset, size;
	} *rcache;			/* [num_regions] */
};

/* Region helpers that use an error struct instead of the device slot
 * (device lock not held by caller; they take it where needed). */
VFD_INTERNAL int vfd__region_info(struct vfd_device *d, uint32_t index,
				  struct vfd_region_info *info,
				  struct vfd_error *e);
VFD_INTERNAL void vfd__region_unmap_all(struct vfd_device *d);
VFD_INTERNAL void vfd__device_close_locked(struct vfd_device *d);

/* ---- dma-buf handle --------------------------------------------------- */

struct vfd_dmabuf {
	pthread_mutex_t lock;
	struct vfd_errslot err;
	enum vfd_dmabuf_source source;
	char source_name[48];
	int fd;
	bool own_fd;
	int memfd;
	size_t size;
	void *map;
};

#endif /* VFD_INTERNAL_H */
