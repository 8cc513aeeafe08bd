#!/usr/bin/env python3
"""Writes syscalls.stp (the syscall.* / nd_syscall.* aliases) from the table
below: python3 gen_aliases.py > syscalls.stp. Each row: the syscall's name
(as `name` shows it), the kernel entry point's NAME (__x64_sys_NAME), a doc
line, the variables (name, expression over __sc_arg/__sc_int/__sc_uint),
and argstr's format and arguments. Variable names and argstr formats follow
SystemTap's documented syscall probes (man stapprobes, tapset reference)."""

A, I, U = "__sc_arg", "__sc_int", "__sc_uint"

def arg(n): return f"{A}({n})"
def i32(n): return f"{I}({n})"
def u32(n): return f"{U}({n})"
def q(e): return f"__sc_ustr_quoted({e})"

# (name, entry, doc, vars, fmt, fmt_args)
T = [
 ("read", "read", "Read from a file descriptor",
  [("fd", i32(1)), ("buf_uaddr", arg(2)), ("count", arg(3))], "%d, %p, %u", "fd, buf_uaddr, count"),
 ("write", "write", "Write to a file descriptor",
  [("fd", i32(1)), ("buf_uaddr", arg(2)), ("count", arg(3)), ("buf_str", "__sc_ubuf_quoted(buf_uaddr, count)")],
  "%d, %s, %u", "fd, buf_str, count"),
 ("open", "open", "Open a file",
  [("filename", q(arg(1))), ("flags", i32(2) + " | __sc_largefile()"), ("mode", u32(3)), ("flags_str", "_sys_open_flag_str(flags)")],
  None, "open"),
 ("openat", "openat", "Open a file relative to a directory file descriptor",
  [("dfd", i32(1)), ("dfd_str", "_sc_dfd_str(dfd)"), ("filename", q(arg(2))), ("flags", i32(3) + " | __sc_largefile()"),
   ("mode", u32(4)), ("flags_str", "_sys_open_flag_str(flags)")], None, "openat"),
 ("close", "close", "Close a file descriptor", [("fd", i32(1))], "%d", "fd"),
 ("fstatat", "newfstatat", "Get the status of a file relative to a directory file descriptor",
  [("dirfd", i32(1)), ("dirfd_str", "_sc_dfd_str(dirfd)"), ("path", q(arg(2))), ("buf_uaddr", arg(3)),
   ("flags", i32(4)), ("flags_str", "_at_flag_str(flags)")], "%s, %s, %p, %s", "dirfd_str, path, buf_uaddr, flags_str"),
 ("stat", "newstat", "Get the status of a file",
  [("filename_uaddr", arg(1)), ("filename", q("filename_uaddr")), ("buf_uaddr", arg(2))], "%s, %p", "filename, buf_uaddr"),
 ("lstat", "newlstat", "Get the status of a file, not following a last symbolic link",
  [("filename_uaddr", arg(1)), ("filename", q("filename_uaddr")), ("buf_uaddr", arg(2))], "%s, %p", "filename, buf_uaddr"),
 ("fstat", "newfstat", "Get the status of an open file",
  [("filedes", i32(1)), ("buf_uaddr", arg(2))], "%d, %p", "filedes, buf_uaddr"),
 ("lseek", "lseek", "Move a file's read/write offset",
  [("fildes", i32(1)), ("offset", arg(2)), ("whence", u32(3)), ("whence_str", "_seek_whence_str(whence)")],
  "%d, %d, %s", "fildes, offset, whence_str"),
 ("mmap", "mmap", "Map files or devices into memory",
  [("start", arg(1)), ("len", arg(2)), ("prot", arg(3)), ("flags", arg(4)), ("fd", i32(5)), ("offset", arg(6))],
  "%p, %u, %s, %s, %d, %d", "start, len, _mprotect_prot_str(prot), _mmap_flags(flags), fd, offset"),
 ("mprotect", "mprotect", "Set the protection of a memory region",
  [("addr", arg(1)), ("len", arg(2)), ("prot", arg(3)), ("prot_str", "_mprotect_prot_str(prot)")],
  "%p, %u, %s", "addr, len, prot_str"),
 ("munmap", "munmap", "Unmap a memory region", [("start", arg(1)), ("length", arg(2))], "%p, %u", "start, length"),
 ("brk", "brk", "Change the data segment's size", [("brk", arg(1))], "%p", "brk"),
 ("ioctl", "ioctl", "Control a device",
  [("fd", i32(1)), ("request", u32(2)), ("argp", arg(3))], "%d, %d, %p", "fd, request, argp"),
 ("pread", "pread64", "Read from a file descriptor at an offset",
  [("fd", i32(1)), ("buf_uaddr", arg(2)), ("count", arg(3)), ("offset", arg(4))], "%d, %p, %u, %d", "fd, buf_uaddr, count, offset"),
 ("pwrite", "pwrite64", "Write to a file descriptor at an offset",
  [("fd", i32(1)), ("buf_uaddr", arg(2)), ("count", arg(3)), ("offset", arg(4)), ("buf_str", "__sc_ubuf_quoted(buf_uaddr, count)")],
  "%d, %s, %u, %d", "fd, buf_str, count, offset"),
 ("readv", "readv", "Read into several buffers",
  [("fd", i32(1)), ("vector_uaddr", arg(2)), ("count", i32(3))], "%d, %p, %d", "fd, vector_uaddr, count"),
 ("writev", "writev", "Write from several buffers",
  [("fd", i32(1)), ("vector_uaddr", arg(2)), ("count", i32(3))], "%d, %p, %d", "fd, vector_uaddr, count"),
 ("access", "access", "Check a user's permissions for a file",
  [("pathname", q(arg(1))), ("mode", i32(2))], "%s, %d", "pathname, mode"),
 ("faccessat", "faccessat", "Check a user's permissions for a file relative to a directory file descriptor",
  [("dirfd", i32(1)), ("dirfd_str", "_sc_dfd_str(dirfd)"), ("pathname", q(arg(2))), ("mode", i32(3))],
  "%s, %s, %d", "dirfd_str, pathname, mode"),
 ("pipe", "pipe", "Create a pipe (the two descriptors as the user's array holds them at entry)",
  [("fildes_uaddr", arg(1)), ("flags", "0"), ("flag_str", '""'), ("pipe0", "__sc_int_at(fildes_uaddr, 0)"),
   ("pipe1", "__sc_int_at(fildes_uaddr, 4)")], None, "pipe"),
 ("pipe2", "pipe2", "Create a pipe with flags (SystemTap's syscall.pipe covers it too)",
  [("fildes_uaddr", arg(1)), ("flags", i32(2)), ("flag_str", "_sys_pipe2_flag_str(flags)"),
   ("pipe0", "__sc_int_at(fildes_uaddr, 0)"), ("pipe1", "__sc_int_at(fildes_uaddr, 4)")], None, "pipe2"),
 ("dup", "dup", "Duplicate a file descriptor", [("oldfd", i32(1))], "%d", "oldfd"),
 ("dup2", "dup2", "Duplicate a file descriptor to a given one",
  [("oldfd", i32(1)), ("newfd", i32(2))], "%d, %d", "oldfd, newfd"),
 ("dup3", "dup3", "Duplicate a file descriptor to a given one, with flags",
  [("oldfd", i32(1)), ("newfd", i32(2)), ("flags", i32(3))], "%d, %d, %s", "oldfd, newfd, _sys_open_flag_str(flags)"),
 ("getpid", "getpid", "Get the process id", [], "", ""),
 ("getppid", "getppid", "Get the parent's process id", [], "", ""),
 ("gettid", "gettid", "Get the thread id", [], "", ""),
 ("getuid", "getuid", "Get the real user id", [], "", ""),
 ("geteuid", "geteuid", "Get the effective user id", [], "", ""),
 ("getgid", "getgid", "Get the real group id", [], "", ""),
 ("getegid", "getegid", "Get the effective group id", [], "", ""),
 ("sched_yield", "sched_yield", "Yield the processor", [], "", ""),
 ("exit_group", "exit_group", "Exit all threads of the process", [("status", i32(1))], "%d", "status"),
 ("exit", "exit", "Exit the calling thread", [("status", i32(1))], "%d", "status"),
 ("kill", "kill", "Send a signal to a process",
  [("pid", i32(1)), ("sig", i32(2)), ("sig_name", "_signal_name(sig)")], "%d, %s", "pid, sig_name"),
 ("tgkill", "tgkill", "Send a signal to a thread",
  [("tgid", i32(1)), ("pid", i32(2)), ("sig", i32(3)), ("sig_name", "_signal_name(sig)")], "%d, %d, %s", "tgid, pid, sig_name"),
 ("rt_sigaction", "rt_sigaction", "Examine or change a signal's action",
  [("sig", i32(1)), ("act_uaddr", arg(2)), ("oact_uaddr", arg(3)), ("sigsetsize", arg(4)),
   ("sig_str", "_signal_name(sig)"), ("act_str", "_struct_sigaction_u(act_uaddr)")],
  "%s, {%s}, %p, %d", "sig_str, act_str, oact_uaddr, sigsetsize"),
 ("rt_sigprocmask", "rt_sigprocmask", "Examine or change the blocked signals",
  [("how", i32(1)), ("how_str", "_sigprocmask_how_str(how)"), ("set_uaddr", arg(2)), ("oldset_uaddr", arg(3)), ("sigsetsize", arg(4))],
  "%s, %p, %p, %d", "how_str, set_uaddr, oldset_uaddr, sigsetsize"),
 ("unlink", "unlink", "Delete a name from the file system", [("pathname", q(arg(1)))], "%s", "pathname"),
 ("unlinkat", "unlinkat", "Delete a name relative to a directory file descriptor",
  [("dfd", i32(1)), ("dfd_str", "_sc_dfd_str(dfd)"), ("pathname", q(arg(2))), ("flag", i32(3)), ("flag_str", "_at_flag_str(flag)")],
  "%s, %s, %s", "dfd_str, pathname, flag_str"),
 ("mkdir", "mkdir", "Create a directory",
  [("pathname", q(arg(1))), ("mode", u32(2))], "%s, %#o", "pathname, mode"),
 ("mkdirat", "mkdirat", "Create a directory relative to a directory file descriptor",
  [("dirfd", i32(1)), ("dirfd_str", "_sc_dfd_str(dirfd)"), ("pathname", q(arg(2))), ("mode", u32(3))],
  "%s, %s, %#o", "dirfd_str, pathname, mode"),
 ("rmdir", "rmdir", "Delete a directory", [("pathname", q(arg(1)))], "%s", "pathname"),
 ("rename", "rename", "Change the name or location of a file",
  [("oldpath", q(arg(1))), ("newpath", q(arg(2)))], "%s, %s", "oldpath, newpath"),
 ("renameat", "renameat", "Rename a file relative to directory file descriptors",
  [("olddfd", i32(1)), ("olddfd_str", "_sc_dfd_str(olddfd)"), ("oldname", q(arg(2))),
   ("newdfd", i32(3)), ("newdfd_str", "_sc_dfd_str(newdfd)"), ("newname", q(arg(4)))],
  "%s, %s, %s, %s", "olddfd_str, oldname, newdfd_str, newname"),
 ("renameat2", "renameat2", "Rename a file relative to directory file descriptors, with flags",
  [("olddfd", i32(1)), ("olddfd_str", "_sc_dfd_str(olddfd)"), ("oldname", q(arg(2))),
   ("newdfd", i32(3)), ("newdfd_str", "_sc_dfd_str(newdfd)"), ("newname", q(arg(4))), ("flags", u32(5))],
  "%s, %s, %s, %s, 0x%x", "olddfd_str, oldname, newdfd_str, newname, flags"),
 ("chdir", "chdir", "Change the working directory", [("path", q(arg(1)))], "%s", "path"),
 ("fchdir", "fchdir", "Change the working directory to an open directory", [("fd", i32(1))], "%d", "fd"),
 ("getcwd", "getcwd", "Get the working directory",
  [("buf", arg(1)), ("size", arg(2))], "%p, %d", "buf, size"),
 ("readlink", "readlink", "Read a symbolic link",
  [("path", q(arg(1))), ("buf_uaddr", arg(2)), ("bufsiz", i32(3))], "%s, %p, %d", "path, buf_uaddr, bufsiz"),
 ("readlinkat", "readlinkat", "Read a symbolic link relative to a directory file descriptor",
  [("dfd", i32(1)), ("dfd_str", "_sc_dfd_str(dfd)"), ("path", q(arg(2))), ("buf_uaddr", arg(3)), ("bufsiz", i32(4))],
  "%s, %s, %p, %d", "dfd_str, path, buf_uaddr, bufsiz"),
 ("getdents", "getdents64", "Read directory entries",
  [("fd", i32(1)), ("dirp_uaddr", arg(2)), ("count", u32(3))], "%d, %p, %d", "fd, dirp_uaddr, count"),
 ("fcntl", "fcntl", "Manipulate a file descriptor",
  [("fd", i32(1)), ("cmd", i32(2)), ("arg", arg(3))], "%d, %d, %p", "fd, cmd, arg"),
 ("execve", "execve", "Execute a program",
  [("filename", q(arg(1))), ("args", f"__sc_argv({arg(2)})"), ("env_str", f"__sc_envc({arg(3)})")],
  "%s, %s, %s", "filename, args, env_str"),
 ("clone", "clone", "Create a child process",
  [("clone_flags", arg(1)), ("stack_start", arg(2)), ("parent_tid_uaddr", arg(3)), ("child_tid_uaddr", arg(4)), ("tls_uaddr", arg(5))],
  "%s, %p, %p, %p", "__fork_flags(clone_flags), stack_start, parent_tid_uaddr, child_tid_uaddr"),
 ("fork", "fork", "Create a child process", [], "", ""),
 ("vfork", "vfork", "Create a child process and block the parent", [], "", ""),
 ("wait4", "wait4", "Wait for a process to change state",
  [("pid", i32(1)), ("status_uaddr", arg(2)), ("options", i32(3)), ("options_str", "_wait4_opt_str(options)"),
   ("rusage_uaddr", arg(4))], "%d, %p, %s, %p", "pid, status_uaddr, options_str, rusage_uaddr"),
 ("nanosleep", "nanosleep", "Sleep for a time",
  [("req_uaddr", arg(1)), ("rem_uaddr", arg(2)), ("req_str", "_struct_timespec_u(req_uaddr)")], "%s, %p", "req_str, rem_uaddr"),
 ("clock_nanosleep", "clock_nanosleep", "Sleep for a time on a clock",
  [("clk_id", i32(1)), ("flags", i32(2)), ("req_uaddr", arg(3)), ("rem_uaddr", arg(4)), ("req_str", "_struct_timespec_u(req_uaddr)")],
  "%d, %d, %s, %p", "clk_id, flags, req_str, rem_uaddr"),
 ("uname", "newuname", "Get the name of the system", [("name_uaddr", arg(1))], "%p", "name_uaddr"),
 ("poll", "poll", "Wait for events on file descriptors",
  [("ufds_uaddr", arg(1)), ("nfds", u32(2)), ("timeout", i32(3))], "%p, %u, %d", "ufds_uaddr, nfds, timeout"),
 ("socket", "socket", "Create an endpoint for communication",
  [("family", i32(1)), ("type", i32(2)), ("protocol", i32(3))],
  "%s, %s, %s", "_sock_family_str(family), _sock_type_str(type), _sock_protocol_str(family, protocol)"),
 ("connect", "connect", "Connect a socket",
  [("sockfd", i32(1)), ("serv_addr_uaddr", arg(2)), ("addrlen", u32(3))], "%d, %s, %u",
  "sockfd, _struct_sockaddr_u(serv_addr_uaddr, addrlen), addrlen"),
 ("bind", "bind", "Bind a name to a socket",
  [("sockfd", i32(1)), ("my_addr_uaddr", arg(2)), ("addrlen", i32(3))], "%d, %s, %d",
  "sockfd, _struct_sockaddr_u(my_addr_uaddr, addrlen), addrlen"),
 ("listen", "listen", "Listen for connections on a socket",
  [("sockfd", i32(1)), ("backlog", i32(2))], "%d, %d", "sockfd, backlog"),
 ("accept", "accept", "Accept a connection on a socket",
  [("sockfd", i32(1)), ("addr_uaddr", arg(2)), ("addrlen_uaddr", arg(3))], "%d, %p, %p", "sockfd, addr_uaddr, addrlen_uaddr"),
 ("accept4", "accept4", "Accept a connection on a socket, with flags",
  [("sockfd", i32(1)), ("addr_uaddr", arg(2)), ("addrlen_uaddr", arg(3)), ("flags", i32(4))],
  "%d, %p, %p, %s", "sockfd, addr_uaddr, addrlen_uaddr, _sock_type_str(flags)"),
 ("sendto", "sendto", "Send a message on a socket",
  [("s", i32(1)), ("buf_uaddr", arg(2)), ("len", arg(3)), ("flags", u32(4)), ("flags_str", "_msg_flags_str(flags)"),
   ("buf", "__sc_ubuf_quoted(buf_uaddr, len)"), ("to_uaddr", arg(5)), ("tolen", u32(6)),
   ("to_str", "_struct_sockaddr_u(to_uaddr, tolen)")],
  "%d, %s, %u, %s, %s, %u", "s, buf, len, flags_str, to_str, tolen"),
 ("send", "send", "Send a message on a connected socket (an entry point only some architectures have)",
  [("s", i32(1)), ("buf_uaddr", arg(2)), ("len", arg(3)), ("flags", u32(4)), ("flags_str", "_msg_flags_str(flags)"),
   ("buf", "__sc_ubuf_quoted(buf_uaddr, len)")],
  "%d, %s, %u, %s", "s, buf, len, flags_str"),
 ("recv", "recv", "Receive a message from a connected socket (an entry point only some architectures have)",
  [("s", i32(1)), ("buf_uaddr", arg(2)), ("len", arg(3)), ("flags", u32(4)), ("flags_str", "_msg_flags_str(flags)")],
  "%d, %p, %u, %s", "s, buf_uaddr, len, flags_str"),
 ("recvfrom", "recvfrom", "Receive a message from a socket",
  [("s", i32(1)), ("buf_uaddr", arg(2)), ("len", arg(3)), ("flags", u32(4)), ("flags_str", "_msg_flags_str(flags)"),
   ("addr_uaddr", arg(5)), ("addrlen_uaddr", arg(6))],
  "%d, %p, %u, %s, %p, %p", "s, buf_uaddr, len, flags_str, addr_uaddr, addrlen_uaddr"),
 ("sendmsg", "sendmsg", "Send a message on a socket",
  [("s", i32(1)), ("msg_uaddr", arg(2)), ("flags", u32(3)), ("flags_str", "_msg_flags_str(flags)")],
  "%d, %p, %s", "s, msg_uaddr, flags_str"),
 ("recvmsg", "recvmsg", "Receive a message from a socket",
  [("s", i32(1)), ("msg_uaddr", arg(2)), ("flags", u32(3)), ("flags_str", "_msg_flags_str(flags)")],
  "%d, %p, %s", "s, msg_uaddr, flags_str"),
 ("futex", "futex", "Fast user-space locking",
  [("futex_uaddr", arg(1)), ("op", i32(2)), ("val", u32(3)), ("utime_uaddr", arg(4)), ("uaddr2_uaddr", arg(5)), ("val3", u32(6))],
  "%p, %d, %u, %p, %p, %u", "futex_uaddr, op, val, utime_uaddr, uaddr2_uaddr, val3"),
 ("set_tid_address", "set_tid_address", "Set the pointer to the thread id",
  [("tidptr_uaddr", arg(1))], "%p", "tidptr_uaddr"),
 ("chmod", "chmod", "Change a file's mode", [("path", q(arg(1))), ("mode", u32(2))], "%s, %#o", "path, mode"),
 ("fchmod", "fchmod", "Change an open file's mode", [("fildes", i32(1)), ("mode", u32(2))], "%d, %#o", "fildes, mode"),
 ("umask", "umask", "Set the file mode creation mask", [("mask", u32(1))], "%#o", "mask"),
 ("truncate", "truncate", "Truncate a file to a length", [("path", q(arg(1))), ("length", arg(2))], "%s, %d", "path, length"),
 ("ftruncate", "ftruncate", "Truncate an open file to a length", [("fd", i32(1)), ("length", arg(2))], "%d, %d", "fd, length"),
 ("fsync", "fsync", "Synchronize a file's state with storage", [("fd", i32(1))], "%d", "fd"),
 ("sync", "sync", "Commit the buffer cache to disk", [], "", ""),
 ("symlink", "symlink", "Make a symbolic link", [("oldpath", q(arg(1))), ("newpath", q(arg(2)))], "%s, %s", "oldpath, newpath"),
 ("link", "link", "Make a new name for a file", [("oldpath", q(arg(1))), ("newpath", q(arg(2)))], "%s, %s", "oldpath, newpath"),
 ("setpgid", "setpgid", "Set a process group", [("pid", i32(1)), ("pgid", i32(2))], "%d, %d", "pid, pgid"),
 ("setsid", "setsid", "Create a session", [], "", ""),
 ("ptrace", "ptrace", "Trace a process",
  [("request", i32(1)), ("pid", i32(2)), ("addr", arg(3)), ("data", arg(4))], "%d, %d, %p, %p", "request, pid, addr, data"),
 ("io_submit", "io_submit", "Submit asynchronous I/O blocks",
  [("ctx_id", arg(1)), ("nr", arg(2)), ("iocbpp_uaddr", arg(3))], "%u, %d, %p", "ctx_id, nr, iocbpp_uaddr"),
 ("vmsplice", "vmsplice", "Splice user pages into a pipe",
  [("fd", i32(1)), ("iov", arg(2)), ("nr_segs", arg(3)), ("flags", u32(4))], "%d, %p, %u, 0x%x", "fd, iov, nr_segs, flags"),
 ("splice", "splice", "Splice data to or from a pipe",
  [("fd_in", i32(1)), ("off_in", arg(2)), ("fd_out", i32(3)), ("off_out", arg(4)), ("len", arg(5)), ("flags", u32(6))],
  "%d, %p, %d, %p, %u, 0x%x", "fd_in, off_in, fd_out, off_out, len, flags"),
 ("sendfile", "sendfile64", "Transfer data between file descriptors",
  [("out_fd", i32(1)), ("in_fd", i32(2)), ("offset_uaddr", arg(3)), ("count", arg(4))], "%d, %d, %p, %u", "out_fd, in_fd, offset_uaddr, count"),
 ("select", "select", "Wait for file descriptors to become ready",
  [("n", i32(1)), ("readfds_uaddr", arg(2)), ("writefds_uaddr", arg(3)), ("exceptfds_uaddr", arg(4)), ("timeout_uaddr", arg(5))],
  "%d, %p, %p, %p, %p", "n, readfds_uaddr, writefds_uaddr, exceptfds_uaddr, timeout_uaddr"),
 ("pselect6", "pselect6", "Wait for file descriptors to become ready, with a signal mask",
  [("nfds", i32(1)), ("readfds", arg(2)), ("writefds", arg(3)), ("exceptfds", arg(4)), ("timeout", arg(5)), ("sigmask", arg(6))],
  "%d, %p, %p, %p, %p, %p", "nfds, readfds, writefds, exceptfds, timeout, sigmask"),
 ("ppoll", "ppoll", "Wait for events on file descriptors, with a signal mask",
  [("fds_uaddr", arg(1)), ("nfds", u32(2)), ("tsp", arg(3)), ("sigmask", arg(4)), ("sigsetsize", arg(5))],
  "%p, %u, %p, %p, %d", "fds_uaddr, nfds, tsp, sigmask, sigsetsize"),
 ("epoll_create", "epoll_create1", "Open an epoll file descriptor",
  [("flags", i32(1))], "%s", "_sys_open_flag_str(flags)"),
 ("epoll_ctl", "epoll_ctl", "Control an epoll file descriptor",
  [("epfd", i32(1)), ("op", i32(2)), ("fd", i32(3)), ("event_uaddr", arg(4))], "%d, %d, %d, %p", "epfd, op, fd, event_uaddr"),
 ("epoll_wait", "epoll_wait", "Wait for events on an epoll file descriptor",
  [("epfd", i32(1)), ("events_uaddr", arg(2)), ("maxevents", i32(3)), ("timeout", i32(4))], "%d, %p, %d, %d", "epfd, events_uaddr, maxevents, timeout"),
 ("epoll_pwait", "epoll_pwait", "Wait for events on an epoll file descriptor, with a signal mask",
  [("epfd", i32(1)), ("events_uaddr", arg(2)), ("maxevents", i32(3)), ("timeout", i32(4)), ("sigmask_uaddr", arg(5)), ("sigsetsize", arg(6))],
  "%d, %p, %d, %d, %p, %d", "epfd, events_uaddr, maxevents, timeout, sigmask_uaddr, sigsetsize"),
 ("rt_sigtimedwait", "rt_sigtimedwait", "Wait for queued signals",
  [("uthese_uaddr", arg(1)), ("uinfo_uaddr", arg(2)), ("uts_uaddr", arg(3)), ("sigsetsize", arg(4))],
  "%p, %p, %p, %d", "uthese_uaddr, uinfo_uaddr, uts_uaddr, sigsetsize"),
 ("rt_sigsuspend", "rt_sigsuspend", "Wait for a signal", [("set_uaddr", arg(1)), ("sigsetsize", arg(2))], "%p, %d", "set_uaddr, sigsetsize"),
 ("tkill", "tkill", "Send a signal to a thread",
  [("pid", i32(1)), ("sig", i32(2)), ("sig_name", "_signal_name(sig)")], "%d, %s", "pid, sig_name"),
 ("delete_module", "delete_module", "Unload a kernel module",
  [("name_user", q(arg(1))), ("flags", u32(2))], "%s, 0x%x", "name_user, flags"),
 ("init_module", "init_module", "Load a kernel module",
  [("umod", arg(1)), ("len", arg(2)), ("uargs", q(arg(3)))], "%p, %u, %s", "umod, len, uargs"),
 ("finit_module", "finit_module", "Load a kernel module from a file descriptor",
  [("fd", i32(1)), ("uargs", q(arg(2))), ("flags", i32(3))], "%d, %s, 0x%x", "fd, uargs, flags"),
 ("madvise", "madvise", "Give advice about the use of memory",
  [("start", arg(1)), ("len_in", arg(2)), ("behavior", i32(3))], "%p, %u, %d", "start, len_in, behavior"),
 ("mremap", "mremap", "Remap a memory region",
  [("old_address", arg(1)), ("old_size", arg(2)), ("new_size", arg(3)), ("flags", arg(4)), ("new_address", arg(5))],
  "%p, %u, %u, 0x%x, %p", "old_address, old_size, new_size, flags, new_address"),
 ("msync", "msync", "Synchronize a file with a memory map",
  [("start", arg(1)), ("length", arg(2)), ("flags", i32(3))], "%p, %u, 0x%x", "start, length, flags"),
 ("fdatasync", "fdatasync", "Synchronize a file's data with storage", [("fd", i32(1))], "%d", "fd"),
 ("flock", "flock", "Apply or remove an advisory lock on an open file", [("fd", i32(1)), ("operation", i32(2))], "%d, %d", "fd, operation"),
 ("fchown", "fchown", "Change the owner of an open file",
  [("fd", i32(1)), ("owner", i32(2)), ("group", i32(3))], "%d, %d, %d", "fd, owner, group"),
 ("chown", "chown", "Change the owner of a file",
  [("path", q(arg(1))), ("owner", i32(2)), ("group", i32(3))], "%s, %d, %d", "path, owner, group"),
 ("fchmodat", "fchmodat", "Change a file's mode relative to a directory file descriptor",
  [("dirfd", i32(1)), ("dirfd_str", "_sc_dfd_str(dirfd)"), ("pathname", q(arg(2))), ("mode", u32(3))], "%s, %s, %#o", "dirfd_str, pathname, mode"),
 ("statx", "statx", "Get extended file status",
  [("dfd", i32(1)), ("dfd_str", "_sc_dfd_str(dfd)"), ("filename", q(arg(2))), ("flags", i32(3)), ("flags_str", "_at_flag_str(flags)"),
   ("mask", u32(4)), ("buf_uaddr", arg(5))], "%s, %s, %s, 0x%x, %p", "dfd_str, filename, flags_str, mask, buf_uaddr"),
 ("getrandom", "getrandom", "Get random bytes",
  [("buf", arg(1)), ("count", arg(2)), ("flags", u32(3))], "%p, %u, 0x%x", "buf, count, flags"),
 ("socketpair", "socketpair", "Create a pair of connected sockets",
  [("family", i32(1)), ("type", i32(2)), ("protocol", i32(3)), ("sv_uaddr", arg(4))],
  "%s, %s, %s, %p", "_sock_family_str(family), _sock_type_str(type), _sock_protocol_str(family, protocol), sv_uaddr"),
 ("shutdown", "shutdown", "Shut down part of a full-duplex connection", [("s", i32(1)), ("how", i32(2))], "%d, %d", "s, how"),
 ("getsockname", "getsockname", "Get a socket's name",
  [("s", i32(1)), ("name_uaddr", arg(2)), ("namelen_uaddr", arg(3))], "%d, %p, %p", "s, name_uaddr, namelen_uaddr"),
 ("getpeername", "getpeername", "Get the name of a connected peer socket",
  [("s", i32(1)), ("name_uaddr", arg(2)), ("namelen_uaddr", arg(3))], "%d, %p, %p", "s, name_uaddr, namelen_uaddr"),
 ("setsockopt", "setsockopt", "Set options on a socket",
  [("fd", i32(1)), ("level", i32(2)), ("optname", i32(3)), ("optval_uaddr", arg(4)), ("optlen", u32(5))],
  "%d, %d, %d, %p, %u", "fd, level, optname, optval_uaddr, optlen"),
 ("getsockopt", "getsockopt", "Get options on a socket",
  [("fd", i32(1)), ("level", i32(2)), ("optname", i32(3)), ("optval_uaddr", arg(4)), ("optlen_uaddr", arg(5))],
  "%d, %d, %d, %p, %p", "fd, level, optname, optval_uaddr, optlen_uaddr"),
 ("clock_gettime", "clock_gettime", "Get the time of a clock",
  [("clk_id", i32(1)), ("tp_uaddr", arg(2))], "%d, %p", "clk_id, tp_uaddr"),
 ("gettimeofday", "gettimeofday", "Get the time",
  [("tv_uaddr", arg(1)), ("tz_uaddr", arg(2))], "%p, %p", "tv_uaddr, tz_uaddr"),
 ("setuid", "setuid", "Set the user id", [("uid", i32(1))], "%d", "uid"),
 ("setgid", "setgid", "Set the group id", [("gid", i32(1))], "%d", "gid"),
 ("prlimit64", "prlimit64", "Get or set a process's resource limits",
  [("pid", i32(1)), ("resource", i32(2)), ("new_rlim_uaddr", arg(3)), ("old_rlim_uaddr", arg(4))],
  "%d, %d, %p, %p", "pid, resource, new_rlim_uaddr, old_rlim_uaddr"),
 ("sysinfo", "sysinfo", "Get system statistics", [("info_uaddr", arg(1))], "%p", "info_uaddr"),
 ("arch_prctl", "arch_prctl", "Set architecture-specific thread state",
  [("code", i32(1)), ("addr", arg(2))], "%d, %p", "code, addr"),
 ("sched_setaffinity", "sched_setaffinity", "Set a thread's CPU affinity mask",
  [("pid", i32(1)), ("len", u32(2)), ("mask_uaddr", arg(3))], "%d, %u, %p", "pid, len, mask_uaddr"),
 ("sched_getaffinity", "sched_getaffinity", "Get a thread's CPU affinity mask",
  [("pid", i32(1)), ("len", u32(2)), ("mask_uaddr", arg(3))], "%d, %u, %p", "pid, len, mask_uaddr"),
 ("unshare", "unshare", "Disassociate parts of the process execution context",
  [("unshare_flags", arg(1))], "%s", "__fork_flags(unshare_flags)"),
 ("mount", "mount", "Mount a file system",
  [("source", q(arg(1))), ("target", q(arg(2))), ("filesystemtype", q(arg(3))), ("mountflags", arg(4)), ("data", arg(5))],
  "%s, %s, %s, 0x%x, %p", "source, target, filesystemtype, mountflags, data"),
 ("umount", "umount", "Unmount a file system",
  [("target", q(arg(1))), ("flags", i32(2))], "%s, 0x%x", "target, flags"),
 ("chroot", "chroot", "Change the root directory", [("path", q(arg(1)))], "%s", "path"),
 ("memfd_create", "memfd_create", "Create an anonymous file",
  [("uname", q(arg(1))), ("flags", u32(2))], "%s, 0x%x", "uname, flags"),
 ("eventfd", "eventfd2", "Create a file descriptor for event notification",
  [("count", u32(1)), ("flags", i32(2))], "%u, %s", "count, _sys_open_flag_str(flags)"),
 ("waitid", "waitid", "Wait for a process to change state",
  [("which", i32(1)), ("pid", i32(2)), ("infop_uaddr", arg(3)), ("options", i32(4)), ("rusage_uaddr", arg(5))],
  "%d, %d, %p, %d, %p", "which, pid, infop_uaddr, options, rusage_uaddr"),
 ("alarm", "alarm", "Set an alarm clock", [("seconds", u32(1))], "%u", "seconds"),
 ("pause", "pause", "Wait for a signal", [], "", ""),
 ("times", "times", "Get process times", [("buf_uaddr", arg(1))], "%p", "buf_uaddr"),
 ("getrusage", "getrusage", "Get resource usage", [("who", i32(1)), ("usage_uaddr", arg(2))], "%d, %p", "who, usage_uaddr"),
 ("fallocate", "fallocate", "Manipulate a file's space",
  [("fd", i32(1)), ("mode", i32(2)), ("offset", arg(3)), ("len", arg(4))], "%d, %d, %d, %d", "fd, mode, offset, len"),
 ("prctl", "prctl", "Operations on a process",
  [("option", i32(1)), ("arg2", arg(2)), ("arg3", arg(3)), ("arg4", arg(4)), ("arg5", arg(5))],
  "%d, %p, %p, %p, %p", "option, arg2, arg3, arg4, arg5"),
]

