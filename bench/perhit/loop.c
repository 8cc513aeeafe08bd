// SPDX-License-Identifier: GPL-2.0
/*
 * The per-hit bench's workload: calls getppid N times (default 300000)
 * through syscall(2), so that libc caches nothing, in batches of 1000,
 * and prints "loop calls=N ns=T best_ps=B": T the wall time of all the
 * calls in nanoseconds (CLOCK_MONOTONIC), B the picoseconds per call of
 * the fastest batch. On a shared host the guest's vCPU is often
 * descheduled; the fastest batch is the one that ran without that.
 * Built static, it runs in the testbed's busybox guest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 300000;
	long i, j, batch = 1000;
	long long t0, t1, b0, b1, best = -1;

	t0 = now_ns();
	for (i = 0; i < n; i += batch) {
		long m = n - i < batch ? n - i : batch;

		b0 = now_ns();
		for (j = 0; j < m; j++)
			syscall(SYS_getppid);
		b1 = now_ns();
		if (m == batch && (best < 0 || b1 - b0 < best))
			best = b1 - b0;
	}
	t1 = now_ns();
	printf("loop calls=%ld ns=%lld best_ps=%lld\n", n, t1 - t0, best * 1000 / batch);
	return 0;
}
