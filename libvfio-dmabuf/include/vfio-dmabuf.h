/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfio-dmabuf: map dma-bufs (and ordinary memory) into a device's IOMMU
 * address space through VFIO, from userspace.
 *
 * From "a device name and a dma-buf fd" to "the device DMAs at IOVA X":
 *
 *	struct vfd_error err;
 *	struct vfd_container *c;
 *	struct vfd_device *d;
 *	uint64_t iova = VFD_IOVA_ANY;
 *
 *	if (vfd_container_open(&c, NULL, &err) < 0)
 *		errx(1, "%s", err.msg);
 *	if (vfd_device_open(c, "0000:00:03.0", VFD_DEVICE_BIND, &d) < 0)
 *		errx(1, "%s", vfd_container_errmsg(c));
 *	if (vfd_dma_map_dmabuf(c, dmabuf_fd, 0, size, &iova, VFD_DMA_RW) < 0)
 *		errx(1, "%s", vfd_container_errmsg(c));
 *	... program the device to DMA at `iova` ...
 *	vfd_container_close(c);		// unmaps, closes devices and groups
 *
 * ERRORS
 *   Every fallible function returns 0 (or a documented non-negative value)
 *   on success and a negative errno on failure.  A readable message that
 *   says what went wrong (and, where possible, what to do) is stored:
 *     - in the handle the function was called on (its first argument):
 *       read it with vfd_<handle>_errmsg() or, from multi-threaded code,
 *       copy it with vfd_<handle>_last_error();
 *     - for functions that have no handle yet (vfd_container_open(),
 *       vfd_dmabuf_create*(), vfd_sysfs_*()), in the caller's optional
 *       `struct vfd_error *err` out-parameter (may be NULL).
 *   Functions that create a handle *from* another handle (vfd_device_open()
 *   from a container, vfd_edu_open()) report in that parent handle.
 *   A successful call does not clear the stored error.
 *
 *   Error codes used consistently across the library:
 *     -ENODEV      no such device (name not in sysfs), or no /dev/vfio/vfio
 *     -ENXIO       device exists but is not bound to a VFIO driver / has no
 *                  IOMMU group (bind it: VFD_DEVICE_BIND or vfd_sysfs_bind())
 *     -EBUSY       IOMMU group not viable (another device of the group is
 *                  bound to a non-VFIO driver), or group already in use
 *     -ENOSPC      IOVA space exhausted (library allocator), or the kernel
 *                  DMA mapping limit was reached
 *     -EEXIST      requested IOVA range overlaps an existing mapping
 *     -ERANGE      requested IOVA range is outside the usable IOVA ranges
 *     -EINVAL      bad argument (unaligned IOVA/size, zero size, ...)
 *     -ENOENT      nothing is mapped at that IOVA (vfd_dma_unmap/lookup)
 *     -EOPNOTSUPP  kernel lacks VFIO_IOMMU_MAP_DMABUF (or other feature)
 *     -ENOTTY      device does not support the operation (e.g. reset)
 *     -ETIMEDOUT   a device operation did not complete (edu DMA)
 *     -EPROTO      malformed data from the kernel (capability chains)
 *     other        the errno of the failing system call, passed through
 *
 * THREADS
 *   No global state.  Handles may be shared between threads: each handle
 *   has a mutex around its shared state (container: mappings, IOVA
 *   allocator, groups, devices; device: region mmaps).  Closing a
 *   handle while another thread uses it is the caller's bug.
 *   vfd_*_errmsg() returns a pointer into the handle that the next failing
 *   call on the same handle may overwrite: with several threads use
 *   vfd_*_last_error(), which copies under the handle's lock.
 *
 * BACKENDS
 *   A container is an "IOMMU context".  Today the only backend is the
 *   legacy VFIO container (/dev/vfio/vfio, type1v2 IOMMU, the
 *   VFIO_IOMMU_MAP_DMABUF ioctl for dma-bufs).  The implementation goes
 *   through an internal backend ops table (open, attach device, map dma-buf,
 *   map vaddr, unmap, IOMMU info, close) so that an iommufd backend
 *   (/dev/iommu + /dev/vfio/devices/vfioN, IOMMU_IOAS_MAP_FILE with a
 *   dma-buf fd) can be added without changing this API: select it with
 *   vfd_container_opts.backend = VFD_BACKEND_IOMMUFD (now -EOPNOTSUPP).
 *
 * All public symbols start with vfd_ / struct vfd_ / VFD_.
 */
