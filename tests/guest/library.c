// SPDX-License-Identifier: GPL-2.0-only
/*
 * libvfio-dmabuf against the real kernel: every public function family,
 * including its error paths (wrong device name, device not bound, IOVA
 * exhausted, unmap of something not mapped), the vfio-dmabuf tool and the
 * example program, as a user would run them.
 */
#define _GNU_SOURCE
#include "exporter_client.h"
#include "fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#define IOVA	0x02000000ull

TEST(device_open_errors)
{
	struct vfd_container *c;
	struct vfd_device *d;
	struct vfd_error err;
	char name[64];

	ASSERT_OK(vfd_container_open(&c, NULL, &err));
	ASSERT_NEG(vfd_device_open(c, "0000:00:1f.7", 0, &d), ENODEV);
	vt_info("wrong name: %s", vfd_container_errmsg(c));
	ASSERT_TRUE(strstr(vfd_container_errmsg(c), "0000:00:1f.7") != NULL);
	ASSERT_NEG(vfd_device_open(c, "not-a-device", 0, &d), ENODEV);

	/* edu #1 unbound from vfio-pci: -ENXIO, then VFD_DEVICE_BIND fixes it */
	ASSERT_OK(vfd_edu_find(NULL, 1, name, sizeof(name), &err));
	ASSERT_OK(vfd_sysfs_unbind(NULL, name, false, &err));
	ASSERT_NEG(vfd_device_open(c, name, 0, &d), ENXIO);
	vt_info("not bound: %s", vfd_container_errmsg(c));
	ASSERT_OK(vfd_device_open(c, name, VFD_DEVICE_BIND, &d));
	vfd_device_close(d);
	vfd_container_close(c);
}

/* edu #2 shares its IOMMU group with a virtio-rng bound to virtio-pci
 * (see qemu-configs/): VFIO must not take such a group. */
TEST(group_not_viable)
{
	struct vfd_container *c;
	struct vfd_device *d;
	struct vfd_error err;
	char name[64];

	if (vfd_edu_find(NULL, 2, name, sizeof(name), &err) < 0)
		SKIP("this machine has no edu sharing its group with a non-VFIO device");
	ASSERT_OK(vfd_container_open(&c, NULL, &err));
	ASSERT_NEG(vfd_device_open(c, name, VFD_DEVICE_BIND, &d), EBUSY);
	vt_info("not viable: %s", vfd_container_errmsg(c));
	ASSERT_TRUE(strstr(vfd_container_errmsg(c), "virtio-pci") != NULL);
	/* the container is still usable for a viable group */
	ASSERT_OK(vfd_edu_find(NULL, 0, name, sizeof(name), &err));
	ASSERT_OK(vfd_device_open(c, name, 0, &d));
	vfd_device_close(d);
	vfd_container_close(c);
}

TEST(device_info_regions_config)
{
	struct vfd_device_info di;
	struct vfd_region_info ri;
	struct vfd_device *d;
	uint32_t id = 0, id2 = 0;
	uint16_t vendor = 0;
	size_t len;
	void *bar;
	struct fx *fx;

	fx = fx_open(0);
	d = vfd_edu_device(fx->edu);
	ASSERT_OK(vfd_device_info(d, &di));
	ASSERT_EQ(di.bus, VFD_BUS_PCI);
	ASSERT_EQ(di.vendor_id, 0x1234);
	ASSERT_EQ(di.device_id, 0x11e8);
	ASSERT_GE(di.num_regions, 9);
	ASSERT_GE(di.iommu_group, 0);
	ASSERT_OK(vfd_region_info(d, 0, &ri));
	ASSERT_EQ(ri.size, 1 << 20);
	ASSERT_TRUE(ri.flags & VFD_REGION_MMAP);
	ASSERT_OK(vfd_region_map(d, 0, &bar, &len));
	ASSERT_EQ(len, 1 << 20);
	id = *(volatile uint32_t *)bar;
	ASSERT_OK(vfd_region_read(d, 0, 0, &id2, 4));
	ASSERT_EQ(id, id2);
	ASSERT_EQ(id, vfd_edu_id(fx->edu));
	ASSERT_NEG(vfd_region_read(d, 0, (1 << 20) - 2, &id2, 4), EINVAL);
	ASSERT_OK(vfd_pci_config_read16(d, 0, &vendor));
	ASSERT_EQ(vendor, 0x1234);
	ASSERT_OK(vfd_region_unmap(d, 0));
	ASSERT_NEG(vfd_region_unmap(d, 0), ENOENT);
}

