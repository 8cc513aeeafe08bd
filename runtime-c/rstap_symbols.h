/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: kernel symbols and kernel stack back traces, for the
 * symbols tapset (symname, symdata, backtrace, print_backtrace, ...).
 *
 * Input: kernel addresses, and the probe's registers (the context's regs).
 * Output: text in SystemTap's formats, always NUL-terminated and cut to the
 * caller's buffer size:
 *   name      "vfs_read"                                (symname)
 *   data      "vfs_read+0x0/0x1e0 [kernel]"             (symdata)
 *   simple    "vfs_read+0x0 [kernel]\n"                 (sprint_backtrace lines)
 *   full      " 0xffffffff8119a190 : vfs_read+0x0/0x1e0 [kernel]\n"
 *                                                       (print_backtrace lines)
 * An address with no symbol is printed as "0x" and its hex digits. The core
 * kernel is the module "kernel".
 * Invariants: symbols come from kallsyms through sprint_symbol(); stacks
 * come from the kernel's own unwinder, which checks every stack access
 * against the task's stack bounds, and never hold more than MAXBACKTRACE
 * frames. Nothing here sleeps or allocates.
 */
#ifndef RSTAP_SYMBOLS_H
#define RSTAP_SYMBOLS_H

#include <linux/kallsyms.h>
#include <linux/ptrace.h>
#include <asm/unwind.h>

enum rstap_sym_format {
	RSTAP_SYM_NAME,		/* name */
	RSTAP_SYM_DATA,		/* name+0xoff/0xsize [mod] */
	RSTAP_SYM_SIMPLE,	/* name+0xoff [mod]\n */
	RSTAP_SYM_FULL,		/* " 0xaddr : name+0xoff/0xsize [mod]\n" */
	RSTAP_SYM_MODULE,	/* mod */
};

/* One address looked up in kallsyms, split into its parts. */
struct rstap_sym {
	char text[KSYM_SYMBOL_LEN];	/* sprint_symbol()'s "name+0xoff/0xsize [mod]" */
	int known;
	size_t name_len;		/* text[0..name_len) is the name */
	size_t offset_len;		/* text[0..offset_len) is "name+0xoff" */
	size_t data_len;		/* text[0..data_len) is "name+0xoff/0xsize" */
	const char *module;		/* "kernel" for the core kernel */
	size_t module_len;
};

static __maybe_unused void rstap_sym_lookup(struct rstap_sym *s, unsigned long addr)
{
	char *open, *plus, *slash;

	s->known = 0;
	s->text[0] = '\0';
	sprint_symbol(s->text, addr);
	s->text[KSYM_SYMBOL_LEN - 1] = '\0';
	/* Without a symbol, sprint_symbol() prints the address in hex. */
	if (s->text[0] == '\0' || (s->text[0] == '0' && s->text[1] == 'x'))
		return;
	open = strstr(s->text, " [");
	if (open) {
		char *close = strchr(open + 2, ']');

		s->module = open + 2;
		s->module_len = close ? (size_t)(close - s->module) : strlen(s->module);
		*open = '\0';
	} else {
		s->module = "kernel";
		s->module_len = 6;
	}
	plus = strrchr(s->text, '+');
	slash = plus ? strchr(plus, '/') : NULL;
	if (!plus || !slash)
		return;
	s->name_len = plus - s->text;
	s->offset_len = slash - s->text;
	s->data_len = strlen(s->text);
	s->known = 1;
}

/*
 * Where formatted text goes: the handler's output (c set) or a string
 * buffer dst of size len holding *pos bytes (c NULL). A string is never
 * overflowed and stays NUL-terminated.
 */
struct rstap_sym_sink {
	struct rstap_context_base *c;
	char *dst;
	size_t len;
	size_t pos;
	int cut;		/* a line did not fit: the string is complete */
};

static __maybe_unused __printf(2, 3) void rstap_sym_out(struct rstap_sym_sink *k,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (k->c) {
		char *p = k->c->print_buf + k->c->print_len;
		size_t room = RSTAP_PRINT_BUFSIZE - k->c->print_len;
		int n = vsnprintf(p, room, fmt, ap);

		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			k->c->print_len += n;
			return;
		}
		/* It did not fit: ship what was there and format again. */
		rstap_flush(k->c);
		va_start(ap, fmt);
		k->c->print_len = vscnprintf(k->c->print_buf, RSTAP_PRINT_BUFSIZE, fmt, ap);
	} else if (k->pos + 1 < k->len) {
		k->pos += vscnprintf(k->dst + k->pos, k->len - k->pos, fmt, ap);
	}
	va_end(ap);
}

