/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests of the public API that need no VFIO: container open errors (with
 * a fake /dev), the error-reporting scheme, the DMA bookkeeping of dma.c
 * on top of a fake backend (ops table), concurrency, dma-buf handles.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

/* ---- container open errors against a fake /dev ---- */

static void test_open_no_vfio(void)
{
	char dir[] = "/tmp/vfd-fake-dev-XXXXXX";
	struct vfd_container_opts o = { 0 };
	struct vfd_container *c = (void *)1;
	struct vfd_error e;

	CHECK(mkdtemp(dir) != NULL);
	o.dev_root = dir;
	CHECK_EQ(vfd_container_open(&c, &o, &e), -ENODEV);
	CHECK(c == NULL);
	CHECK_EQ(e.code, -ENODEV);
	CHECK_STR_HAS(e.msg, "does not exist");
	CHECK_STR_HAS(e.msg, "modprobe");
	/* err is optional */
	CHECK_EQ(vfd_container_open(&c, &o, NULL), -ENODEV);
	rmdir(dir);
}

static void test_open_not_a_container(void)
{
	char dir[] = "/tmp/vfd-fake-dev-XXXXXX", p[128];
	struct vfd_container_opts o = { 0 };
	struct vfd_container *c;
	struct vfd_error e;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/vfio", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/vfio/vfio", dir);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	o.dev_root = dir;
	CHECK_EQ(vfd_container_open(&c, &o, &e), -ENOTTY);
	CHECK_STR_HAS(e.msg, "is not a VFIO container");
	unlink(p);
	snprintf(p, sizeof(p), "%s/vfio", dir);
	rmdir(p);
	rmdir(dir);
}

static void test_open_bad_args(void)
{
	struct vfd_container_opts o = { 0 };
	struct vfd_container *c;
	struct vfd_error e;

	o.backend = VFD_BACKEND_IOMMUFD;
	CHECK_EQ(vfd_container_open(&c, &o, &e), -EOPNOTSUPP);
	CHECK_STR_HAS(e.msg, "iommufd");
	o.backend = (enum vfd_backend)42;
	CHECK_EQ(vfd_container_open(&c, &o, &e), -EINVAL);
	o.backend = VFD_BACKEND_AUTO;
	o.flags = 0x80;
	CHECK_EQ(vfd_container_open(&c, &o, &e), -EINVAL);
	/* no IOMMU, no dma-buf mappings */
	o.flags = VFD_CONTAINER_NOIOMMU | VFD_CONTAINER_REQUIRE_MAP_DMABUF;
	CHECK_EQ(vfd_container_open(&c, &o, &e), -EINVAL);
	CHECK_STR_HAS(e.msg, "exclude each other");
	CHECK_EQ(vfd_container_open(NULL, NULL, &e), -EINVAL);
	/* NULL handles are tolerated by the error getters and close */
	CHECK_STR_HAS(vfd_container_errmsg(NULL), "no container");
	CHECK_EQ(vfd_container_last_error(NULL, &e), -EINVAL);
	vfd_container_close(NULL);
	vfd_device_close(NULL);
	vfd_dmabuf_free(NULL);
}

/* ---- fake backend ---- */

struct fake {
	int maps, unmaps, fail_next;
	uint64_t last_iova, last_size;
	uint32_t last_flags;
	int last_fd;
	int revoke_eventfd;		/* registered by the library */
	uint64_t revoked[4], revoked_size[4];	/* sorted by IOVA */
	int nr_revoked;
};
static struct fake fk;
static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;

static int f_open(struct vfd_container *c, struct vfd_error *e)
{
	c->iommu_set = true;
	c->has_map_dmabuf = true;
	return vfd__container_refresh_iova(c, e);
}

static void f_close(struct vfd_container *c)
{
	(void)c;
}