TEST(msi_interrupt_eventfd)
{
	struct vfd_irq_info ii;
	struct vfd_device *d;
	struct fx *fx;
	uint32_t v = 0x11;
	uint64_t n;
	int efd;

	fx = fx_open(0);
	d = vfd_edu_device(fx->edu);
	ASSERT_OK(vfd_irq_info(d, VFD_PCI_INTX_IRQ, &ii));
	ASSERT_EQ(ii.count, 1);
	ASSERT_OK(vfd_irq_info(d, VFD_PCI_MSI_IRQ, &ii));
	ASSERT_GE(ii.count, 1);
	ASSERT_OK(vfd_irq_enable_new(d, VFD_PCI_MSI_IRQ, 1, &efd));
	/* edu raises its interrupt when the IRQ raise register is written */
	ASSERT_OK(vfd_region_write(d, 0, VFD_EDU_REG_IRQ_RAISE, &v, 4));
	if (poll(&(struct pollfd){ .fd = efd, .events = POLLIN }, 1, 2000) != 1)
		FAIL("no MSI on the eventfd within 2 s");
	ASSERT_EQ(read(efd, &n, 8), 8);
	ASSERT_GE(n, 1);
	ASSERT_OK(vfd_region_write(d, 0, VFD_EDU_REG_IRQ_ACK, &v, 4));
	ASSERT_OK(vfd_irq_disable(d, VFD_PCI_MSI_IRQ));
}

static bool event(int efd, int ms)
{
	uint64_t n;

	if (poll(&(struct pollfd){ .fd = efd, .events = POLLIN }, 1, ms) != 1)
		return false;
	return read(efd, &n, 8) == 8 && n > 0;
}

/* INTx through an eventfd: VFIO masks the line on each interrupt, a
 * masked line delivers nothing until unmasked, and software can trigger
 * the vector. */
TEST(intx_mask_unmask_trigger)
{
	struct vfd_device *d;
	struct fx *fx;
	uint32_t v = 0x22;
	int efd;

	fx = fx_open(0);
	d = vfd_edu_device(fx->edu);
	ASSERT_OK(vfd_irq_enable_new(d, VFD_PCI_INTX_IRQ, 1, &efd));
	/* edu asserts INTx (its MSI is off) until the status is acked */
	ASSERT_OK(vfd_region_write(d, 0, VFD_EDU_REG_IRQ_RAISE, &v, 4));
	if (!event(efd, 2000))
		FAIL("no INTx on the eventfd within 2 s");
	ASSERT_OK(vfd_region_write(d, 0, VFD_EDU_REG_IRQ_ACK, &v, 4));
	ASSERT_OK(vfd_irq_unmask(d, VFD_PCI_INTX_IRQ, 0));
	ASSERT_FALSE(event(efd, 300));		/* acked: quiet */
	/* masked: the asserted line waits for the unmask */
	ASSERT_OK(vfd_irq_mask(d, VFD_PCI_INTX_IRQ, 0));
	ASSERT_OK(vfd_region_write(d, 0, VFD_EDU_REG_IRQ_RAISE, &v, 4));
	if (event(efd, 500))
		FAIL("INTx delivered while masked");
	ASSERT_OK(vfd_irq_unmask(d, VFD_PCI_INTX_IRQ, 0));
	if (!event(efd, 2000))
		FAIL("the pending INTx did not arrive after unmask");
	ASSERT_OK(vfd_region_write(d, 0, VFD_EDU_REG_IRQ_ACK, &v, 4));
	ASSERT_OK(vfd_irq_unmask(d, VFD_PCI_INTX_IRQ, 0));
	/* software trigger */
	ASSERT_OK(vfd_irq_trigger(d, VFD_PCI_INTX_IRQ, 0));
	if (!event(efd, 2000))
		FAIL("no event after vfd_irq_trigger");
	ASSERT_OK(vfd_irq_disable(d, VFD_PCI_INTX_IRQ));
}

TEST(reset)
{
	struct vfd_device_info di;
	struct fx *fx;
	int r;

	fx = fx_open(0);
	ASSERT_OK(vfd_device_info(vfd_edu_device(fx->edu), &di));
	r = vfd_device_reset(vfd_edu_device(fx->edu));
	if (di.can_reset)
		ASSERT_OK(r);
	else
		ASSERT_EQ(r, -ENOTTY);
	vt_info("reset: %s", di.can_reset ? "done" : "not supported (-ENOTTY)");
	ASSERT_OK(vfd_pci_enable_bus_master(vfd_edu_device(fx->edu)));
	ASSERT_OK(vfd_edu_check_liveness(fx->edu, 0x1234));
}

