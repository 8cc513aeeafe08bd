./syscall_ia32
