/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: the embedded-C interface of guru mode (man stap, "EMBEDDED
 * C"), the part that is the same for every embedded-C function.
 * Input: an embedded-C function body, compiled inside the function the
 * template module.c.tera writes around it; that template defines the
 * per-function macros first (STAP_ARG_name, STAP_RETVALUE, STAP_RETURN,
 * THIS) and the `out` label the macros below jump to.
 * CONTEXT (the probe's struct rstap_context_base: ->regs, NULL in begin,
 * end and timer probes; ->probe_point; ->last_error) is defined there too.
 * Output: STAP_ERROR(fmt, ...), STAP_PRINTF(fmt, ...) and STAP_NEXT, which
 * use CONTEXT; MAXSTRINGLEN comes from rstap_config.h. Also the run-time
 * helpers of @uderef and @uregister.
 * Invariants: STAP_ERROR records the first error of the handler only (as
 * every runtime error does) and leaves the function at once; its message
 * is formatted by the kernel's vscnprintf into the context's error buffer,
 * cut at MAXSTRINGLEN. The error's location is set by the caller: the
 * call template (expr/call.c.tera) replaces rstap_embedded_site with the
 * location of the call, so the message reads as SystemTap's does,
 * "ERROR: MSG near identifier 'FUNC' at FILE:LINE:COL", and a `try` around
 * the call catches MSG.
 */
#ifndef RSTAP_EMBEDDED_H
#define RSTAP_EMBEDDED_H

/* The mark STAP_ERROR leaves as the location, for the caller to replace. */
static const char rstap_embedded_site[] __maybe_unused = "an embedded-C function";

static __maybe_unused __printf(2, 3) void
rstap_embedded_error(struct rstap_context_base *c, const char *fmt, ...)
{
	va_list ap;

	if (c->last_error)
		return;
	va_start(ap, fmt);
	vscnprintf(c->error_buf, MAXSTRINGLEN, fmt, ap);
	va_end(ap);
	c->last_error = c->error_buf;
	c->error_location = rstap_embedded_site;
}

#define STAP_ERROR(...)							\
	do {								\
		rstap_embedded_error(CONTEXT, __VA_ARGS__);		\
		goto out;						\
	} while (0)

#define STAP_PRINTF(...) rstap_printf(CONTEXT, __VA_ARGS__)

/*
 * STAP_NEXT: leave the embedded-C function at once and go on with the
 * next overload of the function (man stap, "function overloading"), or,
 * in the last overload, end with an error. A function that says it is
 * wrapped by the translator (elaborate/overload.rs) in a script function
 * that calls it, then asks rstap_take_next() whether it said STAP_NEXT.
 */
#define STAP_NEXT							\
	do {								\
		CONTEXT->nexted = 1;					\
		goto out;						\
	} while (0)

/* Whether the embedded-C function just called ran STAP_NEXT (and forget it). */
static __maybe_unused int64_t rstap_take_next(struct rstap_context_base *c)
{
	int n = c->nexted;

	c->nexted = 0;
	return n;
}

/*
 * The helpers behind @uderef and @uregister (one generated embedded-C
 * function each calls one of them, so a fault reads as SystemTap's
 * run-time errors do, located at the operator by the call template).
 */

/* @uderef(size, addr): size bytes of user memory, zero-extended. */
static __maybe_unused uint64_t rstap_uderef(struct rstap_context_base *c, uint64_t addr, unsigned int size)
{
	uint64_t v = 0;

	if (unlikely(c->last_error))
		return 0;
	if (size > sizeof(v))
		size = sizeof(v);
	if (unlikely(copy_from_user_nofault(&v, (const void __user *)(unsigned long)addr, size))) {
		rstap_embedded_error(c, "user read fault at 0x%016llx (addr)", (unsigned long long)addr);
		return 0;
	}
	return v;
}

/*
 * @uregister(n): the user-mode register of DWARF number n (x86_64: 0 ax,
 * 1 dx, 2 cx, 3 bx, 4 si, 5 di, 6 bp, 7 sp, 8-15 r8-r15, 16 ip) of the
 * task the probe interrupted: the probe's own registers when they are
 * user mode, else the ones the task saved on entering the kernel.
 */
static __maybe_unused int64_t rstap_uregister(struct rstap_context_base *c, unsigned int n)
{
	struct pt_regs *r = c->regs;

	if (unlikely(c->last_error))
		return 0;
	if (!r || !user_mode(r)) {
		if (!current->mm || (current->flags & PF_KTHREAD)) {
			rstap_embedded_error(c, "cannot access user registers in a kernel thread (%s)", current->comm);
			return 0;
		}
		r = task_pt_regs(current);
	}
	switch (n) {
	case 0: return r->ax;
	case 1: return r->dx;
	case 2: return r->cx;
	case 3: return r->bx;
	case 4: return r->si;
	case 5: return r->di;
	case 6: return r->bp;
	case 7: return r->sp;
	case 8: return r->r8;
	case 9: return r->r9;
	case 10: return r->r10;
	case 11: return r->r11;
	case 12: return r->r12;
	case 13: return r->r13;
	case 14: return r->r14;
	case 15: return r->r15;
	case 16: return r->ip;
	}
	rstap_embedded_error(c, "@uregister: no x86_64 register of DWARF number %u", n);
	return 0;
}

#endif /* RSTAP_EMBEDDED_H */