TEST(iova_allocator_lookup_exhaustion)
{
	struct vfd_dma_mapping m, list[32];
	struct tx_buf *b;
	uint64_t iova = VFD_IOVA_ANY, first = 0;
	struct fx *fx;
	int i, n;

	fx = fx_open(0);
	b = tx_create(64 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_STATIC, 0);
	/* the library picks an IOVA inside the usable ranges, aligned */
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 0, b->size, &iova, VFD_DMA_RW));
	ASSERT_TRUE(fx_iova_usable(fx, iova, b->size));
	ASSERT_EQ(iova % fx_pgsize(fx), 0);
	ASSERT_OK(vfd_dma_unmap(fx->c, iova));
	/* large alignment on request, so large IOMMU pages are possible */
	iova = VFD_IOVA_ANY;
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 0, b->size, &iova,
				     VFD_DMA_RW | VFD_DMA_ALIGN_SHIFT(21)));
	ASSERT_TRUE(fx_iova_usable(fx, iova, b->size));
	ASSERT_EQ(iova % (2u << 20), 0);
	fx_verify_rw(fx->edu, b->fd, b->cpu, iova, b->size, 7);
	ASSERT_OK(vfd_dma_lookup(fx->c, iova + 5 * 4096, &m));
	ASSERT_EQ(m.iova, iova);
	ASSERT_EQ(m.kind, VFD_DMA_KIND_DMABUF);
	ASSERT_OK(vfd_dma_unmap(fx->c, iova));

	/*
	 * A 64 KiB window holds 16 pages, the 17th does not fit.  One buffer
	 * per four pages: every mapping is an attachment that maps its whole
	 * buffer, and DMA_API_DEBUG objects to more than 7 live DMA mappings
	 * of one page.
	 */
	ASSERT_OK(vfd_container_restrict_iova(fx->c, 0x100000, 0x10ffff));
	for (i = 0; i < 17; i++) {
		int r;

		if (i % 4 == 0)
			b = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER,
				      VFIO_DMABUF_TEST_MODE_STATIC, 0);
		iova = VFD_IOVA_ANY;
		r = vfd_dma_map_dmabuf(fx->c, b->fd, (uint64_t)(i % 4) * 4096, 4096, &iova,
				       VFD_DMA_RW);
		if (i < 16) {
			ASSERT_OK(r);
			ASSERT_GE(iova, 0x100000);
			ASSERT_LE(iova, 0x10f000);
			if (!i)
				first = iova;
		} else {
			ASSERT_EQ(r, -ENOSPC);
			vt_info("exhausted: %s", vfd_container_errmsg(fx->c));
		}
	}
	n = vfd_dma_list(fx->c, list, 32);
	ASSERT_EQ(n, 16);
	for (i = 1; i < n; i++)
		ASSERT_GT(list[i].iova, list[i - 1].iova);	/* sorted, distinct */
	ASSERT_OK(vfd_dma_unmap(fx->c, first));
	iova = VFD_IOVA_ANY;	/* the freed hole is reused */
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 4096, 4096, &iova, VFD_DMA_RW));
	ASSERT_EQ(iova, first);
	ASSERT_EQ(vfd_dma_unmap_all(fx->c), 16);
	ASSERT_EQ(vfd_dma_list(fx->c, list, 32), 0);
}

TEST(unmap_not_mapped)
{
	uint8_t *mem = fx_alloc(8192);
	uint64_t iova = IOVA;
	struct fx *fx;

	fx = fx_open(0);
	ASSERT_NEG(vfd_dma_unmap(fx->c, IOVA), ENOENT);
	ASSERT_OK(vfd_dma_map_mem(fx->c, mem, 8192, &iova, VFD_DMA_RW));
	ASSERT_NEG(vfd_dma_unmap(fx->c, IOVA + 4096), ENOENT);	/* inside, not start */
	vt_info("%s", vfd_container_errmsg(fx->c));
	iova = IOVA + 4096;
	ASSERT_NEG(vfd_dma_map_mem(fx->c, mem, 4096, &iova, VFD_DMA_RW), EEXIST);
	ASSERT_OK(vfd_dma_unmap(fx->c, IOVA));
}

TEST(dmabuf_state_after_revoke)
{
	enum vfd_dmabuf_state st;
	struct tx_buf *b;
	uint64_t iova = IOVA;
	struct fx *fx;

	fx = fx_open(0);
	b = tx_create(4 * 4096, VFIO_DMABUF_TEST_KIND_SCATTER, VFIO_DMABUF_TEST_MODE_DYNAMIC_PIN, 0);
	ASSERT_OK(vfd_dma_map_dmabuf(fx->c, b->fd, 0, b->size, &iova, VFD_DMA_RW));
	ASSERT_OK(vfd_dma_dmabuf_state(fx->c, iova, &st));
	ASSERT_EQ(st, VFD_DMABUF_STATE_MAPPED);
	ASSERT_OK(tx_revoke(b, VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY));
	ASSERT_OK(vfd_dma_dmabuf_state(fx->c, iova, &st));
	ASSERT_EQ(st, VFD_DMABUF_STATE_REVOKED);
	ASSERT_OK(vfd_dma_unmap(fx->c, iova));
}

