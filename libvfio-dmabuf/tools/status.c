/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * 'vfio-dmabuf status': the pieces VFIO_IOMMU_MAP_DMABUF needs, found or
 * not, and for each missing one the exact next step.  See status.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vfio.h>
#include "linux/vfio_dmabuf.h"

#include "status.h"

#define PATHLEN 1024

static void pathf(char *buf, const char *root, const char *f, ...)
	__attribute__((format(printf, 3, 4)));

static void pathf(char *buf, const char *root, const char *f, ...)
{
	size_t n = (size_t)snprintf(buf, PATHLEN, "%s", root);
	va_list ap;

	if (n >= PATHLEN)
		n = PATHLEN - 1;
	va_start(ap, f);
	vsnprintf(buf + n, PATHLEN - n, f, ap);
	va_end(ap);
}

/* fmt() that may cut the text short (paths in messages). */
static void fmt(char *buf, size_t len, const char *f, ...)
	__attribute__((format(printf, 3, 4)));

static void fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
}

static bool exists(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0;
}

/* The first line of a file, trailing blanks removed; "" if unreadable. */
static void read_line(const char *p, char *buf, size_t len)
{
	FILE *f = fopen(p, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	for (size_t n = strlen(buf); n && strchr(" \t\n", buf[n - 1]); n--)
		buf[n - 1] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of @dir (no dot files), sorted, space separated into @out;
 * returns how many (0 if @dir cannot be read). */
static int list_dir(const char *dir, char *out, size_t len)
{
	char *names[256];
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (out && len)
		out[0] = '\0';
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < 256) {
		if (de->d_name[0] == '.')
			continue;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		if (out && strlen(out) + strlen(names[i]) + 2 < len) {
			if (out[0])
				strcat(out, " ");
			strcat(out, names[i]);
		}
		free(names[i]);
	}
	return n;
}

/* Has @dir an entry whose name starts with @prefix? */
static bool has_entry_prefixed(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		found = !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return found;
}

/* Is @word one of the blank-separated words of @list? */
static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += wl)
		if ((p == list || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\0' ||
						    p[wl] == '\n'))
			return true;
	return false;
}

/* CONFIG_@sym of the running kernel from /boot/config-REL: 'y', 'm', 'n',
 * or '?' when there is no config file to ask. */
static char kconfig(const struct status_roots *r, const char *rel, const char *sym)
{
	char p[PATHLEN], line[256], want[96];
	FILE *f;
	char v = 'n';

	pathf(p, r->root, "/boot/config-%s", rel);
	f = fopen(p, "re");
	if (!f)
		return '?';
	fmt(want, sizeof(want), "CONFIG_%s=", sym);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want))) {
			v = line[strlen(want)];
			break;
		}
	fclose(f);
	return v;
}

/* lib/modules/REL/@relpath.ko, or compressed: the path into @out. */
static bool module_file(const struct status_roots *r, const char *rel,
			const char *relpath, char *out, size_t len)
{
	static const char *const ext[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	char p[PATHLEN];

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		pathf(p, r->root, "/lib/modules/%s/%s%s", rel, relpath, ext[i]);
		if (exists(p)) {
			if (out)
				fmt(out, len, "%s", p);
			return true;
		}
	}
	return false;
}

static void set(struct status_check *c, bool ok, const char *detail,
		const char *step, ...) __attribute__((format(printf, 4, 5)));

static void set(struct status_check *c, bool ok, const char *detail,
		const char *step, ...)
{
	va_list ap;

	c->ok = ok;
	fmt(c->detail, sizeof(c->detail), "%s", detail);
	c->next_step[0] = '\0';
	if (!step)
		return;
	va_start(ap, step);
	vsnprintf(c->next_step, sizeof(c->next_step), step, ap);
	va_end(ap);
}

static void probe_cpu(const struct status_roots *r, struct status *st)
{
	char p[PATHLEN], line[256];
	FILE *f;

	pathf(p, r->proc, "/cpuinfo");
	f = fopen(p, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && !st->cpu[0]) {
		if (!strncmp(line, "vendor_id", 9) && strstr(line, "GenuineIntel"))
			strcpy(st->cpu, "intel");
		else if (!strncmp(line, "vendor_id", 9) && strstr(line, "AuthenticAMD"))
			strcpy(st->cpu, "amd");
		else if (!strncmp(line, "CPU implementer", 15))
			strcpy(st->cpu, "arm");
	}
	fclose(f);
}

