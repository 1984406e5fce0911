/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Error reporting: struct vfd_error helpers and per-handle error slots. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *vfd_version(void)
{
	return STR(VFD_VERSION_MAJOR) "." STR(VFD_VERSION_MINOR) "."
		STR(VFD_VERSION_PATCH);
}

void vfd__err_clear(struct vfd_error *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

static int verr(struct vfd_error *e, int code, bool with_errno,
		const char *fmt, va_list ap)
{
	if (!e)
		return code;
	e->code = code;
	int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (n < 0) {
		e->msg[0] = '\0';
		n = 0;
	}
	if (with_errno && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s",
			 strerror(-code));
	return code;
}

int vfd__err(struct vfd_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(e, code, false, fmt, ap);
	va_end(ap);
	return code;
}

int vfd__err_errno(struct vfd_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(e, code, true, fmt, ap);
	va_end(ap);
	return code;
}

int vfd__err_prefix(struct vfd_error *e, const char *fmt, ...)
{
	char prefix[VFD_ERRMSG_MAX], old[VFD_ERRMSG_MAX];
	va_list ap;

	if (!e)
		return 0;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	char joined[2 * VFD_ERRMSG_MAX + 3];

	memcpy(old, e->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	snprintf(joined, sizeof(joined), "%s: %s", prefix, old);
	snprintf(e->msg, sizeof(e->msg), "%.*s", VFD_ERRMSG_MAX - 1, joined);
	return e->code;
}

void vfd__errslot_init(struct vfd_errslot *s)
{
	pthread_mutex_init(&s->lock, NULL);
	vfd__err_clear(&s->e);
}

void vfd__errslot_destroy(struct vfd_errslot *s)
{
	pthread_mutex_destroy(&s->lock);
}

int vfd__errslot_store(struct vfd_errslot *s, const struct vfd_error *e)
{
	if (!e->code)
		return 0;
	pthread_mutex_lock(&s->lock);
	s->e = *e;
	pthread_mutex_unlock(&s->lock);
	return e->code;
}

const char *vfd__errslot_msg(const struct vfd_errslot *s)
{
	return s->e.msg;
}

int vfd__errslot_copy(const struct vfd_errslot *s, struct vfd_error *out)
{
	struct vfd_errslot *w = (struct vfd_errslot *)s;

	pthread_mutex_lock(&w->lock);
	*out = w->e;
	pthread_mutex_unlock(&w->lock);
	return out->code;
}
