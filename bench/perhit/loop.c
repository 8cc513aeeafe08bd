// SPDX-License-Identifier: GPL-2.0
/*
 * The per-hit bench's workload: calls getppid N times (default 300000)
 * through syscall(2), so that libc caches nothing, and prints
 * "loop calls=N ns=T" with T the wall time of the calls in nanoseconds
 * (CLOCK_MONOTONIC). Built static, it runs in the testbed's busybox guest.
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
	long i;
	long long t0, t1;

	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	t1 = now_ns();
	printf("loop calls=%ld ns=%lld\n", n, t1 - t0);
	return 0;
}