#ifndef VFIO_DMABUF_H
#define VFIO_DMABUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VFD_VERSION_MAJOR 0
#define VFD_VERSION_MINOR 1
#define VFD_VERSION_PATCH 0

/** Library version string, e.g. "0.1.0". */
const char *vfd_version(void);

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

#define VFD_ERRMSG_MAX 256

/** An error: negative errno (0 = none) and a readable message. */
struct vfd_error {
	int code;
	char msg[VFD_ERRMSG_MAX];
};

/* ------------------------------------------------------------------ */
/* Handles (opaque)                                                    */
/* ------------------------------------------------------------------ */

struct vfd_container;	/* IOMMU context: groups, devices, DMA mappings */
struct vfd_device;	/* one VFIO device (PCI or platform) */
struct vfd_dmabuf;	/* a dma-buf fd + size (+ CPU mapping) */

/* ------------------------------------------------------------------ */
/* Container                                                           */
/* ------------------------------------------------------------------ */

enum vfd_backend {
	VFD_BACKEND_AUTO = 0,	/* currently: legacy VFIO container */
	VFD_BACKEND_VFIO_TYPE1,	/* /dev/vfio/vfio, type1v2 IOMMU */
	VFD_BACKEND_IOMMUFD,	/* reserved: /dev/iommu (not implemented) */
};

/* vfd_container_opts.flags */
/** Fail vfd_container_open() with -EOPNOTSUPP unless the kernel offers
 *  VFIO_IOMMU_MAP_DMABUF (extension VFIO_TYPE1_MAP_DMABUF). */
#define VFD_CONTAINER_REQUIRE_MAP_DMABUF (1u << 0)
/**
 * A no-IOMMU container (VFIO_NOIOMMU_IOMMU), for devices that no IOMMU
 * translates, such as the platform devices of many SoCs: their groups are
 * /dev/vfio/noiommu-N.  Needs a vfio.ko built with CONFIG_VFIO_NOIOMMU,
 * loaded with enable_unsafe_noiommu_mode=1 (it taints the kernel), and
 * CAP_SYS_RAWIO.  Regions and interrupts work as usual; nothing can be
 * mapped for DMA (vfd_dma_map_*() fail with -EOPNOTSUPP): such a device
 * reaches all of physical memory, unprotected.  Such a container takes
 * only no-IOMMU groups, and an ordinary one none (-ENXIO, saying so).
 */
#define VFD_CONTAINER_NOIOMMU		(1u << 1)

/** Options for vfd_container_open(); pass NULL for defaults.  Zero-fill
 *  unused fields (designated initialisers) so later additions stay
 *  compatible. */
struct vfd_container_opts {
	enum vfd_backend backend;
	uint32_t flags;		/* VFD_CONTAINER_* */
	const char *sysfs_root;	/* NULL = "/sys" (tests use a fake tree) */
	const char *dev_root;	/* NULL = "/dev" (for /dev/vfio/...) */
};

/**
 * Open an IOMMU context (the VFIO container /dev/vfio/vfio), check the
 * VFIO API version and that the type1v2 IOMMU is available.  The IOMMU
 * type is set when the first device (group) is attached; IOMMU info and
 * DMA mapping need at least one device.
 * Errors go to @err (may be NULL).  Returns 0 and *out, or -errno.
 */
int vfd_container_open(struct vfd_container **out,
		       const struct vfd_container_opts *opts,
		       struct vfd_error *err);

/** Unmap every mapping, close every device and group of the container,
 *  close the container.  NULL is ignored. */
void vfd_container_close(struct vfd_container *c);

/** Message of the last error on @c ("" if none).  See THREADS above. */
const char *vfd_container_errmsg(const struct vfd_container *c);
/** Copy the last error of @c into @out (thread-safe).  Returns out->code. */
int vfd_container_last_error(const struct vfd_container *c,
			     struct vfd_error *out);