static void probe_iommu(const struct status_roots *r, struct status *st)
{
	struct status_check *c = &st->checks[ST_IOMMU];
	char p[PATHLEN], cmdline[2048], detail[256];

	pathf(p, r->sys, "/kernel/iommu_groups");
	st->iommu_groups = list_dir(p, NULL, 0);
	pathf(p, r->sys, "/class/iommu");
	list_dir(p, st->iommu_units, sizeof(st->iommu_units));
	st->iommu_enabled = st->iommu_groups > 0;
	if (st->iommu_enabled) {
		fmt(detail, sizeof(detail), "on: %s%s%d IOMMU group%s",
			 st->iommu_units, st->iommu_units[0] ? ", " : "",
			 st->iommu_groups, st->iommu_groups == 1 ? "" : "s");
		set(c, true, detail, NULL);
		return;
	}

	pathf(p, r->proc, "/cmdline");
	read_line(p, cmdline, sizeof(cmdline));
	fmt(detail, sizeof(detail), "off: no IOMMU groups%s%s",
		 st->iommu_units[0] ? " (IOMMU units: " : "",
		 st->iommu_units[0] ? st->iommu_units : "");
	if (st->iommu_units[0])
		strcat(detail, ")");
	if (has_word(cmdline, "intel_iommu=off") || has_word(cmdline, "amd_iommu=off") ||
	    has_word(cmdline, "iommu=off"))
		set(c, false, detail, "remove %s from the kernel command line "
		    "(GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) "
		    "and reboot",
		    has_word(cmdline, "intel_iommu=off") ? "intel_iommu=off" :
		    has_word(cmdline, "amd_iommu=off") ? "amd_iommu=off" : "iommu=off");
	else if (!strcmp(st->cpu, "intel"))
		set(c, false, detail, "add intel_iommu=on to the kernel command line "
		    "(GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and "
		    "reboot; if there is still no IOMMU group, turn VT-d on in the "
		    "firmware setup");
	else if (!strcmp(st->cpu, "amd"))
		set(c, false, detail, "turn the IOMMU (AMD-Vi) on in the firmware "
		    "setup and reboot; the kernel uses it by default (amd_iommu=on)");
	else if (!strcmp(st->cpu, "arm"))
		set(c, false, detail, "the firmware describes no SMMU this kernel "
		    "drives: it must list one (ACPI IORT or device tree; QEMU: "
		    "-M virt,iommu=smmuv3)");
	else
		set(c, false, detail, "turn the IOMMU on: in the firmware setup, and "
		    "on the kernel command line (intel_iommu=on on Intel machines)");
}

static void probe_vfio(const struct status_roots *r, struct status *st)
{
	struct status_check *c = &st->checks[ST_VFIO];
	char p[PATHLEN], cfg;

	pathf(p, r->sys, "/module/vfio");
	st->vfio = exists(p);
	if (!st->vfio) {
		pathf(p, r->sys, "/class/misc/vfio");
		st->vfio = exists(p);
	}
	cfg = kconfig(r, st->release, "VFIO");
	if (st->vfio)
		set(c, true, "loaded: /dev/vfio/vfio is there", NULL);
	else if (cfg == 'n')
		set(c, false, "this kernel has no VFIO (CONFIG_VFIO is not set)",
		    "boot a kernel with VFIO, such as Debian's (apt install "
		    "linux-image-amd64 or linux-image-arm64)");
	else
		set(c, false, "the vfio module is not loaded",
		    "modprobe vfio-pci (it loads vfio)");

	c = &st->checks[ST_VFIO_PCI];
	pathf(p, r->sys, "/bus/pci/drivers/vfio-pci");
	st->vfio_pci = exists(p);
	cfg = kconfig(r, st->release, "VFIO_PCI");
	if (st->vfio_pci)
		set(c, true, "the vfio-pci driver is registered", NULL);
	else if (cfg == 'n')
		set(c, false, "this kernel has no vfio-pci (CONFIG_VFIO_PCI is not set)",
		    "boot a kernel with it, such as Debian's (apt install "
		    "linux-image-amd64 or linux-image-arm64)");
	else
		set(c, false, "the vfio-pci driver is not loaded", "modprobe vfio-pci");
}

