/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-dmabuf: command line tool for libvfio-dmabuf.
 *
 *   vfio-dmabuf [--json] [--sysfs-root DIR] COMMAND [ARGS]
 *
 * Exit codes: 0 success (status: ready), 1 self-test failed, 2 usage error,
 * 3 setup problem (device, driver, permissions, IOMMU),
 * 4 kernel feature missing (e.g. VFIO_IOMMU_MAP_DMABUF).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vfio-dmabuf.h>
#include <vfio-dmabuf/edu.h>

#include "dmabuf_source.h"
#include "status.h"

/* The kernel series vfio-dmabuf has patches for (vfio/patches/). */
#ifndef VFD_SUPPORTED_SERIES
#define VFD_SUPPORTED_SERIES ""
#endif

enum {
	EXIT_OK = 0,
	EXIT_TESTFAIL = 1,
	EXIT_USAGE = 2,
	EXIT_SETUP = 3,
	EXIT_NOFEATURE = 4,
};

static bool json;
static const char *sysfs_root;
static const char *machine_root;	/* --root: a made-up machine, for tests */

/* ---- tiny JSON writer ------------------------------------------------- */

static int jdepth;
static bool jfirst[32] = { true };

static void jsep(void)
{
	if (!jfirst[jdepth])
		putchar(',');
	jfirst[jdepth] = false;
}

static void jstr(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void jkey(const char *k)
{
	jsep();
	if (k) {
		jstr(k);
		putchar(':');
	}
}

static void jopen(const char *k, char br)
{
	jkey(k);
	putchar(br);
	jfirst[++jdepth] = true;
}

static void jclose(char br)
{
	putchar(br);
	jdepth--;
}

static void jkv_s(const char *k, const char *v)
{
	jkey(k);
	jstr(v);
}

static void jkv_u(const char *k, uint64_t v)
{
	jkey(k);
	printf("%" PRIu64, v);
}

static void jkv_i(const char *k, long long v)
{
	jkey(k);
	printf("%lld", v);
}

static void jkv_b(const char *k, bool v)
{
	jkey(k);
	fputs(v ? "true" : "false", stdout);
}

static void jkv_hex(const char *k, uint64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	jkv_s(k, b);
}

/* ---- errors ----------------------------------------------------------- */

static int exit_for(int err)
{
	switch (err) {
	case -EOPNOTSUPP:
		return EXIT_NOFEATURE;
	case -EINVAL:
	case -ERANGE:
		return EXIT_USAGE;
	default:
		return EXIT_SETUP;
	}
}

/* Report a failure: a JSON object, or "vfio-dmabuf: <msg>" on stderr. */
static int fail(int code, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json) {
		jdepth = 0;
		jfirst[0] = true;
		jopen(NULL, '{');
		jkv_b("ok", false);
		jkv_i("errno", -err);
		jkv_s("error", msg);
		jkv_i("exit_code", code);
		jclose('}');
		putchar('\n');
	} else {
		fprintf(stderr, "vfio-dmabuf: %s\n", msg);
	}
	return code;
}

static void usage(FILE *f)
{
	fputs("usage: vfio-dmabuf [--json] [--sysfs-root DIR] [--root DIR] COMMAND [ARGS]\n"
	      "\n"
	      "commands:\n"
	      "  status                    is this machine ready for VFIO_IOMMU_MAP_DMABUF?\n"
	      "                            (IOMMU, vfio, vfio-pci, our vfio_iommu_type1,\n"
	      "                            dma-buf sources), and the next step for each gap\n"
	      "  list [--all]              devices with IOMMU groups and drivers\n"
	      "                            (--all: also devices without IOMMU group)\n"
	      "  bind DEVICE [--driver D]  bind to vfio-pci / vfio-platform (or D)\n"
	      "  unbind DEVICE [--reprobe] unbind from its driver (reprobe: let the\n"
	      "                            default driver take it back)\n"
	      "  info DEVICE               regions, IRQs, IOMMU IOVA ranges and page sizes\n"
	      "  iommu DEVICE              only the IOMMU part of 'info'\n"
	      "  selftest DEVICE [--iova ADDR] [--wide-dma] [--bind]\n"
	      "                            map a dma-buf with VFIO_IOMMU_MAP_DMABUF and\n"
	      "                            check DMA both ways through an edu device\n"
	      "  version\n"
	      "\n"
	      "DEVICE is a PCI address (0000:00:03.0 or 00:03.0) or a platform device name.\n"
	      "exit codes: 0 ok, 1 self-test failed, 2 usage, 3 setup problem,\n"
	      "            4 kernel feature missing\n", f);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || !*s || *end || *s == '-') ? -1 : 0;
}

