/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: associative arrays (global maps) and per-CPU statistic maps.
 *
 * Input: keys as arrays of struct rstap_kv (a long or a string per key
 * column), values of type long, string or statistic. Output: lookups,
 * stores, deletions, and index snapshots for foreach (optionally sorted).
 * Invariants: every map is preallocated at module load (rstap_map_init) with
 * room for `cap` entries and never allocates afterwards; a full map either
 * evicts its oldest entry (wrap, `global a%[N]`) or records "Array overflow"
 * ("aggregation overflow" for statistics) and the store does nothing; callers hold the global's lock (read lock is
 * enough for a per-CPU statistic map's own CPU); no recursion, every loop is
 * bounded by the map's capacity, and the O(n) operations a script can ask
 * for (delete of a whole array, slices, sorting, statistic merges) charge
 * the entries they touch against the handler's MAXACTION budget (the *_c
 * wrappers and rstap_iter_push, rstap_pmap_aggregate).
 */
#ifndef RSTAP_MAP_H
#define RSTAP_MAP_H

#include <linux/jhash.h>

#define RSTAP_KEY_LONG 0
#define RSTAP_KEY_STRING 1
#define RSTAP_VAL_LONG 0
#define RSTAP_VAL_STRING 1
#define RSTAP_VAL_STAT 2
#define RSTAP_MAX_KEYS 9

struct rstap_kv {
	int64_t n;
	const char *s;
};

struct rstap_entry {
	int32_t hnext;		/* hash chain, or free list */
	int32_t oprev, onext;	/* insertion order */
	u32 hash;
};

struct rstap_map {
	const char *name;
	int nkeys;
	unsigned char key_types[RSTAP_MAX_KEYS];
	unsigned short key_off[RSTAP_MAX_KEYS];
	int value_type;
	const struct rstap_hist *hist;	/* statistic values */
	int wrap;
	int cap;
	size_t value_off, entry_size;
	u32 nhash;		/* power of two */
	int32_t *heads;
	char *pool;
	int32_t free_list, first, last;
	int count;
};

static inline struct rstap_entry *rstap_map_entry(const struct rstap_map *m, int32_t i)
{
	return (struct rstap_entry *)(m->pool + (size_t)i * m->entry_size);
}

static inline void *rstap_map_value(const struct rstap_map *m, int32_t i)
{
	return (char *)rstap_map_entry(m, i) + m->value_off;
}

static inline int64_t rstap_map_key_long(const struct rstap_map *m, int32_t i, int k)
{
	return *(int64_t *)((char *)rstap_map_entry(m, i) + m->key_off[k]);
}

static inline char *rstap_map_key_str(const struct rstap_map *m, int32_t i, int k)
{
	return (char *)rstap_map_entry(m, i) + m->key_off[k];
}

/* Every slot free, every chain empty: O(capacity), for load time only. */
static __maybe_unused void rstap_map_reset(struct rstap_map *m)
{
	int32_t i;

	for (i = 0; i < (int32_t)m->nhash; i++)
		m->heads[i] = -1;
	for (i = 0; i < m->cap; i++)
		rstap_map_entry(m, i)->hnext = i + 1 < m->cap ? i + 1 : -1;
	m->free_list = 0;
	m->first = m->last = -1;
	m->count = 0;
}

/*
 * Removes every entry in O(entries), not O(capacity): a script may clear a
 * big, nearly empty map in a loop.
 */
static __maybe_unused void rstap_map_clear(struct rstap_map *m)
{
	int32_t i, next;

	for (i = m->first; i >= 0; i = next) {
		struct rstap_entry *e = rstap_map_entry(m, i);

		next = e->onext;
		m->heads[e->hash & (m->nhash - 1)] = -1;
		e->hnext = m->free_list;
		m->free_list = i;
	}
	m->first = m->last = -1;
	m->count = 0;
}