/** The container (or iommufd) file descriptor, for raw ioctls. */
int vfd_container_fd(const struct vfd_container *c);
/** Backend name: "vfio-type1" (or later "iommufd"). */
const char *vfd_container_backend_name(const struct vfd_container *c);
/** True if the kernel supports VFIO_IOMMU_MAP_DMABUF on this container. */
bool vfd_container_has_map_dmabuf(const struct vfd_container *c);
/** Number of IOMMU groups / devices currently attached. */
unsigned int vfd_container_nr_groups(const struct vfd_container *c);
unsigned int vfd_container_nr_devices(const struct vfd_container *c);

#define VFD_MAX_IOVA_RANGES 64

/** An inclusive IOVA range [start, end]. */
struct vfd_iova_range {
	uint64_t start;
	uint64_t end;
};

/** What VFIO_IOMMU_GET_INFO (with its capability chain) reports. */
struct vfd_iommu_info {
	uint32_t flags;		/* raw VFIO_IOMMU_INFO_* flags */
	uint64_t pgsizes;	/* bitmap of supported IOMMU page sizes */
	/* usable IOVA ranges (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE), sorted;
	 * if !ranges_reported the library assumes [0, 2^64-1] */
	bool ranges_reported;
	bool ranges_truncated;	/* more than VFD_MAX_IOVA_RANGES */
	uint32_t nr_ranges;
	struct vfd_iova_range ranges[VFD_MAX_IOVA_RANGES];
	/* remaining DMA mappings (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) */
	bool dma_avail_reported;
	uint32_t dma_avail;
	/* VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, if present */
	bool migration_reported;
	uint64_t migration_pgsize_bitmap;
	uint64_t migration_max_dirty_bitmap_size;
};

/**
 * Query the IOMMU: page sizes, usable IOVA ranges, DMA mappings left.
 * Needs an attached device (-ENODEV "attach a device first" otherwise).
 * Queried afresh each call (dma_avail changes).
 */
int vfd_container_iommu_info(struct vfd_container *c,
			     struct vfd_iommu_info *info);

/**
 * Restrict the IOVAs the library *allocates* (VFD_IOVA_ANY) to
 * [lo, hi] intersected with the usable ranges, e.g. for a device with a
 * narrow DMA mask.  Only narrows: successive calls intersect.  Fixed-IOVA
 * mappings are not affected.  -EINVAL if lo > hi.
 */
int vfd_container_restrict_iova(struct vfd_container *c, uint64_t lo,
				uint64_t hi);

/* ------------------------------------------------------------------ */
/* DMA mappings                                                        */
/* ------------------------------------------------------------------ */

/** Pass *iova == VFD_IOVA_ANY to let the library choose the IOVA. */
#define VFD_IOVA_ANY UINT64_MAX

/* flags for vfd_dma_map_*() */
#define VFD_DMA_READ	(1u << 0)	/* device may read the memory */
#define VFD_DMA_WRITE	(1u << 1)	/* device may write the memory */
#define VFD_DMA_RW	(VFD_DMA_READ | VFD_DMA_WRITE)
/** For library-chosen IOVAs: align to 2^shift bytes (shift 12..63).
 *  Default: the largest IOMMU page size that is <= the mapping size
 *  (so large IOMMU pages can be used), at least the minimum page size. */
#define VFD_DMA_ALIGN_SHIFT(shift) (((uint32_t)(shift) & 0x3fu) << 8)
#define VFD_DMA_ALIGN_MASK	(0x3fu << 8)

/**
 * Map @size bytes of the dma-buf @dmabuf_fd, starting at byte @offset of
 * the buffer, at an IOVA.  In: *iova = the IOVA to use, or VFD_IOVA_ANY.
 * Out: *iova = the IOVA used.  @offset, @size and a fixed *iova must be
 * multiples of the minimum IOMMU page size (-EINVAL otherwise).  The
 * caller keeps ownership of @dmabuf_fd (the kernel holds its own
 * reference while mapped; the fd may be closed after mapping).
 * Uses VFIO_IOMMU_MAP_DMABUF (-EOPNOTSUPP if the kernel lacks it).
 */
int vfd_dma_map_dmabuf(struct vfd_container *c, int dmabuf_fd,
		       uint64_t offset, uint64_t size, uint64_t *iova,
		       uint32_t flags);

/**
 * Map @size bytes of process memory at @vaddr (page aligned) with
 * VFIO_IOMMU_MAP_DMA.  *iova in/out as for vfd_dma_map_dmabuf().
 * The memory must stay mapped in the process until vfd_dma_unmap().
 */