static const char *bus_name(enum vfd_bus b)
{
	return b == VFD_BUS_PCI ? "pci" : b == VFD_BUS_PLATFORM ? "platform" : "?";
}

/* ---- list ------------------------------------------------------------- */

static int cmd_list(int argc, char **argv)
{
	uint32_t flags = VFD_LIST_IOMMU_ONLY;
	struct vfd_sysfs_device *v;
	struct vfd_error e;
	int n;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--all"))
			flags &= ~VFD_LIST_IOMMU_ONLY;
		else
			return fail(EXIT_USAGE, -EINVAL, "list: unknown option '%s'",
				    argv[i]);
	}
	n = vfd_sysfs_list(sysfs_root, flags, NULL, 0, &e);
	if (n < 0)
		return fail(EXIT_SETUP, n, "%s", e.msg);
	v = calloc(n ? (size_t)n : 1, sizeof(*v));
	if (!v)
		return fail(EXIT_SETUP, -ENOMEM, "out of memory");
	n = vfd_sysfs_list(sysfs_root, flags, v, (size_t)n, &e);
	if (n < 0) {
		free(v);
		return fail(EXIT_SETUP, n, "%s", e.msg);
	}
	if (json) {
		jopen(NULL, '{');
		jkv_b("ok", true);
		jopen("devices", '[');
		for (int i = 0; i < n; i++) {
			jopen(NULL, '{');
			jkv_s("name", v[i].name);
			jkv_s("bus", bus_name(v[i].bus));
			jkv_s("driver", v[i].driver);
			jkv_b("vfio", v[i].vfio_bound);
			jkv_i("iommu_group", v[i].iommu_group);
			if (v[i].bus == VFD_BUS_PCI) {
				char id[16];
				snprintf(id, sizeof(id), "%04x:%04x",
					 v[i].vendor_id, v[i].device_id);
				jkv_s("id", id);
				jkv_hex("class", v[i].class_code);
			}
			jclose('}');
		}
		jclose(']');
		jclose('}');
		putchar('\n');
	} else {
		printf("%-20s %-9s %-6s %-10s %-16s %s\n", "DEVICE", "BUS", "GROUP",
		       "ID", "DRIVER", "");
		for (int i = 0; i < n; i++) {
			char grp[16], id[16] = "-";
			snprintf(grp, sizeof(grp), "%d", v[i].iommu_group);
			if (v[i].bus == VFD_BUS_PCI)
				snprintf(id, sizeof(id), "%04x:%04x",
					 v[i].vendor_id, v[i].device_id);
			printf("%-20s %-9s %-6s %-10s %-16s %s\n", v[i].name,
			       bus_name(v[i].bus),
			       v[i].iommu_group < 0 ? "-" : grp, id,
			       v[i].driver[0] ? v[i].driver : "(none)",
			       v[i].vfio_bound ? "[vfio]" :
			       (v[i].bus == VFD_BUS_PCI &&
				v[i].vendor_id == VFD_EDU_VENDOR_ID &&
				v[i].device_id == VFD_EDU_DEVICE_ID) ?
			       "edu: run 'vfio-dmabuf bind' to use it" : "");
		}
		if (n == 0)
			printf("(no devices with an IOMMU group: is the IOMMU "
			       "enabled? try --all)\n");
	}
	free(v);
	return EXIT_OK;
}

/* ---- bind / unbind ---------------------------------------------------- */