# Syscalls without a row above: generic aliases, generated from the
# kernel's own prototypes (include/linux/syscalls.h of the headers package,
# `asmlinkage long sys_NAME(TYPE NAME, ...)`) for every x86-64 entry point
# listed in entry_points.txt (the __x64_sys_* symbols of the testbed
# kernels: 6.1's kallsyms and 6.12's BTF). Their variables are the
# kernel's parameter names (pointers get `_uaddr`), argstr formats each by
# its type: user strings quoted, pointers in hex, modes in octal.
import glob, os, re, sys

def syscalls_h():
    if len(sys.argv) > 1:
        return sys.argv[1]
    found = sorted(glob.glob("/usr/src/linux-headers-*-common/include/linux/syscalls.h"))
    return found[-1] if found else None

def prototypes(path):
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    out = {}
    for m in re.finditer(r"asmlinkage\s+long\s+sys_(\w+)\s*\(([^;]*?)\)\s*;", text, flags=re.S):
        out.setdefault(m.group(1), " ".join(m.group(2).split()))
    return out

SIGNED = {"int", "pid_t", "key_serial_t", "clockid_t", "timer_t", "mqd_t", "rwf_t", "key_t", "__s32", "s32"}
UNSIGNED32 = {"unsigned int", "unsigned", "u32", "__u32", "uid_t", "gid_t", "old_uid_t", "old_gid_t", "qid_t", "unsigned short"}
LONG = {"long", "loff_t", "off_t", "ssize_t", "s64", "__s64", "time_t", "__kernel_old_time_t", "compat_ulong_t"}
RESERVED = {"name", "argstr", "retstr", "retval", "probe", "global", "function", "if", "else", "for", "while", "next", "delete", "return", "in", "try", "catch", "string", "long"}

