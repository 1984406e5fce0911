/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysfs: describe, list, bind and unbind devices.  Every function takes
 * the sysfs root so that unit tests can run against a fake tree. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

static const char *const bus_dir[] = {
	[VFD_BUS_PCI] = "pci",
	[VFD_BUS_PLATFORM] = "platform",
};

const char *vfd__sysfs_root(const char *root)
{
	return (root && *root) ? root : "/sys";
}

bool vfd__is_vfio_driver(const char *driver)
{
	return driver && strstr(driver, "vfio") != NULL;
}

static bool hexn(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* "dddd:bb:dd.f" */
static bool is_full_pci(const char *s)
{
	return strlen(s) == 12 && hexn(s, 4) && s[4] == ':' && hexn(s + 5, 2) &&
	       s[7] == ':' && hexn(s + 8, 2) && s[10] == '.' &&
	       s[11] >= '0' && s[11] <= '7';
}

/* "bb:dd.f" */
static bool is_short_pci(const char *s)
{
	return strlen(s) == 7 && hexn(s, 2) && s[2] == ':' && hexn(s + 3, 2) &&
	       s[5] == '.' && s[6] >= '0' && s[6] <= '7';
}

int vfd_sysfs_normalize_name(const char *name, char *out, size_t outlen)
{
	if (!name || !*name || !out)
		return -EINVAL;
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	if (is_short_pci(name)) {
		if (vfd__path(out, outlen, "0000:%s", name))
			return -EINVAL;
	} else if (vfd__path(out, outlen, "%s", name)) {
		return -EINVAL;
	}
	if (is_full_pci(out))
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return 0;
}

static int read_hex(const char *dir, const char *file, uint64_t *v)
{
	char path[512], buf[64];
	int ret = vfd__path(path, sizeof(path), "%s/%s", dir, file);

	if (ret)
		return ret;
	ret = vfd__read_text(path, buf, sizeof(buf));
	if (ret)
		return ret;
	return vfd__parse_u64(buf, v);
}

/* Fill @out from the device directory @dir. */
static int describe(const char *dir, const char *name, enum vfd_bus bus,
		    struct vfd_sysfs_device *out)
{
	char path[512], buf[64];
	uint64_t v;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->bus = bus;
	out->iommu_group = -1;

	if (!vfd__path(path, sizeof(path), "%s/driver", dir) &&
	    vfd__readlink_base(path, out->driver, sizeof(out->driver)))
		out->driver[0] = '\0';
	out->vfio_bound = out->driver[0] && vfd__is_vfio_driver(out->driver);

	if (!vfd__path(path, sizeof(path), "%s/iommu_group", dir) &&
	    !vfd__readlink_base(path, buf, sizeof(buf)) &&
	    !vfd__parse_u64(buf, &v) && v <= INT32_MAX)
		out->iommu_group = (int)v;
	/* VFIO names the groups it makes for devices without an IOMMU */
	if (out->iommu_group >= 0 &&
	    !vfd__path(path, sizeof(path), "%s/iommu_group/name", dir) &&
	    !vfd__read_text(path, buf, sizeof(buf)) &&
	    !strcmp(buf, "vfio-noiommu"))
		out->noiommu = true;

	if (!vfd__path(path, sizeof(path), "%s/driver_override", dir) &&
	    !vfd__read_text(path, buf, sizeof(buf)) && strcmp(buf, "(null)"))
		snprintf(out->driver_override, sizeof(out->driver_override),
			 "%s", buf);

	if (bus == VFD_BUS_PCI) {
		if (!read_hex(dir, "vendor", &v))
			out->vendor_id = (uint16_t)v;
		if (!read_hex(dir, "device", &v))
			out->device_id = (uint16_t)v;
		if (!read_hex(dir, "class", &v))
			out->class_code = (uint32_t)(v & 0xffffff);
	}
	return 0;
}

static int dev_dir(const char *root, enum vfd_bus bus, const char *name,
		   char *buf, size_t len)
{
	return vfd__path(buf, len, "%s/bus/%s/devices/%s", root, bus_dir[bus],
			 name);
}

int vfd_sysfs_lookup(const char *sysfs_root, const char *name,
		     struct vfd_sysfs_device *out, struct vfd_error *err)
{
	const char *root = vfd__sysfs_root(sysfs_root);
	char canon[64], dir[512];
	struct stat st;

	if (vfd_sysfs_normalize_name(name, canon, sizeof(canon)))
		return vfd__err(err, -EINVAL, "invalid device name '%s'",
				name ? name : "(null)");
	for (int bus = VFD_BUS_PCI; bus <= VFD_BUS_PLATFORM; bus++) {
		if (bus == VFD_BUS_PLATFORM && is_full_pci(canon))
			break;
		if (dev_dir(root, bus, canon, dir, sizeof(dir)))
			return vfd__err(err, -ENAMETOOLONG, "path too long");
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return describe(dir, canon, bus, out);
	}
	return vfd__err(err, -ENODEV,
			"no device '%s' in %s/bus/pci/devices or "
			"%s/bus/platform/devices (run 'vfio-dmabuf list')",
			canon, root, root);
}

static int cmp_dev(const void *pa, const void *pb)
{
	const struct vfd_sysfs_device *a = pa, *b = pb;

	if (a->bus != b->bus)
		return a->bus < b->bus ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* A growable array of devices. */
struct devlist {
	struct vfd_sysfs_device *v;
	size_t n, cap;
};

static int devlist_add(struct devlist *l, const struct vfd_sysfs_device *d)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 32;
		struct vfd_sysfs_device *nv = realloc(l->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *d;
	return 0;
}

static int finish_list(struct devlist *l, struct vfd_sysfs_device *out,
		       size_t max)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_dev);
	for (size_t i = 0; i < l->n && i < max; i++)
		out[i] = l->v[i];
	free(l->v);
	return l->n > INT32_MAX ? INT32_MAX : (int)l->n;
}

