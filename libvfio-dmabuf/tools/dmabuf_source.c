// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Where the command line tools get a dma-buf from: see dmabuf_source.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dmabuf_source.h"

/* The project's test exporter (tests/exporter), if its uapi header is on
 * the include path: lets the demo run on kernels without udmabuf. */
#if defined(__has_include)
#if __has_include(<vfio_dmabuf_test_exporter.h>)
#include <vfio_dmabuf_test_exporter.h>
#define HAVE_TEST_EXPORTER 1
#endif
#endif

/*
 * A dma-buf from the project's test exporter
 * (/dev/vfio_dmabuf_test, tests/exporter).  Returns 0 and a wrapped buffer,
 * or -errno with a message.
 */
static int create_test_exporter_dmabuf(size_t size, struct vfd_dmabuf **out,
				       struct vfd_error *err)
{
#ifdef HAVE_TEST_EXPORTER
	struct vfio_dmabuf_test_create cr;
	int dev = open(VFIO_DMABUF_TEST_DEVICE, O_RDWR | O_CLOEXEC);
	int ret;

	if (dev < 0) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot open %s: %s (load "
			 "the test exporter module)", VFIO_DMABUF_TEST_DEVICE,
			 strerror(errno));
		err->code = ret;
		return ret;
	}
	memset(&cr, 0, sizeof(cr));
	cr.argsz = sizeof(cr);
	cr.size = size;
	cr.kind = VFIO_DMABUF_TEST_KIND_SCATTER;
	cr.mode = VFIO_DMABUF_TEST_MODE_STATIC;
	if (ioctl(dev, VFIO_DMABUF_TEST_CREATE, &cr)) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "VFIO_DMABUF_TEST_CREATE: %s",
			 strerror(errno));
		err->code = ret;
		close(dev);
		return ret;
	}
	close(dev);
	ret = vfd_dmabuf_import(cr.fd, size, VFD_DMABUF_TAKE_FD, out, err);
	if (ret)
		close(cr.fd);
	return ret;
#else
	(void)size;
	(void)out;
	snprintf(err->msg, sizeof(err->msg), "built without the test exporter "
		 "header (tests/exporter/vfio_dmabuf_test_exporter.h)");
	err->code = -ENOTSUP;
	return -ENOTSUP;
#endif
}

int tool_dmabuf_create(const char *how, size_t size, struct vfd_dmabuf **out,
		       struct vfd_error *err)
{
	struct vfd_error e1, e2;

	if (!strcmp(how, "udmabuf"))
		return vfd_dmabuf_create_udmabuf(size, out, err);
	if (!strcmp(how, "heap"))
		return vfd_dmabuf_create_heap("system", size, out, err);
	if (!strcmp(how, "test"))
		return create_test_exporter_dmabuf(size, out, err);
	/* auto: udmabuf, else the system heap, else the test exporter */
	if (vfd_dmabuf_create(size, out, &e1) == 0)
		return 0;
	if (create_test_exporter_dmabuf(size, out, &e2) == 0)
		return 0;
	snprintf(err->msg, sizeof(err->msg), "%.140s; test exporter: %.80s",
		 e1.msg, e2.msg);
	err->code = e1.code;
	return e1.code;
}