/* types: one character per key, 'l' or 's'. Returns 0 or -ENOMEM. */
static __maybe_unused int rstap_map_init(struct rstap_map *m, const char *name, const char *types,
			  int value_type, const struct rstap_hist *hist,
			  int cap, int wrap)
{
	size_t off = sizeof(struct rstap_entry), vsize;
	int k;

	memset(m, 0, sizeof(*m));
	m->name = name;
	m->nkeys = strlen(types);
	for (k = 0; k < m->nkeys && k < RSTAP_MAX_KEYS; k++) {
		m->key_types[k] = types[k] == 's' ? RSTAP_KEY_STRING : RSTAP_KEY_LONG;
		m->key_off[k] = off;
		off += m->key_types[k] == RSTAP_KEY_STRING ? ALIGN(MAXSTRINGLEN, 8) : 8;
	}
	m->value_type = value_type;
	m->hist = hist;
	m->wrap = wrap;
	m->cap = cap > 0 ? cap : 1;
	m->value_off = off;
	if (value_type == RSTAP_VAL_STRING)
		vsize = MAXSTRINGLEN;
	else if (value_type == RSTAP_VAL_STAT)
		vsize = rstap_stat_size(hist);
	else
		vsize = 8;
	m->entry_size = ALIGN(off + vsize, 8);
	m->nhash = roundup_pow_of_two(m->cap);
	m->heads = rstap_vmalloc(sizeof(int32_t) * m->nhash);
	m->pool = rstap_vzalloc(m->entry_size * m->cap);
	if (!m->heads || !m->pool)
		return -ENOMEM;
	rstap_map_reset(m);
	return 0;
}

static __maybe_unused void rstap_map_free(struct rstap_map *m)
{
	vfree(m->heads);
	vfree(m->pool);
	m->heads = NULL;
	m->pool = NULL;
}

static inline u32 rstap_kv_hash(const struct rstap_map *m, const struct rstap_kv *kv)
{
	u32 h = 0x5eed;
	int k;

	for (k = 0; k < m->nkeys; k++) {
		if (m->key_types[k] == RSTAP_KEY_STRING)
			h = jhash(kv[k].s, strnlen(kv[k].s, MAXSTRINGLEN - 1), h);
		else
			h = jhash(&kv[k].n, sizeof(kv[k].n), h);
	}
	return h;
}

/* Whether entry i matches kv on the keys whose bit is set in mask (slices). */
static inline int rstap_map_match(const struct rstap_map *m, int32_t i,
				  const struct rstap_kv *kv, unsigned int mask)
{
	int k;

	for (k = 0; k < m->nkeys; k++) {
		if (!(mask & (1u << k)))
			continue;
		if (m->key_types[k] == RSTAP_KEY_STRING) {
			if (strncmp(rstap_map_key_str(m, i, k), kv[k].s, MAXSTRINGLEN - 1))
				return 0;
		} else if (rstap_map_key_long(m, i, k) != kv[k].n) {
			return 0;
		}
	}
	return 1;
}

/* Whether entry i has exactly the keys kv. */
static inline int rstap_kv_equal(const struct rstap_map *m, int32_t i, const struct rstap_kv *kv)
{
	return rstap_map_match(m, i, kv, ~0u);
}

static __maybe_unused int32_t rstap_map_find(const struct rstap_map *m, const struct rstap_kv *kv)
{
	u32 h = rstap_kv_hash(m, kv);
	int32_t i;
	int steps = 0;

	for (i = m->heads[h & (m->nhash - 1)]; i >= 0 && steps <= m->cap;
	     i = rstap_map_entry(m, i)->hnext, steps++)
		if (rstap_map_entry(m, i)->hash == h && rstap_kv_equal(m, i, kv))
			return i;
	return -1;
}