static int f_info(struct vfd_container *c, struct vfd_iommu_info *info,
		  struct vfd_error *e)
{
	(void)c;
	(void)e;
	memset(info, 0, sizeof(*info));
	info->pgsizes = 0x1000 | 0x200000 | 0x40000000;
	info->ranges_reported = true;
	info->nr_ranges = 2;
	info->ranges[0].start = 0;
	info->ranges[0].end = 0xfedfffff;
	info->ranges[1].start = 0xfef00000;
	info->ranges[1].end = 0x7fffffffff;
	return 0;
}

static int f_map_common(uint64_t iova, uint64_t size, uint32_t flags, int fd,
			struct vfd_error *e)
{
	pthread_mutex_lock(&fk_lock);
	int fail = fk.fail_next;
	fk.fail_next = 0;
	if (!fail) {
		fk.maps++;
		fk.last_iova = iova;
		fk.last_size = size;
		fk.last_flags = flags;
		fk.last_fd = fd;
	}
	pthread_mutex_unlock(&fk_lock);
	if (fail)
		return vfd__err_errno(e, fail, "fake map failed");
	return 0;
}

static int f_map_dmabuf(struct vfd_container *c, int fd, uint64_t offset,
			uint64_t iova, uint64_t size, uint32_t flags,
			struct vfd_error *e)
{
	(void)c;
	(void)offset;
	return f_map_common(iova, size, flags, fd, e);
}

static int f_map_vaddr(struct vfd_container *c, void *vaddr, uint64_t iova,
		       uint64_t size, uint32_t flags, struct vfd_error *e)
{
	(void)c;
	(void)vaddr;
	return f_map_common(iova, size, flags, -1, e);
}

static int f_unmap(struct vfd_container *c, uint64_t iova, uint64_t size,
		   struct vfd_error *e)
{
	(void)c;
	(void)iova;
	(void)size;
	(void)e;
	pthread_mutex_lock(&fk_lock);
	fk.unmaps++;
	pthread_mutex_unlock(&fk_lock);
	return 0;
}

static int f_state(struct vfd_container *c, uint64_t iova,
		   enum vfd_dmabuf_state *state, struct vfd_error *e)
{
	(void)c;
	(void)iova;
	(void)e;
	*state = VFD_DMABUF_STATE_MAPPED;
	return 0;
}

static int f_set_revoke_eventfd(struct vfd_container *c, int fd,
				struct vfd_error *e)
{
	(void)c;
	(void)e;
	fk.revoke_eventfd = fd;
	return 0;
}

static int f_find_revoked(struct vfd_container *c, uint64_t *iova,
			  uint64_t *size, struct vfd_error *e)
{
	(void)c;
	(void)e;
	for (int i = 0; i < fk.nr_revoked; i++)
		if (fk.revoked[i] >= *iova) {
			*iova = fk.revoked[i];
			*size = fk.revoked_size[i];
			return 0;
		}
	return -ENOENT;
}

static const struct vfd_backend_ops fake_ops = {
	.name = "fake",
	.open = f_open,
	.close = f_close,
	.iommu_info = f_info,
	.map_dmabuf = f_map_dmabuf,
	.map_vaddr = f_map_vaddr,
	.unmap = f_unmap,
	.dmabuf_state = f_state,
	.set_revoke_eventfd = f_set_revoke_eventfd,
	.find_revoked = f_find_revoked,
};

static struct vfd_container *fake_container(void)
{
	struct vfd_container *c = NULL;
	struct vfd_error e;

	memset(&fk, 0, sizeof(fk));
	if (vfd__container_open_ops(&c, NULL, &fake_ops, &e))
		printf("# fake open: %s\n", e.msg);
	return c;
}