static int cmd_bind(int argc, char **argv, bool unbind)
{
	const char *dev = NULL, *driver = NULL;
	bool reprobe = false;
	struct vfd_sysfs_device sd;
	struct vfd_error e;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (!unbind && !strcmp(argv[i], "--driver") && i + 1 < argc)
			driver = argv[++i];
		else if (unbind && !strcmp(argv[i], "--reprobe"))
			reprobe = true;
		else if (argv[i][0] != '-' && !dev)
			dev = argv[i];
		else
			return fail(EXIT_USAGE, -EINVAL, "%s: bad argument '%s'",
				    unbind ? "unbind" : "bind", argv[i]);
	}
	if (!dev)
		return fail(EXIT_USAGE, -EINVAL, "%s: which device? (see "
			    "'vfio-dmabuf list --all')", unbind ? "unbind" : "bind");
	ret = unbind ? vfd_sysfs_unbind(sysfs_root, dev, reprobe, &e) :
		       vfd_sysfs_bind(sysfs_root, dev, driver, &e);
	if (ret)
		return fail(EXIT_SETUP, ret, "%s", e.msg);
	ret = vfd_sysfs_lookup(sysfs_root, dev, &sd, &e);
	if (ret)
		return fail(EXIT_SETUP, ret, "%s", e.msg);
	if (json) {
		jopen(NULL, '{');
		jkv_b("ok", true);
		jkv_s("device", sd.name);
		jkv_s("driver", sd.driver);
		jkv_i("iommu_group", sd.iommu_group);
		jclose('}');
		putchar('\n');
	} else if (unbind) {
		printf("%s: unbound%s (driver now: %s)\n", sd.name,
		       reprobe ? " and reprobed" : "",
		       sd.driver[0] ? sd.driver : "none");
	} else {
		printf("%s: bound to %s, IOMMU group %d (/dev/vfio/%d)\n",
		       sd.name, sd.driver, sd.iommu_group, sd.iommu_group);
	}
	return EXIT_OK;
}

/* ---- info / iommu ----------------------------------------------------- */

static const char *pci_region_name(uint32_t i)
{
	static const char *const n[] = { "BAR0", "BAR1", "BAR2", "BAR3", "BAR4",
					 "BAR5", "ROM", "CONFIG", "VGA" };
	return i < sizeof(n) / sizeof(n[0]) ? n[i] : "device-specific";
}

static const char *pci_irq_name(uint32_t i)
{
	static const char *const n[] = { "INTx", "MSI", "MSI-X", "ERR", "REQ" };
	return i < sizeof(n) / sizeof(n[0]) ? n[i] : "device-specific";
}

static void print_pgsizes(uint64_t pg)
{
	bool first = true;
	for (int b = 0; b < 64; b++) {
		if (!(pg & (1ull << b)))
			continue;
		uint64_t s = 1ull << b;
		const char *u = "";
		if (s >= (1ull << 30)) {
			s >>= 30;
			u = "G";
		} else if (s >= (1ull << 20)) {
			s >>= 20;
			u = "M";
		} else if (s >= (1ull << 10)) {
			s >>= 10;
			u = "K";
		}
		printf("%s%" PRIu64 "%s", first ? "" : " ", s, u);
		first = false;
	}
}

static void show_iommu(struct vfd_container *c, const struct vfd_iommu_info *in)
{
	if (json) {
		jopen("iommu", '{');
		jkv_s("backend", vfd_container_backend_name(c));
		jkv_b("map_dmabuf", vfd_container_has_map_dmabuf(c));
		jkv_hex("pgsizes", in->pgsizes);
		jopen("iova_ranges", '[');
		for (uint32_t i = 0; i < in->nr_ranges; i++) {
			jopen(NULL, '{');
			jkv_hex("start", in->ranges[i].start);
			jkv_hex("end", in->ranges[i].end);
			jclose('}');
		}
		jclose(']');
		jkv_b("ranges_reported", in->ranges_reported);
		if (in->dma_avail_reported)
			jkv_u("dma_avail", in->dma_avail);
		jclose('}');
		return;
	}
	printf("IOMMU (%s backend):\n", vfd_container_backend_name(c));
	printf("  VFIO_IOMMU_MAP_DMABUF: %s\n", vfd_container_has_map_dmabuf(c) ?
	       "supported" : "NOT supported (load the vfio-dmabuf vfio_iommu_type1)");
	printf("  page sizes: ");
	print_pgsizes(in->pgsizes);
	printf(" (0x%" PRIx64 ")\n", in->pgsizes);
	printf("  usable IOVA ranges%s:\n", in->ranges_reported ? "" :
	       " (not reported by the kernel; assuming all)");
	for (uint32_t i = 0; i < in->nr_ranges; i++)
		printf("    0x%016" PRIx64 " - 0x%016" PRIx64 "\n",
		       in->ranges[i].start, in->ranges[i].end);
	if (in->dma_avail_reported)
		printf("  DMA mappings available: %u\n", in->dma_avail);
}

