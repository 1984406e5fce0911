/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fixtures shared by the guest tests: a container with an edu device,
 * DMA round trips checked byte for byte, and a watcher of the kernel log
 * that proves an IOMMU fault was reported.
 */
#ifndef VFD_TEST_FIXTURE_H
#define VFD_TEST_FIXTURE_H

#include "harness.h"

#include <linux/vfio_dmabuf.h>
#include <vfio-dmabuf.h>
#include <vfio-dmabuf/edu.h>

/* Bytes per edu transfer: inside the 4 KiB device buffer, never its last
 * byte (QEMU 7.2's off-by-one check aborts the emulator). */
#define XFER_BYTES	2048u

/* Bytes of a device write that is expected to fault: QEMU's virtio-iommu
 * and SMMUv3 report a blocked write once per 4-byte access, and every
 * report counts against the guest driver's fault report rate limit. */
#define FAULT_PROBE_BYTES	4u

struct fx {
	struct vfd_container *c;
	struct vfd_edu *edu;
	char name[64];
	struct vfd_iommu_info info;
};

/* Open a type1 container and edu device number @index (0 or 1); FAILs (or
 * SKIPs when the guest has no such device).  On the test's arena; closed at
 * the end of the test. */
struct fx *fx_open(unsigned int index);
/* Add edu device @index to an open container (second group). */
struct vfd_edu *fx_add_edu(struct fx *fx, unsigned int index);
int fx_cfd(const struct fx *fx);
/* Minimum IOMMU page size of the container. */
uint64_t fx_pgsize(const struct fx *fx);
/* Is [iova, iova + size) inside one usable IOVA range? */
bool fx_iova_usable(const struct fx *fx, uint64_t iova, uint64_t size);
/* The lowest usable, @size-aligned IOVA at or above @min. */
uint64_t fx_iova_at_or_above(const struct fx *fx, uint64_t min, uint64_t size);

/*
 * Can free memory before and after be compared to find a leak?  Not on the
 * debug kernels (the harness sets VFD_DEBUG_KERNEL), whose KASAN quarantine
 * keeps freed memory away for a while; kmemleak watches for leaks there.
 */
bool fx_free_memory_comparable(void);
/* A module parameter or sysctl set for the rest of the test: the old
 * value is written back at the end (or earlier, with fx_param_restore()). */
struct fx_param {
	char path[128];
	char old[32];
};
/* Set @path to @v; FAILs if it cannot.  The saved value is on the test's
 * arena, and written back at the end of the test. */
struct fx_param *fx_param_set(const char *path, unsigned long long v);
void fx_param_restore(const struct fx_param *p);

/* Drop CAP_IPC_LOCK from the effective set, for the rest of the test (its
 * own process): RLIMIT_MEMLOCK applies to it then. */
void fx_drop_ipc_lock(void);
/* This process's locked memory (VmLck: mm->locked_vm), in KiB. */
long fx_vmlck_kb(void);
/* A /proc/meminfo field in KiB, or -1. */
long fx_meminfo_kb(const char *key);
/*
 * Free memory in KiB, for leak checks: MemFree plus the pages parked on
 * the per-CPU free lists (/proc/zoneinfo "count:"), which MemFree leaves
 * out and which since 5.14 also hold 2 MiB blocks, measured after dropping
 * the reclaimable caches so that the figure is about leaks, not caches.
 */
long fx_free_kb(void);

/* Anonymous, populated, page-aligned memory; unmapped at test end. */
void *fx_alloc(size_t size);

void fx_fill(void *buf, size_t len, uint32_t seed);
/* Index of the first byte that differs from the pattern, or -1. */
long fx_check(const void *buf, size_t len, uint32_t seed);

/*
 * Device round trip through the IOMMU: the device reads @len bytes at
 * @src_iova into its buffer, then writes them back to @dst_iova.  The CPU
 * filled @src_cpu with pattern @seed before; the caller checks @dst_cpu.
 */