static __maybe_unused void rstap_map_remove(struct rstap_map *m, int32_t i)
{
	struct rstap_entry *e = rstap_map_entry(m, i);
	int32_t *link = &m->heads[e->hash & (m->nhash - 1)];
	int steps = 0;

	while (*link >= 0 && *link != i && steps++ <= m->cap)
		link = &rstap_map_entry(m, *link)->hnext;
	if (*link == i)
		*link = e->hnext;
	if (e->oprev >= 0)
		rstap_map_entry(m, e->oprev)->onext = e->onext;
	else
		m->first = e->onext;
	if (e->onext >= 0)
		rstap_map_entry(m, e->onext)->oprev = e->oprev;
	else
		m->last = e->oprev;
	e->hnext = m->free_list;
	m->free_list = i;
	m->count--;
}

static __maybe_unused void rstap_map_delete(struct rstap_map *m, const struct rstap_kv *kv)
{
	int32_t i = rstap_map_find(m, kv);

	if (i >= 0)
		rstap_map_remove(m, i);
}

/* `delete a[*, k]`: removes every entry matching the slice. */
static __maybe_unused void rstap_map_delete_slice(struct rstap_map *m, const struct rstap_kv *kv,
				   unsigned int mask)
{
	int32_t i = m->first, next;

	while (i >= 0) {
		next = rstap_map_entry(m, i)->onext;
		if (rstap_map_match(m, i, kv, mask))
			rstap_map_remove(m, i);
		i = next;
	}
}

/* `[*, k] in a` */
static __maybe_unused int rstap_map_exists_slice(const struct rstap_map *m, const struct rstap_kv *kv,
				  unsigned int mask)
{
	int32_t i;

	for (i = m->first; i >= 0; i = rstap_map_entry(m, i)->onext)
		if (rstap_map_match(m, i, kv, mask))
			return 1;
	return 0;
}

/*
 * The entry for kv, created (zeroed) when missing. Returns -1 after
 * recording an overflow error when the map is full and does not wrap.
 */
static __maybe_unused int32_t rstap_map_insert(struct rstap_context_base *c, struct rstap_map *m,
				const struct rstap_kv *kv, const char *loc)
{
	int32_t i = rstap_map_find(m, kv);
	struct rstap_entry *e;
	int k;

	if (i >= 0)
		return i;
	if (m->free_list < 0) {
		if (!m->wrap || m->first < 0) {
			rstap_error(c, m->value_type == RSTAP_VAL_STAT ?
				    "aggregation overflow, check MAXMAPENTRIES" :
				    "Array overflow, check MAXMAPENTRIES", loc);
			return -1;
		}
		rstap_map_remove(m, m->first);
	}
	i = m->free_list;
	e = rstap_map_entry(m, i);
	m->free_list = e->hnext;
	memset(e, 0, m->entry_size);
	e->hash = rstap_kv_hash(m, kv);
	e->hnext = m->heads[e->hash & (m->nhash - 1)];
	m->heads[e->hash & (m->nhash - 1)] = i;
	e->oprev = m->last;
	e->onext = -1;
	if (m->last >= 0)
		rstap_map_entry(m, m->last)->onext = i;
	else
		m->first = i;
	m->last = i;
	m->count++;
	for (k = 0; k < m->nkeys; k++) {
		if (m->key_types[k] == RSTAP_KEY_STRING)
			strscpy(rstap_map_key_str(m, i, k), kv[k].s, MAXSTRINGLEN);
		else
			*(int64_t *)((char *)e + m->key_off[k]) = kv[k].n;
	}
	return i;
}

/* Pointer to the long value of kv, created when missing; NULL on overflow. */
static __maybe_unused int64_t *rstap_map_lref(struct rstap_context_base *c, struct rstap_map *m,
			       const struct rstap_kv *kv, const char *loc)
{
	int32_t i = rstap_map_insert(c, m, kv, loc);

	return i >= 0 ? (int64_t *)rstap_map_value(m, i) : NULL;
}

