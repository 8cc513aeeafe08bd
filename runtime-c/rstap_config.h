/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: resource limits. Each can be overridden with stap -DNAME=VALUE.
 * Input: nothing. Output: the limit macros the rest of the runtime uses.
 * Invariants: the translator (translator/src/limits.rs) refuses values out
 * of their range with a clear message; the #error lines below repeat the
 * ranges for a module built by hand.
 */
#ifndef RSTAP_CONFIG_H
#define RSTAP_CONFIG_H

#ifndef MAXSTRINGLEN
#define MAXSTRINGLEN 128
#endif
#ifndef MAXACTION
#define MAXACTION 1000
#endif
#ifndef MAXACTION_INTERRUPTIBLE
#define MAXACTION_INTERRUPTIBLE (MAXACTION * 10)
#endif
#ifndef MAXNESTING
#define MAXNESTING 10
#endif
#ifndef MAXMAPENTRIES
#define MAXMAPENTRIES 2048
#endif
#ifndef MAXERRORS
#define MAXERRORS 0
#endif
/* Frames in a kernel back trace (backtrace, print_backtrace, ...). */
#ifndef MAXBACKTRACE
#define MAXBACKTRACE 20
#endif
/*
 * Returns one .return probe tracks at a time (kretprobe instances): threads
 * blocked in a probed function each hold one; a return beyond them is a
 * skipped hit. .maxactive(N) sets it for one probe.
 */
#ifndef KRETACTIVE
#define KRETACTIVE max_t(int, 32, 8 * (int)num_possible_cpus())
#endif
#ifndef MAXSKIPPED
#define MAXSKIPPED 100
#endif
#ifndef MAXTRYLOCK
#define MAXTRYLOCK 1000
#endif
#ifndef TRYLOCKDELAY
#define TRYLOCKDELAY 10 /* microseconds */
#endif
/* Kernel stack the script's function calls may use below the handler. */
#ifndef RSTAP_STACK_BUDGET
#define RSTAP_STACK_BUDGET 4096
#endif
/* Staging buffer of one probe handler's output, flushed into the ring. */
#ifndef RSTAP_PRINT_BUFSIZE
#define RSTAP_PRINT_BUFSIZE 8192
#endif
/* The output ring between the module and staprun, in bytes (power of 2). */
#ifndef RSTAP_RING_BUFSIZE
#define RSTAP_RING_BUFSIZE (1 << 20)
#endif

#if MAXSTRINGLEN < 16 || MAXSTRINGLEN > 4096
#error "MAXSTRINGLEN must be between 16 and 4096"
#endif
#if MAXBACKTRACE < 1 || MAXBACKTRACE > 256
#error "MAXBACKTRACE must be between 1 and 256"
#endif
#if MAXNESTING < 0 || MAXNESTING > 256
#error "MAXNESTING must be between 0 and 256"
#endif
#if (RSTAP_RING_BUFSIZE & (RSTAP_RING_BUFSIZE - 1)) != 0
#error "RSTAP_RING_BUFSIZE must be a power of two"
#endif

#endif /* RSTAP_CONFIG_H */