int vfd_dma_map_mem(struct vfd_container *c, void *vaddr, uint64_t size,
		    uint64_t *iova, uint32_t flags);

/** Unmap the mapping that starts exactly at @iova (-ENOENT if none). */
int vfd_dma_unmap(struct vfd_container *c, uint64_t iova);

/** Unmap every mapping of the container.  Returns the number unmapped. */
int vfd_dma_unmap_all(struct vfd_container *c);

enum vfd_dma_kind {
	VFD_DMA_KIND_MEM = 1,	/* process memory (MAP_DMA) */
	VFD_DMA_KIND_DMABUF,	/* dma-buf (MAP_DMABUF) */
};

/** One mapping, as recorded by the library. */
struct vfd_dma_mapping {
	uint64_t iova;
	uint64_t size;
	uint32_t flags;		/* VFD_DMA_READ/WRITE */
	enum vfd_dma_kind kind;
	void *vaddr;		/* KIND_MEM: process address */
	int dmabuf_fd;		/* KIND_DMABUF: fd given at map time (may
				   since have been closed by the caller) */
	uint64_t dmabuf_offset;	/* KIND_DMABUF: offset in the buffer */
	bool iova_allocated;	/* IOVA was chosen by the library */
};

/** Find the mapping that contains @iova.  0 and *out, or -ENOENT. */
int vfd_dma_lookup(struct vfd_container *c, uint64_t iova,
		   struct vfd_dma_mapping *out);

/**
 * Copy up to @max mappings, sorted by IOVA, into @out (may be NULL if
 * @max is 0).  Returns the total number of mappings (may exceed @max).
 */
int vfd_dma_list(struct vfd_container *c, struct vfd_dma_mapping *out,
		 size_t max);

enum vfd_dmabuf_state {
	VFD_DMABUF_STATE_MAPPED = 1,	/* mapped in every IOMMU domain */
	VFD_DMABUF_STATE_REVOKED = 2,	/* exporter revoked it: DMA faults;
					   the IOVA range stays reserved
					   until vfd_dma_unmap() */
	VFD_DMABUF_STATE_UNMAPPED = 3,	/* not revoked, but the container has
					   no IOMMU domain now: nothing
					   translates it */
};

/**
 * Ask the kernel (VFIO_IOMMU_DMABUF_GET_STATE) about the dma-buf mapping
 * that starts at @iova.  -ENOENT nothing mapped there, -EINVAL it is not
 * a dma-buf mapping, -EOPNOTSUPP kernel lacks the ioctl.
 */
int vfd_dma_dmabuf_state(struct vfd_container *c, uint64_t iova,
			 enum vfd_dmabuf_state *state);

/**
 * A file descriptor that becomes readable (POLLIN) when an exporter
 * revokes a dma-buf of which the container maps at least one range: put it
 * into the driver's event loop, then call vfd_dma_revoked().  The container
 * owns it (vfd_container_close() closes it); the same fd is returned on
 * every call.  Needs a device opened in the container.
 * Returns the fd, or -EOPNOTSUPP (the kernel cannot signal revocations),
 * -ENODEV (no device yet), other -errno.
 */
int vfd_container_revoke_fd(struct vfd_container *c);

/**
 * The dma-buf mappings the exporters revoked, after the revoke fd fired
 * (clears it).  Copies up to @max of them, sorted by IOVA, into @out (may
 * be NULL if @max is 0) and returns how many there are (may exceed @max).
 * A revoked mapping stays in place, its IOVA range reserved, until
 * vfd_dma_unmap(); the buffer may then be mapped again.
 */
int vfd_dma_revoked(struct vfd_container *c, struct vfd_dma_mapping *out,
		    size_t max);

/* ------------------------------------------------------------------ */
/* Devices                                                             */
/* ------------------------------------------------------------------ */

enum vfd_bus {
	VFD_BUS_UNKNOWN = 0,
	VFD_BUS_PCI,
	VFD_BUS_PLATFORM,
};

/* flags for vfd_device_open() */
/** If the device is not bound to vfio-pci / vfio-platform, bind it
 *  (driver_override + unbind from the current driver + drivers_probe). */