static __maybe_unused char *rstap_map_sref(struct rstap_context_base *c, struct rstap_map *m,
			    const struct rstap_kv *kv, const char *loc)
{
	int32_t i = rstap_map_insert(c, m, kv, loc);

	return i >= 0 ? (char *)rstap_map_value(m, i) : NULL;
}

static __maybe_unused int64_t rstap_map_get_long(const struct rstap_map *m, const struct rstap_kv *kv)
{
	int32_t i = rstap_map_find(m, kv);

	return i >= 0 ? *(int64_t *)rstap_map_value(m, i) : 0;
}

static __maybe_unused const char *rstap_map_get_str(const struct rstap_map *m, const struct rstap_kv *kv)
{
	int32_t i = rstap_map_find(m, kv);

	return i >= 0 ? (const char *)rstap_map_value(m, i) : "";
}

static __maybe_unused int64_t rstap_map_set_long(struct rstap_context_base *c, struct rstap_map *m,
				  const struct rstap_kv *kv, int64_t v, const char *loc)
{
	int64_t *p = rstap_map_lref(c, m, kv, loc);

	if (p)
		*p = v;
	return v;
}

static __maybe_unused const char *rstap_map_set_str(struct rstap_context_base *c, struct rstap_map *m,
				     const struct rstap_kv *kv, const char *v,
				     const char *loc)
{
	char *p = rstap_map_sref(c, m, kv, loc);

	if (p)
		strscpy(p, v, MAXSTRINGLEN);
	return v;
}

/* ---- per-CPU statistic maps: `s <<< v`, `s[k] <<< v` ---- */

struct rstap_pmap {
	struct rstap_map *cpu;		/* nr_cpu_ids maps */
	struct rstap_map agg;		/* merged, for foreach */
	struct rstap_stat *one;		/* merged statistic of one key */
	const struct rstap_hist *hist;
};

static __maybe_unused int rstap_pmap_init(struct rstap_pmap *p, const char *name, const char *types,
			   const struct rstap_hist *hist, int cap, int wrap)
{
	int cpu, rc;

	p->hist = hist;
	p->cpu = rstap_vzalloc(sizeof(struct rstap_map) * nr_cpu_ids);
	if (!p->cpu)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		rc = rstap_map_init(&p->cpu[cpu], name, types, RSTAP_VAL_STAT, hist, cap, wrap);
		if (rc)
			return rc;
	}
	p->one = rstap_vzalloc(rstap_stat_size(hist));
	if (!p->one)
		return -ENOMEM;
	return rstap_map_init(&p->agg, name, types, RSTAP_VAL_STAT, hist, cap, wrap);
}

static __maybe_unused void rstap_pmap_free(struct rstap_pmap *p)
{
	int cpu;

	if (p->cpu)
		for_each_possible_cpu(cpu)
			rstap_map_free(&p->cpu[cpu]);
	vfree(p->cpu);
	p->cpu = NULL;
	rstap_map_free(&p->agg);
	vfree(p->one);
}

/*
 * Adds v on this CPU; the global's read lock is enough. h is p->hist, given
 * by the generated code as the global's own static descriptor, so that the
 * compiler drops the histogram and @variance work a statistic does not do.
 */
static __always_inline int64_t rstap_pmap_add_h(struct rstap_context_base *c, struct rstap_pmap *p,
						const struct rstap_hist *h, const struct rstap_kv *kv,
						int64_t v, const char *loc)
{
	struct rstap_map *m = &p->cpu[smp_processor_id()];
	/* A statistic without keys has one entry once it has a value. */
	int32_t i = m->nkeys == 0 && m->first >= 0 ? m->first : rstap_map_insert(c, m, kv, loc);

	if (i >= 0)
		rstap_stat_add(h, rstap_map_value(m, i), v);
	return v;
}

static __maybe_unused int64_t rstap_pmap_add(struct rstap_context_base *c, struct rstap_pmap *p,
			      const struct rstap_kv *kv, int64_t v, const char *loc)
{
	return rstap_pmap_add_h(c, p, p->hist, kv, v, loc);
}

