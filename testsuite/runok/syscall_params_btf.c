/*
 * Helper of syscall_params_btf.stp: getcwd into a 123-byte buffer, and a
 * getrusage whose struct holds a marker (ru_maxrss 4242) when it is made.
 */
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	char buf[123];
	struct rusage ru;

	syscall(SYS_getcwd, buf, sizeof(buf));
	memset(&ru, 0, sizeof(ru));
	ru.ru_maxrss = 4242;
	syscall(SYS_getrusage, RUSAGE_CHILDREN, &ru);
	return 0;
}