/* Ask the kernel: VFIO_CHECK_EXTENSION(VFIO_TYPE1_MAP_DMABUF). */
static void ask_extension(const struct status_roots *r, struct status *st)
{
	char p[PATHLEN];
	struct stat sb;
	int fd;

	st->map_dmabuf = -1;
	pathf(p, r->dev, "/vfio/vfio");
	if (stat(p, &sb) || !S_ISCHR(sb.st_mode)) {
		fmt(st->map_dmabuf_why, sizeof(st->map_dmabuf_why),
			 "no %s", p);
		return;
	}
	fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fmt(st->map_dmabuf_why, sizeof(st->map_dmabuf_why),
			 "cannot open %s: %s", p, strerror(errno));
		return;
	}
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		fmt(st->map_dmabuf_why, sizeof(st->map_dmabuf_why),
			 "%s: not the VFIO API this tool knows", p);
	else
		st->map_dmabuf = ioctl(fd, VFIO_CHECK_EXTENSION,
				       VFIO_TYPE1_MAP_DMABUF) > 0;
	close(fd);
}

static void probe_type1(const struct status_roots *r, struct status *st)
{
	struct status_check *c = &st->checks[ST_TYPE1];
	const char *rel = st->release;
	char p[PATHLEN], detail[320], install[640], act[160];
	bool by_version;

	pathf(p, r->sys, "/module/vfio_iommu_type1");
	st->type1_loaded = exists(p);
	pathf(p, r->sys, "/module/vfio_iommu_type1/version");
	read_line(p, st->type1_version, sizeof(st->type1_version));
	pathf(p, r->sys, "/module/vfio_iommu_type1/srcversion");
	read_line(p, st->type1_srcversion, sizeof(st->type1_srcversion));
	pathf(p, r->sys, "/module/vfio_iommu_type1/parameters/dmabuf_test_force_new_domain");
	st->type1_test_hooks = exists(p);
	module_file(r, rel, "updates/dkms/vfio_iommu_type1", st->type1_installed,
		    sizeof(st->type1_installed));
	pathf(p, r->root, "/usr/src");
	st->dkms_source = has_entry_prefixed(p, "vfio-dmabuf-");
	ask_extension(r, st);
	by_version = strstr(st->type1_version, "+vfio-dmabuf-") != NULL;
	/* The kernel's answer, where it could be asked, decides. */
	st->type1_ours = st->type1_loaded &&
		(st->map_dmabuf == 1 || (st->map_dmabuf == -1 && by_version));

	if (st->type1_ours) {
		fmt(detail, sizeof(detail), "the vfio-dmabuf build, version %s%s%s%s%s",
			 st->type1_version[0] ? st->type1_version : "(none)",
			 st->map_dmabuf == 1 ? ": VFIO_TYPE1_MAP_DMABUF answers" :
			 " (VFIO_TYPE1_MAP_DMABUF not asked: ",
			 st->map_dmabuf == 1 ? "" : st->map_dmabuf_why,
			 st->map_dmabuf == 1 ? "" : ")",
			 st->type1_test_hooks ? "; a test build, with test hooks" : "");
		set(c, true, detail, NULL);
		return;
	}

	if (st->type1_loaded)
		fmt(detail, sizeof(detail), "the stock module is loaded (version %s): "
			 "no VFIO_IOMMU_MAP_DMABUF",
			 st->type1_version[0] ? st->type1_version : "unknown");
	else
		fmt(detail, sizeof(detail), "not loaded");

	if (!st->series_supported) {
		set(c, false, detail, "vfio-dmabuf has no build for this kernel: it "
		    "supports the kernel series %s, this is %s (%s); boot a kernel of "
		    "one of them (Debian 12: linux-image-amd64 is 6.1, "
		    "linux-image-6.12-amd64 is 6.12)", r->supported_series,
		    st->series[0] ? st->series : "unknown", rel);
		return;
	}
	if (!st->type1_installed[0] && st->dkms_source)
		fmt(install, sizeof(install), "the vfio-dmabuf DKMS module is not "
			 "built for %s: apt install linux-headers-%s, then dkms "
			 "autoinstall (dkms status vfio-dmabuf; the build's make.log is "
			 "under /var/lib/dkms/vfio-dmabuf), then ", rel, rel);
	else if (!st->type1_installed[0])
		fmt(install, sizeof(install), "apt install vfio-dmabuf-dkms "
			 "linux-headers-%s (see the README, 'Install on your machine'), "
			 "then ", rel);
	else
		install[0] = '\0';
	if (st->type1_loaded)
		fmt(act, sizeof(act), "reload it while no VFIO device is in use: "
			 "modprobe -r vfio_pci vfio_iommu_type1 && modprobe -a "
			 "vfio_iommu_type1 vfio_pci (or reboot)");
	else
		fmt(act, sizeof(act), "modprobe vfio_iommu_type1");
	set(c, false, detail, "%s%s%s%s", install, act,
	    st->type1_installed[0] ? "; that loads ours, " : "", st->type1_installed);
}

