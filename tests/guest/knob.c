// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test knobs: see knob.h.
 */
#define _GNU_SOURCE
#include "knob.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool vt_knob(const char *name, unsigned long long *v)
{
	char buf[4096], key[64];
	const char *e = getenv(name);
	ssize_t n;
	int fd;

	if (e && *e) {
		*v = strtoull(e, NULL, 0);
		return true;
	}
	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	snprintf(key, sizeof(key), "%s=", name);
	for (char *p = buf; (p = strstr(p, key)); p += strlen(key))
		if (p == buf || p[-1] == ' ') {
			*v = strtoull(p + strlen(key), NULL, 0);
			return true;
		}
	return false;
}