static void test_map_fixed_and_any(void)
{
	struct vfd_container *c = fake_container();
	struct vfd_dma_mapping m;
	uint64_t iova = 0x10000000, any = VFD_IOVA_ANY;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(!strcmp(vfd_container_backend_name(c), "fake"));
	CHECK(vfd_container_has_map_dmabuf(c));
	CHECK_EQ(vfd_dma_map_dmabuf(c, 7, 0, 0x4000, &iova, VFD_DMA_RW), 0);
	CHECK_U64(iova, 0x10000000);
	CHECK_EQ(fk.last_fd, 7);
	CHECK_EQ(fk.last_flags, VFD_DMA_RW);
	CHECK_EQ(vfd_dma_map_dmabuf(c, 8, 0x1000, 0x400000, &any, VFD_DMA_READ), 0);
	CHECK(any != VFD_IOVA_ANY);
	CHECK_U64(any % 0x200000, 0);	/* large mapping: 2 MiB aligned */
	CHECK_EQ(vfd_dma_lookup(c, 0x10002000, &m), 0);
	CHECK_U64(m.iova, 0x10000000);
	CHECK_EQ(m.kind, VFD_DMA_KIND_DMABUF);
	CHECK_EQ(m.dmabuf_fd, 7);
	CHECK(!m.iova_allocated);
	CHECK_EQ(vfd_dma_lookup(c, any + 0x3fffff, &m), 0);
	CHECK(m.iova_allocated);
	CHECK_U64(m.dmabuf_offset, 0x1000);
	CHECK_EQ(vfd_dma_lookup(c, any + 0x400000, &m), -ENOENT);

	struct vfd_dma_mapping list[4];
	CHECK_EQ(vfd_dma_list(c, list, 4), 2);
	CHECK(list[0].iova < list[1].iova);
	CHECK_EQ(vfd_dma_list(c, NULL, 0), 2);

	enum vfd_dmabuf_state st;
	CHECK_EQ(vfd_dma_dmabuf_state(c, 0x10000000, &st), 0);
	CHECK_EQ(st, VFD_DMABUF_STATE_MAPPED);
	CHECK_EQ(vfd_dma_dmabuf_state(c, 0x10001000, &st), -ENOENT);

	CHECK_EQ(vfd_dma_unmap(c, 0x10000000), 0);
	CHECK_EQ(vfd_dma_unmap(c, any), 0);
	CHECK_EQ(fk.unmaps, 2);
	CHECK_EQ(vfd_dma_list(c, NULL, 0), 0);
	vfd_container_close(c);
}

static void test_map_errors_and_messages(void)
{
	struct vfd_container *c = fake_container();
	struct vfd_error e;
	uint64_t iova;
	static char page[8192] __attribute__((aligned(4096)));

	if (!c)
		return;
	iova = 0x10000000;
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0, 0x2000, &iova, VFD_DMA_RW), 0);

	iova = 0x10001000;		/* overlaps */
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0, 0x1000, &iova, VFD_DMA_RW), -EEXIST);
	CHECK_STR_HAS(vfd_container_errmsg(c), "overlaps");
	iova = 0xfee00000;		/* MSI window */
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0, 0x1000, &iova, VFD_DMA_RW), -ERANGE);
	CHECK_EQ(vfd_container_last_error(c, &e), -ERANGE);
	CHECK_STR_HAS(e.msg, "usable IOVA range");
	iova = 0x20000800;		/* unaligned */
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0, 0x1000, &iova, VFD_DMA_RW), -EINVAL);
	iova = 0x20000000;
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0x800, 0x1000, &iova, VFD_DMA_RW), -EINVAL);
	CHECK_STR_HAS(vfd_container_errmsg(c), "offset");
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0, 0x1000, &iova, 0), -EINVAL);
	CHECK_STR_HAS(vfd_container_errmsg(c), "VFD_DMA_READ");
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0, 0x1000, &iova, 0x10000000), -EINVAL);
	CHECK_EQ(vfd_dma_map_dmabuf(c, -1, 0, 0x1000, &iova, VFD_DMA_RW), -EBADF);
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0, 0, &iova, VFD_DMA_RW), -EINVAL);
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0, 0x1000, NULL, VFD_DMA_RW), -EINVAL);
	CHECK_EQ(vfd_dma_map_mem(c, page + 1, 0x1000, &iova, VFD_DMA_RW), -EINVAL);
	CHECK_EQ(vfd_dma_map_mem(c, NULL, 0x1000, &iova, VFD_DMA_RW), -EINVAL);

	/* kernel failure: the IOVA is released, a retry succeeds */
	fk.fail_next = -ENOMEM;
	iova = 0x30000000;
	CHECK_EQ(vfd_dma_map_mem(c, page, 0x2000, &iova, VFD_DMA_RW), -ENOMEM);
	CHECK_STR_HAS(vfd_container_errmsg(c), "fake map failed");
	CHECK_EQ(vfd_dma_map_mem(c, page, 0x2000, &iova, VFD_DMA_RW), 0);
	fk.fail_next = -EIO;
	uint64_t any = VFD_IOVA_ANY;
	CHECK_EQ(vfd_dma_map_mem(c, page, 0x1000, &any, VFD_DMA_RW), -EIO);
	CHECK_U64(any, VFD_IOVA_ANY);	/* not changed on failure */

	/* unmap of something not mapped */
	CHECK_EQ(vfd_dma_unmap(c, 0x50000000), -ENOENT);
	CHECK_STR_HAS(vfd_container_errmsg(c), "nothing is mapped at IOVA 0x50000000");
	CHECK_EQ(vfd_dma_unmap(c, 0x10001000), -ENOENT);
	CHECK_STR_HAS(vfd_container_errmsg(c), "unmap it by its start");
	/* a success does not clear the last error */
	CHECK_EQ(vfd_dma_unmap(c, 0x10000000), 0);
	CHECK_STR_HAS(vfd_container_errmsg(c), "unmap it by its start");
	CHECK_EQ(vfd_dma_unmap(c, 0x10000000), -ENOENT);	/* twice */

	CHECK_EQ(vfd_dma_unmap_all(c), 1);
	CHECK_EQ(vfd_dma_unmap_all(c), 0);
	vfd_container_close(c);
}

