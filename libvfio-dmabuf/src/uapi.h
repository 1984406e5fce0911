/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Kernel interfaces used by the library: <linux/vfio.h> plus the
 * project's VFIO_IOMMU_MAP_DMABUF extension from the top-level uapi/
 * directory (built with -I../uapi). */
#ifndef VFD_UAPI_H
#define VFD_UAPI_H

#include <linux/vfio.h>
#include "linux/vfio_dmabuf.h"

#endif
