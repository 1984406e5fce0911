// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test runner of the guest test programs: see harness.h.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define VT_MAX_TESTS 256
#define VT_MAX_DEFER 32

struct vt_test {
	const char *name;
	vt_fn fn;
	unsigned int timeout_s;
};

/* One vt_calloc() allocation: the arena is a list of them, newest first. */
struct vt_block {
	struct vt_block *next;
	max_align_t data[];
};

/* Test table and per-child cleanup list: the runner is single-threaded and
 * these only exist for the life of one test program. */
static struct vt_test vt_tests[VT_MAX_TESTS];
static unsigned int vt_ntests;
static struct { void (*fn)(void *); void *arg; } vt_defers[VT_MAX_DEFER];
static unsigned int vt_ndefer;
/* The test's arena (in its child): freed after the cleanups above ran. */
static struct vt_block *vt_arena;
/*
 * The main thread's stack, [vt_stack_lo, vt_stack_hi), found once by the
 * runner before it forks the tests, whose stacks are at the same addresses;
 * vt_stack_err is set instead when libc could not tell.
 */
static uintptr_t vt_stack_lo, vt_stack_hi;
static int vt_stack_err;
/* Child -> parent: the result line's tail (reason), through a pipe. */
static int vt_pipe = -1;

void vt_register(const char *name, vt_fn fn, unsigned int timeout_s)
{
	if (vt_ntests == VT_MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		abort();
	}
	vt_tests[vt_ntests++] = (struct vt_test){ name, fn, timeout_s };
}

/*
 * glibc reads the main thread's stack from /proc/self/maps: the mapping
 * that holds it, extended down by RLIMIT_STACK (at most to the mapping
 * below), so that the room the stack may still grow into counts too.
 */
static void vt_find_stack(void)
{
	pthread_attr_t attr;
	size_t size;
	void *lo;
	int e = pthread_getattr_np(pthread_self(), &attr);

	if (!e) {
		e = pthread_attr_getstack(&attr, &lo, &size);
		pthread_attr_destroy(&attr);
	}
	if (e) {
		vt_stack_err = e;
		return;
	}
	vt_stack_lo = (uintptr_t)lo;
	vt_stack_hi = (uintptr_t)lo + size;
}

void *vt_calloc(size_t n)
{
	struct vt_block *b = NULL;

	if (n <= SIZE_MAX - sizeof(*b))
		b = calloc(1, sizeof(*b) + n);
	if (!b)
		FAIL("vt_calloc(%zu): out of memory", n);
	b->next = vt_arena;
	vt_arena = b;
	return b->data;
}

void vt_defer_at(const char *file, int line, const char *fn_name, const char *arg_name,
		 void (*fn)(void *), void *arg)
{
	uintptr_t a = (uintptr_t)arg, here = (uintptr_t)__builtin_frame_address(0);

	if (vt_stack_err)
		vt_fail(file, line, "vt_defer(%s, %s): cannot tell where the stack is (%s), so"
			" cannot tell that %s is not on it", fn_name, arg_name,
			strerror(vt_stack_err), arg_name);
	if (here < vt_stack_lo || here >= vt_stack_hi)
		vt_fail(file, line, "vt_defer(%s, %s) from a thread other than the test's main"
			" thread: only that one may register clean-ups", fn_name, arg_name);
	if (a >= vt_stack_lo && a < vt_stack_hi)
		vt_fail(file, line, "vt_defer(%s, %s): %s (%p) points into the stack, but %s()"
			" runs after the test function has returned, on a dead frame: allocate"
			" the object with vt_calloc() (the test's arena) instead", fn_name,
			arg_name, arg_name, arg, fn_name);
	if (vt_ndefer == VT_MAX_DEFER)
		vt_fail(file, line, "vt_defer(%s, %s): too many deferred cleanups", fn_name,
			arg_name);
	vt_defers[vt_ndefer].fn = fn;
	vt_defers[vt_ndefer++].arg = arg;
}

/*
 * The end of a test, in its child: the deferred cleanups, newest first,
 * then the arena, which they may still use.  A cleanup that FAILs ends up
 * here again, and that call runs the rest.
 */
static void vt_cleanup(void)
{
	while (vt_ndefer) {
		vt_ndefer--;
		vt_defers[vt_ndefer].fn(vt_defers[vt_ndefer].arg);
	}
	while (vt_arena) {
		struct vt_block *b = vt_arena;

		vt_arena = b->next;
		free(b);
	}
}

static __attribute__((noreturn)) void vt_end(int code, const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n > 0 && vt_pipe >= 0 && write(vt_pipe, buf, strlen(buf)) < 0)
		perror("write");
	vt_cleanup();
	_exit(code);
}

void vt_fail(const char *file, int line, const char *fmt, ...)
{
	char f[512];
	va_list ap;

	snprintf(f, sizeof(f), "%s:%d: %s", strrchr(file, '/') ? strrchr(file, '/') + 1 : file,
		 line, fmt);
	va_start(ap, fmt);
	vt_end(1, f, ap);
}

void vt_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vt_end(2, fmt, ap);
}

void vt_note(const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && vt_pipe >= 0 && write(vt_pipe, buf, strlen(buf)) < 0)
		perror("write");
}

void vt_info(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int vt_run_child(void (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fn();
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			FAIL("waitpid: %s", strerror(errno));
	return st;
}

void vt_child_result(int status, const char *what)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (WIFEXITED(status)) {
		/* FAIL or SKIP: the child wrote why into our result pipe */
		vt_cleanup();
		_exit(WEXITSTATUS(status));
	}
	FAIL("%s killed by signal %d (%s)", what, WTERMSIG(status),
	     strsignal(WTERMSIG(status)));
}

const char *strerrorname(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

bool vt_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), e;
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	e = errno;
	close(fd);
	errno = e;
	return ok;
}