/* The merged statistic of kv, or NULL if no CPU has it. Write lock held. */
static __maybe_unused struct rstap_stat *rstap_pmap_get(struct rstap_pmap *p, const struct rstap_kv *kv)
{
	int cpu, found = 0;

	memset(p->one, 0, rstap_stat_size(p->hist));
	for_each_possible_cpu(cpu) {
		int32_t i = rstap_map_find(&p->cpu[cpu], kv);

		if (i >= 0) {
			found = 1;
			rstap_stat_merge(p->hist, p->one, rstap_map_value(&p->cpu[cpu], i));
		}
	}
	return found ? p->one : NULL;
}

static __maybe_unused int rstap_pmap_exists(struct rstap_pmap *p, const struct rstap_kv *kv)
{
	int cpu;

	for_each_possible_cpu(cpu)
		if (rstap_map_find(&p->cpu[cpu], kv) >= 0)
			return 1;
	return 0;
}

static __maybe_unused void rstap_pmap_delete(struct rstap_pmap *p, const struct rstap_kv *kv)
{
	int cpu;

	for_each_possible_cpu(cpu)
		rstap_map_delete(&p->cpu[cpu], kv);
}

static __maybe_unused void rstap_pmap_clear(struct rstap_pmap *p)
{
	int cpu;

	for_each_possible_cpu(cpu)
		rstap_map_clear(&p->cpu[cpu]);
}

static __maybe_unused void rstap_pmap_delete_slice(struct rstap_pmap *p, const struct rstap_kv *kv,
				    unsigned int mask)
{
	int cpu;

	for_each_possible_cpu(cpu)
		rstap_map_delete_slice(&p->cpu[cpu], kv, mask);
}

static __maybe_unused int rstap_pmap_exists_slice(struct rstap_pmap *p, const struct rstap_kv *kv,
				   unsigned int mask)
{
	int cpu;

	for_each_possible_cpu(cpu)
		if (rstap_map_exists_slice(&p->cpu[cpu], kv, mask))
			return 1;
	return 0;
}

/* Entries over every CPU's map of p: what a whole-map operation touches. */
static __maybe_unused long rstap_pmap_count(const struct rstap_pmap *p)
{
	long n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += p->cpu[cpu].count;
	return n;
}

/* `delete a`, `delete a[*, k]`, `[*, k] in a`, charged by entries. */
static __maybe_unused void rstap_map_clear_c(struct rstap_context_base *c, struct rstap_map *m)
{
	if (rstap_charge(c, m->count))
		rstap_map_clear(m);
}

static __maybe_unused void rstap_pmap_clear_c(struct rstap_context_base *c, struct rstap_pmap *p)
{
	if (rstap_charge(c, rstap_pmap_count(p)))
		rstap_pmap_clear(p);
}

static __maybe_unused void rstap_map_delete_slice_c(struct rstap_context_base *c, struct rstap_map *m,
				     const struct rstap_kv *kv, unsigned int mask)
{
	if (rstap_charge(c, m->count))
		rstap_map_delete_slice(m, kv, mask);
}

static __maybe_unused void rstap_pmap_delete_slice_c(struct rstap_context_base *c, struct rstap_pmap *p,
				      const struct rstap_kv *kv, unsigned int mask)
{
	if (rstap_charge(c, rstap_pmap_count(p)))
		rstap_pmap_delete_slice(p, kv, mask);
}

static __maybe_unused int rstap_map_exists_slice_c(struct rstap_context_base *c, const struct rstap_map *m,
				    const struct rstap_kv *kv, unsigned int mask)
{
	return rstap_charge(c, m->count) && rstap_map_exists_slice(m, kv, mask);
}

