/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: printf and sprintf, formatted by rstap itself with
 * SystemTap's rules (never by handing a script's format to the kernel's
 * snprintf, whose warnings and output differ).
 *
 * Input: a format string as pass 2 accepted it (text, "%%", and
 * conversions %[flags][width][.precision][length]conv with flags "-+ #0",
 * width and precision a number or '*', conv one of b c d i m M o p s u x X)
 * and its arguments, an array of union rstap_fmt_arg in the order the
 * format consumes them: a '*' width, a '*' precision, then the value.
 * Output: bytes into a struct rstap_out, a bounded buffer that is either
 * truncated (sprintf: MAXSTRINGLEN) or flushed when full (printf: into the
 * handler's print buffer).
 * Invariants: no allocation, no sleeping, no recursion; never reads past
 * the format's NUL or past nargs arguments (a missing one is 0 or "");
 * widths and precisions are capped at RSTAP_FMT_MAXWIDTH, memory dumps at
 * RSTAP_FMT_MAXMEM bytes; %m/%M read memory only through
 * RSTAP_FMT_READ_MEM (fault tolerant) and a fault stops the output and is
 * recorded in the rstap_out. Numbers are 64-bit, formatted as the Linux
 * vsprintf that SystemTap's runtime derives from does (see
 * rstap_fmt_integer); strings and characters as C's printf.
 */
#ifndef RSTAP_FORMAT_H
#define RSTAP_FORMAT_H

#ifndef RSTAP_FMT_MAXWIDTH
#define RSTAP_FMT_MAXWIDTH 4096
#endif
#ifndef RSTAP_FMT_MAXMEM
#define RSTAP_FMT_MAXMEM 1024
#endif

#ifndef RSTAP_FMT_READ_MEM
/* 0, or nonzero when the n bytes at addr cannot be read. */
static inline int rstap_fmt_read_mem(void *dst, u64 addr, size_t n, int user)
{
	if (user)
		return copy_from_user_nofault(dst, (const void __user *)(unsigned long)addr, n) ? -EFAULT : 0;
	return copy_from_kernel_nofault(dst, (const void *)(unsigned long)addr, n) ? -EFAULT : 0;
}
#define RSTAP_FMT_READ_MEM rstap_fmt_read_mem
#endif

union rstap_fmt_arg {
	int64_t n;
	const char *s;
};

struct rstap_out {
	char *buf;
	size_t cap;		/* bytes buf holds */
	size_t len;		/* bytes in buf now */
	size_t total;		/* bytes the whole output needed, kept or not */
	void (*flush)(struct rstap_out *o);	/* empties buf; NULL: truncate */
	void *ctx;		/* for flush */
	int fault;		/* 0, 1: kernel or 2: user memory read failed */
	u64 fault_addr;
};

static inline void rstap_out_init(struct rstap_out *o, char *buf, size_t cap,
				  void (*flush)(struct rstap_out *o), void *ctx)
{
	o->buf = buf;
	o->cap = cap;
	o->len = 0;
	o->total = 0;
	o->flush = flush;
	o->ctx = ctx;
	o->fault = 0;
	o->fault_addr = 0;
}

/* Room in buf, flushing first when it is full; 0: the rest is dropped. */
static inline size_t rstap_out_room(struct rstap_out *o)
{
	if (o->len >= o->cap && o->flush)
		o->flush(o);
	return o->len < o->cap ? o->cap - o->len : 0;
}

static __maybe_unused void rstap_out_put(struct rstap_out *o, const char *s, size_t n)
{
	o->total += n;
	while (n > 0) {
		size_t k = rstap_out_room(o);

		if (k == 0)
			return;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
	}
}

static __maybe_unused void rstap_out_fill(struct rstap_out *o, char ch, size_t n)
{
	o->total += n;
	while (n > 0) {
		size_t k = rstap_out_room(o);

		if (k == 0)
			return;
		if (k > n)
			k = n;
		memset(o->buf + o->len, ch, k);
		o->len += k;
		n -= k;
	}
}

static inline void rstap_out_char(struct rstap_out *o, char ch)
{
	rstap_out_put(o, &ch, 1);
}

#define RSTAP_FMT_LEFT 1
#define RSTAP_FMT_PLUS 2
#define RSTAP_FMT_SPACE 4
#define RSTAP_FMT_ALT 8
#define RSTAP_FMT_ZERO 16

struct rstap_fmt_spec {
	int flags;
	int width;		/* 0: none */
	int prec;		/* -1: none */
	char conv;
};

/* Pads `len` bytes of content to the spec's width: before it (right aligned). */
static inline void rstap_fmt_pad_before(struct rstap_out *o, const struct rstap_fmt_spec *sp, size_t len)
{
	if (!(sp->flags & RSTAP_FMT_LEFT) && (size_t)sp->width > len)
		rstap_out_fill(o, ' ', sp->width - len);
}

