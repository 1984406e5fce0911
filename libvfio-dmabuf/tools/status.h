/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * 'vfio-dmabuf status': is this machine ready for VFIO_IOMMU_MAP_DMABUF,
 * and if not, what exactly is the next step for each missing piece.
 *
 * Everything is read from files under four roots (sysfs, procfs, /dev and
 * the root of the filesystem for /lib/modules, /boot and /usr/src), so that
 * the host unit tests (tests/host/test_status.c) can run it against a
 * made-up machine.  The kernel itself is asked only when dev/vfio/vfio is
 * a character device: VFIO_CHECK_EXTENSION(VFIO_TYPE1_MAP_DMABUF).
 */
#ifndef VFD_TOOLS_STATUS_H
#define VFD_TOOLS_STATUS_H

#include <stdbool.h>

struct status_roots {
	const char *sys;	/* default "/sys" */
	const char *proc;	/* default "/proc" */
	const char *dev;	/* default "/dev" */
	const char *root;	/* default "" (/lib/modules, /boot, /usr/src) */
	/* the kernel series vfio-dmabuf has patches for, "6.1 6.12" */
	const char *supported_series;
};

enum status_item {
	ST_IOMMU,
	ST_VFIO,
	ST_VFIO_PCI,
	ST_TYPE1,
	ST_DMABUF,
	ST_NR
};

struct status_check {
	const char *name;	/* "iommu", "vfio", "vfio-pci", ... */
	bool ok;
	bool required;		/* ready needs it (not the dma-buf sources) */
	char detail[320];	/* what was found */
	char next_step[1400];	/* what to do about it ("" when ok) */
};

struct status {
	char release[128];	/* uname -r (proc/sys/kernel/osrelease) */
	char series[16];	/* "6.12", from the release */
	bool series_supported;
	char cpu[16];		/* "intel", "amd", "arm" or "" */

	bool iommu_enabled;	/* any IOMMU group */
	int iommu_groups;
	char iommu_units[128];	/* class/iommu entries, space separated */

	bool vfio;		/* module vfio (the container, /dev/vfio/vfio) */
	bool vfio_pci;		/* the vfio-pci driver */

	bool type1_loaded;
	bool type1_ours;	/* the vfio-dmabuf build */
	int map_dmabuf;		/* the extension: 1 yes, 0 no, -1 not asked */
	char map_dmabuf_why[128];	/* why not asked */
	bool type1_test_hooks;	/* a test build (dmabuf_test_* parameters) */
	char type1_version[96];
	char type1_srcversion[64];
	char type1_installed[512];	/* ours under lib/modules/REL/updates */
	bool dkms_source;	/* usr/src/vfio-dmabuf-* is there */

	bool udmabuf;
	char heaps[128];	/* class/dma_heap entries, space separated */

	bool ready;
	struct status_check checks[ST_NR];
};

/* Fill @st; never fails (what cannot be read counts as missing). */
void status_probe(const struct status_roots *roots, struct status *st);

#endif /* VFD_TOOLS_STATUS_H */