static __maybe_unused int rstap_pmap_exists_slice_c(struct rstap_context_base *c, struct rstap_pmap *p,
				     const struct rstap_kv *kv, unsigned int mask)
{
	return rstap_charge(c, rstap_pmap_count(p)) && rstap_pmap_exists_slice(p, kv, mask);
}

/* Merges every CPU's map into p->agg (for foreach); write lock held. */
static __maybe_unused struct rstap_map *rstap_pmap_aggregate(struct rstap_context_base *c,
					      struct rstap_pmap *p, const char *loc)
{
	struct rstap_kv kv[RSTAP_MAX_KEYS];
	int cpu, k;
	int32_t i, j;

	rstap_map_clear(&p->agg);
	if (!rstap_charge(c, rstap_pmap_count(p)))
		return &p->agg;
	for_each_possible_cpu(cpu) {
		struct rstap_map *m = &p->cpu[cpu];

		for (i = m->first; i >= 0; i = rstap_map_entry(m, i)->onext) {
			for (k = 0; k < m->nkeys; k++) {
				kv[k].n = m->key_types[k] == RSTAP_KEY_LONG ? rstap_map_key_long(m, i, k) : 0;
				kv[k].s = rstap_map_key_str(m, i, k);
			}
			j = rstap_map_insert(c, &p->agg, kv, loc);
			if (j < 0)
				return &p->agg;
			rstap_stat_merge(p->hist, rstap_map_value(&p->agg, j), rstap_map_value(m, i));
		}
	}
	return &p->agg;
}

/* ---- foreach: snapshots of entry indices, sorted on request ---- */

#define RSTAP_SORT_STAT_COUNT 0
#define RSTAP_SORT_STAT_SUM 1
#define RSTAP_SORT_STAT_MIN 2
#define RSTAP_SORT_STAT_MAX 3
#define RSTAP_SORT_STAT_AVG 4

struct rstap_sort {
	const struct rstap_map *m;
	int column;	/* 0: value, N: key N */
	int desc;
	int stat_op;	/* for statistic values */
};

static inline int64_t rstap_stat_pick(const struct rstap_stat *st, int op)
{
	switch (op) {
	case RSTAP_SORT_STAT_SUM:
		return st->sum;
	case RSTAP_SORT_STAT_MIN:
		return st->min;
	case RSTAP_SORT_STAT_MAX:
		return st->max;
	case RSTAP_SORT_STAT_AVG:
		return st->count ? div64_s64(st->sum, st->count) : 0;
	default:
		return st->count;
	}
}