int vfd_sysfs_list(const char *sysfs_root, uint32_t flags,
		   struct vfd_sysfs_device *out, size_t max,
		   struct vfd_error *err)
{
	const char *root = vfd__sysfs_root(sysfs_root);
	struct devlist l = { 0 };
	bool any_bus = false;

	if (!(flags & (VFD_LIST_PCI | VFD_LIST_PLATFORM)))
		flags |= VFD_LIST_PCI | VFD_LIST_PLATFORM;
	for (int bus = VFD_BUS_PCI; bus <= VFD_BUS_PLATFORM; bus++) {
		char dir[512], ddir[768];
		DIR *dp;
		struct dirent *de;

		if (!(flags & (bus == VFD_BUS_PCI ? VFD_LIST_PCI :
						     VFD_LIST_PLATFORM)))
			continue;
		if (vfd__path(dir, sizeof(dir), "%s/bus/%s/devices", root,
			      bus_dir[bus]))
			continue;
		dp = opendir(dir);
		if (!dp)
			continue;
		any_bus = true;
		while ((de = readdir(dp))) {
			struct vfd_sysfs_device d;
			if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(d.name))
				continue;
			if (vfd__path(ddir, sizeof(ddir), "%s/%s", dir, de->d_name))
				continue;
			describe(ddir, de->d_name, (enum vfd_bus)bus, &d);
			if ((flags & VFD_LIST_IOMMU_ONLY) && d.iommu_group < 0 &&
			    !d.vfio_bound)
				continue;
			if (devlist_add(&l, &d)) {
				closedir(dp);
				free(l.v);
				return vfd__err(err, -ENOMEM, "out of memory");
			}
		}
		closedir(dp);
	}
	if (!any_bus) {
		free(l.v);
		return vfd__err(err, -ENOENT,
				"cannot read %s/bus/*/devices: is sysfs mounted?",
				root);
	}
	return finish_list(&l, out, max);
}

int vfd_sysfs_group_devices(const char *sysfs_root, int group,
			    struct vfd_sysfs_device *out, size_t max,
			    struct vfd_error *err)
{
	const char *root = vfd__sysfs_root(sysfs_root);
	struct devlist l = { 0 };
	char dir[512];
	DIR *dp;
	struct dirent *de;

	if (group < 0)
		return vfd__err(err, -EINVAL, "invalid IOMMU group %d", group);
	if (vfd__path(dir, sizeof(dir), "%s/kernel/iommu_groups/%d/devices",
		      root, group))
		return vfd__err(err, -ENAMETOOLONG, "path too long");
	dp = opendir(dir);
	if (!dp)
		return vfd__err_errno(err, -errno, "cannot read IOMMU group %d (%s)",
				      group, dir);
	while ((de = readdir(dp))) {
		struct vfd_sysfs_device d;
		struct vfd_error ignored;
		if (de->d_name[0] == '.')
			continue;
		if (vfd_sysfs_lookup(sysfs_root, de->d_name, &d, &ignored)) {
			/* not on a bus we know: list it by name only */
			memset(&d, 0, sizeof(d));
			snprintf(d.name, sizeof(d.name), "%.63s", de->d_name);
			d.iommu_group = group;
		}
		if (devlist_add(&l, &d)) {
			closedir(dp);
			free(l.v);
			return vfd__err(err, -ENOMEM, "out of memory");
		}
	}
	closedir(dp);
	return finish_list(&l, out, max);
}

int vfd_sysfs_find_pci(const char *sysfs_root, uint16_t vendor,
		       uint16_t device, unsigned int index, char *name,
		       size_t namelen, struct vfd_error *err)
{
	int n = vfd_sysfs_list(sysfs_root, VFD_LIST_PCI, NULL, 0, err);
	struct vfd_sysfs_device *v;
	unsigned int seen = 0;
	int ret = -ENODEV;

	if (n < 0)
		return n;
	v = calloc(n ? (size_t)n : 1, sizeof(*v));
	if (!v)
		return vfd__err(err, -ENOMEM, "out of memory");
	n = vfd_sysfs_list(sysfs_root, VFD_LIST_PCI, v, (size_t)n, err);
	for (int i = 0; i < n; i++) {
		if (v[i].vendor_id != vendor || v[i].device_id != device)
			continue;
		if (seen++ == index) {
			ret = vfd__path(name, namelen, "%s", v[i].name) ?
				vfd__err(err, -ENAMETOOLONG, "name buffer too small") : 0;
			break;
		}
	}
	free(v);
	if (ret == -ENODEV)
		vfd__err(err, -ENODEV,
			 "no PCI device %04x:%04x%s found in %s/bus/pci/devices",
			 vendor, device, index ? " with that index" : "",
			 vfd__sysfs_root(sysfs_root));
	return ret;
}