static int open_device(const char *dev, uint32_t flags,
		       struct vfd_container **cp, struct vfd_device **dp)
{
	struct vfd_container_opts o = { .sysfs_root = sysfs_root };
	struct vfd_error e;
	int ret = vfd_container_open(cp, &o, &e);

	if (ret)
		return fail(exit_for(ret) == EXIT_USAGE ? EXIT_SETUP : exit_for(ret),
			    ret, "%s", e.msg);
	ret = vfd_device_open(*cp, dev, flags, dp);
	if (ret) {
		int code = fail(ret == -EINVAL ? EXIT_USAGE : EXIT_SETUP, ret, "%s",
				vfd_container_errmsg(*cp));
		vfd_container_close(*cp);
		return code;
	}
	return 0;
}

static int cmd_info(int argc, char **argv, bool iommu_only)
{
	struct vfd_container *c;
	struct vfd_device *d;
	struct vfd_device_info di;
	struct vfd_iommu_info *ii;
	const char *dev = NULL;
	bool bind = false;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--bind"))
			bind = true;
		else if (argv[i][0] != '-' && !dev)
			dev = argv[i];
		else
			return fail(EXIT_USAGE, -EINVAL, "bad argument '%s'", argv[i]);
	}
	if (!dev)
		return fail(EXIT_USAGE, -EINVAL, "which device? (see 'vfio-dmabuf list')");
	ret = open_device(dev, bind ? VFD_DEVICE_BIND : 0, &c, &d);
	if (ret)
		return ret;
	ii = malloc(sizeof(*ii));
	if (!ii || vfd_device_info(d, &di) || vfd_container_iommu_info(c, ii)) {
		ret = fail(EXIT_SETUP, -EIO, "%s%s", vfd_device_errmsg(d),
			   vfd_container_errmsg(c));
		free(ii);
		vfd_container_close(c);
		return ret;
	}

	if (json) {
		jopen(NULL, '{');
		jkv_b("ok", true);
		jopen("device", '{');
		jkv_s("name", di.name);
		jkv_s("bus", bus_name(di.bus));
		jkv_i("iommu_group", di.iommu_group);
		jkv_b("can_reset", di.can_reset);
		if (di.bus == VFD_BUS_PCI) {
			char id[16];
			snprintf(id, sizeof(id), "%04x:%04x", di.vendor_id, di.device_id);
			jkv_s("id", id);
		}
		jclose('}');
	} else if (!iommu_only) {
		printf("device %s (%s", di.name, bus_name(di.bus));
		if (di.bus == VFD_BUS_PCI)
			printf(" %04x:%04x", di.vendor_id, di.device_id);
		printf("), IOMMU group %d, reset: %s\n", di.iommu_group,
		       di.can_reset ? "yes" : "no");
	}

	if (!iommu_only) {
		if (json)
			jopen("regions", '[');
		else
			printf("regions:\n");
		for (uint32_t i = 0; i < di.num_regions; i++) {
			struct vfd_region_info r;
			if (vfd_region_info(d, i, &r))
				continue;
			if (r.size == 0 && !json)
				continue;
			const char *name = di.bus == VFD_BUS_PCI ?
				pci_region_name(i) : "region";
			if (json) {
				jopen(NULL, '{');
				jkv_u("index", i);
				jkv_s("name", name);
				jkv_hex("size", r.size);
				jkv_hex("offset", r.offset);
				jkv_b("read", r.flags & VFD_REGION_READ);
				jkv_b("write", r.flags & VFD_REGION_WRITE);
				jkv_b("mmap", r.flags & VFD_REGION_MMAP);
				if (r.sparse_reported) {
					jopen("sparse_mmap", '[');
					for (uint32_t k = 0; k < r.nr_sparse; k++) {
						jopen(NULL, '{');
						jkv_hex("offset", r.sparse[k].offset);
						jkv_hex("size", r.sparse[k].size);
						jclose('}');
					}
					jclose(']');
				}
				if (r.type_reported) {
					jkv_u("type", r.type);
					jkv_u("subtype", r.subtype);
				}
				jclose('}');
			} else {
				printf("  %2u %-8s size 0x%-10" PRIx64 " %s%s%s", i, name,
				       r.size, r.flags & VFD_REGION_READ ? "r" : "-",
				       r.flags & VFD_REGION_WRITE ? "w" : "-",
				       r.flags & VFD_REGION_MMAP ? "m" : "-");
				if (r.sparse_reported)
					printf(" sparse-mmap: %u area(s)", r.nr_sparse);
				if (r.type_reported)
					printf(" type %u/%u", r.type, r.subtype);
				if (r.msix_mappable)
					printf(" msix-mappable");
				printf("\n");
			}
		}
		if (json)
			jclose(']');

		if (json)
			jopen("irqs", '[');
		else
			printf("interrupts:\n");
		for (uint32_t i = 0; i < di.num_irqs; i++) {
			struct vfd_irq_info q;
			if (vfd_irq_info(d, i, &q))
				continue;
			const char *name = di.bus == VFD_BUS_PCI ? pci_irq_name(i) : "irq";
			if (json) {
				jopen(NULL, '{');
				jkv_u("index", i);
				jkv_s("name", name);
				jkv_u("count", q.count);
				jkv_hex("flags", q.flags);
				jclose('}');
			} else if (q.count) {
				printf("  %2u %-6s %u vector(s)%s%s\n", i, name, q.count,
				       q.flags & 0x2 ? " maskable" : "",
				       q.flags & 0x4 ? " automasked" : "");
			}
		}
		if (json)
			jclose(']');
	}
	show_iommu(c, ii);
	if (json) {
		jclose('}');
		putchar('\n');
	}
	free(ii);
	vfd_container_close(c);
	return EXIT_OK;
}

