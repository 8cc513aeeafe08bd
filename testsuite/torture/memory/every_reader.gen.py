# Writes the every_reader_*.stp torture scripts: python3 every_reader.gen.py null|deadbeef|user|wrong > every_reader_KIND.stp
import sys
K = ["kernel_string(A)", "kernel_string_n(A, 8)", "kernel_string_quoted(A)", "kernel_long(A)", "kernel_int(A)",
     "kernel_short(A)", "kernel_char(A)", "kernel_pointer(A)", "atomic_read(A)", "atomic_long_read(A)"]
U = ["user_string(A)", "user_string2(A, \"<fault>\")", "user_string_n(A, 8)", "user_string_n2(A, 8, \"<fault>\")",
     "user_string_quoted(A)", "user_long(A)", "user_int(A)", "user_short(A)", "user_ushort(A)", "user_char(A)",
     "user_int8(A)", "user_uint8(A)", "user_int16(A)", "user_uint16(A)", "user_int32(A)", "user_uint32(A)",
     "user_int64(A)", "user_uint64(A)"]
S = ["d_name(A)", "inode_name(A)", "reverse_path_walk(A)", "task_dentry_path(A, A, A)", "fullpath_struct_path(A)",
     "fullpath_struct_file(A, A)", "bdevname(A)", "format_ipaddr(A, 10)", "get_sa_handler(A)", "get_sa_flags(A)",
     "get_sigaction_mask(A)", "is_sig_blocked(A, 1)", "task_pid(A)", "task_tid(A)", "task_parent(A)",
     "task_execname(A)", "task_state(A)", "task_cpu(A)", "task_prio(A)", "task_nice(A)", "task_uid(A)",
     "task_euid(A)", "task_gid(A)", "task_egid(A)", "task_open_file_handles(A)", "task_max_file_handles(A)",
     "task_ancestry(A, 0)", "pstrace(A)", "inet_get_local_port(A)", "inet_get_remote_port(A)",
     "inet_get_ip_source(A)", "tcp_get_info_rto(A)", "tcp_ts_get_info_state(A)", "symname(A)", "symdata(A)", "modname(A)"]
def calls(fns, var, show, indent="\t"):
    out = []
    for f in fns:
        name = f.split("(")[0]
        c = f.replace("A", var)
        if show:
            out.append(f'{indent}try {{ println("{name}: ", {c}) }} catch (e) {{ println("{name}: ", e) }}')
        else:
            out.append(f'{indent}try {{ x = sprint({c}); n++ }} catch {{ e++ }}')
    return "\n".join(out)
kind = sys.argv[1]
if kind in ("null", "deadbeef"):
    a = "0" if kind == "null" else "0xdeadbeef"
    print(f"# Every tapset function that reads memory, given {a} in a begin probe:\n# each fails with its own error (caught here) or returns its documented\n# fallback; nothing oopses and the errors do not end the script.")
    print("probe begin {\n\ta = %s" % a)
    print(calls(K + U + S, "a", True))
    print("\texit()\n}")
elif kind == "user":
    print("# Every tapset function that reads memory, given a user address (read's\n# buffer, filled from a file) from the reading task's kretprobe: the\n# kernel readers refuse it, the user readers read it.")
    print("global buf, done\nprobe kprobe.function(\"ksys_read\") { if (execname() == \"dd\" && !done) buf[tid()] = pointer_arg(2) }")
    print("probe kprobe.function(\"ksys_read\").return {\n\tif (!(tid() in buf))\n\t\tnext\n\ta = buf[tid()]\n\tdelete buf[tid()]\n\tdone = 1")
    print(calls(K + U, "a", True))
    print("\texit()\n}")
elif kind == "wrong":
    print("# Every tapset function that reads a kernel object, given kernel memory of\n# another type: the current task_struct and the kernel stack (both full of\n# kernel pointers to other things). Results are garbage or errors: the\n# point is that none of them follows a garbage pointer without a fault\n# check (d_path, %pg, files_fdtable did).")
    print("global n, e\nprobe kprobe.function(\"ksys_read\") {\n\tif (pid() != target() || n + e)\n\t\tnext\n\tt = task_current()\n\ts = register(\"sp\")")
    print(calls(S + K, "t", False))
    print(calls(S + K, "s", False))
    print(calls(S + K, "t + 0x100", False))
    print("\tprintln(\"survived \", n + e, \" calls\")\n\texit()\n}")