def generic_vars(params):
    """(vars, fmt, fmt_args) for a prototype's parameter list, or None."""
    if params in ("void", ""):
        return [], "", ""
    vars, fmts, fargs = [], [], []
    for n, decl in enumerate(params.split(","), start=1):
        decl = decl.strip()
        m = re.match(r"(.*?)(\w+)$", decl)
        if not m or n > 6:
            return None
        ty, pname = " ".join(m.group(1).replace("*", " * ").split()), m.group(2)
        base = " ".join(w for w in ty.split() if w not in ("const", "__user", "*", "volatile"))
        if "*" in ty:
            if ty.count("*") == 1 and base == "char" and "__user" in ty:
                v = pname if pname not in RESERVED else pname + "_str"
                vars.append((v, q(arg(n)))); fmts.append("%s"); fargs.append(v)
                continue
            v = pname + "_uaddr"
            vars.append((v, arg(n))); fmts.append("%p"); fargs.append(v)
            continue
        v = pname if pname not in RESERVED else pname + "_arg"
        if base == "int" and pname in ("dfd", "olddfd", "newdfd", "fd") and pname != "fd":
            vars.append((v, i32(n))); vars.append((v + "_str", f"_sc_dfd_str({v})")); fmts.append("%s"); fargs.append(v + "_str")
            continue
        if base == "umode_t":
            vars.append((v, u32(n))); fmts.append("%#o")
        elif base in SIGNED:
            vars.append((v, i32(n))); fmts.append("%d")
        elif base in UNSIGNED32:
            vars.append((v, u32(n))); fmts.append("%u")
        elif base in LONG:
            vars.append((v, arg(n))); fmts.append("%d")
        else:  # unsigned long, size_t, u64, aio_context_t, ...
            vars.append((v, arg(n))); fmts.append("%u")
        fargs.append(v)
    if len({v for v, _ in vars}) != len(vars) or "name" in {v for v, _ in vars}:
        return None
    return vars, ", ".join(fmts), ", ".join(fargs)

