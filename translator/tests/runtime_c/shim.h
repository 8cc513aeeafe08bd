/*
 * Userspace stand-ins for the kernel facilities runtime-c's formatter and
 * statistics use, so that tests/runtime_c.rs can compile and run those
 * headers as they are shipped in modules.
 *
 * Input: nothing. Output: kernel types, helpers (fls64, div64_*, min/max),
 * a fake struct rstap_context_base whose print buffer collects the output,
 * and a memory reader for %m/%M that faults below address 4096 (kernel
 * reads) or below 8192 (user reads, `#`), as a bad pointer would.
 * Invariants: every helper has the kernel's semantics for the values the
 * runtime passes (div64_s64 truncates toward zero, fls64(0) == 0).
 */
#ifndef RSTAP_TEST_SHIM_H
#define RSTAP_TEST_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define __maybe_unused __attribute__((unused))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min(a, b) ((a) < (b) ? (a) : (b))

#ifndef MAXSTRINGLEN
#define MAXSTRINGLEN 128
#endif

static inline int fls64(u64 x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

static inline s64 div64_s64(s64 a, s64 b)
{
	return a / b;
}

static inline u64 div64_u64(u64 a, u64 b)
{
	return a / b;
}

static inline u64 mul_u64_u64_div_u64(u64 a, u64 b, u64 c)
{
	return (u64)((unsigned __int128)a * b / c);
}

#define TEST_PRINT_BUFSIZE (1 << 20)

struct rstap_context_base {
	const char *last_error;
	const char *error_location;
	char error_buf[MAXSTRINGLEN];
	size_t print_len;
	char print_buf[TEST_PRINT_BUFSIZE];
};

static void rstap_error(struct rstap_context_base *c, const char *msg, const char *location)
{
	if (c->last_error)
		return;
	snprintf(c->error_buf, sizeof(c->error_buf), "%s", msg);
	c->last_error = c->error_buf;
	c->error_location = location;
}

static void rstap_print_bytes(struct rstap_context_base *c, const char *s, size_t len)
{
	if (len > TEST_PRINT_BUFSIZE - c->print_len)
		len = TEST_PRINT_BUFSIZE - c->print_len;
	memcpy(c->print_buf + c->print_len, s, len);
	c->print_len += len;
}

static int test_read_mem(void *dst, u64 addr, size_t n, int user)
{
	if (addr < (user ? 8192u : 4096u))
		return -14;
	memcpy(dst, (const void *)(uintptr_t)addr, n);
	return 0;
}
#define RSTAP_FMT_READ_MEM test_read_mem

#include "rstap_format.h"
#include "rstap_stat.h"

#endif /* RSTAP_TEST_SHIM_H */