/* ---- status ----------------------------------------------------------- */

static void jkv_words(const char *k, const char *words)
{
	char w[128];
	const char *p = words;
	int n;

	jopen(k, '[');
	while (sscanf(p, "%127s%n", w, &n) == 1) {
		jkey(NULL);
		jstr(w);
		p += n;
	}
	jclose(']');
}

static int cmd_status(int argc, char **argv)
{
	char sys[4096], proc[4096], dev[4096];
	struct status_roots r = { .sys = sysfs_root,
				  .supported_series = VFD_SUPPORTED_SERIES };
	struct status st;
	int missing = 0, code;

	if (argc)
		return fail(EXIT_USAGE, -EINVAL, "status: bad argument '%s'", argv[0]);
	if (machine_root) {
		snprintf(sys, sizeof(sys), "%s/sys", machine_root);
		snprintf(proc, sizeof(proc), "%s/proc", machine_root);
		snprintf(dev, sizeof(dev), "%s/dev", machine_root);
		if (!r.sys)
			r.sys = sys;
		r.proc = proc;
		r.dev = dev;
		r.root = machine_root;
	}
	status_probe(&r, &st);
	for (int i = 0; i < ST_NR; i++)
		missing += st.checks[i].required && !st.checks[i].ok;
	/* 4: only our vfio_iommu_type1 is missing; 3: anything else */
	code = st.ready ? EXIT_OK : (missing == 1 && !st.type1_ours) ?
		EXIT_NOFEATURE : EXIT_SETUP;

	if (json) {
		jopen(NULL, '{');
		jkv_b("ok", true);
		jkv_b("ready", st.ready);
		jkv_s("kernel", st.release);
		jkv_s("series", st.series);
		jkv_b("series_supported", st.series_supported);
		jkv_words("supported_series", r.supported_series);
		jopen("iommu", '{');
		jkv_b("enabled", st.iommu_enabled);
		jkv_i("groups", st.iommu_groups);
		jkv_words("units", st.iommu_units);
		jclose('}');
		jkv_b("vfio", st.vfio);
		jkv_b("vfio_pci", st.vfio_pci);
		jopen("vfio_iommu_type1", '{');
		jkv_b("loaded", st.type1_loaded);
		jkv_b("ours", st.type1_ours);
		jkey("map_dmabuf");
		fputs(st.map_dmabuf < 0 ? "null" : st.map_dmabuf ? "true" : "false", stdout);
		if (st.map_dmabuf < 0)
			jkv_s("map_dmabuf_not_asked", st.map_dmabuf_why);
		jkv_s("version", st.type1_version);
		jkv_s("srcversion", st.type1_srcversion);
		jkv_b("test_hooks", st.type1_test_hooks);
		jkv_s("installed", st.type1_installed);
		jclose('}');
		jopen("dmabuf_sources", '{');
		jkv_b("udmabuf", st.udmabuf);
		jkv_words("heaps", st.heaps);
		jclose('}');
		jopen("checks", '[');
		for (int i = 0; i < ST_NR; i++) {
			jopen(NULL, '{');
			jkv_s("name", st.checks[i].name);
			jkv_b("ok", st.checks[i].ok);
			jkv_b("required", st.checks[i].required);
			jkv_s("detail", st.checks[i].detail);
			if (st.checks[i].next_step[0])
				jkv_s("next_step", st.checks[i].next_step);
			jclose('}');
		}
		jclose(']');
		jkv_i("exit_code", code);
		jclose('}');
		putchar('\n');
		return code;
	}

	printf("kernel %s: series %s (vfio-dmabuf supports %s)\n",
	       st.release[0] ? st.release : "unknown",
	       st.series[0] ? st.series : "unknown", r.supported_series);
	for (int i = 0; i < ST_NR; i++) {
		const struct status_check *c = &st.checks[i];

		printf("%-17s %-8s %s\n", c->name,
		       c->ok ? "ok" : c->required ? "MISSING" : "none", c->detail);
		if (c->next_step[0])
			printf("%-17s %-8s %s\n", "", "next:", c->next_step);
	}
	if (st.ready)
		printf("STATUS: ready (VFIO_IOMMU_MAP_DMABUF can be used)\n");
	else
		printf("STATUS: not ready: %d missing, see 'next:' above\n", missing);
	return code;
}