static void vt_alarm(int sig)
{
	(void)sig;
}

/*
 * A test ran out of time: before it is killed, put on the console where
 * its threads are in the kernel, which tasks are blocked (sysrq w) and what
 * every CPU is doing (sysrq l), so that a hang in the code under test can
 * be told from a slow test.  /proc/sysrq-trigger works whatever the
 * kernel.sysrq mask says, and sysrq raises the console loglevel for its
 * own output.
 */
static void vt_dump_hang(pid_t pid, const char *name)
{
	char path[64], line[256];
	struct dirent *d;
	DIR *dir;
	int fd;

	printf("# %s timed out: kernel stacks of its threads, then sysrq w and l\n", name);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	while (dir && (d = readdir(dir))) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stack", (int)pid, d->d_name);
		f = fopen(path, "r");
		printf("# thread %s:\n", d->d_name);
		while (f && fgets(line, sizeof(line), f))
			printf("#   %s", line);
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	fflush(stdout);
	fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "w", 1) != 1 || write(fd, "l", 1) != 1)
			printf("# sysrq: %s\n", strerror(errno));
		close(fd);
	}
}

/*
 * The runner makes itself the OOM killer's last choice (and its test
 * children ordinary ones): a test that exhausts memory must fail alone, not
 * take the runner, and so the rest of the program, with it.
 */
static void vt_oom_score_adj(const char *v)
{
	if (!vt_write_file("/proc/self/oom_score_adj", v))
		printf("# oom_score_adj %s: %s\n", v, strerror(errno));
}

/* Is test @full of program @prog selected by @filter, a space-separated
 * list of fnmatch() patterns matched against "prog/test" or "prog"? */
static bool vt_selected(const char *filter, const char *prog, const char *full)
{
	char pat[256];
	const char *p = filter;

	if (!filter || !*filter)
		return true;
	while (*p) {
		size_t len = strcspn(p, " ");

		if (len && len < sizeof(pat)) {
			memcpy(pat, p, len);
			pat[len] = 0;
			if (!fnmatch(pat, full, 0) || !fnmatch(pat, prog, 0))
				return true;
		}
		p += len + (p[len] == ' ');
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *filter = getenv("VFD_TEST_FILTER");
	const char *deftmo = getenv("VFD_TEST_TIMEOUT");
	bool sel[VT_MAX_TESTS];
	unsigned int i, n = 0, num = 0, failed = 0;
	char full[256];

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	vt_oom_score_adj("-1000");
	for (i = 0; i < vt_ntests; i++) {
		snprintf(full, sizeof(full), "%s/%s", prog, vt_tests[i].name);
		sel[i] = vt_selected(filter, prog, full);
		n += sel[i];
	}
	if (!n)
		return 0;
	printf("1..%u\n", n);
	vt_find_stack();
	/* No SA_RESTART: the alarm must interrupt waitpid(). */
	sigaction(SIGALRM, &(struct sigaction){ .sa_handler = vt_alarm }, NULL);
	for (i = 0; i < vt_ntests; i++) {
		unsigned int tmo = vt_tests[i].timeout_s ? vt_tests[i].timeout_s :
				   (deftmo ? (unsigned int)atoi(deftmo) : 120);
		char why[512] = "";
		int p[2], status = 0;
		ssize_t len;
		pid_t pid;

		if (!sel[i])
			continue;
		num++;
		if (pipe(p) < 0) {
			perror("pipe");
			return 1;
		}
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (!pid) {
			vt_oom_score_adj("0");
			close(p[0]);
			vt_pipe = p[1];
			vt_tests[i].fn();
			vt_cleanup();
			_exit(0);
		}
		close(p[1]);
		alarm(tmo);
		if (waitpid(pid, &status, 0) < 0) {
			vt_dump_hang(pid, vt_tests[i].name);
			kill(pid, SIGKILL);
			snprintf(why, sizeof(why), "timed out after %us", tmo);
			status = -1;
			/* a task stuck in the kernel does not die: say so, and
			 * run nothing more against a kernel in that state */
			alarm(30);
			if (waitpid(pid, NULL, 0) < 0) {
				printf("not ok %u %s # %s, and SIGKILL did not end it in 30 s:"
				       " stuck in the kernel\n", num, vt_tests[i].name, why);
				return 1;
			}
		}
		alarm(0);
		if (status != -1) {
			len = read(p[0], why, sizeof(why) - 1);
			why[len > 0 ? len : 0] = '\0';
		}
		close(p[0]);
		for (char *c = why; *c; c++)
			if (*c == '\n')
				*c = ' ';
		if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			if (*why)
				printf("ok %u %s # %s\n", num, vt_tests[i].name, why);
			else
				printf("ok %u %s\n", num, vt_tests[i].name);
		} else if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 2) {
			printf("ok %u %s # SKIP %s\n", num, vt_tests[i].name, why);
		} else {
			if (status != -1 && WIFSIGNALED(status))
				snprintf(why, sizeof(why), "killed by signal %d (%s)",
					 WTERMSIG(status), strsignal(WTERMSIG(status)));
			else if (status != -1 && !*why)
				snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(status));
			printf("not ok %u %s # %s\n", num, vt_tests[i].name, why);
			failed++;
		}
	}
	return failed ? 1 : 0;
}
