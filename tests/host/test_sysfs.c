/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the sysfs lookups (libvfio-dmabuf/src/sysfs.c) and the edu
 * finder against a fake sysfs tree built in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "vfio-dmabuf/edu.h"
#include "tap.h"

static char root[256];

static void mkpath(const char *fmt, ...)
{
	char p[1024], *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void wfile(const char *content, const char *fmt, ...)
{
	char p[1024];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	f = fopen(p, "w");
	if (!f) {
		printf("# cannot create %s\n", p);
		exit(2);
	}
	fputs(content, f);
	fclose(f);
}

static void rfile(char *buf, size_t len, const char *fmt, ...)
{
	char p[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	buf[0] = '\0';
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

static void lnk(const char *target, const char *fmt, ...)
{
	char p[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	if (symlink(target, p)) {
		printf("# symlink %s failed\n", p);
		exit(2);
	}
}

/* A PCI device, as the kernel lays it out: the real directory under
 * devices/, a link in bus/pci/devices, driver and iommu_group links. */
static void pci_dev(const char *name, const char *vendor, const char *device,
		    const char *cls, const char *driver, int group)
{
	char target[256];

	mkpath("%s/devices/pci0000:00/%s", root, name);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", name);
	lnk(target, "%s/bus/pci/devices/%s", root, name);
	wfile(vendor, "%s/devices/pci0000:00/%s/vendor", root, name);
	wfile(device, "%s/devices/pci0000:00/%s/device", root, name);
	wfile(cls, "%s/devices/pci0000:00/%s/class", root, name);
	wfile("(null)\n", "%s/devices/pci0000:00/%s/driver_override", root, name);
	if (driver) {
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s",
			 driver);
		lnk(target, "%s/devices/pci0000:00/%s/driver", root, name);
	}
	if (group >= 0) {
		snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%d",
			 group);
		lnk(target, "%s/devices/pci0000:00/%s/iommu_group", root, name);
		mkpath("%s/kernel/iommu_groups/%d/devices", root, group);
		snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s",
			 name);
		lnk(target, "%s/kernel/iommu_groups/%d/devices/%s", root, group,
		    name);
	}
}

static void build_tree(void)
{
	strcpy(root, "/tmp/vfd-fake-sysfs-XXXXXX");
	if (!mkdtemp(root)) {
		printf("# mkdtemp failed\n");
		exit(2);
	}
	mkpath("%s/bus/pci/devices", root);
	mkpath("%s/bus/platform/devices", root);
	mkpath("%s/devices/pci0000:00", root);
	mkpath("%s/devices/platform", root);
	mkpath("%s/bus/pci/drivers/vfio-pci", root);
	mkpath("%s/bus/pci/drivers/e1000e", root);
	mkpath("%s/bus/platform/drivers/vfio-platform", root);
	wfile("", "%s/bus/pci/drivers/vfio-pci/unbind", root);
	wfile("", "%s/bus/pci/drivers/e1000e/unbind", root);
	wfile("", "%s/bus/pci/drivers_probe", root);
	wfile("", "%s/bus/platform/drivers_probe", root);

	/* edu bound to vfio-pci, group 5, shares it with an e1000e NIC */
	pci_dev("0000:00:03.0", "0x1234\n", "0x11e8\n", "0x00ff00\n", "vfio-pci", 5);
	pci_dev("0000:00:05.0", "0x8086\n", "0x10d3\n", "0x020000\n", "e1000e", 5);
	/* a second edu: no driver, no group */
	pci_dev("0000:00:04.0", "0x1234\n", "0x11e8\n", "0x00ff00\n", NULL, -1);
	/* a NIC in its own group */
	pci_dev("0000:00:02.0", "0x8086\n", "0x10d3\n", "0x020000\n", "e1000e", 3);

	/* a platform device bound to vfio-platform, group 7 */
	mkpath("%s/devices/platform/fe000000.ethernet", root);
	lnk("../../../devices/platform/fe000000.ethernet",
	    "%s/bus/platform/devices/fe000000.ethernet", root);
	lnk("../../../bus/platform/drivers/vfio-platform",
	    "%s/devices/platform/fe000000.ethernet/driver", root);
	lnk("../../../kernel/iommu_groups/7",
	    "%s/devices/platform/fe000000.ethernet/iommu_group", root);
	wfile("vfio-platform\n",
	      "%s/devices/platform/fe000000.ethernet/driver_override", root);
	mkpath("%s/kernel/iommu_groups/7/devices", root);
	lnk("../../../../devices/platform/fe000000.ethernet",
	    "%s/kernel/iommu_groups/7/devices/fe000000.ethernet", root);

	/* a platform device behind no IOMMU, in the group that VFIO's
	 * no-IOMMU mode makes for it (group 8, named "vfio-noiommu") */
	mkpath("%s/devices/platform/9010000.pl031", root);
	lnk("../../../devices/platform/9010000.pl031",
	    "%s/bus/platform/devices/9010000.pl031", root);
	lnk("../../../bus/platform/drivers/vfio-platform",
	    "%s/devices/platform/9010000.pl031/driver", root);
	lnk("../../../kernel/iommu_groups/8",
	    "%s/devices/platform/9010000.pl031/iommu_group", root);
	mkpath("%s/kernel/iommu_groups/8/devices", root);
	wfile("vfio-noiommu\n", "%s/kernel/iommu_groups/8/name", root);
	lnk("../../../../devices/platform/9010000.pl031",
	    "%s/kernel/iommu_groups/8/devices/9010000.pl031", root);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static void remove_tree(void)
{
	nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_normalize(void)
{
	char out[64];

	CHECK_EQ(vfd_sysfs_normalize_name("00:03.0", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "0000:00:03.0"));
	CHECK_EQ(vfd_sysfs_normalize_name("0000:00:1F.2", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "0000:00:1f.2"));
	CHECK_EQ(vfd_sysfs_normalize_name("fe000000.ethernet", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "fe000000.ethernet"));
	CHECK_EQ(vfd_sysfs_normalize_name("", out, sizeof(out)), -EINVAL);
	CHECK_EQ(vfd_sysfs_normalize_name(NULL, out, sizeof(out)), -EINVAL);
	CHECK_EQ(vfd_sysfs_normalize_name("../../etc", out, sizeof(out)), -EINVAL);
	CHECK_EQ(vfd_sysfs_normalize_name("..", out, sizeof(out)), -EINVAL);
	CHECK_EQ(vfd_sysfs_normalize_name("00:03.0", out, 8), -EINVAL);
	/* function number > 7 is not a PCI address: copied unchanged */
	CHECK_EQ(vfd_sysfs_normalize_name("00:03.9", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "00:03.9"));
}

static void test_lookup_bound(void)
{
	struct vfd_sysfs_device d;
	struct vfd_error e;

	CHECK_EQ(vfd_sysfs_lookup(root, "0000:00:03.0", &d, &e), 0);
	CHECK(!strcmp(d.name, "0000:00:03.0"));
	CHECK_EQ(d.bus, VFD_BUS_PCI);
	CHECK(!strcmp(d.driver, "vfio-pci"));
	CHECK(d.vfio_bound);
	CHECK_EQ(d.iommu_group, 5);
	CHECK_EQ(d.vendor_id, 0x1234);
	CHECK_EQ(d.device_id, 0x11e8);
	CHECK_EQ(d.class_code, 0xff00);
	CHECK(!strcmp(d.driver_override, ""));
	/* short form */
	CHECK_EQ(vfd_sysfs_lookup(root, "00:03.0", &d, &e), 0);
	CHECK(!strcmp(d.name, "0000:00:03.0"));
}

static void test_lookup_unbound_and_missing(void)
{
	struct vfd_sysfs_device d;
	struct vfd_error e;

	CHECK_EQ(vfd_sysfs_lookup(root, "0000:00:04.0", &d, &e), 0);
	CHECK(!strcmp(d.driver, ""));
	CHECK(!d.vfio_bound);
	CHECK_EQ(d.iommu_group, -1);
	CHECK_EQ(vfd_sysfs_lookup(root, "0000:00:09.0", &d, &e), -ENODEV);
	CHECK_EQ(e.code, -ENODEV);
	CHECK_STR_HAS(e.msg, "no device '0000:00:09.0'");
	CHECK_STR_HAS(e.msg, "vfio-dmabuf list");
	CHECK_EQ(vfd_sysfs_lookup(root, "no-such-platform-dev", &d, &e), -ENODEV);
	CHECK_EQ(vfd_sysfs_lookup(root, "a/b", &d, &e), -EINVAL);
	CHECK_STR_HAS(e.msg, "invalid device name");
	/* err may be NULL */
	CHECK_EQ(vfd_sysfs_lookup(root, "0000:00:09.0", &d, NULL), -ENODEV);
}

static void test_lookup_platform(void)
{
	struct vfd_sysfs_device d;
	struct vfd_error e;

	CHECK_EQ(vfd_sysfs_lookup(root, "fe000000.ethernet", &d, &e), 0);
	CHECK_EQ(d.bus, VFD_BUS_PLATFORM);
	CHECK(!strcmp(d.driver, "vfio-platform"));
	CHECK(d.vfio_bound);
	CHECK_EQ(d.iommu_group, 7);
	CHECK(!strcmp(d.driver_override, "vfio-platform"));
	CHECK(!d.noiommu);
}

static void test_lookup_noiommu(void)
{
	struct vfd_sysfs_device d;
	struct vfd_error e;

	CHECK_EQ(vfd_sysfs_lookup(root, "9010000.pl031", &d, &e), 0);
	CHECK_EQ(d.bus, VFD_BUS_PLATFORM);
	CHECK_EQ(d.iommu_group, 8);
	CHECK(d.noiommu);
	CHECK_EQ(vfd_sysfs_lookup(root, "0000:00:03.0", &d, &e), 0);
	CHECK(!d.noiommu);
}

static void test_list(void)
{
	struct vfd_sysfs_device v[8];
	struct vfd_error e;

	int n = vfd_sysfs_list(root, 0, v, 8, &e);
	CHECK_EQ(n, 6);
	CHECK(!strcmp(v[0].name, "0000:00:02.0"));
	CHECK(!strcmp(v[1].name, "0000:00:03.0"));
	CHECK(!strcmp(v[2].name, "0000:00:04.0"));
	CHECK(!strcmp(v[3].name, "0000:00:05.0"));
	CHECK(!strcmp(v[4].name, "9010000.pl031"));
	CHECK(!strcmp(v[5].name, "fe000000.ethernet"));
	CHECK_EQ(vfd_sysfs_list(root, VFD_LIST_PCI, v, 8, &e), 4);
	CHECK_EQ(vfd_sysfs_list(root, VFD_LIST_PLATFORM, v, 8, &e), 2);
	CHECK_EQ(vfd_sysfs_list(root, VFD_LIST_IOMMU_ONLY, v, 8, &e), 5);
	/* truncation: returns the total, fills only max */
	memset(v, 0, sizeof(v));
	CHECK_EQ(vfd_sysfs_list(root, 0, v, 2, &e), 6);
	CHECK(!strcmp(v[1].name, "0000:00:03.0"));
	CHECK(v[2].name[0] == '\0');
	CHECK_EQ(vfd_sysfs_list(root, 0, NULL, 0, &e), 6);
	CHECK_EQ(vfd_sysfs_list("/nonexistent-root", 0, NULL, 0, &e), -ENOENT);
	CHECK_STR_HAS(e.msg, "sysfs mounted");
}

static void test_group_devices(void)
{
	struct vfd_sysfs_device v[4];
	struct vfd_error e;

	CHECK_EQ(vfd_sysfs_group_devices(root, 5, v, 4, &e), 2);
	CHECK(!strcmp(v[0].name, "0000:00:03.0"));
	CHECK(!strcmp(v[1].name, "0000:00:05.0"));
	CHECK(!strcmp(v[1].driver, "e1000e"));
	CHECK(!v[1].vfio_bound);
	CHECK_EQ(vfd_sysfs_group_devices(root, 7, v, 4, &e), 1);
	CHECK_EQ(v[0].bus, VFD_BUS_PLATFORM);
	CHECK_EQ(vfd_sysfs_group_devices(root, 99, v, 4, &e), -ENOENT);
	CHECK_STR_HAS(e.msg, "IOMMU group 99");
	CHECK_EQ(vfd_sysfs_group_devices(root, -1, v, 4, &e), -EINVAL);
}

static void test_find_pci_and_edu(void)
{
	char name[64];
	struct vfd_error e;

	CHECK_EQ(vfd_sysfs_find_pci(root, 0x1234, 0x11e8, 0, name, sizeof(name), &e), 0);
	CHECK(!strcmp(name, "0000:00:03.0"));
	CHECK_EQ(vfd_sysfs_find_pci(root, 0x1234, 0x11e8, 1, name, sizeof(name), &e), 0);
	CHECK(!strcmp(name, "0000:00:04.0"));
	CHECK_EQ(vfd_sysfs_find_pci(root, 0x1234, 0x11e8, 2, name, sizeof(name), &e), -ENODEV);
	CHECK_EQ(vfd_sysfs_find_pci(root, 0x1234, 0x11e8, 0, name, 4, &e), -ENAMETOOLONG);
	CHECK_EQ(vfd_edu_find(root, 0, name, sizeof(name), &e), 0);
	CHECK(!strcmp(name, "0000:00:03.0"));
	CHECK_EQ(vfd_edu_find(root, 2, name, sizeof(name), &e), -ENODEV);
	CHECK_STR_HAS(e.msg, "-device edu");
}

static void test_bind_already_bound(void)
{
	struct vfd_error e;
	char buf[128];

	CHECK_EQ(vfd_sysfs_bind(root, "0000:00:03.0", NULL, &e), 0);
	rfile(buf, sizeof(buf), "%s/bus/pci/drivers_probe", root);
	CHECK(!strcmp(buf, ""));	/* nothing written */
	CHECK_EQ(vfd_sysfs_bind(root, "fe000000.ethernet", NULL, &e), 0);
}

static void test_bind_writes(void)
{
	struct vfd_error e;
	char buf[128];

	/* bound to e1000e: override, unbind from e1000e, probe.  The fake
	 * tree does not rebind, so the final check reports the failure. */
	CHECK_EQ(vfd_sysfs_bind(root, "0000:00:02.0", NULL, &e), -EIO);
	CHECK_STR_HAS(e.msg, "bound to e1000e");
	CHECK_STR_HAS(e.msg, "dmesg");
	rfile(buf, sizeof(buf), "%s/devices/pci0000:00/0000:00:02.0/driver_override",
	      root);
	CHECK(!strcmp(buf, "vfio-pci"));
	rfile(buf, sizeof(buf), "%s/bus/pci/drivers/e1000e/unbind", root);
	CHECK(!strcmp(buf, "0000:00:02.0"));
	rfile(buf, sizeof(buf), "%s/bus/pci/drivers_probe", root);
	CHECK(!strcmp(buf, "0000:00:02.0"));

	/* unbound device: no unbind write */
	wfile("", "%s/bus/pci/drivers/e1000e/unbind", root);
	CHECK_EQ(vfd_sysfs_bind(root, "00:04.0", "vfio-pci", &e), -EIO);
	CHECK_STR_HAS(e.msg, "not bound");
	rfile(buf, sizeof(buf), "%s/bus/pci/drivers/e1000e/unbind", root);
	CHECK(!strcmp(buf, ""));
	rfile(buf, sizeof(buf), "%s/bus/pci/drivers_probe", root);
	CHECK(!strcmp(buf, "0000:00:04.0"));
}

static void test_bind_errors(void)
{
	struct vfd_error e;

	CHECK_EQ(vfd_sysfs_bind(root, "0000:00:04.0", "vfio-foo", &e), -ENODEV);
	CHECK_STR_HAS(e.msg, "modprobe vfio-foo");
	CHECK_EQ(vfd_sysfs_bind(root, "0000:00:04.0", "../x", &e), -EINVAL);
	CHECK_EQ(vfd_sysfs_bind(root, "0000:00:0a.0", NULL, &e), -ENODEV);
}

static void test_unbind(void)
{
	struct vfd_error e;
	char buf[128];

	wfile("", "%s/bus/pci/drivers_probe", root);
	CHECK_EQ(vfd_sysfs_unbind(root, "0000:00:03.0", false, &e), 0);
	rfile(buf, sizeof(buf), "%s/bus/pci/drivers/vfio-pci/unbind", root);
	CHECK(!strcmp(buf, "0000:00:03.0"));
	rfile(buf, sizeof(buf), "%s/bus/pci/drivers_probe", root);
	CHECK(!strcmp(buf, ""));
	/* device with an override: cleared, and reprobed */
	CHECK_EQ(vfd_sysfs_unbind(root, "0000:00:02.0", true, &e), 0);
	rfile(buf, sizeof(buf), "%s/devices/pci0000:00/0000:00:02.0/driver_override",
	      root);
	CHECK(!strcmp(buf, "\n"));
	rfile(buf, sizeof(buf), "%s/bus/pci/drivers_probe", root);
	CHECK(!strcmp(buf, "0000:00:02.0"));
}

static void test_permission_message(void)
{
	struct vfd_error e;
	char p[512];

	if (geteuid() == 0) {
		SKIP("running as root: permission bits are not enforced");
		return;
	}
	snprintf(p, sizeof(p), "%s/devices/pci0000:00/0000:00:04.0/driver_override",
		 root);
	chmod(p, 0444);
	CHECK_EQ(vfd_sysfs_bind(root, "0000:00:04.0", NULL, &e), -EACCES);
	CHECK_STR_HAS(e.msg, "run as root");
	chmod(p, 0644);
}

int main(void)
{
	build_tree();
	RUN(test_normalize);
	RUN(test_lookup_bound);
	RUN(test_lookup_unbound_and_missing);
	RUN(test_lookup_platform);
	RUN(test_lookup_noiommu);
	RUN(test_list);
	RUN(test_group_devices);
	RUN(test_find_pci_and_edu);
	RUN(test_bind_already_bound);
	RUN(test_bind_writes);
	RUN(test_bind_errors);
	RUN(test_unbind);
	RUN(test_permission_message);
	remove_tree();
	return tap_done();
}