#define VFD_DEVICE_BIND		(1u << 0)
/** Reset the device (VFIO_DEVICE_RESET) after opening, if supported. */
#define VFD_DEVICE_RESET	(1u << 1)

/**
 * Open a VFIO device by name: a PCI address ("0000:00:03.0"; "00:03.0" is
 * accepted and means domain 0000) or a platform device name (as in
 * /sys/bus/platform/devices).  Finds its IOMMU group through sysfs, opens
 * the group (once per container; several devices may share it), checks
 * that it is viable, attaches it to the container (the first attach sets
 * the type1v2 IOMMU) and gets the device fd.
 * Errors go to @c: -ENODEV no such device, -ENXIO not bound to a VFIO
 * driver (message says how to bind), -EBUSY group not viable (message
 * lists the offending devices), -EPERM/-EACCES permissions on /dev/vfio.
 * The device is owned by the container: vfd_container_close() closes it.
 */
int vfd_device_open(struct vfd_container *c, const char *name,
		    uint32_t flags, struct vfd_device **out);

/** Close the device (its region mmaps, IRQ eventfds) and, if it was the
 *  last device of its group, detach and close the group.  NULL ignored. */
void vfd_device_close(struct vfd_device *d);

const char *vfd_device_errmsg(const struct vfd_device *d);
int vfd_device_last_error(const struct vfd_device *d, struct vfd_error *out);

/** Canonical device name, e.g. "0000:00:03.0". */
const char *vfd_device_name(const struct vfd_device *d);
/** The VFIO device fd, for raw ioctls. */
int vfd_device_fd(const struct vfd_device *d);
/** The container the device belongs to. */
struct vfd_container *vfd_device_container(const struct vfd_device *d);

struct vfd_device_info {
	char name[64];
	enum vfd_bus bus;
	int iommu_group;	/* group number (/dev/vfio/<n>) */
	uint32_t flags;		/* raw VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions;
	uint32_t num_irqs;
	bool can_reset;		/* VFIO_DEVICE_FLAGS_RESET */
	uint16_t vendor_id;	/* PCI only (from config space) */
	uint16_t device_id;	/* PCI only */
};

int vfd_device_info(struct vfd_device *d, struct vfd_device_info *info);

/** VFIO_DEVICE_RESET; -ENOTTY if the device cannot be reset. */
int vfd_device_reset(struct vfd_device *d);

/* ---- Regions ---- */

/* vfd_region_info.flags: same bits as VFIO_REGION_INFO_FLAG_* */
#define VFD_REGION_READ		(1u << 0)
#define VFD_REGION_WRITE	(1u << 1)
#define VFD_REGION_MMAP		(1u << 2)

#define VFD_MAX_SPARSE_AREAS 16

struct vfd_region_info {
	uint32_t index;
	uint32_t flags;		/* VFD_REGION_* */
	uint64_t size;		/* 0 = region not implemented */
	uint64_t offset;	/* offset of the region in the device fd */
	/* VFIO_REGION_INFO_CAP_SPARSE_MMAP: only these parts are mmap-able */
	bool sparse_reported;
	bool sparse_truncated;
	uint32_t nr_sparse;
	struct {
		uint64_t offset;	/* within the region */
		uint64_t size;
	} sparse[VFD_MAX_SPARSE_AREAS];
	/* VFIO_REGION_INFO_CAP_TYPE */
	bool type_reported;
	uint32_t type;
	uint32_t subtype;
	/* VFIO_REGION_INFO_CAP_MSIX_MAPPABLE */
	bool msix_mappable;
};

/** VFIO_DEVICE_GET_REGION_INFO with the capability chain parsed.  For
 *  PCI, index VFIO_PCI_BAR0_REGION_INDEX..BAR5 = 0..5, ROM = 6,
 *  config space = 7 (VFD_PCI_CONFIG_REGION). */
int vfd_region_info(struct vfd_device *d, uint32_t index,
		    struct vfd_region_info *info);

/**
 * mmap the whole region read/write (shared).  The mapping is cached in
 * the device (a second call returns the same pointer) and unmapped by
 * vfd_region_unmap() or vfd_device_close().  -EINVAL if the region is
 * not mmap-able (VFD_REGION_MMAP clear) or empty.  For regions with
 * sparse areas the whole range is reserved and only the sparse areas are
 * mapped; touching other parts faults.
 */
