/*
 * Helper of syscall_ia32.stp: the same calls a 64-bit way (syscall(2))
 * and the 32-bit way (int $0x80, i386 numbers), so that both the x86-64
 * and the ia32 entry points of the kernel see them.
 */
#include <sys/syscall.h>
#include <unistd.h>

static const char path[] = "/etc/hostname";

static long int80(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

int main(void)
{
	long fd;

	syscall(SYS_getppid);
	int80(64, 0, 0, 0);			/* i386 getppid */
	fd = int80(5, (long)path, 0, 0);	/* i386 open(path, O_RDONLY) */
	int80(6, fd, 0, 0);			/* i386 close(fd) */
	int80(5, (long)"/nonexistent", 0, 0);
	return 0;
}
