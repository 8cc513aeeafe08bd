/* rstap_deref.h: fault-tolerant reads of kernel memory and registers for
 * target variables ($var->field, @cast).
 *
 * Input: addresses computed by the generated code from pt_regs and DWARF
 * offsets. Output: the value read (zero-extended), or 0 with the handler's
 * error set ("kernel read fault at 0x... (addr)") when the address is bad.
 * Invariants: every read goes through copy_from_kernel_nofault (user
 * memory: copy_from_user_nofault, "user read fault at ..."), so a bad
 * pointer ends the script with an error, never an oops; once an error is
 * pending no further memory is touched.
 */
#ifndef RSTAP_DEREF_H
#define RSTAP_DEREF_H

#include <linux/uaccess.h>
#include <linux/kallsyms.h>

/*
 * A kretprobe's handler points this at the registers its entry handler
 * saved (the probed function's parameters), for the duration of the probe
 * body; NULL otherwise. Probe handlers run with preemption disabled.
 */
static __maybe_unused DEFINE_PER_CPU(struct pt_regs *, rstap_entry_regs);

/*
 * The @entry values of the kretprobe instance being handled on this CPU:
 * its entry handler stores them, its return handler reads them. NULL
 * outside those handlers.
 */
static __maybe_unused DEFINE_PER_CPU(int64_t *, rstap_entry_slots);
static __maybe_unused DEFINE_PER_CPU(long, rstap_entry_nslots);

static __maybe_unused void rstap_entry_slots_set(int64_t *slots, long n)
{
	__this_cpu_write(rstap_entry_slots, slots);
	__this_cpu_write(rstap_entry_nslots, n);
}

static __maybe_unused void rstap_entry_slot_store(int64_t slot, int64_t v)
{
	int64_t *s = __this_cpu_read(rstap_entry_slots);

	if (s && slot >= 0 && slot < __this_cpu_read(rstap_entry_nslots))
		s[slot] = v;
}

static __maybe_unused int64_t rstap_entry_slot_load(int64_t slot)
{
	int64_t *s = __this_cpu_read(rstap_entry_slots);

	if (s && slot >= 0 && slot < __this_cpu_read(rstap_entry_nslots))
		return s[slot];
	return 0;
}

/*
 * The run-time address of symbol `sym` of the loaded module `name`, from the
 * module's own symbol table (CONFIG_KALLSYMS_ALL keeps data symbols there);
 * 0 and an error naming the place when it is not loaded or lacks the
 * symbol. The kernel's module list is walked from this module's own entry:
 * every struct module lives in module memory, the list head does not.
 * Probes run with preemption disabled, which keeps the list and the
 * tables alive (modules are freed after an RCU grace period).
 */
static __maybe_unused unsigned long rstap_module_symbol(struct rstap_context_base *c, const char *name,
							 const char *sym, const char *loc)
{
	struct list_head *p;
	struct module *m;
	struct mod_kallsyms *ks;
	unsigned int i;

	if (unlikely(c->last_error))
		return 0;
	for (p = READ_ONCE(THIS_MODULE->list.next); p != &THIS_MODULE->list; p = READ_ONCE(p->next)) {
		if ((unsigned long)p < MODULES_VADDR || (unsigned long)p >= MODULES_END)
			continue;
		m = list_entry(p, struct module, list);
		if (m->state == MODULE_STATE_UNFORMED || strcmp(m->name, name))
			continue;
		ks = rcu_dereference_sched(m->kallsyms);
		for (i = 0; ks && i < ks->num_symtab; i++)
			if (!strcmp(ks->strtab + ks->symtab[i].st_name, sym))
				return ks->symtab[i].st_value;
		break;
	}
	rstap_error(c, "module variable not found (is its module loaded?)", loc);
	return 0;
}

/* rstap_module_symbol's address plus offset, or 0 (and the error) when missing. */
static __maybe_unused unsigned long rstap_module_symbol_at(struct rstap_context_base *c, const char *name,
							    const char *sym, unsigned long offset, const char *loc)
{
	unsigned long a = rstap_module_symbol(c, name, sym, loc);

	return a ? a + offset : 0;
}

#define rstap_entry_reg(field) ({ \
	struct pt_regs *r_ = __this_cpu_read(rstap_entry_regs); \
	r_ ? (uint64_t)r_->field : (uint64_t)0; })

/* A pt_regs field, or 0 when the probe has no registers. */
#define rstap_reg(c, field) ((c)->regs ? (uint64_t)(c)->regs->field : (uint64_t)0)