/*
 * Sends addr in format `how` to the sink. The lookup buffer is the
 * caller's, so that a loop over a stack uses one.
 */
static __maybe_unused void rstap_sym_format(struct rstap_sym_sink *k, unsigned long addr,
					    enum rstap_sym_format how, struct rstap_sym *s)
{
	rstap_sym_lookup(s, addr);
	switch (how) {
	case RSTAP_SYM_NAME:
		if (s->known)
			rstap_sym_out(k, "%.*s", (int)s->name_len, s->text);
		else
			rstap_sym_out(k, "0x%lx", addr);
		break;
	case RSTAP_SYM_MODULE:
		if (s->known)
			rstap_sym_out(k, "%.*s", (int)s->module_len, s->module);
		else
			rstap_sym_out(k, "<unknown>");
		break;
	case RSTAP_SYM_DATA:
		if (s->known)
			rstap_sym_out(k, "%.*s [%.*s]", (int)s->data_len, s->text,
				      (int)s->module_len, s->module);
		else
			rstap_sym_out(k, "0x%lx", addr);
		break;
	case RSTAP_SYM_SIMPLE:
		if (s->known)
			rstap_sym_out(k, "%.*s [%.*s]\n", (int)s->offset_len, s->text,
				      (int)s->module_len, s->module);
		else
			rstap_sym_out(k, "0x%lx\n", addr);
		break;
	case RSTAP_SYM_FULL:
		if (s->known)
			rstap_sym_out(k, " 0x%lx : %.*s [%.*s]\n", addr, (int)s->data_len,
				      s->text, (int)s->module_len, s->module);
		else
			rstap_sym_out(k, " 0x%lx\n", addr);
		break;
	}
}

/* Formats one address into a string (symname, symdata, modname). */
static __maybe_unused void rstap_sym_string(char *dst, size_t len, unsigned long addr,
					    enum rstap_sym_format how)
{
	struct rstap_sym_sink k = { .c = NULL, .dst = dst, .len = len, .pos = 0, .cut = 0 };
	struct rstap_sym s;

	dst[0] = '\0';
	rstap_sym_format(&k, addr, how, &s);
}

/*
 * Adds one line for addr to the sink; a string gets whole lines only and
 * stops at the first line that does not fit, so a stack cut at
 * MAXSTRINGLEN is a prefix of the stack that ends at a line's end.
 */
static __maybe_unused void rstap_sym_line(struct rstap_sym_sink *k, unsigned long addr,
					  enum rstap_sym_format how, struct rstap_sym *s)
{
	size_t before = k->pos;

	if (k->cut)
		return;
	rstap_sym_format(k, addr, how, s);
	if (!k->c && (k->pos == before || k->dst[k->pos - 1] != '\n')) {
		k->pos = before;
		k->dst[before] = '\0';
		k->cut = 1;
	}
}

/*
 * The address the probe fired at: the instruction pointer of its
 * registers. A kprobe's pre-handler sets it to the probed address for the
 * probe's run (templates/probes/kprobe.c.tera); a return probe reports the
 * return address; probes without registers 0.
 */
static __maybe_unused unsigned long rstap_probe_addr(struct rstap_context_base *c)
{
	return c->regs ? instruction_pointer(c->regs) : 0;
}

/*
 * Fills pcs with the kernel stack at the probe, innermost first: the probed
 * address, then the return addresses the unwinder finds. Returns how many
 * (at most max); 0 when the probe has no kernel registers.
 */
static __maybe_unused unsigned int rstap_kernel_stack(struct rstap_context_base *c,
						      unsigned long *pcs, unsigned int max)
{
	struct unwind_state state;
	unsigned int n = 0;

	if (!c->regs || user_mode(c->regs) || max == 0)
		return 0;
	pcs[n++] = rstap_probe_addr(c);
	/* Starting from registers, the unwinder begins at their caller. */
	for (unwind_start(&state, current, c->regs, NULL);
	     n < max && !unwind_done(&state); unwind_next_frame(&state)) {
		unsigned long pc = unwind_get_return_address(&state);

		if (!pc)
			break;
		pcs[n++] = pc;
	}
	return n;
}

