./syscall_param_fault
