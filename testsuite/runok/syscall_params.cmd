./syscall_params