/* ... and after it (left aligned, flag '-'). */
static inline void rstap_fmt_pad_after(struct rstap_out *o, const struct rstap_fmt_spec *sp, size_t len)
{
	if ((sp->flags & RSTAP_FMT_LEFT) && (size_t)sp->width > len)
		rstap_out_fill(o, ' ', sp->width - len);
}

/*
 * An integer: the magnitude `num`, `neg` for a negative signed value, in
 * base 8, 10 or 16, with the rules of the Linux vsprintf that SystemTap's
 * runtime formats with (they differ from C's in three places: 0 always
 * prints a digit, '#' always prefixes octal with 0 and hex with 0x/0X, 0
 * included, and '0' pads with zeros even with a precision). The precision
 * is the minimum number of digits; '0' pads the width with zeros after the
 * sign and prefix unless '-' is given; '+' and ' ' (signed conversions
 * only) give non-negative values a sign. `prefix` forces the 0x (%p).
 */
static __maybe_unused void rstap_fmt_integer(struct rstap_out *o, const struct rstap_fmt_spec *sp, u64 num,
					     int neg, int is_signed, int base, int upper, int prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, zeros, len, pad;
	char sign = 0;
	const char *pfx = "";

	do {
		tmp[n++] = digits[num % (unsigned int)base];
		num /= (unsigned int)base;
	} while (num);
	zeros = sp->prec > n ? sp->prec - n : 0;
	if (base == 8 && (sp->flags & RSTAP_FMT_ALT))
		pfx = "0";
	if (base == 16 && (prefix || (sp->flags & RSTAP_FMT_ALT)))
		pfx = upper ? "0X" : "0x";
	if (is_signed) {
		if (neg)
			sign = '-';
		else if (sp->flags & RSTAP_FMT_PLUS)
			sign = '+';
		else if (sp->flags & RSTAP_FMT_SPACE)
			sign = ' ';
	}
	len = n + zeros + (sign ? 1 : 0) + (int)strlen(pfx);
	pad = sp->width > len ? sp->width - len : 0;
	if ((sp->flags & RSTAP_FMT_ZERO) && !(sp->flags & RSTAP_FMT_LEFT)) {
		zeros += pad;
		pad = 0;
	}
	if (!(sp->flags & RSTAP_FMT_LEFT))
		rstap_out_fill(o, ' ', pad);
	if (sign)
		rstap_out_char(o, sign);
	rstap_out_put(o, pfx, strlen(pfx));
	rstap_out_fill(o, '0', zeros);
	while (n > 0)
		rstap_out_char(o, tmp[--n]);
	if (sp->flags & RSTAP_FMT_LEFT)
		rstap_out_fill(o, ' ', pad);
}

/* A decimal long right aligned in `width` columns (histograms). */
static __maybe_unused void rstap_out_long(struct rstap_out *o, int64_t v, int width)
{
	struct rstap_fmt_spec sp = { .flags = 0, .width = width, .prec = -1, .conv = 'd' };

	rstap_fmt_integer(o, &sp, v < 0 ? 0 - (u64)v : (u64)v, v < 0, 1, 10, 0, 0);
}

/* Columns of a decimal long. */
static __maybe_unused int rstap_long_width(int64_t v)
{
	u64 m = v < 0 ? 0 - (u64)v : (u64)v;
	int n = v < 0 ? 2 : 1;

	while (m >= 10) {
		m /= 10;
		n++;
	}
	return n;
}

/*
 * %#c: a character as C writes it in a literal: \a \b \f \n \r \t \v \\
 * \' \" and other bytes outside 32..126 as three octal digits.
 */
static inline int rstap_fmt_escape_char(unsigned char ch, char *out)
{
	const char *named = "\aa\bb\ff\nn\rr\tt\vv\\\\''\"\"";
	int i;

	for (i = 0; named[i]; i += 2) {
		if ((unsigned char)named[i] == ch) {
			out[0] = '\\';
			out[1] = named[i + 1];
			return 2;
		}
	}
	if (ch >= 32 && ch < 127) {
		out[0] = (char)ch;
		return 1;
	}
	out[0] = '\\';
	out[1] = (char)('0' + ((ch >> 6) & 7));
	out[2] = (char)('0' + ((ch >> 3) & 7));
	out[3] = (char)('0' + (ch & 7));
	return 4;
}

/*
 * %m (raw bytes) and %M (two lowercase hex digits a byte) of memory at
 * addr, kernel memory or, with '#', user memory.
 */
