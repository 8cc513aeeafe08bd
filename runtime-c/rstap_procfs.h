/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap_procfs.h: the text of the procfs file a procfs("PATH").read or
 * .write probe is handling (its $value).
 *
 * Input: the procfs template points rstap_procfs_cur at a buffer around
 * the probe call (preemption disabled). Output: the procfs tapset's
 * __procfs_value / __procfs_set_value / __procfs_append_value read and
 * change it. Invariants: buf always holds len < size bytes and a NUL.
 */
#ifndef RSTAP_PROCFS_H
#define RSTAP_PROCFS_H

struct rstap_procfs_value {
	char *buf;
	size_t len;
	size_t size;
};

static __maybe_unused DEFINE_PER_CPU(struct rstap_procfs_value *, rstap_procfs_cur);

/* Appends n bytes of s, as many as fit. */
static __maybe_unused void rstap_procfs_append(const char *s, size_t n)
{
	struct rstap_procfs_value *v = this_cpu_read(rstap_procfs_cur);

	if (!v)
		return;
	n = min(n, v->size - 1 - v->len);
	memcpy(v->buf + v->len, s, n);
	v->len += n;
	v->buf[v->len] = '\0';
}

static __maybe_unused void rstap_procfs_set(const char *s, size_t n)
{
	struct rstap_procfs_value *v = this_cpu_read(rstap_procfs_cur);

	if (!v)
		return;
	v->len = 0;
	v->buf[0] = '\0';
	rstap_procfs_append(s, n);
}

#endif /* RSTAP_PROCFS_H */