void fx_edu_roundtrip(struct vfd_edu *e, uint64_t src_iova, uint64_t dst_iova,
		      uint32_t len);
/* The device writes @len bytes of its buffer (first loaded from @src_iova)
 * to @dst_iova; returns the library's result (the DMA itself "completes"
 * even when the IOMMU blocks it). */
int fx_edu_write(struct vfd_edu *e, uint64_t dst_iova, uint32_t len);

/*
 * Turn on vfio_iommu_type1's test-only dmabuf_test_force_new_domain for the
 * rest of the test: every group attached from now on gets an IOMMU domain
 * of its own, so mappings are replayed into it (QEMU has one vIOMMU, so
 * type1 would otherwise share one domain and never replay).
 */
void fx_force_new_domain(void);

/* Raw VFIO_IOMMU_MAP_DMABUF / VFIO_IOMMU_UNMAP_DMA on the container fd:
 * return the ioctl's result (-1 with errno on failure). */
int fx_map_dmabuf_raw(int cfd, int fd, uint64_t offset, uint64_t iova,
		      uint64_t size, uint32_t flags);
/* Raw VFIO_IOMMU_MAP_DMA of process memory and VFIO_IOMMU_DMABUF_GET_STATE
 * (flags 0) of @iova into @s: the ioctl's result. */
int fx_map_mem_raw(int cfd, void *vaddr, uint64_t iova, uint64_t size, uint32_t flags);
int fx_dmabuf_state_raw(int cfd, uint64_t iova, struct vfio_iommu_type1_dmabuf_state *s);
int fx_unmap_raw(int cfd, uint64_t iova, uint64_t size, uint32_t flags,
		 uint64_t *unmapped);
/* DMA_BUF_IOCTL_SYNC start/end around CPU access to a dma-buf's mmap. */
void fx_cpu_begin(int dmabuf_fd);
void fx_cpu_end(int dmabuf_fd);
/*
 * Prove a read-write mapping of @size bytes (>= 2 pages) at @iova whose CPU
 * view is @cpu (the dma-buf's mmap at the mapped offset): the CPU writes a
 * pattern into the first page, the device copies it into the last page,
 * the CPU checks it there.  FAILs with the first differing byte.
 */
void fx_verify_rw(struct vfd_edu *e, int dmabuf_fd, uint8_t *cpu,
		  uint64_t iova, uint64_t size, uint32_t seed);
/*
 * The device writes to @iova, which must not be mapped for writing: the
 * CPU view @cpu (may be NULL) must stay unchanged and the kernel log must
 * show an IOMMU fault.  FAILs otherwise.
 */
void fx_expect_write_fault(struct vfd_edu *e, int dmabuf_fd, uint8_t *cpu,
			   uint64_t iova);

/* Kernel log watcher: start before the DMA, then expect a fault line. */
struct fx_kmsg {
	int fd;		/* /dev/kmsg, -1 once stopped */
};
/* Start watching the kernel log from now on.  With @expect_fault, first
 * wait as long as needed for the IOMMU driver's fault report rate limit
 * to let the next fault through (see fx_pace_faults()).  On the test's
 * arena; stopped at the end of the test, or earlier by fx_kmsg_stop(). */
struct fx_kmsg *fx_kmsg_start(bool expect_fault);
void fx_kmsg_stop(struct fx_kmsg *k);
/* Wait up to @ms for a kernel log line matching VFD_FAULT_PATTERN.
 * Returns true and the line in @line if found. */
bool fx_kmsg_fault(struct fx_kmsg *k, unsigned int ms, char *line, size_t len);
/* Wait up to @ms for a kernel log line containing @needle. */
bool fx_kmsg_grep(struct fx_kmsg *k, const char *needle, unsigned int ms,
		  char *line, size_t len);

#endif /* VFD_TEST_FIXTURE_H */