static inline int rstap_cmp_long(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static int rstap_sort_cmp_column(const struct rstap_sort *s, int32_t a, int32_t b, int col)
{
	const struct rstap_map *m = s->m;

	if (col == 0) {
		if (m->value_type == RSTAP_VAL_STRING)
			return strncmp(rstap_map_value(m, a), rstap_map_value(m, b), MAXSTRINGLEN);
		if (m->value_type == RSTAP_VAL_STAT)
			return rstap_cmp_long(rstap_stat_pick(rstap_map_value(m, a), s->stat_op),
					      rstap_stat_pick(rstap_map_value(m, b), s->stat_op));
		return rstap_cmp_long(*(int64_t *)rstap_map_value(m, a), *(int64_t *)rstap_map_value(m, b));
	}
	if (m->key_types[col - 1] == RSTAP_KEY_STRING)
		return strncmp(rstap_map_key_str(m, a, col - 1), rstap_map_key_str(m, b, col - 1),
			       MAXSTRINGLEN);
	return rstap_cmp_long(rstap_map_key_long(m, a, col - 1), rstap_map_key_long(m, b, col - 1));
}

/* Sort column first (in its direction), then the keys in order, ascending. */
static int rstap_sort_cmp(const struct rstap_sort *s, int32_t a, int32_t b)
{
	int r = rstap_sort_cmp_column(s, a, b, s->column), k;

	if (r)
		return s->desc ? -r : r;
	for (k = 1; k <= s->m->nkeys; k++) {
		if (k == s->column)
			continue;
		r = rstap_sort_cmp_column(s, a, b, k);
		if (r)
			return r;
	}
	return 0;
}

static void rstap_sift_down(const struct rstap_sort *s, int32_t *v, int root, int n)
{
	while (2 * root + 1 < n) {
		int child = 2 * root + 1;
		int32_t t;

		if (child + 1 < n && rstap_sort_cmp(s, v[child], v[child + 1]) < 0)
			child++;
		if (rstap_sort_cmp(s, v[root], v[child]) >= 0)
			return;
		t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

/* Heapsort: O(n log n), no recursion, no allocation. */
static __maybe_unused void rstap_sort_indices(const struct rstap_sort *s, int32_t *v, int n)
{
	int i;

	for (i = n / 2 - 1; i >= 0; i--)
		rstap_sift_down(s, v, i, n);
	for (i = n - 1; i > 0; i--) {
		int32_t t = v[0];

		v[0] = v[i];
		v[i] = t;
		rstap_sift_down(s, v, 0, i);
	}
}

/*
 * Each CPU's stack of foreach snapshots. A foreach pushes the indices of
 * the map's entries and pops them when it ends; a handler starts with an
 * empty stack, so an error that unwinds past a foreach leaks nothing.
 */
static int32_t *rstap_iter_stack[NR_CPUS];
static int rstap_iter_top[NR_CPUS];
static int rstap_iter_size;

static __maybe_unused int rstap_iter_alloc(int size)
{
	int cpu;

	rstap_iter_size = size;
	for_each_possible_cpu(cpu) {
		rstap_iter_stack[cpu] = rstap_vmalloc(sizeof(int32_t) * size);
		if (!rstap_iter_stack[cpu])
			return -ENOMEM;
	}
	return 0;
}

static __maybe_unused void rstap_iter_free(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		vfree(rstap_iter_stack[cpu]);
		rstap_iter_stack[cpu] = NULL;
	}
}

static inline void rstap_iter_reset(void)
{
	rstap_iter_top[smp_processor_id()] = 0;
}

/*
 * Pushes a snapshot of m's entries (only those matching kv on the keys of
 * `mask`, for slices; sorted when column >= 0) and returns its base on the
 * stack; *n gets the number of entries. -1 on error.
 */
static __maybe_unused int rstap_iter_push(struct rstap_context_base *c, const struct rstap_map *m,
			   int column, int desc, int stat_op,
			   const struct rstap_kv *kv, unsigned int mask,
			   int *n, const char *loc)
{
	int cpu = smp_processor_id(), base = rstap_iter_top[cpu], k = 0;
	int32_t *v, i;

	*n = 0;
	if (!rstap_iter_stack[cpu] || base + m->count > rstap_iter_size) {
		rstap_error(c, "foreach nesting too deep for its snapshot buffer", loc);
		return -1;
	}
	/* A slice scans every entry; a sort costs one action per entry. */
	if (mask && !rstap_charge(c, m->count))
		return -1;
	v = rstap_iter_stack[cpu] + base;
	for (i = m->first; i >= 0 && k < m->count; i = rstap_map_entry(m, i)->onext)
		if (!mask || rstap_map_match(m, i, kv, mask))
			v[k++] = i;
	if (column >= 0) {
		struct rstap_sort s = { m, column, desc, stat_op };

		if (!rstap_charge(c, k))
			return -1;
		rstap_sort_indices(&s, v, k);
	}
	rstap_iter_top[cpu] = base + k;
	*n = k;
	return base;
}

static inline int32_t rstap_iter_at(int base, int i)
{
	return rstap_iter_stack[smp_processor_id()][base + i];
}

static inline void rstap_iter_pop(int base)
{
	rstap_iter_top[smp_processor_id()] = base;
}

#endif /* RSTAP_MAP_H */