/*
 * One read of kernel memory, or (`user`) of user memory, where a system
 * call's pointer parameter points: the value, or 0 and the handler's error
 * when the address is bad or (user memory) the page is not resident:
 * probe handlers cannot sleep to fault it in.
 */
static __always_inline uint64_t rstap_read_nofault(struct rstap_context_base *c, uint64_t addr,
						   unsigned int size, const char *loc, bool user)
{
	uint64_t v = 0;
	char msg[64];
	long rc;

	if (unlikely(c->last_error))
		return 0;
	if (size > sizeof(v))
		size = sizeof(v);
	if (user)
		rc = copy_from_user_nofault(&v, (const void __user *)(unsigned long)addr, size);
	else
		rc = copy_from_kernel_nofault(&v, (const void *)(unsigned long)addr, size);
	if (unlikely(rc)) {
		snprintf(msg, sizeof(msg), "%s read fault at 0x%016llx (addr)",
			 user ? "user" : "kernel", (unsigned long long)addr);
		rstap_error(c, msg, loc);
		return 0;
	}
	return v;
}

static __maybe_unused uint64_t rstap_kread(struct rstap_context_base *c, uint64_t addr,
					   unsigned int size, const char *loc)
{
	return rstap_read_nofault(c, addr, size, loc, false);
}

static __maybe_unused uint64_t rstap_user_read(struct rstap_context_base *c, uint64_t addr,
					   unsigned int size, const char *loc)
{
	return rstap_read_nofault(c, addr, size, loc, true);
}

/* The low `size` bytes of v, sign-extended. */
static __maybe_unused int64_t rstap_sext(uint64_t v, unsigned int size)
{
	unsigned int shift = 64 - 8 * size;

	if (size >= 8)
		return (int64_t)v;
	return (int64_t)(v << shift) >> shift;
}

/* The low `size` bytes of v, zero-extended. */
static __maybe_unused int64_t rstap_zext(uint64_t v, unsigned int size)
{
	if (size >= 8)
		return (int64_t)v;
	return (int64_t)(v & ((1ULL << (8 * size)) - 1));
}

/* Bits [off, off + bits) of v, sign-extended when is_signed. */
static __maybe_unused int64_t rstap_bits(uint64_t v, unsigned int off, unsigned int bits,
					 int is_signed)
{
	uint64_t x = v >> off;

	if (bits >= 64)
		return (int64_t)x;
	x &= (1ULL << bits) - 1;
	if (is_signed && (x >> (bits - 1)) & 1)
		x |= ~((1ULL << bits) - 1);
	return (int64_t)x;
}

/*
 * Copies a NUL-terminated string of at most max - 1 bytes (max at most
 * MAXSTRINGLEN) into dst, always terminated, a page at a time through the
 * exported fault-tolerant copies (strncpy_from_kernel_nofault and
 * strncpy_from_user_nofault are not exported to modules). Returns the
 * length, or -EFAULT when a page faults before the terminator.
 */
static __maybe_unused long rstap_strncpy_nofault(char *dst, uint64_t addr, size_t max, int user)
{
	size_t done = 0;

	if (max > MAXSTRINGLEN)
		max = MAXSTRINGLEN;
	if (max == 0)
		return 0;
	while (done < max - 1) {
		uint64_t a = addr + done;
		size_t chunk = PAGE_SIZE - (a & (PAGE_SIZE - 1));
		size_t i;
		long rc;

		if (chunk > max - 1 - done)
			chunk = max - 1 - done;
		if (user)
			rc = copy_from_user_nofault(dst + done, (const void __user *)(unsigned long)a, chunk);
		else
			rc = copy_from_kernel_nofault(dst + done, (const void *)(unsigned long)a, chunk);
		if (rc) {
			dst[done] = '\0';
			return -EFAULT;
		}
		for (i = 0; i < chunk; i++) {
			if (dst[done + i] == '\0')
				return done + i;
		}
		done += chunk;
	}
	dst[done] = '\0';
	return done;
}

/* A kernel string of up to MAXSTRINGLEN - 1 bytes (see above). */
static __maybe_unused long rstap_kstrcpy(char *dst, uint64_t addr)
{
	return rstap_strncpy_nofault(dst, addr, MAXSTRINGLEN, 0);
}

/* Writes (guru mode) use the reads above. */
#include "rstap_store.h"

#endif /* RSTAP_DEREF_H */