int vfd_region_map(struct vfd_device *d, uint32_t index, void **ptr,
		   size_t *size);
/** Undo vfd_region_map().  -ENOENT if not mapped. */
int vfd_region_unmap(struct vfd_device *d, uint32_t index);

/** pread/pwrite @len bytes at @off within the region (bounds-checked:
 *  -EINVAL past the end).  Returns 0 only if all bytes were transferred. */
int vfd_region_read(struct vfd_device *d, uint32_t index, uint64_t off,
		    void *buf, size_t len);
int vfd_region_write(struct vfd_device *d, uint32_t index, uint64_t off,
		     const void *buf, size_t len);

/* MMIO accessors for mmapped regions (volatile, native endian). */
static inline uint32_t vfd_mmio_read32(const volatile void *base, size_t off)
{
	return *(const volatile uint32_t *)((const volatile char *)base + off);
}
static inline void vfd_mmio_write32(volatile void *base, size_t off,
				    uint32_t v)
{
	*(volatile uint32_t *)((volatile char *)base + off) = v;
}
static inline uint64_t vfd_mmio_read64(const volatile void *base, size_t off)
{
	return *(const volatile uint64_t *)((const volatile char *)base + off);
}
static inline void vfd_mmio_write64(volatile void *base, size_t off,
				    uint64_t v)
{
	*(volatile uint64_t *)((volatile char *)base + off) = v;
}

/* ---- PCI config space (PCI devices only; -ENOTTY otherwise) ---- */

#define VFD_PCI_CONFIG_REGION	7	/* VFIO_PCI_CONFIG_REGION_INDEX */
#define VFD_PCI_COMMAND		0x04	/* config offset of the command reg */
#define VFD_PCI_COMMAND_MEMORY	0x2
#define VFD_PCI_COMMAND_MASTER	0x4

int vfd_pci_config_read(struct vfd_device *d, uint32_t off, void *buf,
			size_t len);
int vfd_pci_config_write(struct vfd_device *d, uint32_t off,
			 const void *buf, size_t len);
/* Little-endian helpers (config space is little endian). */
int vfd_pci_config_read16(struct vfd_device *d, uint32_t off, uint16_t *v);
int vfd_pci_config_write16(struct vfd_device *d, uint32_t off, uint16_t v);
int vfd_pci_config_read32(struct vfd_device *d, uint32_t off, uint32_t *v);
int vfd_pci_config_write32(struct vfd_device *d, uint32_t off, uint32_t v);
/** Set Memory Space + Bus Master in the command register (needed before
 *  MMIO and DMA). */
int vfd_pci_enable_bus_master(struct vfd_device *d);

/* ---- Interrupts ---- */

/* PCI IRQ indexes (VFIO_PCI_*_IRQ_INDEX) */
#define VFD_PCI_INTX_IRQ	0
#define VFD_PCI_MSI_IRQ		1
#define VFD_PCI_MSIX_IRQ	2
#define VFD_PCI_ERR_IRQ		3
#define VFD_PCI_REQ_IRQ		4

struct vfd_irq_info {
	uint32_t index;
	uint32_t flags;		/* raw VFIO_IRQ_INFO_* (EVENTFD, MASKABLE,
				   AUTOMASKED, NORESIZE) */
	uint32_t count;		/* number of vectors (0: not available) */
};

int vfd_irq_info(struct vfd_device *d, uint32_t index,
		 struct vfd_irq_info *info);

/**
 * Wire eventfds to vectors [start, start+count) of IRQ @index (INTx, MSI,
 * MSI-X, ...): VFIO_DEVICE_SET_IRQS DATA_EVENTFD|ACTION_TRIGGER.  An fd
 * of -1 leaves that vector unwired.  The caller owns the eventfds.
 */
int vfd_irq_enable(struct vfd_device *d, uint32_t index, uint32_t start,
		   uint32_t count, const int *eventfds);
/**
 * Convenience: create @count eventfds (EFD_CLOEXEC|EFD_NONBLOCK), wire
 * them to vectors [0, count) and return them in @eventfds (caller closes
 * them after vfd_irq_disable()).
 */
int vfd_irq_enable_new(struct vfd_device *d, uint32_t index, uint32_t count,
		       int *eventfds);
