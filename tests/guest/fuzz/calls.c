// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every fuzzed ioctl goes through call(): it is recorded for the failure
 * report, maybe made to fail an allocation, counted, and its answer is
 * compared with the one the model expects.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdarg.h>
#include <sys/ioctl.h>

const char *const ioc_name[NIOC] = {
	"MAP_DMABUF", "MAP_DMA", "UNMAP_DMA", "GET_INFO", "GET_STATE", "DIRTY_PAGES",
};

/* The failure report: the seed, the last calls and the model. */
void dump_ring(const struct fz *z)
{
	vt_info("fuzz seed 0x%" PRIx64 " (VFD_FUZZ_SEED=0x%" PRIx64 " reproduces); last calls:",
		z->seed, z->seed);
	for (uint64_t c = z->call > 16 ? z->call - 16 : 0; c < z->call; c++) {
		const struct rec *r = &z->ring[c % 16];

		vt_info("  #%" PRIu64 " %s %s -> %d/%s", r->call, ioc_name[r->ioc], r->what,
			r->ret, r->ret ? strerrorname(r->err) : "ok");
	}
	vt_info("model: %u mappings, dirty tracking %s", z->n, z->dirty ? "on" : "off");
	for (unsigned int i = 0; i < z->n; i++)
		vt_info("  0x%" PRIx64 "+0x%" PRIx64 " %s%s%s buf %u", z->m[i].iova, z->m[i].size,
			z->m[i].dmabuf ? "dma-buf" : "MAP_DMA", z->m[i].revoked ? " revoked" : "",
			z->m[i].vinv ? " vaddr-invalid" : "", z->m[i].bufid);
}

void note(struct fz *z, int ioc, const char *fmt, ...)
{
	struct rec *r = &z->ring[z->call % 16];
	va_list ap;

	r->call = z->call;
	r->ioc = ioc;
	r->ret = 0;
	r->err = 0;
	va_start(ap, fmt);
	vsnprintf(r->what, sizeof(r->what), fmt, ap);
	va_end(ap);
}

/* Run the ioctl, count its errno, compare with @want (0 or an errno) or
 * @alt (another acceptable answer, -1 for none). Returns the errno. */
int call(struct fz *z, int ioc, unsigned long req, void *arg, int want, int alt)
{
	struct rec *r = &z->ring[z->call % 16];
	bool armed = z->inject && ioc != IOC_DIRTY && ioc != IOC_UNMAP &&
		     rndn(&z->frng, 100) < z->fail_pct;
	unsigned int nth = armed ? 1 + (unsigned int)rndn(&z->frng, 24) : 0;
	int ret, e;

	if (armed)
		vt_failnth_arm(&z->nth, nth);
	errno = 0;
	ret = ioctl(z->cfd, req, arg);
	e = ret < 0 ? errno : 0;
	r->ret = ret;
	r->err = e;
	z->calls[ioc]++;
	z->hist[ioc][e < NSEEN ? e : NSEEN - 1]++;
	if (armed) {
		z->fi_armed++;
		if (vt_failnth_disarm(&z->nth)) {
			z->fi_injected++;
			snprintf(r->what + strlen(r->what), sizeof(r->what) - strlen(r->what),
				 " [allocation %u failed]", nth);
			if (e == ENOMEM) {
				/* failed cleanly, the model stays: audits check it */
				z->fi_enomem++;
				z->call++;
				return e;
			}
		}
	}
	if (ret > 0)
		ZFAIL(z, "call %" PRIu64 ": %s %s returned %d", z->call, ioc_name[ioc], r->what,
		      ret);
	if (e != want && e != alt)
		ZFAIL(z, "call %" PRIu64 ": %s %s: got %s, the model expects %s%s%s", z->call,
		      ioc_name[ioc], r->what, e ? strerrorname(e) : "success",
		      want ? strerrorname(want) : "success", alt >= 0 ? " or " : "",
		      alt < 0 ? "" : alt ? strerrorname(alt) : "success");
	z->call++;
	return e;
}