/* ---- selftest --------------------------------------------------------- */

#define ST_LEN 2048u	/* bytes per edu transfer (inside its 4 KiB buffer) */

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 8));
}

static long first_diff(const uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(i * 13 + seed + (i >> 8)))
			return (long)i;
	return -1;
}

struct step {
	const char *name;
	bool ok;
	char detail[300];
};

static int cmd_selftest(int argc, char **argv)
{
	struct vfd_container_opts o = { .sysfs_root = sysfs_root };
	struct vfd_container *c = NULL;
	struct vfd_edu *edu = NULL;
	struct vfd_dmabuf *buf = NULL;
	struct vfd_error e;
	struct step steps[8];
	int nsteps = 0, code = EXIT_OK, ret;
	const char *dev = NULL;
	uint64_t iova = VFD_IOVA_ANY, mem_iova = VFD_IOVA_ANY;
	uint32_t flags = 0;
	uint8_t *mem = MAP_FAILED, *cpu = NULL;
	const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	const size_t bufsz = 2 * pg;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--iova") && i + 1 < argc) {
			if (parse_u64(argv[++i], &iova))
				return fail(EXIT_USAGE, -EINVAL, "bad --iova '%s'", argv[i]);
		} else if (!strcmp(argv[i], "--wide-dma")) {
			flags |= VFD_EDU_WIDE_DMA;
		} else if (!strcmp(argv[i], "--bind")) {
			flags |= VFD_DEVICE_BIND;
		} else if (argv[i][0] != '-' && !dev) {
			dev = argv[i];
		} else {
			return fail(EXIT_USAGE, -EINVAL, "selftest: bad argument '%s'",
				    argv[i]);
		}
	}

