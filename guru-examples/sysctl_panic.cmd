cat /proc/sys/kernel/panic