OPTIONAL = {"send", "recv"}  # x86-64 has neither: the aliases exist for scripts that name them

def generic_rows():
    path = syscalls_h()
    here = os.path.dirname(os.path.abspath(__file__))
    if not path:
        sys.exit("gen_aliases.py: no include/linux/syscalls.h (install the kernel headers or pass its path)")
    protos = prototypes(path)
    done = {e for _, e, _, _, _, _ in T} | {n for n, _, _, _, _, _ in T}
    rows = []
    for line in open(os.path.join(here, "entry_points.txt")):
        if line.startswith("#") or not line.split():
            continue
        entry, kernels = line.split()[0], line.split()[1:]
        if len(kernels) < 2:
            OPTIONAL.add(entry)  # not on every kernel line: `?`
        # 16-bit-uid and time32 calls are the 32-bit ABI's, not x86-64's.
        if re.search(r"(16|_time32|32)$", entry):
            continue
        if entry in done or entry not in protos or entry.startswith("ni_syscall"):
            continue
        g = generic_vars(protos[entry])
        if g is None:
            continue
        vars, fmt, fargs = g
        rows.append((entry, entry, f"The {entry} system call (generic: arguments by their kernel types)", vars, fmt, fargs))
    return rows

def open_argstr(has_dfd):
    lead = "dfd_str, " if has_dfd else ""
    return (f'\tif (flags & 0100)\n\t\targstr = sprintf("{"%s, " if has_dfd else ""}%s, %s, %#o", {lead}filename, flags_str, mode)\n'
            f'\telse\n\t\targstr = sprintf("{"%s, " if has_dfd else ""}%s, %s", {lead}filename, flags_str)\n')