/* Run a program, return its exit status; its output goes to the console. */
static int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		FAIL("running %s: %s", argv[0], strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(cli_tool)
{
	char name[64];
	struct vfd_error err;

	ASSERT_OK(vfd_edu_find(NULL, 1, name, sizeof(name), &err));
	ASSERT_EQ(run((char *[]){ "/usr/bin/vfio-dmabuf", "list", NULL }), 0);
	ASSERT_EQ(run((char *[]){ "/usr/bin/vfio-dmabuf", "--json", "iommu", name, NULL }), 0);
	ASSERT_EQ(run((char *[]){ "/usr/bin/vfio-dmabuf", "selftest", name, "--wide-dma", NULL }), 0);
	/* a device that does not exist is a setup problem (3), usage is 2 */
	ASSERT_EQ(run((char *[]){ "/usr/bin/vfio-dmabuf", "selftest", "0000:00:1f.7", NULL }), 3);
	ASSERT_EQ(run((char *[]){ "/usr/bin/vfio-dmabuf", "no-such-command", NULL }), 2);
}

/* Run a program with its stdout into @out (NUL-terminated, cut at @len);
 * return its exit status.  What it printed also goes to the console. */
static int run_capture(char *const argv[], char *out, size_t len)
{
	size_t n = 0;
	ssize_t r;
	int status, p[2];
	pid_t pid;

	if (pipe(p))
		FAIL("pipe: %s", strerror(errno));
	pid = fork();
	if (!pid) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < len && (r = read(p[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		FAIL("running %s: %s", argv[0], strerror(errno));
	printf("%s", out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define ASSERT_HAS(s, needle) do {						\
	if (!strstr((s), (needle)))						\
		FAIL("the output does not say %s", (needle));			\
} while (0)

/* 'vfio-dmabuf status' on a machine that is ready: the IOMMU on, vfio and
 * vfio-pci there, ours loaded, and the kernel answering the extension. */
TEST(cli_status)
{
	char *out = vt_calloc(16384);
	char want[160];
	bool hooks = !access("/sys/module/vfio_iommu_type1/parameters/dmabuf_test_force_new_domain",
			     F_OK);
	bool udmabuf = !access("/sys/class/misc/udmabuf", F_OK);

	ASSERT_EQ(run_capture((char *[]){ "/usr/bin/vfio-dmabuf", "--json", "status", NULL },
			      out, 16384), 0);
	ASSERT_HAS(out, "\"ok\":true,\"ready\":true");
	ASSERT_HAS(out, "\"iommu\":{\"enabled\":true");
	ASSERT_HAS(out, "\"vfio\":true,\"vfio_pci\":true");
	ASSERT_HAS(out, "\"vfio_iommu_type1\":{\"loaded\":true,\"ours\":true,\"map_dmabuf\":true");
	ASSERT_HAS(out, "\"version\":\"0.2+vfio-dmabuf-");
	ASSERT_HAS(out, hooks ? "\"test_hooks\":true" : "\"test_hooks\":false");
	snprintf(want, sizeof(want), "\"udmabuf\":%s", udmabuf ? "true" : "false");
	ASSERT_HAS(out, want);
	ASSERT_HAS(out, "\"series_supported\":true");
	ASSERT_HAS(out, "\"exit_code\":0");

	ASSERT_EQ(run_capture((char *[]){ "/usr/bin/vfio-dmabuf", "status", NULL }, out, 16384), 0);
	ASSERT_HAS(out, "STATUS: ready");
	ASSERT_HAS(out, "VFIO_TYPE1_MAP_DMABUF answers");
	if (!udmabuf)
		ASSERT_HAS(out, "modprobe udmabuf");
	ASSERT_EQ(run_capture((char *[]){ "/usr/bin/vfio-dmabuf", "status", "extra", NULL },
			      out, 16384), 2);
}

TEST(example_program)
{
	if (access("/dev/udmabuf", F_OK) && access("/dev/dma_heap/system", F_OK))
		SKIP("the example needs /dev/udmabuf or /dev/dma_heap/system (not in this kernel)");
	ASSERT_EQ(run((char *[]){ "/usr/bin/edu_dmabuf_dma", NULL }), 0);
}
