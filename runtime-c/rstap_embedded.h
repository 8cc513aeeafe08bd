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
 * Output: STAP_ERROR(fmt, ...) and STAP_PRINTF(fmt, ...), which use
 * CONTEXT; MAXSTRINGLEN comes from rstap_config.h.
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

#endif /* RSTAP_EMBEDDED_H */
