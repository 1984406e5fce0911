// SPDX-License-Identifier: GPL-2.0-only
/*
 * map_bench: the clock, medians and the figure lines.
 *
 * Every figure is a median of one sample per repetition.  A ratio of two
 * kinds of sample is the median of the repetitions' ratios (ratio_of()):
 * each repetition takes both close together in time, while the guest's
 * speed under TCG drifts within a run (the host's load comes and goes),
 * and a quotient of two medians taken apart could put one in a slow
 * stretch and the other in a fast one.  Times differ between machines
 * and runs; ratios within one run do not (much).
 *
 * The host preempts the vCPU threads now and then for milliseconds (it
 * runs other work), which lands in whatever the guest was timing: the
 * medians take care of it across repetitions, and within one repetition
 * the fine-grained figures (cycles, windows) drop such samples
 * explicitly (mean_without_preemptions()) or use a median.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void series_add(struct series *s, double v)
{
	if (s->n < MAX_REPS)
		s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double median_of(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double series_median(const struct series *s)
{
	double v[MAX_REPS];

	memcpy(v, s->v, (size_t)s->n * sizeof(*v));
	return median_of(v, (size_t)s->n);
}

double mean_without_preemptions(const double *v, size_t n, size_t *dropped)
{
	double *w = malloc(n * sizeof(*w)), med, sum = 0;
	size_t i, k = 0;

	if (!w || !n)
		die("mean_without_preemptions: %zu samples", n);
	memcpy(w, v, n * sizeof(*w));
	med = median_of(w, n);
	for (i = 0; i < n; i++) {
		if (v[i] > 10 * med)
			continue;
		sum += v[i];
		k++;
	}
	free(w);
	*dropped = n - k;
	return sum / (double)k;
}

void info(const char *fmt, ...)
{
	va_list ap;

	fputs("INFO ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void fig(double v, const char *unit, const char *namefmt, ...)
{
	char name[128];
	va_list ap;

	va_start(ap, namefmt);
	vsnprintf(name, sizeof(name), namefmt, ap);
	va_end(ap);
	if (!isfinite(v) || v < 0) {
		info("%s: no value (%g)", name, v);
		return;
	}
	/* enough digits for small times, none wasted on large ones */
	printf("BENCH %s %.*f %s\n", name, v >= 1000 ? 0 : v >= 10 ? 1 : 3, v, unit);
}

void ratio(double num, double den, const char *namefmt, ...)
{
	char name[128];
	va_list ap;

	va_start(ap, namefmt);
	vsnprintf(name, sizeof(name), namefmt, ap);
	va_end(ap);
	if (!(den > 0) || !isfinite(num) || num < 0) {
		info("%s: not computed (%g / %g)", name, num, den);
		return;
	}
	printf("RATIO %s %.3f\n", name, num / den);
}

void ratio_of(const struct series *num, const struct series *den, const char *namefmt, ...)
{
	struct series q = { 0 };
	char name[128];
	va_list ap;
	int i;

	va_start(ap, namefmt);
	vsnprintf(name, sizeof(name), namefmt, ap);
	va_end(ap);
	for (i = 0; i < num->n && i < den->n; i++) {
		if (!(den->v[i] > 0))
			break;
		series_add(&q, num->v[i] / den->v[i]);
	}
	if (!q.n || i < num->n || i < den->n) {
		info("%s: not computed (%d / %d samples)", name, num->n, den->n);
		return;
	}
	printf("RATIO %s %.3f\n", name, series_median(&q));
}

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("map_bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}
