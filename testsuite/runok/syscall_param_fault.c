/*
 * Helper of syscall_param_fault.stp: a clock_nanosleep whose rqtp is a
 * bad user pointer (the kernel answers EFAULT).
 */
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (void *)8, NULL);
	return 0;
}