/** Disable all vectors of IRQ @index (DATA_NONE|ACTION_TRIGGER, count 0). */
int vfd_irq_disable(struct vfd_device *d, uint32_t index);
/** Mask / unmask one vector (ACTION_MASK / ACTION_UNMASK, DATA_NONE).
 *  For INTx, unmask after handling each (auto-masked) interrupt. */
int vfd_irq_mask(struct vfd_device *d, uint32_t index, uint32_t vector);
int vfd_irq_unmask(struct vfd_device *d, uint32_t index, uint32_t vector);
/** Trigger a vector from software (DATA_NONE|ACTION_TRIGGER), for tests. */
int vfd_irq_trigger(struct vfd_device *d, uint32_t index, uint32_t vector);

/* ------------------------------------------------------------------ */
/* sysfs: find, describe, bind and unbind devices                      */
/* ------------------------------------------------------------------ */

/** A device as seen in sysfs. */
struct vfd_sysfs_device {
	char name[64];		/* "0000:00:03.0" or platform name */
	enum vfd_bus bus;
	char driver[64];	/* bound driver, "" if none */
	char driver_override[64]; /* "" if none */
	int iommu_group;	/* -1 if no iommu_group link */
	bool vfio_bound;	/* driver is vfio-pci / vfio-platform /
				   another *vfio* driver */
	uint16_t vendor_id;	/* PCI only */
	uint16_t device_id;	/* PCI only */
	uint32_t class_code;	/* PCI only (24 bits) */
	bool noiommu;		/* the group is a VFIO no-IOMMU group: open
				   it with VFD_CONTAINER_NOIOMMU */
};

/**
 * Normalise a device name: "00:03.0" -> "0000:00:03.0"; a valid full PCI
 * address is returned as is (lower case); anything else is copied
 * unchanged (platform names).  -EINVAL if it does not fit / is empty.
 */
int vfd_sysfs_normalize_name(const char *name, char *out, size_t outlen);

/**
 * Describe device @name (PCI bus tried first, then platform).
 * @sysfs_root: NULL = "/sys".  -ENODEV if there is no such device.
 */
int vfd_sysfs_lookup(const char *sysfs_root, const char *name,
		     struct vfd_sysfs_device *out, struct vfd_error *err);

/* bus mask for vfd_sysfs_list() */
#define VFD_LIST_PCI		(1u << 0)
#define VFD_LIST_PLATFORM	(1u << 1)
/** Only devices that have an IOMMU group or are bound to VFIO. */
#define VFD_LIST_IOMMU_ONLY	(1u << 2)

/**
 * List devices (sorted by bus, then name), up to @max into @out (may be
 * NULL if @max is 0).  Returns the total number found (may exceed @max)
 * or -errno.
 */
int vfd_sysfs_list(const char *sysfs_root, uint32_t flags,
		   struct vfd_sysfs_device *out, size_t max,
		   struct vfd_error *err);

/** List the devices of IOMMU group @group (as vfd_sysfs_list()). */
int vfd_sysfs_group_devices(const char *sysfs_root, int group,
			    struct vfd_sysfs_device *out, size_t max,
			    struct vfd_error *err);

/**
 * Find the @index-th (0-based, sorted by name) PCI device with the given
 * vendor/device ID; its name goes to @name.  -ENODEV if none.
 */
int vfd_sysfs_find_pci(const char *sysfs_root, uint16_t vendor,
		       uint16_t device, unsigned int index, char *name,
		       size_t namelen, struct vfd_error *err);

/**
 * Bind @name to @driver (NULL = "vfio-pci" for PCI, "vfio-platform" for
 * platform devices): write driver_override, unbind from the current
 * driver, write drivers_probe, then check the result.  Already bound to
 * @driver: 0.  Needs root; -ENODEV if the driver is not loaded (message:
 * "modprobe vfio-pci").
 */
int vfd_sysfs_bind(const char *sysfs_root, const char *name,
		   const char *driver, struct vfd_error *err);

/**
 * Unbind @name from its driver and clear driver_override; if @reprobe,
 * write drivers_probe so the default driver can take it back.
 */
int vfd_sysfs_unbind(const char *sysfs_root, const char *name, bool reprobe,
		     struct vfd_error *err);

/* ------------------------------------------------------------------ */
/* dma-buf helpers                                                     */
/* ------------------------------------------------------------------ */