out = ["// syscalls tapset, part 3: syscall.NAME and nd_syscall.NAME (and .return)",
       "// over the kernel's x86-64 entry points. Written for rstap; generated",
       "// by gen_aliases.py from its table (edit the table, not this file).",
       "// A 32-bit task's calls come through the ia32 entry point named beside",
       "// the x86-64 one (where the kernel has it; ia32_entry_points.txt).",
       "//",
       "// Every probe sets `name` (the syscall's name) and `argstr` (its",
       "// arguments as SystemTap prints them); .return probes set `retval` and",
       "// `retstr` (\"-2 (ENOENT)\" for errors). syscall.* and nd_syscall.* are",
       "// the same kprobes: neither needs debuginfo.", ""]
def ia32_entries():
    """{NAME: symbol} of the 32-bit entry points (ia32_entry_points.txt)."""
    here = os.path.dirname(os.path.abspath(__file__))
    plain, compat = set(), set()
    for line in open(os.path.join(here, "ia32_entry_points.txt")):
        w = line.split()
        if not w or w[0].startswith("#"):
            continue
        (compat if w[0] == "compat" else plain).add(w[-1])
    out = {e: f"__ia32_sys_{e}" for e in plain}
    out.update({e: f"__ia32_compat_sys_{e}" for e in compat})  # the ia32 table calls these
    return out

