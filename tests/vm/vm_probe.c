// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm_probe STATUS [WORD...]: the small program of make check's
 * commands/make-vm.  Prints its arguments and what 'make vm' promises about
 * the guest (root, the edu devices bound to vfio-pci, /dev/vfio/vfio), then
 * exits with STATUS, so that the caller can see that the status of
 * 'make vm' is the program's own.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct dirent *d;
	DIR *dir;
	int edus = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: vm_probe STATUS [WORD...]\n");
		return 2;
	}
	printf("vm_probe: args:");
	for (int i = 2; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\nvm_probe: uid %d, /dev/vfio/vfio %s\n", (int)getuid(),
	       access("/dev/vfio/vfio", F_OK) ? "missing" : "present");
	dir = opendir("/sys/bus/pci/devices");
	while (dir && (d = readdir(dir))) {
		char path[PATH_MAX], id[16] = "", drv[PATH_MAX] = "";
		FILE *f;
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(id, sizeof(id), f))
			id[0] = '\0';
		fclose(f);
		if (strncmp(id, "0x11e8", 6))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", d->d_name);
		n = readlink(path, drv, sizeof(drv) - 1);
		drv[n > 0 ? n : 0] = '\0';
		printf("vm_probe: edu %s driver %s\n", d->d_name,
		       strrchr(drv, '/') ? strrchr(drv, '/') + 1 : "(none)");
		edus++;
	}
	if (dir)
		closedir(dir);
	printf("vm_probe: %d edu devices; exiting with status %s\n", edus, argv[1]);
	return atoi(argv[1]);
}
