// SPDX-License-Identifier: GPL-2.0-only
/*
 * The revoking side of the revocation races: a thread that revokes (or
 * moves) a buffer once per round, started together with the test's own
 * step of the round, each after a random delay.
 */
#define _GNU_SOURCE
#include "torture.h"

void *duel_revoker(void *arg)
{
	struct duel *d = arg;

	for (unsigned int i = 0; i < d->rounds; i++) {
		pthread_barrier_wait(&d->go);
		spin_us((unsigned int)rndn(&d->rng, 300));
		d->res[i] = tx_revoke_fd(d->fd, d->alternate && (i & 1) ?
				      VFIO_DMABUF_TEST_REVOKE_NOTIFY_ONLY : 0);
		pthread_barrier_wait(&d->done);
	}
	return NULL;
}

void duel_start(struct duel *d, unsigned int rounds, int fd, const char *name)
{
	d->rounds = rounds;
	d->fd = fd;
	d->rng = seed_for(name);
	d->res = calloc(rounds, sizeof(int));
	ASSERT_TRUE(d->res != NULL);
	pthread_barrier_init(&d->go, NULL, 2);
	pthread_barrier_init(&d->done, NULL, 2);
}