# A 32-bit task's call reaches the same alias through its ia32 entry point
# (the arguments come from bx, cx, dx, si, di, bp then: __sc_arg), unless
# the variables read a structure or array whose 32-bit layout differs.
NATIVE_ONLY = ("__sc_argv", "__sc_envc", "_struct_")
IA32 = ia32_entries()

ROWS = T + generic_rows()
for (name, entry, doc, vars, fmt, fargs) in ROWS:
    sym = f"__x64_sys_{entry}"
    opt = " ?" if entry in OPTIONAL else ""
    ia32 = entry in IA32 and not any(f in e for _, e in vars for f in NATIVE_ONLY)
    also = f', kprobe.function("{IA32[entry]}") ?' if ia32 else ""
    also_ret = f', kprobe.function("{IA32[entry]}").return ?' if ia32 else ""
    out.append("/**")
    out.append(f" * probe syscall.{name} - {doc}")
    for v, _ in vars:
        out.append(f" * @{v}: the {v} argument" if not v.endswith("_str") else f" * @{v}: {v[:-4]} as text")
    out.append(f" * @argstr: the arguments as text")
    out.append(" */")
    out.append(f'probe syscall.{name} = kprobe.function("{sym}"){opt}{also}')
    out.append("{")
    out.append(f'\tname = "{name}"')
    for v, e in vars:
        out.append(f"\t{v} = {e}")
    if fmt is None and fargs in ("pipe", "pipe2"):
        tail = ', %s", pipe0, pipe1, flag_str)' if fargs == "pipe2" else '", pipe0, pipe1)'
        out.append('\targstr = fildes_uaddr == 0 ? "NULL" : sprintf("[%d, %d]' + tail)
    elif fmt is None:
        out.append(open_argstr(fargs == "openat").rstrip("\n"))
    elif fmt == "":
        out.append('\targstr = ""')
    else:
        out.append(f'\targstr = sprintf("{fmt}", {fargs})')
    out.append("}")
    out.append("")
    out.append("/**")
    out.append(f" * probe syscall.{name}.return - Return from {name}")
    out.append(" * @retval: the return value")
    out.append(" * @retstr: the return value as text, with the errno's name")
    out.append(" */")
    out.append(f'probe syscall.{name}.return = kprobe.function("{sym}").return{opt}{also_ret}')
    out.append("{")
    out.append(f'\tname = "{name}"')
    out.append("\tretval = returnval()")
    out.append("\tretstr = _sc_retstr_hex(retval)" if name == "mmap" else "\tretstr = _sc_retstr(retval)")
    out.append("}")
    out.append("")
    out.append(f"/** probe nd_syscall.{name} - {doc} (no debuginfo needed) */")
    out.append(f"probe nd_syscall.{name} = syscall.{name} {{ }}")
    out.append(f"/** probe nd_syscall.{name}.return - Return from {name} (no debuginfo needed) */")
    out.append(f"probe nd_syscall.{name}.return = syscall.{name}.return {{ }}")
    out.append("")
print("\n".join(out))