enum vfd_dmabuf_source {
	VFD_DMABUF_SRC_IMPORTED = 0,	/* wrapped with vfd_dmabuf_import() */
	VFD_DMABUF_SRC_UDMABUF,		/* memfd + /dev/udmabuf */
	VFD_DMABUF_SRC_HEAP,		/* /dev/dma_heap/<name> */
};

/**
 * Create a dma-buf of @size bytes (rounded up to the page size) from a
 * sealed memfd (F_SEAL_SHRINK) through /dev/udmabuf.  -ENODEV if
 * /dev/udmabuf is missing (CONFIG_UDMABUF).  The buffer comes back synced
 * once read-write: udmabuf keeps the direction of the first
 * DMA_BUF_IOCTL_SYNC for good, and only a read-write one leaves every
 * later vfd_dmabuf_sync_begin()/end() direction valid.
 */
int vfd_dmabuf_create_udmabuf(size_t size, struct vfd_dmabuf **out,
			      struct vfd_error *err);

/**
 * Allocate a dma-buf of @size bytes from /dev/dma_heap/@heap
 * (@heap NULL = "system").  -ENODEV if the heap does not exist.
 */
int vfd_dmabuf_create_heap(const char *heap, size_t size,
			   struct vfd_dmabuf **out, struct vfd_error *err);

/**
 * Create a dma-buf with whatever exporter is available: udmabuf, else the
 * "system" heap.  The message on failure names what was tried.
 */
int vfd_dmabuf_create(size_t size, struct vfd_dmabuf **out,
		      struct vfd_error *err);

/* flags for vfd_dmabuf_import() */
/** The handle takes ownership of @fd (closes it in vfd_dmabuf_free()). */
#define VFD_DMABUF_TAKE_FD	(1u << 0)

/**
 * Wrap an existing dma-buf fd (from any exporter).  @size 0 = ask the
 * kernel (lseek(fd, 0, SEEK_END)).
 */
int vfd_dmabuf_import(int fd, size_t size, uint32_t flags,
		      struct vfd_dmabuf **out, struct vfd_error *err);

/** Unmap the CPU mapping, close owned fds, free.  NULL ignored.  The
 *  buffer lives on while an IOMMU mapping references it. */
void vfd_dmabuf_free(struct vfd_dmabuf *b);

const char *vfd_dmabuf_errmsg(const struct vfd_dmabuf *b);
int vfd_dmabuf_last_error(const struct vfd_dmabuf *b, struct vfd_error *out);

int vfd_dmabuf_fd(const struct vfd_dmabuf *b);
size_t vfd_dmabuf_size(const struct vfd_dmabuf *b);
enum vfd_dmabuf_source vfd_dmabuf_source(const struct vfd_dmabuf *b);
/** "udmabuf", "heap:system", "imported". */
const char *vfd_dmabuf_source_name(const struct vfd_dmabuf *b);
/** udmabuf only: the backing memfd (owned by the handle), else -1. */
int vfd_dmabuf_memfd(const struct vfd_dmabuf *b);

/** mmap the whole buffer read/write (shared), cached in the handle. */
int vfd_dmabuf_mmap(struct vfd_dmabuf *b, void **ptr);

/* direction for vfd_dmabuf_sync_*() */
#define VFD_SYNC_READ	(1u << 0)	/* CPU will read */
#define VFD_SYNC_WRITE	(1u << 1)	/* CPU will write */
#define VFD_SYNC_RW	(VFD_SYNC_READ | VFD_SYNC_WRITE)

/** Bracket CPU access to the mmap with DMA_BUF_IOCTL_SYNC START / END.
 *  Retries on EINTR/EAGAIN. */
int vfd_dmabuf_sync_begin(struct vfd_dmabuf *b, uint32_t dir);
int vfd_dmabuf_sync_end(struct vfd_dmabuf *b, uint32_t dir);

/** Map the whole buffer into @c: vfd_dma_map_dmabuf(c, fd, 0, size, ...).
 *  Errors go to @c. */
int vfd_dma_map_buf(struct vfd_container *c, struct vfd_dmabuf *b,
		    uint64_t *iova, uint32_t flags);

#ifdef __cplusplus
}
#endif

#endif /* VFIO_DMABUF_H */
