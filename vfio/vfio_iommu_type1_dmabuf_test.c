// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO type1 dma-buf support: hooks for the project's tests, built only
 * into test builds (VFIO_DMABUF_TEST=y, which defines
 * VFIO_DMABUF_TEST_HOOKS), never into the module users install.
 *
 * dmabuf_test_force_new_domain: QEMU has a single vIOMMU, so type1 puts
 * every group into the one compatible IOMMU domain and never replays
 * mappings into a new one.  With the knob on, every attached group gets a
 * domain of its own, and the replay path runs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "vfio_iommu_type1_dmabuf.h"

static bool dmabuf_test_force_new_domain;
module_param(dmabuf_test_force_new_domain, bool, 0644);
MODULE_PARM_DESC(dmabuf_test_force_new_domain,
		 "Test only: give every attached group a new IOMMU domain instead of reusing a compatible one, so that mappings are replayed (default: off)");

bool vfio_dmabuf_test_force_new_domain(void)
{
	if (!READ_ONCE(dmabuf_test_force_new_domain))
		return false;

	pr_info("dmabuf_test_force_new_domain: not reusing a compatible IOMMU domain\n");
	return true;
}