static void probe_dmabuf(const struct status_roots *r, struct status *st)
{
	struct status_check *c = &st->checks[ST_DMABUF];
	char p[PATHLEN], detail[320];
	char cfg = kconfig(r, st->release, "UDMABUF");
	bool on_disk = module_file(r, st->release, "kernel/drivers/dma-buf/udmabuf",
				   NULL, 0);

	pathf(p, r->sys, "/class/misc/udmabuf");
	st->udmabuf = exists(p);
	pathf(p, r->sys, "/class/dma_heap");
	list_dir(p, st->heaps, sizeof(st->heaps));
	fmt(detail, sizeof(detail), "udmabuf: %s; dma-buf heaps: %s",
		 st->udmabuf ? "yes" : "no", st->heaps[0] ? st->heaps : "none");
	if (st->udmabuf)
		set(c, true, detail, NULL);
	else if (on_disk || cfg == 'm')
		set(c, !!st->heaps[0], detail, "modprobe udmabuf");
	else if (st->heaps[0])
		set(c, true, detail, NULL);
	else if (cfg == 'n')
		set(c, false, detail, "this kernel has neither udmabuf nor dma-buf "
		    "heaps (Debian's 6.1 kernels have none): the dma-bufs of a GPU or "
		    "camera driver still work; for udmabuf boot Debian 12's 6.12 "
		    "kernel (apt install linux-image-6.12-amd64)");
	else
		set(c, false, detail, "modprobe udmabuf (if this kernel has it: "
		    "CONFIG_UDMABUF), or use the dma-bufs of a GPU or camera driver");
}

void status_probe(const struct status_roots *roots, struct status *st)
{
	struct status_roots r = {
		.sys = roots && roots->sys ? roots->sys : "/sys",
		.proc = roots && roots->proc ? roots->proc : "/proc",
		.dev = roots && roots->dev ? roots->dev : "/dev",
		.root = roots && roots->root ? roots->root : "",
		.supported_series = roots && roots->supported_series ?
			roots->supported_series : "",
	};
	static const char *const names[ST_NR] = {
		[ST_IOMMU] = "iommu", [ST_VFIO] = "vfio", [ST_VFIO_PCI] = "vfio-pci",
		[ST_TYPE1] = "vfio_iommu_type1", [ST_DMABUF] = "dma-buf sources",
	};
	char p[PATHLEN];
	unsigned int maj, min;

	memset(st, 0, sizeof(*st));
	for (int i = 0; i < ST_NR; i++) {
		st->checks[i].name = names[i];
		st->checks[i].required = i != ST_DMABUF;
	}
	pathf(p, r.proc, "/sys/kernel/osrelease");
	read_line(p, st->release, sizeof(st->release));
	if (sscanf(st->release, "%u.%u", &maj, &min) == 2)
		fmt(st->series, sizeof(st->series), "%u.%u", maj, min);
	st->series_supported = st->series[0] && has_word(r.supported_series, st->series);
	probe_cpu(&r, st);

	probe_iommu(&r, st);
	probe_vfio(&r, st);
	probe_type1(&r, st);
	probe_dmabuf(&r, st);
	st->ready = true;
	for (int i = 0; i < ST_NR; i++)
		if (st->checks[i].required && !st->checks[i].ok)
			st->ready = false;
}
