/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of 'vfio-dmabuf status' (libvfio-dmabuf/tools/status.c)
 * against made-up machines: a fake sysfs, procfs, /dev and root (boot/,
 * lib/modules/, usr/src/) in a temporary directory, one per test. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"
#include "tap.h"

static char top[256];
static char sys_[320], proc_[320], dev_[320];

static void vpath(char *p, size_t len, const char *fmt, va_list ap)
{
	int n = snprintf(p, len, "%s/", top);

	vsnprintf(p + n, len - (size_t)n, fmt, ap);
}

static void mkparents(char *p)
{
	for (char *s = p + strlen(top) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
}

/* A directory (and its parents), relative to the machine's top. */
static void dir(const char *fmt, ...)
{
	char p[1024];
	va_list ap;

	va_start(ap, fmt);
	vpath(p, sizeof(p), fmt, ap);
	va_end(ap);
	mkparents(p);
	mkdir(p, 0755);
}

/* A file with @content. */
static void file(const char *content, const char *fmt, ...)
{
	char p[1024];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vpath(p, sizeof(p), fmt, ap);
	va_end(ap);
	mkparents(p);
	f = fopen(p, "w");
	if (!f) {
		printf("# cannot create %s\n", p);
		exit(2);
	}
	fputs(content, f);
	fclose(f);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

/* A new, empty machine: a kernel release and a CPU, nothing else. */
static void machine(const char *release, const char *cpuinfo)
{
	if (top[0])
		nftw(top, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	strcpy(top, "/tmp/vfd-fake-machine-XXXXXX");
	if (!mkdtemp(top)) {
		printf("# mkdtemp failed\n");
		exit(2);
	}
	snprintf(sys_, sizeof(sys_), "%s/sys", top);
	snprintf(proc_, sizeof(proc_), "%s/proc", top);
	snprintf(dev_, sizeof(dev_), "%s/dev", top);
	dir("sys/kernel/iommu_groups");
	dir("sys/class/iommu");
	dir("sys/module");
	dir("sys/bus/pci/drivers");
	dir("dev");
	dir("usr/src");
	file(release, "proc/sys/kernel/osrelease");
	file(cpuinfo, "proc/cpuinfo");
	file("BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro quiet\n", "proc/cmdline");
}

#define INTEL "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n"
#define AMD "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
#define ARM "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n"

static void iommu_on(const char *unit, int groups)
{
	dir("sys/class/iommu/%s", unit);
	for (int i = 0; i < groups; i++)
		dir("sys/kernel/iommu_groups/%d/devices", i);
}

static void vfio_loaded(void)
{
	dir("sys/module/vfio");
	dir("sys/class/misc/vfio");
	dir("sys/bus/pci/drivers/vfio-pci");
}

static void type1_loaded(const char *version, bool test_hooks)
{
	dir("sys/module/vfio_iommu_type1/parameters");
	file(version, "sys/module/vfio_iommu_type1/version");
	file("A5462E06865963B96300FF6\n", "sys/module/vfio_iommu_type1/srcversion");
	if (test_hooks)
		file("N\n", "sys/module/vfio_iommu_type1/parameters/dmabuf_test_force_new_domain");
}

static void probe(struct status *st)
{
	struct status_roots r = {
		.sys = sys_, .proc = proc_, .dev = dev_, .root = top,
		.supported_series = "6.1 6.12",
	};

	status_probe(&r, st);
}

static void test_ready_machine(void)
{
	struct status st;

	machine("6.12.117+deb12-amd64\n", INTEL);
	iommu_on("dmar0", 3);
	vfio_loaded();
	type1_loaded("0.2+vfio-dmabuf-0.1.0\n", false);
	/* not a character device: the kernel is not asked, the version says */
	file("", "dev/vfio/vfio");
	dir("sys/class/misc/udmabuf");
	dir("sys/class/dma_heap/system");
	probe(&st);
	CHECK(!strcmp(st.release, "6.12.117+deb12-amd64"));
	CHECK(!strcmp(st.series, "6.12"));
	CHECK(st.series_supported);
	CHECK(!strcmp(st.cpu, "intel"));
	CHECK(st.iommu_enabled);
	CHECK_EQ(st.iommu_groups, 3);
	CHECK(!strcmp(st.iommu_units, "dmar0"));
	CHECK(st.vfio);
	CHECK(st.vfio_pci);
	CHECK(st.type1_loaded);
	CHECK(st.type1_ours);
	CHECK_EQ(st.map_dmabuf, -1);
	CHECK_STR_HAS(st.map_dmabuf_why, "/dev/vfio/vfio");
	CHECK(!st.type1_test_hooks);
	CHECK(!strcmp(st.type1_version, "0.2+vfio-dmabuf-0.1.0"));
	CHECK(!strcmp(st.type1_srcversion, "A5462E06865963B96300FF6"));
	CHECK(st.udmabuf);
	CHECK(!strcmp(st.heaps, "system"));
	CHECK(st.ready);
	for (int i = 0; i < ST_NR; i++) {
		CHECK(st.checks[i].ok);
		CHECK(!st.checks[i].next_step[0]);
	}
	CHECK_STR_HAS(st.checks[ST_IOMMU].detail, "dmar0, 3 IOMMU groups");
	CHECK_STR_HAS(st.checks[ST_TYPE1].detail, "0.2+vfio-dmabuf-0.1.0");
}

/* Debian 12 as installed, on an Intel machine: nothing is there yet. */
static void test_fresh_debian_6_1(void)
{
	struct status st;

	machine("6.1.0-56-amd64\n", INTEL);
	file("CONFIG_VFIO=m\nCONFIG_VFIO_PCI=m\n# CONFIG_UDMABUF is not set\n",
	     "boot/config-6.1.0-56-amd64");
	file("", "lib/modules/6.1.0-56-amd64/kernel/drivers/vfio/vfio_iommu_type1.ko.xz");
	probe(&st);
	CHECK(!strcmp(st.series, "6.1"));
	CHECK(st.series_supported);
	CHECK(!st.ready);
	CHECK(!st.iommu_enabled);
	CHECK_STR_HAS(st.checks[ST_IOMMU].next_step, "add intel_iommu=on to the kernel command line");
	CHECK_STR_HAS(st.checks[ST_IOMMU].next_step, "VT-d");
	CHECK(!st.vfio);
	CHECK_STR_HAS(st.checks[ST_VFIO].next_step, "modprobe vfio-pci");
	CHECK_STR_HAS(st.checks[ST_VFIO_PCI].next_step, "modprobe vfio-pci");
	CHECK(!st.type1_loaded);
	CHECK(!st.type1_ours);
	CHECK(!st.type1_installed[0]);
	CHECK(!st.dkms_source);
	CHECK_STR_HAS(st.checks[ST_TYPE1].next_step,
		      "apt install vfio-dmabuf-dkms linux-headers-6.1.0-56-amd64");
	CHECK_STR_HAS(st.checks[ST_TYPE1].next_step, "modprobe vfio_iommu_type1");
	CHECK(!st.checks[ST_DMABUF].ok);
	CHECK(!st.checks[ST_DMABUF].required);
	CHECK_STR_HAS(st.checks[ST_DMABUF].next_step, "neither udmabuf nor dma-buf heaps");
	CHECK_STR_HAS(st.checks[ST_DMABUF].next_step, "linux-image-6.12-amd64");
}

/* The package is installed and built, but the stock module is the one
 * loaded (it was loaded before the package came). */
static void test_stock_loaded_ours_installed(void)
{
	struct status st;

	machine("6.12.117+deb12-amd64\n", INTEL);
	iommu_on("dmar0", 1);
	vfio_loaded();
	type1_loaded("0.2\n", false);
	dir("usr/src/vfio-dmabuf-0.1.0");
	file("", "lib/modules/6.12.117+deb12-amd64/updates/dkms/vfio_iommu_type1.ko.xz");
	probe(&st);
	CHECK(st.type1_loaded);
	CHECK(!st.type1_ours);
	CHECK(!st.ready);
	CHECK_STR_HAS(st.type1_installed, "/updates/dkms/vfio_iommu_type1.ko.xz");
	CHECK_STR_HAS(st.checks[ST_TYPE1].detail, "stock module is loaded (version 0.2)");
	CHECK_STR_HAS(st.checks[ST_TYPE1].next_step,
		      "modprobe -r vfio_pci vfio_iommu_type1 && modprobe -a vfio_iommu_type1 vfio_pci");
	CHECK_STR_HAS(st.checks[ST_TYPE1].next_step, "updates/dkms/vfio_iommu_type1.ko.xz");
	CHECK(!strstr(st.checks[ST_TYPE1].next_step, "apt install"));
	/* only type1 is missing: the others are fine */
	CHECK(st.checks[ST_IOMMU].ok && st.checks[ST_VFIO].ok && st.checks[ST_VFIO_PCI].ok);
}

/* The package is there, but DKMS could not build for this kernel (no
 * headers): install them, let DKMS build. */
static void test_dkms_not_built(void)
{
	struct status st;

	machine("6.1.0-56-amd64\n", INTEL);
	iommu_on("dmar0", 1);
	vfio_loaded();
	/* among many kernels' headers and sources */
	for (int i = 0; i < 80; i++)
		dir("usr/src/linux-headers-6.1.0-%d-amd64", i);
	file("", "usr/src/linux-source-6.1.tar.xz");
	dir("usr/src/vfio-dmabuf-0.1.0");
	probe(&st);
	CHECK(st.dkms_source);
	CHECK(!st.type1_loaded);
	CHECK_STR_HAS(st.checks[ST_TYPE1].next_step, "not built for 6.1.0-56-amd64");
	CHECK_STR_HAS(st.checks[ST_TYPE1].next_step, "apt install linux-headers-6.1.0-56-amd64");
	CHECK_STR_HAS(st.checks[ST_TYPE1].next_step, "dkms autoinstall");
}

static void test_unsupported_series(void)
{
	struct status st;

	machine("6.5.0-5-amd64\n", INTEL);
	iommu_on("dmar0", 1);
	vfio_loaded();
	type1_loaded("0.2\n", false);
	probe(&st);
	CHECK(!strcmp(st.series, "6.5"));
	CHECK(!st.series_supported);
	CHECK(!st.ready);
	CHECK_STR_HAS(st.checks[ST_TYPE1].next_step, "supports the kernel series 6.1 6.12, this is 6.5");
}

static void test_iommu_advice(void)
{
	struct status st;

	machine("6.1.0-56-amd64\n", AMD);
	probe(&st);
	CHECK(!strcmp(st.cpu, "amd"));
	CHECK_STR_HAS(st.checks[ST_IOMMU].next_step, "AMD-Vi");
	CHECK(!strstr(st.checks[ST_IOMMU].next_step, "intel_iommu"));

	file("BOOT_IMAGE=/boot/vmlinuz ro amd_iommu=off quiet\n", "proc/cmdline");
	probe(&st);
	CHECK_STR_HAS(st.checks[ST_IOMMU].next_step, "remove amd_iommu=off from the kernel command line");

	machine("6.12.117+deb12-arm64\n", ARM);
	probe(&st);
	CHECK(!strcmp(st.cpu, "arm"));
	CHECK_STR_HAS(st.checks[ST_IOMMU].next_step, "SMMU");

	/* IOMMU units registered but no group: still off for VFIO */
	machine("6.12.117+deb12-amd64\n", INTEL);
	dir("sys/class/iommu/dmar0");
	probe(&st);
	CHECK(!st.iommu_enabled);
	CHECK_STR_HAS(st.checks[ST_IOMMU].detail, "IOMMU units: dmar0");
}

static void test_no_vfio_in_kernel(void)
{
	struct status st;

	machine("6.12.0-custom\n", INTEL);
	file("# CONFIG_VFIO is not set\n# CONFIG_VFIO_PCI is not set\nCONFIG_UDMABUF=m\n",
	     "boot/config-6.12.0-custom");
	probe(&st);
	CHECK_STR_HAS(st.checks[ST_VFIO].detail, "CONFIG_VFIO is not set");
	CHECK_STR_HAS(st.checks[ST_VFIO].next_step, "boot a kernel with VFIO");
	CHECK_STR_HAS(st.checks[ST_VFIO_PCI].detail, "CONFIG_VFIO_PCI is not set");
	/* udmabuf is a module of this kernel, not loaded */
	CHECK(!st.udmabuf);
	CHECK_STR_HAS(st.checks[ST_DMABUF].next_step, "modprobe udmabuf");
}

static void test_test_build_and_heaps_only(void)
{
	struct status st;

	machine("6.12.117+deb12-arm64\n", ARM);
	iommu_on("smmu3.0x0000000009050000", 2);
	vfio_loaded();
	type1_loaded("0.2+vfio-dmabuf-0.1.0+test-hooks\n", true);
	dir("sys/class/dma_heap/system");
	probe(&st);
	CHECK(st.type1_ours);
	CHECK(st.type1_test_hooks);
	CHECK_STR_HAS(st.checks[ST_TYPE1].detail, "a test build, with test hooks");
	CHECK(st.ready);
	CHECK(!st.udmabuf);
	CHECK(st.checks[ST_DMABUF].ok);
	CHECK(!strcmp(st.iommu_units, "smmu3.0x0000000009050000"));
}

int main(void)
{
	RUN(test_ready_machine);
	RUN(test_fresh_debian_6_1);
	RUN(test_stock_loaded_ours_installed);
	RUN(test_dkms_not_built);
	RUN(test_unsupported_series);
	RUN(test_iommu_advice);
	RUN(test_no_vfio_in_kernel);
	RUN(test_test_build_and_heaps_only);
	nftw(top, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
