./syscall_params_btf
