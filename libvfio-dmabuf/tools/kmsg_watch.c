// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The IOMMU fault reports of the kernel log: see kmsg_watch.h.
 */
#include "kmsg_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the IOMMU drivers of the project's machines log for a blocked
 * access: intel-iommu, AMD-Vi, arm-smmu-v3 (events 0x10-0x13: translation,
 * address size, access and permission faults), virtio-iommu. */
#define DEFAULT_FAULT_PATTERN \
	"DMAR: \\[DMA (Read|Write)|IO_PAGE_FAULT|event 0x1[0-3] received|fault from EP"

/* Lines an IOMMU driver adds to one report after its first line. */
#define MAX_REPORT_LINES 6
#define REPORT_TAIL_MS 300

int kmsg_watch_start(struct kmsg_watch *w)
{
	w->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	if (lseek(w->fd, 0, SEEK_END) < 0) {
		int e = errno;

		close(w->fd);
		w->fd = -1;
		return -e;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* /dev/kmsg escapes unprintable bytes as \xNN: show a tab as a space. */
static void unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (!strncmp(s, "\\x09", 4)) {
			*o++ = ' ';
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/*
 * The next message of the log, waiting until @deadline (ms), without its
 * "prio,seq,time,flags;" prefix and continuation lines.  false at the
 * deadline.
 */
static bool next_message(int fd, long long deadline, char *msg, size_t len)
{
	char rec[1024];

	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		char *text, *nl;

		if (n > 0) {
			rec[n] = '\0';
			text = strchr(rec, ';');
			text = text ? text + 1 : rec;
			nl = strchr(text, '\n');
			if (nl)
				*nl = '\0';
			snprintf(msg, len, "%s", text);
			unescape(msg);
			return true;
		}
		if (n < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (n < 0 && errno != EAGAIN)
			return false;

		long long left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (left <= 0)
			return false;
		poll(&p, 1, (int)left);
	}
}

int kmsg_watch_fault(struct kmsg_watch *w, unsigned int ms, char *out,
		     size_t len)
{
	const char *pat = getenv("VFD_FAULT_PATTERN");
	long long deadline = now_ms() + ms;
	char msg[1024];
	size_t used = 0;
	int lines = 0;
	regex_t re;

	if (w->fd < 0 || !len)
		return 0;
	if (regcomp(&re, pat && *pat ? pat : DEFAULT_FAULT_PATTERN,
		    REG_EXTENDED | REG_NOSUB))
		return 0;
	out[0] = '\0';
	while (lines < MAX_REPORT_LINES && next_message(w->fd, deadline, msg, sizeof(msg))) {
		bool report = !regexec(&re, msg, 0, NULL, 0);

		if (!lines && !report)
			continue;	/* not the fault report (yet) */
		if (lines && report)
			break;		/* the next report: one is enough */
		if (!lines)
			deadline = now_ms() + REPORT_TAIL_MS;
		if (used < len)
			used += snprintf(out + used, len - used, "%s\n", msg);
		lines++;
	}
	regfree(&re);
	return lines;
}

void kmsg_watch_stop(struct kmsg_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