static int write_attr(const char *path, const char *val, const char *what,
		      struct vfd_error *err)
{
	int ret = vfd__write_text(path, val);

	if (ret == -EACCES || ret == -EPERM)
		return vfd__err_errno(err, ret, "%s (%s): run as root", what,
				      path);
	if (ret)
		return vfd__err_errno(err, ret, "%s (%s)", what, path);
	return 0;
}

int vfd_sysfs_bind(const char *sysfs_root, const char *name,
		   const char *driver, struct vfd_error *err)
{
	const char *root = vfd__sysfs_root(sysfs_root);
	struct vfd_sysfs_device sd;
	char dir[512], path[768];
	struct stat st;
	int ret = vfd_sysfs_lookup(sysfs_root, name, &sd, err);

	if (ret)
		return ret;
	if (!driver)
		driver = sd.bus == VFD_BUS_PCI ? "vfio-pci" : "vfio-platform";
	if (!strcmp(sd.driver, driver))
		return 0;
	if (strchr(driver, '/') || !*driver)
		return vfd__err(err, -EINVAL, "invalid driver name '%s'", driver);
	if (vfd__path(path, sizeof(path), "%s/bus/%s/drivers/%s", root,
		      bus_dir[sd.bus], driver))
		return vfd__err(err, -ENAMETOOLONG, "path too long");
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return vfd__err(err, -ENODEV,
				"driver '%s' is not loaded (no %s): run "
				"'modprobe %s'", driver, path, driver);
	dev_dir(root, sd.bus, sd.name, dir, sizeof(dir));

	if (vfd__path(path, sizeof(path), "%s/driver_override", dir))
		return vfd__err(err, -ENAMETOOLONG, "path too long");
	ret = write_attr(path, driver, "cannot set driver_override", err);
	if (ret)
		return ret;
	if (sd.driver[0]) {
		if (vfd__path(path, sizeof(path), "%s/driver/unbind", dir))
			return vfd__err(err, -ENAMETOOLONG, "path too long");
		ret = write_attr(path, sd.name, "cannot unbind from current driver",
				 err);
		if (ret)
			return vfd__err_prefix(err, "%s bound to %s", sd.name,
					       sd.driver);
	}
	if (vfd__path(path, sizeof(path), "%s/bus/%s/drivers_probe", root,
		      bus_dir[sd.bus]))
		return vfd__err(err, -ENAMETOOLONG, "path too long");
	ret = write_attr(path, sd.name, "drivers_probe failed", err);
	if (ret)
		return ret;

	ret = vfd_sysfs_lookup(sysfs_root, sd.name, &sd, err);
	if (ret)
		return ret;
	if (strcmp(sd.driver, driver))
		return vfd__err(err, -EIO,
				"%s is %s%s after binding to %s: the driver's "
				"probe failed, see dmesg", sd.name,
				sd.driver[0] ? "bound to " : "not bound",
				sd.driver, driver);
	return 0;
}

int vfd_sysfs_unbind(const char *sysfs_root, const char *name, bool reprobe,
		     struct vfd_error *err)
{
	const char *root = vfd__sysfs_root(sysfs_root);
	struct vfd_sysfs_device sd;
	char dir[512], path[768];
	int ret = vfd_sysfs_lookup(sysfs_root, name, &sd, err);

	if (ret)
		return ret;
	dev_dir(root, sd.bus, sd.name, dir, sizeof(dir));
	if (sd.driver[0]) {
		if (vfd__path(path, sizeof(path), "%s/driver/unbind", dir))
			return vfd__err(err, -ENAMETOOLONG, "path too long");
		ret = write_attr(path, sd.name, "cannot unbind", err);
		if (ret)
			return ret;
	}
	if (sd.driver_override[0]) {
		if (vfd__path(path, sizeof(path), "%s/driver_override", dir))
			return vfd__err(err, -ENAMETOOLONG, "path too long");
		ret = write_attr(path, "\n", "cannot clear driver_override", err);
		if (ret)
			return ret;
	}
	if (reprobe) {
		if (vfd__path(path, sizeof(path), "%s/bus/%s/drivers_probe",
			      root, bus_dir[sd.bus]))
			return vfd__err(err, -ENAMETOOLONG, "path too long");
		ret = write_attr(path, sd.name, "drivers_probe failed", err);
		if (ret)
			return ret;
	}
	return 0;
}
