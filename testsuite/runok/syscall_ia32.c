/*
 * Helper of syscall_ia32.stp: the same calls the 64-bit way (syscall(2))
 * and the 32-bit way (int $0x80, i386 numbers: open 5, read 3, close 6),
 * so that both the x86-64 and the ia32 entry points of the kernel see
 * them; then a 32-bit open that fails.
 */
#include <sys/syscall.h>
#include <unistd.h>

static const char path[] = "/proc/version";
static char buf[4];

static long int80(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

int main(void)
{
	long fd;

	fd = syscall(SYS_open, path, 0);
	syscall(SYS_read, fd, buf, sizeof(buf));
	syscall(SYS_close, fd);
	fd = int80(5, (long)path, 0, 0);		/* i386 open(path, O_RDONLY) */
	int80(3, fd, (long)buf, sizeof(buf));	/* i386 read(fd, buf, 4) */
	int80(6, fd, 0, 0);				/* i386 close(fd) */
	int80(5, (long)"/nonexistent", 0, 0);
	return 0;
}