static __maybe_unused void rstap_fmt_memory(struct rstap_out *o, const struct rstap_fmt_spec *sp, u64 addr)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char chunk[32];
	int user = !!(sp->flags & RSTAP_FMT_ALT);
	/* The precision, else the width (man stap's "%2m"), else 1 byte. */
	size_t n = sp->prec >= 0 ? (size_t)sp->prec : sp->width > 0 ? (size_t)sp->width : 1, done = 0, len;

	if (n > RSTAP_FMT_MAXMEM)
		n = RSTAP_FMT_MAXMEM;
	len = sp->conv == 'M' ? 2 * n : n;
	/* Read it all first: a fault prints nothing of this conversion. */
	while (done < n) {
		size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);

		if (RSTAP_FMT_READ_MEM(chunk, addr + done, k, user)) {
			o->fault = user ? 2 : 1;
			o->fault_addr = addr + done;
			return;
		}
		done += k;
	}
	rstap_fmt_pad_before(o, sp, len);
	for (done = 0; done < n; done += sizeof(chunk)) {
		size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk), i;

		if (RSTAP_FMT_READ_MEM(chunk, addr + done, k, user)) {
			o->fault = user ? 2 : 1;
			o->fault_addr = addr + done;
			return;
		}
		if (sp->conv == 'm') {
			rstap_out_put(o, (const char *)chunk, k);
			continue;
		}
		for (i = 0; i < k; i++) {
			rstap_out_char(o, hex[chunk[i] >> 4]);
			rstap_out_char(o, hex[chunk[i] & 15]);
		}
	}
	rstap_fmt_pad_after(o, sp, len);
}

/* %b: the value's low 1, 2, 4 or 8 (width; default 8) bytes, in memory order. */
static __maybe_unused void rstap_fmt_binary(struct rstap_out *o, const struct rstap_fmt_spec *sp, int64_t v)
{
	u8 b1 = (u8)v;
	u16 b2 = (u16)v;
	u32 b4 = (u32)v;
	u64 b8 = (u64)v;

	switch (sp->width) {
	case 1:
		rstap_out_put(o, (const char *)&b1, 1);
		break;
	case 2:
		rstap_out_put(o, (const char *)&b2, 2);
		break;
	case 4:
		rstap_out_put(o, (const char *)&b4, 4);
		break;
	default:
		rstap_out_put(o, (const char *)&b8, 8);
		break;
	}
}

/* A width or precision: digits, or '*' taking the next argument. */
static inline int rstap_fmt_read_num(const char **pf, const union rstap_fmt_arg *args, int nargs, int *ai,
				     int *from_arg)
{
	const char *f = *pf;
	int64_t v = 0;

	*from_arg = 0;
	if (*f == '*') {
		*from_arg = 1;
		v = *ai < nargs ? args[*ai].n : 0;
		(*ai)++;
		*pf = f + 1;
		if (v > RSTAP_FMT_MAXWIDTH)
			return RSTAP_FMT_MAXWIDTH;
		if (v < -RSTAP_FMT_MAXWIDTH)
			return -RSTAP_FMT_MAXWIDTH;
		return (int)v;
	}
	while (*f >= '0' && *f <= '9') {
		if (v < RSTAP_FMT_MAXWIDTH)
			v = v * 10 + (*f - '0');
		f++;
	}
	*pf = f;
	return v > RSTAP_FMT_MAXWIDTH ? RSTAP_FMT_MAXWIDTH : (int)v;
}