static void test_alignment_flag_and_window(void)
{
	struct vfd_container *c = fake_container();
	uint64_t iova;

	if (!c)
		return;
	iova = VFD_IOVA_ANY;
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0, 0x1000, &iova,
				    VFD_DMA_RW | VFD_DMA_ALIGN_SHIFT(30)), 0);
	CHECK_U64(iova % (1ull << 30), 0);
	iova = VFD_IOVA_ANY;
	CHECK_EQ(vfd_dma_map_dmabuf(c, 3, 0, 0x1000, &iova,
				    VFD_DMA_RW | VFD_DMA_ALIGN_SHIFT(4)), -EINVAL);

	/* a narrow window (like edu's 28-bit DMA mask) */
	CHECK_EQ(vfd_container_restrict_iova(c, 0, 0x0fffffff), 0);
	CHECK_EQ(vfd_container_restrict_iova(c, 9, 8), -EINVAL);
	CHECK_STR_HAS(vfd_container_errmsg(c), "empty");
	int n = 0;
	for (;; n++) {
		iova = VFD_IOVA_ANY;
		if (vfd_dma_map_dmabuf(c, 3, 0, 0x1000000, &iova, VFD_DMA_RW))
			break;
		CHECK(iova + 0x1000000 - 1 <= 0x0fffffff);
	}
	CHECK_EQ(n, 15);	/* 16 x 16 MiB minus the one holding IOVA 0 */
	CHECK_STR_HAS(vfd_container_errmsg(c), "exhausted");
	struct vfd_error e;
	CHECK_EQ(vfd_container_last_error(c, &e), -ENOSPC);

	struct vfd_iommu_info info;
	CHECK_EQ(vfd_container_iommu_info(c, &info), 0);
	CHECK_EQ(info.nr_ranges, 2);
	vfd_container_close(c);		/* unmaps the rest */
	CHECK_EQ(fk.unmaps, fk.maps);
}

/* ---- concurrency: threads map and unmap, never overlap ---- */

#define THREADS 8
#define ROUNDS 300

struct thr {
	struct vfd_container *c;
	int id, failures;
};