#define STEP(nm, cond, ...)                                                   \
	do {                                                                  \
		struct step *s_ = &steps[nsteps++];                          \
		s_->name = (nm);                                              \
		s_->ok = (cond);                                              \
		snprintf(s_->detail, sizeof(s_->detail), __VA_ARGS__);       \
		if (!json)                                                    \
			printf("%-28s %s  %s\n", s_->name,                    \
			       s_->ok ? "ok  " : "FAIL", s_->detail);         \
	} while (0)

	/* setup: failures here are environment problems (exit 3/4) */
	ret = vfd_container_open(&c, &o, &e);
	if (ret)
		return fail(exit_for(ret) == EXIT_USAGE ? EXIT_SETUP : exit_for(ret),
			    ret, "%s", e.msg);
	ret = vfd_edu_open(c, dev, flags, &edu);
	if (ret) {
		code = fail(EXIT_SETUP, ret, "%s", vfd_container_errmsg(c));
		goto out;
	}
	dev = vfd_device_name(vfd_edu_device(edu));
	if (!vfd_container_has_map_dmabuf(c)) {
		code = fail(EXIT_NOFEATURE, -EOPNOTSUPP,
			    "the kernel does not offer VFIO_IOMMU_MAP_DMABUF: load "
			    "the vfio-dmabuf build of vfio_iommu_type1");
		goto out;
	}
	ret = tool_dmabuf_create("auto", bufsz, &buf, &e);
	if (ret) {
		code = fail(EXIT_SETUP, ret, "%s", e.msg);
		goto out;
	}
	if (vfd_dmabuf_mmap(buf, (void **)&cpu)) {
		code = fail(EXIT_SETUP, -EIO, "%s", vfd_dmabuf_errmsg(buf));
		goto out;
	}
	mem = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (mem == MAP_FAILED) {
		code = fail(EXIT_SETUP, -errno, "mmap: %s", strerror(errno));
		goto out;
	}
	if (!json)
		printf("self-test on %s (edu id 0x%08x), dma-buf from %s (%zu bytes)\n",
		       dev, vfd_edu_id(edu), vfd_dmabuf_source_name(buf), bufsz);

	ret = vfd_dma_map_mem(c, mem, pg, &mem_iova, VFD_DMA_RW);
	if (ret) {
		STEP("map RAM buffer (MAP_DMA)", false, "%s", vfd_container_errmsg(c));
		goto report;
	}
	STEP("map RAM buffer (MAP_DMA)", true, "IOVA 0x%" PRIx64, mem_iova);
	ret = vfd_dma_map_buf(c, buf, &iova, VFD_DMA_RW);
	if (ret) {
		STEP("map dma-buf (MAP_DMABUF)", false, "%s", vfd_container_errmsg(c));
		if (ret == -EOPNOTSUPP)
			code = EXIT_NOFEATURE;
		goto report;
	}
	STEP("map dma-buf (MAP_DMABUF)", true, "IOVA 0x%" PRIx64 " size 0x%zx",
	     iova, bufsz);

	/* A: the device writes into the dma-buf (second page) */
	fill(mem, ST_LEN, 0x11);
	memset(cpu, 0, bufsz);
	ret = vfd_edu_dma_to_device(edu, mem_iova, 0, ST_LEN, 0);
	if (!ret)
		ret = vfd_edu_dma_from_device(edu, 0, iova + pg, ST_LEN, 0);
	if (ret) {
		STEP("device -> dma-buf", false, "%s", vfd_edu_errmsg(edu));
	} else {
		vfd_dmabuf_sync_begin(buf, VFD_SYNC_READ);
		long d = first_diff(cpu + pg, ST_LEN, 0x11);
		bool untouched = cpu[0] == 0 && cpu[pg + ST_LEN] == 0;
		vfd_dmabuf_sync_end(buf, VFD_SYNC_READ);
		if (d >= 0)
			STEP("device -> dma-buf", false, "the CPU sees wrong data at "
			     "byte %ld of the written range (did the DMA land?)", d);
		else if (!untouched)
			STEP("device -> dma-buf", false, "bytes outside the "
			     "transfer changed");
		else
			STEP("device -> dma-buf", true, "%u bytes written at IOVA "
			     "0x%" PRIx64 ", read back by the CPU", ST_LEN, iova + pg);
	}

	/* B: the device reads from the dma-buf */
	vfd_dmabuf_sync_begin(buf, VFD_SYNC_WRITE);
	fill(cpu, ST_LEN, 0x77);
	vfd_dmabuf_sync_end(buf, VFD_SYNC_WRITE);
	memset(mem, 0, pg);
	ret = vfd_edu_dma_to_device(edu, iova, 0x800, ST_LEN - 1, 0);
	if (!ret)
		ret = vfd_edu_dma_from_device(edu, 0x800, mem_iova, ST_LEN - 1, 0);
	if (ret) {
		STEP("dma-buf -> device", false, "%s", vfd_edu_errmsg(edu));
	} else {
		long d = first_diff(mem, ST_LEN - 1, 0x77);
		if (d >= 0)
			STEP("dma-buf -> device", false, "wrong data at byte %ld", d);
		else
			STEP("dma-buf -> device", true, "%u bytes read from IOVA "
			     "0x%" PRIx64, ST_LEN - 1, iova);
	}

	{
		struct vfd_dma_mapping m;
		ret = vfd_dma_lookup(c, iova + 1, &m);
		STEP("lookup", !ret && m.iova == iova && m.kind == VFD_DMA_KIND_DMABUF,
		     "%s", ret ? vfd_container_errmsg(c) : "IOVA -> dma-buf mapping");
	}
	ret = vfd_dma_unmap(c, iova);
	STEP("unmap dma-buf", !ret, "%s", ret ? vfd_container_errmsg(c) : "");
	ret = vfd_dma_unmap(c, iova);
	STEP("unmap again is refused", ret == -ENOENT, "%s", vfd_container_errmsg(c));

