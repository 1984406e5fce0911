/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where the command line tools get a dma-buf from: udmabuf, the system
 * dma-buf heap, or the project's test exporter (tests/exporter) on kernels
 * that have neither (Debian's 6.1).
 */
#ifndef VFD_TOOLS_DMABUF_SOURCE_H
#define VFD_TOOLS_DMABUF_SOURCE_H

#include <stddef.h>

#include <vfio-dmabuf.h>

/*
 * Make a @size-byte dma-buf.  @how: "udmabuf", "heap" (the system heap),
 * "test" (/dev/vfio_dmabuf_test) or "auto" (the first of those that works).
 * Returns 0, or -errno with a message in @err naming every source tried.
 */
int tool_dmabuf_create(const char *how, size_t size, struct vfd_dmabuf **out,
		       struct vfd_error *err);

#endif /* VFD_TOOLS_DMABUF_SOURCE_H */
