/*
 * Helper of syscall_params.stp: a clock_nanosleep of 1.5 ms (its rqtp in
 * user memory), then a read of 100 bytes of /proc/version.
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 1500000 };
	char buf[100];
	int fd;

	syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
	fd = open("/proc/version", O_RDONLY);
	if (read(fd, buf, sizeof(buf)) != sizeof(buf))
		return 1;
	close(fd);
	return 0;
}