report:
	for (int i = 0; i < nsteps; i++)
		if (!steps[i].ok && code == EXIT_OK)
			code = EXIT_TESTFAIL;
	if (json) {
		jopen(NULL, '{');
		jkv_b("ok", code == EXIT_OK);
		jkv_s("device", dev);
		jkv_hex("iova", iova);
		jkv_s("dmabuf_source", vfd_dmabuf_source_name(buf));
		jopen("steps", '[');
		for (int i = 0; i < nsteps; i++) {
			jopen(NULL, '{');
			jkv_s("name", steps[i].name);
			jkv_b("ok", steps[i].ok);
			jkv_s("detail", steps[i].detail);
			jclose('}');
		}
		jclose(']');
		jkv_i("exit_code", code);
		jclose('}');
		putchar('\n');
	} else {
		printf("SELFTEST: %s\n", code == EXIT_OK ? "PASS" : "FAIL");
	}
out:
	if (mem != MAP_FAILED)
		munmap(mem, pg);
	vfd_edu_close(edu);
	vfd_container_close(c);
	vfd_dmabuf_free(buf);
	return code;
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--sysfs-root") && i + 1 < argc) {
			sysfs_root = argv[++i];
		} else if (!strcmp(argv[i], "--root") && i + 1 < argc) {
			machine_root = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[i++];
	int sub_argc = argc - i;
	char **sub_argv = argv + i;

	if (!strcmp(cmd, "list"))
		return cmd_list(sub_argc, sub_argv);
	if (!strcmp(cmd, "bind"))
		return cmd_bind(sub_argc, sub_argv, false);
	if (!strcmp(cmd, "unbind"))
		return cmd_bind(sub_argc, sub_argv, true);
	if (!strcmp(cmd, "info"))
		return cmd_info(sub_argc, sub_argv, false);
	if (!strcmp(cmd, "iommu"))
		return cmd_info(sub_argc, sub_argv, true);
	if (!strcmp(cmd, "selftest"))
		return cmd_selftest(sub_argc, sub_argv);
	if (!strcmp(cmd, "status"))
		return cmd_status(sub_argc, sub_argv);
	if (!strcmp(cmd, "version")) {
		if (json)
			printf("{\"ok\":true,\"version\":\"%s\"}\n", vfd_version());
		else
			printf("vfio-dmabuf %s\n", vfd_version());
		return EXIT_OK;
	}
	fprintf(stderr, "vfio-dmabuf: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