/*
 * The next address of a backtrace() string at *p ("0x" and hex digits;
 * words without hex digits are skipped); advances *p. Returns 0 at the
 * end of the string.
 */
static __maybe_unused int rstap_stack_next(const char **p, unsigned long *addr)
{
	const char *s = *p;

	for (;;) {
		unsigned long v = 0;
		int digits = 0;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s) {
			*p = s;
			return 0;
		}
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
			s += 2;
		for (; *s && *s != ' ' && *s != '\t' && *s != '\n'; s++) {
			int d = hex_to_bin(*s);

			if (d >= 0) {
				v = (v << 4) | d;
				digits++;
			}
		}
		if (digits) {
			*p = s;
			*addr = v;
			return 1;
		}
	}
}

/* backtrace(): "0x... 0x..." of the probe's kernel stack, whole addresses only. */
static __maybe_unused void rstap_backtrace_hex(struct rstap_context_base *c, char *dst, size_t len)
{
	unsigned long pcs[MAXBACKTRACE];
	unsigned int i, n = rstap_kernel_stack(c, pcs, MAXBACKTRACE);
	size_t pos = 0;
	char word[24];

	dst[0] = '\0';
	for (i = 0; i < n; i++) {
		int w = scnprintf(word, sizeof(word), i ? " 0x%lx" : "0x%lx", pcs[i]);

		if (pos + w >= len)
			break;
		memcpy(dst + pos, word, w + 1);
		pos += w;
	}
}

/*
 * print_stack() and sprint_stack(): one line per address of a backtrace()
 * string, printed (dst NULL) or put in dst (size len).
 */
static __maybe_unused void rstap_stack_lines(struct rstap_context_base *c, const char *stk,
					     enum rstap_sym_format how, char *dst, size_t len)
{
	struct rstap_sym_sink k = { .c = dst ? NULL : c, .dst = dst, .len = len, .pos = 0, .cut = 0 };
	struct rstap_sym s;
	unsigned long addr;

	if (dst)
		dst[0] = '\0';
	while (rstap_stack_next(&stk, &addr))
		rstap_sym_line(&k, addr, how, &s);
}

/* print_backtrace() and sprint_backtrace(): the same, from the live stack. */
static __maybe_unused void rstap_backtrace_lines(struct rstap_context_base *c,
						 enum rstap_sym_format how, char *dst, size_t len)
{
	struct rstap_sym_sink k = { .c = dst ? NULL : c, .dst = dst, .len = len, .pos = 0, .cut = 0 };
	unsigned long pcs[MAXBACKTRACE];
	unsigned int i, n = rstap_kernel_stack(c, pcs, MAXBACKTRACE);
	struct rstap_sym s;

	if (dst)
		dst[0] = '\0';
	for (i = 0; i < n; i++)
		rstap_sym_line(&k, pcs[i], how, &s);
}

/* caller_addr(): the return address one frame up from the probe, or 0. */
static __maybe_unused unsigned long rstap_caller_addr(struct rstap_context_base *c)
{
	unsigned long pcs[2];

	return rstap_kernel_stack(c, pcs, 2) == 2 ? pcs[1] : 0;
}

/* probemod(): module("NAME") of the probe point, else the probed address's. */
static __maybe_unused int rstap_probemod(struct rstap_context_base *c, char *dst, size_t len)
{
	const char *pp = c->probe_point;
	const char *p = pp ? strstr(pp, "module(\"") : NULL;
	struct rstap_sym s;
	size_t n = 0;

	dst[0] = '\0';
	if (p) {
		p += 8;
		while (p[n] && p[n] != '"' && n < len - 1)
			n++;
		memcpy(dst, p, n);
		dst[n] = '\0';
		return 0;
	}
	if (!c->regs || user_mode(c->regs))
		return -ENOENT;
	rstap_sym_lookup(&s, rstap_probe_addr(c));
	if (!s.known)
		return -ENOENT;
	n = min(s.module_len, len - 1);
	memcpy(dst, s.module, n);
	dst[n] = '\0';
	return 0;
}

#endif /* RSTAP_SYMBOLS_H */
