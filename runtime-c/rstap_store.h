/* rstap_store.h: fault-tolerant writes to kernel memory and to the probe's
 * registers, for guru-mode stores ($var = v, $p->f += v, $return = v,
 * @cast(p, "T")->f = v, set_kernel_*()).
 *
 * Input: addresses computed by the generated code like those of reads
 * (rstap_deref.h), values of the script. Output: the write done, or nothing
 * written and the handler's error set ("kernel write fault at 0x...
 * (addr)") when the address is bad. Invariants: copy_to_kernel_nofault is
 * not exported to modules, so a write first checks the address with the
 * exported copy_from_kernel_nofault (which also refuses user-space and
 * non-canonical addresses) and then stores with __put_kernel_nofault under
 * pagefault_disable(): a read-only or unmapped page is an error, never an
 * oops; once an error is pending nothing is written.
 */
#ifndef RSTAP_STORE_H
#define RSTAP_STORE_H

#include <linux/uaccess.h>
#include <linux/delay.h>	/* udelay, mdelay (tapsets/guru.stp) */

/*
 * Writes the low `size` bytes (1, 2, 4 or 8) of v at addr; 0, or -EFAULT
 * when addr cannot be written. For embedded C (set_kernel_*) too.
 */
static __maybe_unused long rstap_kwrite_raw(uint64_t addr, unsigned int size, uint64_t v)
{
	void *dst = (void *)(unsigned long)addr;
	uint64_t probe;
	u8 v1 = v;
	u16 v2 = v;
	u32 v4 = v;

	if (size != 1 && size != 2 && size != 4)
		size = 8;
	if (copy_from_kernel_nofault(&probe, dst, size))
		return -EFAULT;
	pagefault_disable();
	switch (size) {
	case 1:
		__put_kernel_nofault(dst, &v1, u8, fault);
		break;
	case 2:
		__put_kernel_nofault(dst, &v2, u16, fault);
		break;
	case 4:
		__put_kernel_nofault(dst, &v4, u32, fault);
		break;
	default:
		__put_kernel_nofault(dst, &v, u64, fault);
		break;
	}
	pagefault_enable();
	return 0;
fault:
	pagefault_enable();
	return -EFAULT;
}

static __maybe_unused void rstap_write_fault(struct rstap_context_base *c, uint64_t addr, const char *loc)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "kernel write fault at 0x%016llx (addr)", (unsigned long long)addr);
	rstap_error(c, msg, loc);
}

/* A store of `size` bytes of v at addr for a script's `$p->f = v`. */
static __maybe_unused void rstap_kwrite(struct rstap_context_base *c, uint64_t addr, unsigned int size,
					int64_t v, const char *loc)
{
	if (unlikely(c->last_error))
		return;
	if (unlikely(rstap_kwrite_raw(addr, size, (uint64_t)v)))
		rstap_write_fault(c, addr, loc);
}

/* The value at addr as a read of that type gives it (for `op=`). */
static __maybe_unused int64_t rstap_kload(struct rstap_context_base *c, uint64_t addr, unsigned int size,
					  int is_signed, const char *loc)
{
	uint64_t v = rstap_kread(c, addr, size, loc);

	return is_signed ? rstap_sext(v, size) : rstap_zext(v, size);
}

static __maybe_unused int64_t rstap_kload_bits(struct rstap_context_base *c, uint64_t addr, unsigned int size,
					       unsigned int off, unsigned int bits, int is_signed,
					       const char *loc)
{
	return rstap_bits(rstap_kread(c, addr, size, loc), off, bits, is_signed);
}

/*
 * Replaces bits [off, off + bits) of the `size`-byte integer at addr with
 * the low bits of v: read, modify, write (as the compiler does; not atomic
 * against the kernel's own writes to neighbouring bitfields).
 */
static __maybe_unused void rstap_kwrite_bits(struct rstap_context_base *c, uint64_t addr, unsigned int size,
					     unsigned int off, unsigned int bits, int64_t v, const char *loc)
{
	uint64_t old, mask;

	if (unlikely(c->last_error))
		return;
	old = rstap_kread(c, addr, size, loc);
	if (unlikely(c->last_error))
		return;
	mask = (bits >= 64 ? ~0ULL : ((1ULL << bits) - 1)) << off;
	rstap_kwrite(c, addr, size, (int64_t)((old & ~mask) | (((uint64_t)v << off) & mask)), loc);
}

/*
 * A string into a char array of `len` bytes at addr: at most len - 1 bytes
 * and a NUL. Returns the string (the value of the assignment).
 */
static __maybe_unused const char *rstap_kwrite_chars(struct rstap_context_base *c, uint64_t addr, uint64_t len,
						     const char *s, const char *loc)
{
	uint64_t i, n = strnlen(s, MAXSTRINGLEN);

	if (unlikely(c->last_error) || len == 0)
		return s;
	if (n > len - 1)
		n = len - 1;
	for (i = 0; i <= n; i++) {
		if (unlikely(rstap_kwrite_raw(addr + i, 1, i < n ? (u8)s[i] : 0))) {
			rstap_write_fault(c, addr + i, loc);
			break;
		}
	}
	return s;
}

/*
 * Writes n bytes of s at addr (no terminator); 0, or the address that
 * faulted plus one (so that 0 stays "no fault"). For set_kernel_string*.
 */
static __maybe_unused uint64_t rstap_kwrite_bytes(uint64_t addr, const char *s, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		if (rstap_kwrite_raw(addr + i, 1, (u8)s[i]))
			return addr + i + 1;
	return 0;
}

/* Writes size bytes at v to user memory; 0, or -EFAULT (set_user_*). */
static __maybe_unused long rstap_uwrite(uint64_t addr, const void *v, size_t size)
{
	return copy_to_user_nofault((void __user *)(unsigned long)addr, v, size) ? -EFAULT : 0;
}

/* A pt_regs field of the probe, as a value of `size` bytes (for `op=`). */
#define rstap_reg_load(c, field, size, is_signed) \
	((is_signed) ? rstap_sext(rstap_reg(c, field), size) : rstap_zext(rstap_reg(c, field), size))

/*
 * Sets a register of the probe's pt_regs (a parameter at a function's
 * entry, $return in a .return probe): the kprobe returns into the function
 * with it, the kretprobe into the caller.
 */
#define rstap_reg_store(c, field, v, loc) \
	rstap_reg_set((c), (c)->regs ? &(c)->regs->field : NULL, (v), (loc))

static __maybe_unused void rstap_reg_set(struct rstap_context_base *c, unsigned long *slot, int64_t v,
					 const char *loc)
{
	if (unlikely(c->last_error))
		return;
	if (unlikely(!slot)) {
		rstap_error(c, "no registers to write in this probe", loc);
		return;
	}
	*slot = (unsigned long)v;
}

#endif /* RSTAP_STORE_H */