static void *worker(void *arg)
{
	struct thr *t = arg;
	uint64_t mine[8];
	int n = 0;

	for (int r = 0; r < ROUNDS; r++) {
		if (n < 8 && (r % 3 != 2)) {
			uint64_t iova = VFD_IOVA_ANY;
			uint64_t size = 0x1000ull << (r % 4);
			if (vfd_dma_map_dmabuf(t->c, 100 + t->id, 0, size, &iova,
					       VFD_DMA_RW)) {
				t->failures++;
				continue;
			}
			struct vfd_dma_mapping m;
			if (vfd_dma_lookup(t->c, iova, &m) || m.dmabuf_fd != 100 + t->id ||
			    m.iova != iova)
				t->failures++;
			mine[n++] = iova;
		} else if (n) {
			if (vfd_dma_unmap(t->c, mine[--n]))
				t->failures++;
		}
	}
	while (n)
		if (vfd_dma_unmap(t->c, mine[--n]))
			t->failures++;
	return NULL;
}

static void test_threads(void)
{
	struct vfd_container *c = fake_container();
	pthread_t th[THREADS];
	struct thr t[THREADS];

	if (!c)
		return;
	for (int i = 0; i < THREADS; i++) {
		t[i] = (struct thr){ .c = c, .id = i };
		pthread_create(&th[i], NULL, worker, &t[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(t[i].failures, 0);
	}
	CHECK_EQ(vfd_dma_list(c, NULL, 0), 0);
	CHECK_EQ(fk.maps, fk.unmaps);
	CHECK_EQ((long long)c->iova.nr_used, 0);
	vfd_container_close(c);
}

/* ---- dma-buf handles (a memfd stands in for a dma-buf) ---- */

static void test_dmabuf_import(void)
{
	struct vfd_dmabuf *b;
	struct vfd_error e;
	void *p;
	int fd = memfd_create("fake-dmabuf", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 0x3000), 0);
	CHECK_EQ(vfd_dmabuf_import(fd, 0, VFD_DMABUF_TAKE_FD, &b, &e), 0);
	CHECK_EQ((long long)vfd_dmabuf_size(b), 0x3000);
	CHECK_EQ(vfd_dmabuf_fd(b), fd);
	CHECK_EQ(vfd_dmabuf_source(b), VFD_DMABUF_SRC_IMPORTED);
	CHECK(!strcmp(vfd_dmabuf_source_name(b), "imported"));
	CHECK_EQ(vfd_dmabuf_memfd(b), -1);
	CHECK_EQ(vfd_dmabuf_mmap(b, &p), 0);
	void *p2;
	CHECK_EQ(vfd_dmabuf_mmap(b, &p2), 0);
	CHECK(p == p2);
	memset(p, 0xab, 0x3000);
	/* a memfd is no dma-buf: SYNC fails, the message lands in the handle */
	CHECK_EQ(vfd_dmabuf_sync_begin(b, VFD_SYNC_RW), -ENOTTY);
	CHECK_STR_HAS(vfd_dmabuf_errmsg(b), "DMA_BUF_IOCTL_SYNC start");
	CHECK_EQ(vfd_dmabuf_last_error(b, &e), -ENOTTY);
	CHECK_EQ(vfd_dmabuf_sync_end(b, 0), -EINVAL);
	CHECK_STR_HAS(vfd_dmabuf_errmsg(b), "direction");
	vfd_dmabuf_free(b);		/* closes fd (TAKE_FD) */
	CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);

	CHECK_EQ(vfd_dmabuf_import(-1, 0, 0, &b, &e), -EBADF);
	CHECK_EQ(vfd_dmabuf_import(0, 0, 0x100, &b, &e), -EINVAL);
}