/* Formats `fmt` with `args` into o (see the top of this file). */
static __maybe_unused void rstap_format(struct rstap_out *o, const char *fmt, const union rstap_fmt_arg *args,
					int nargs)
{
	const char *f = fmt;
	int ai = 0;

	while (*f && !o->fault) {
		struct rstap_fmt_spec sp = { .flags = 0, .width = 0, .prec = -1, .conv = 0 };
		union rstap_fmt_arg a;
		const char *text = f, *s;
		int star, w;
		size_t len;

		while (*f && *f != '%')
			f++;
		rstap_out_put(o, text, f - text);
		if (!*f)
			break;
		text = f++;
		if (*f == '%') {
			rstap_out_char(o, '%');
			f++;
			continue;
		}
		for (;; f++) {
			if (*f == '-')
				sp.flags |= RSTAP_FMT_LEFT;
			else if (*f == '+')
				sp.flags |= RSTAP_FMT_PLUS;
			else if (*f == ' ')
				sp.flags |= RSTAP_FMT_SPACE;
			else if (*f == '#')
				sp.flags |= RSTAP_FMT_ALT;
			else if (*f == '0')
				sp.flags |= RSTAP_FMT_ZERO;
			else
				break;
		}
		w = rstap_fmt_read_num(&f, args, nargs, &ai, &star);
		if (w < 0) {
			/* A negative '*' width: left aligned, as in C. */
			sp.flags |= RSTAP_FMT_LEFT;
			w = -w;
		}
		sp.width = w;
		if (*f == '.') {
			f++;
			sp.prec = rstap_fmt_read_num(&f, args, nargs, &ai, &star);
			if (sp.prec < 0)
				sp.prec = -1;
		}
		while (*f == 'l' || *f == 'h' || *f == 'L' || *f == 'j' || *f == 'z' || *f == 't' || *f == 'q')
			f++;
		sp.conv = *f;
		if (!sp.conv) {
			rstap_out_put(o, text, f - text);
			break;
		}
		f++;
		if (ai < nargs) {
			a = args[ai];
		} else {
			a.n = 0;	/* also a NULL string */
		}
		ai++;
		switch (sp.conv) {
		case 'd':
		case 'i':
			rstap_fmt_integer(o, &sp, a.n < 0 ? 0 - (u64)a.n : (u64)a.n, a.n < 0, 1, 10, 0, 0);
			break;
		case 'u':
			rstap_fmt_integer(o, &sp, (u64)a.n, 0, 0, 10, 0, 0);
			break;
		case 'o':
			rstap_fmt_integer(o, &sp, (u64)a.n, 0, 0, 8, 0, 0);
			break;
		case 'x':
		case 'X':
			rstap_fmt_integer(o, &sp, (u64)a.n, 0, 0, 16, sp.conv == 'X', 0);
			break;
		case 'p':
			rstap_fmt_integer(o, &sp, (u64)a.n, 0, 0, 16, 0, 1);
			break;
		case 'c': {
			char esc[4];
			int n = 1;

			esc[0] = (char)a.n;
			if (sp.flags & RSTAP_FMT_ALT)
				n = rstap_fmt_escape_char((unsigned char)a.n, esc);
			rstap_fmt_pad_before(o, &sp, n);
			rstap_out_put(o, esc, n);
			rstap_fmt_pad_after(o, &sp, n);
			break;
		}
		case 's':
			s = a.s ? a.s : "";
			len = strnlen(s, sp.prec < 0 ? (size_t)MAXSTRINGLEN : (size_t)sp.prec);
			rstap_fmt_pad_before(o, &sp, len);
			rstap_out_put(o, s, len);
			rstap_fmt_pad_after(o, &sp, len);
			break;
		case 'm':
		case 'M':
			rstap_fmt_memory(o, &sp, (u64)a.n);
			break;
		case 'b':
			rstap_fmt_binary(o, &sp, a.n);
			break;
		default:
			/* Pass 2 accepts no other conversion: print it as it is. */
			rstap_out_put(o, text, f - text);
			ai--;
			break;
		}
	}
}

/* The print buffer side of printf: each full chunk goes to the handler's output. */
static __maybe_unused void rstap_out_to_print(struct rstap_out *o)
{
	rstap_print_bytes((struct rstap_context_base *)o->ctx, o->buf, o->len);
	o->len = 0;
}

static __maybe_unused void rstap_fmt_fault(struct rstap_context_base *c, const struct rstap_out *o,
					   const char *loc)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "%s read fault at 0x%016llx (addr)", o->fault == 2 ? "user" : "kernel",
		 (unsigned long long)o->fault_addr);
	rstap_error(c, msg, loc);
}

/* printf(fmt, ...): to the handler's output. */
static __maybe_unused void rstap_printf_args(struct rstap_context_base *c, const char *loc, const char *fmt,
					     const union rstap_fmt_arg *args, int nargs)
{
	char chunk[128];
	struct rstap_out o;

	rstap_out_init(&o, chunk, sizeof(chunk), rstap_out_to_print, c);
	rstap_format(&o, fmt, args, nargs);
	if (unlikely(o.fault)) {
		/* What is still in the chunk (all of a short printf) is dropped. */
		rstap_fmt_fault(c, &o, loc);
		return;
	}
	rstap_out_to_print(&o);
}

/* sprintf(fmt, ...): into dst, MAXSTRINGLEN bytes with the NUL; returns dst. */
static __maybe_unused char *rstap_sprintf_args(struct rstap_context_base *c, const char *loc, char *dst,
					       const char *fmt, const union rstap_fmt_arg *args, int nargs)
{
	struct rstap_out o;

	rstap_out_init(&o, dst, MAXSTRINGLEN - 1, NULL, NULL);
	rstap_format(&o, fmt, args, nargs);
	dst[o.len] = '\0';
	if (unlikely(o.fault)) {
		dst[0] = '\0';
		rstap_fmt_fault(c, &o, loc);
	}
	return dst;
}

#endif /* RSTAP_FORMAT_H */
