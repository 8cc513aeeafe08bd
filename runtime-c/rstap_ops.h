/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: the operators of the script language that need more than
 * one C operator: checked division, shifts, string copies and concatenation,
 * and formatted output into the handler's print buffer.
 *
 * Input: values of script type long (int64_t) and string (NUL-terminated,
 * at most MAXSTRINGLEN bytes with the NUL). Output: values of those types;
 * errors are recorded with rstap_error() and a harmless value is returned.
 * Invariants: never traps (no division by 0, no INT64_MIN / -1), never
 * writes past MAXSTRINGLEN.
 */
#ifndef RSTAP_OPS_H
#define RSTAP_OPS_H

static inline int64_t rstap_div(struct rstap_context_base *c, int64_t a,
				int64_t b, const char *loc)
{
	if (unlikely(b == 0)) {
		rstap_error(c, "division by 0", loc);
		return 0;
	}
	if (unlikely(b == -1))
		return (int64_t)(0 - (u64)a);
	return a / b;
}

static inline int64_t rstap_mod(struct rstap_context_base *c, int64_t a,
				int64_t b, const char *loc)
{
	if (unlikely(b == 0)) {
		rstap_error(c, "division by 0", loc);
		return 0;
	}
	if (unlikely(b == -1))
		return 0;
	return a % b;
}

static inline int64_t rstap_shl(int64_t a, int64_t b)
{
	return (b < 0 || b > 63) ? 0 : (int64_t)((u64)a << b);
}

static inline int64_t rstap_shr(int64_t a, int64_t b)
{
	if (b < 0 || b > 63)
		return a < 0 ? -1 : 0;
	return a >> b;
}

/* dst = src, truncated to MAXSTRINGLEN; returns dst. */
static inline char *rstap_strcpy(char *dst, const char *src)
{
	if (dst != src)
		strscpy(dst, src, MAXSTRINGLEN);
	return dst;
}

/* dst = a . b; dst may be a but not b. Returns dst. */
static inline char *rstap_concat(char *dst, const char *a, const char *b)
{
	size_t la;

	if (dst != a)
		strscpy(dst, a, MAXSTRINGLEN);
	la = strnlen(dst, MAXSTRINGLEN - 1);
	strscpy(dst + la, b, MAXSTRINGLEN - la);
	return dst;
}

static inline int64_t rstap_strcmp(const char *a, const char *b)
{
	return strncmp(a, b, MAXSTRINGLEN);
}

/* Formats into a MAXSTRINGLEN buffer (sprintf); returns dst. */
static __maybe_unused __printf(2, 3) char *rstap_sprintf(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vscnprintf(dst, MAXSTRINGLEN, fmt, ap);
	va_end(ap);
	return dst;
}

/* Appends formatted output to the handler's print buffer. */
static __maybe_unused __printf(2, 3) void rstap_printf(struct rstap_context_base *c,
					const char *fmt, ...)
{
	size_t room = RSTAP_PRINT_BUFSIZE - c->print_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->print_buf + c->print_len, room, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < room) {
		c->print_len += n;
		return;
	}
	/* It did not fit: ship what was there and format again. */
	rstap_flush(c);
	/* Longer than the whole buffer: it is cut, and the cut is counted. */
	if (n >= RSTAP_PRINT_BUFSIZE)
		atomic_inc(&rstap_truncated_count);
	va_start(ap, fmt);
	n = vscnprintf(c->print_buf, RSTAP_PRINT_BUFSIZE, fmt, ap);
	va_end(ap);
	c->print_len = n;
}

/* Appends a string of known length, flushing as often as needed. */
static __maybe_unused void rstap_print_bytes(struct rstap_context_base *c, const char *s,
			      size_t len)
{
	while (len > 0) {
		size_t n = min_t(size_t, len, RSTAP_PRINT_BUFSIZE - c->print_len);

		memcpy(c->print_buf + c->print_len, s, n);
		c->print_len += n;
		s += n;
		len -= n;
		if (c->print_len == RSTAP_PRINT_BUFSIZE)
			rstap_flush(c);
	}
}

static inline void rstap_print_str(struct rstap_context_base *c, const char *s)
{
	rstap_print_bytes(c, s, strnlen(s, MAXSTRINGLEN));
}

#endif /* RSTAP_OPS_H */