static void test_dmabuf_create(void)
{
	struct vfd_dmabuf *b = NULL;
	struct vfd_error e;
	int ret;

	CHECK_EQ(vfd_dmabuf_create_heap("../x", 4096, &b, &e), -EINVAL);
	CHECK_EQ(vfd_dmabuf_create_heap("no-such-heap", 4096, &b, &e), -ENODEV);
	CHECK_STR_HAS(e.msg, "/dev/dma_heap/no-such-heap");
	CHECK_EQ(vfd_dmabuf_create_udmabuf(0, &b, &e), -EINVAL);
	ret = vfd_dmabuf_create(4096, &b, &e);
	if (ret) {
		CHECK_STR_HAS(e.msg, "no dma-buf exporter worked");
		SKIP("no udmabuf / system heap on this host");
		return;
	}
	CHECK((long long)vfd_dmabuf_size(b) >= 4096);
	void *p;
	CHECK_EQ(vfd_dmabuf_mmap(b, &p), 0);
	CHECK_EQ(vfd_dmabuf_sync_begin(b, VFD_SYNC_WRITE), 0);
	memset(p, 0x5a, 4096);
	CHECK_EQ(vfd_dmabuf_sync_end(b, VFD_SYNC_WRITE), 0);
	vfd_dmabuf_free(b);
}

/* The revoke fd is registered once and owned by the container; the list
 * of revoked mappings comes from the kernel, completed by the library's
 * own records, and reading it clears the event. */
static void test_revoked_list(void)
{
	struct vfd_container *c = fake_container();
	struct vfd_dma_mapping out[2];
	uint64_t a = 0x10000000, b = 0x20000000, d = 0x30000000, one = 1;
	struct pollfd pfd;
	int fd;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(vfd_dma_map_dmabuf(c, 5, 0, 0x4000, &a, VFD_DMA_RW), 0);
	CHECK_EQ(vfd_dma_map_dmabuf(c, 6, 0x2000, 0x2000, &b, VFD_DMA_READ), 0);
	CHECK_EQ(vfd_dma_map_dmabuf(c, 7, 0, 0x1000, &d, VFD_DMA_RW), 0);
	fd = vfd_container_revoke_fd(c);
	CHECK(fd >= 0);
	CHECK_EQ(fk.revoke_eventfd, fd);
	CHECK_EQ(vfd_container_revoke_fd(c), fd);
	/* nothing revoked, nothing to read */
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK_EQ(poll(&pfd, 1, 0), 0);
	CHECK_EQ(vfd_dma_revoked(c, out, 2), 0);

	/* the kernel revokes two of them and signals */
	fk.revoked[0] = a;
	fk.revoked_size[0] = 0x4000;
	fk.revoked[1] = d;
	fk.revoked_size[1] = 0x1000;
	fk.nr_revoked = 2;
	CHECK(write(fd, &one, sizeof(one)) == sizeof(one));
	CHECK_EQ(poll(&pfd, 1, 0), 1);
	CHECK_EQ(vfd_dma_revoked(c, NULL, 0), 2);
	CHECK_EQ(poll(&pfd, 1, 0), 0);		/* read: cleared */
	CHECK_EQ(vfd_dma_revoked(c, out, 1), 2);	/* more than fit */
	CHECK_U64(out[0].iova, a);
	CHECK_EQ(vfd_dma_revoked(c, out, 2), 2);
	CHECK_U64(out[1].iova, d);
	CHECK_EQ(out[1].dmabuf_fd, 7);
	CHECK_EQ(out[0].kind, VFD_DMA_KIND_DMABUF);

	/* a mapping the library does not know of is a protocol error */
	fk.revoked[0] = 0x50000000;
	CHECK_EQ(vfd_dma_revoked(c, out, 2), -EPROTO);
	CHECK_STR_HAS(vfd_container_errmsg(c), "did not make");
	vfd_container_close(c);
}

int main(void)
{
	RUN(test_open_no_vfio);
	RUN(test_open_not_a_container);
	RUN(test_open_bad_args);
	RUN(test_map_fixed_and_any);
	RUN(test_map_errors_and_messages);
	RUN(test_alignment_flag_and_window);
	RUN(test_threads);
	RUN(test_revoked_list);
	RUN(test_dmabuf_import);
	RUN(test_dmabuf_create);
	return tap_done();
}
