/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: the expressions of pass 3 that need more than one C
 * expression (array stores and updates, statistic reads, histogram
 * printing, printf/sprintf), as static inline functions, so that the code
 * generator writes calls with values in them and never a statement
 * expression.
 *
 * Input: a handler's context, a map or statistic global, its keys (an
 * array of struct rstap_kv, NULL for none) and values the caller has
 * already evaluated, in the script's order (value before keys: the
 * generator evaluates an impure value into a frame temporary first).
 * Output: the expression's value (a long, or a char pointer for strings).
 * Invariants: an error is recorded with rstap_error() and the value is 0
 * (or the caller's string); a store into a full map does nothing; printf
 * and sprintf print nothing once an argument has failed.
 */
#ifndef RSTAP_EXPR_H
#define RSTAP_EXPR_H

/* The operator of `a[k] OP= v` (RSTAP_OP_SET: plain `=`). */
#define RSTAP_OP_SET 0
#define RSTAP_OP_ADD 1
#define RSTAP_OP_SUB 2
#define RSTAP_OP_MUL 3
#define RSTAP_OP_DIV 4
#define RSTAP_OP_MOD 5
#define RSTAP_OP_SHL 6
#define RSTAP_OP_SHR 7
#define RSTAP_OP_AND 8
#define RSTAP_OP_OR 9
#define RSTAP_OP_XOR 10

/*
 * `a[k] OP= v` on a long array: the new value, 0 when the map is full.
 * op is a constant at every call, so the switch folds away; oploc names
 * the operator for division by zero.
 */
static __always_inline int64_t rstap_map_update_long(struct rstap_context_base *c, struct rstap_map *m,
						     const struct rstap_kv *kv, int op, int64_t v,
						     const char *loc, const char *oploc)
{
	int64_t *p = rstap_map_lref(c, m, kv, loc);

	if (!p)
		return 0;
	switch (op) {
	case RSTAP_OP_ADD:
		return *p += v;
	case RSTAP_OP_SUB:
		return *p -= v;
	case RSTAP_OP_MUL:
		return *p *= v;
	case RSTAP_OP_DIV:
		return *p = rstap_div(c, *p, v, oploc);
	case RSTAP_OP_MOD:
		return *p = rstap_mod(c, *p, v, oploc);
	case RSTAP_OP_SHL:
		return *p = rstap_shl(*p, v);
	case RSTAP_OP_SHR:
		return *p = rstap_shr(*p, v);
	case RSTAP_OP_AND:
		return *p &= v;
	case RSTAP_OP_OR:
		return *p |= v;
	case RSTAP_OP_XOR:
		return *p ^= v;
	default:
		return *p = v;
	}
}

/* `++a[k]` / `a[k]--` ...: delta is 1 or -1; 0 when the map is full. */
static __always_inline int64_t rstap_map_incdec(struct rstap_context_base *c, struct rstap_map *m,
						const struct rstap_kv *kv, int64_t delta, int prefix,
						const char *loc)
{
	int64_t *p = rstap_map_lref(c, m, kv, loc);

	if (!p)
		return 0;
	*p += delta;
	return prefix ? *p : *p - delta;
}

/* `a[k] = v` on a string array: v (the caller's copy of the value). */
static inline char *rstap_map_store_str(struct rstap_context_base *c, struct rstap_map *m,
					const struct rstap_kv *kv, char *v, const char *loc)
{
	rstap_map_set_str(c, m, kv, v, loc);
	return v;
}

/* `a[k] .= v`: the new value, or v when the map is full. */
static inline char *rstap_map_append_str(struct rstap_context_base *c, struct rstap_map *m,
					 const struct rstap_kv *kv, char *v, const char *loc)
{
	char *p = rstap_map_sref(c, m, kv, loc);

	return p ? rstap_concat(p, p, v) : v;
}

/* What `@OP(s)` reads of a merged statistic. */
#define RSTAP_STAT_COUNT 0
#define RSTAP_STAT_SUM 1
#define RSTAP_STAT_MIN 2
#define RSTAP_STAT_MAX 3
#define RSTAP_STAT_AVG 4
#define RSTAP_STAT_VARIANCE 5

/*
 * @count and @sum of a missing statistic are 0; the others are the error
 * `missing` ("empty aggregate", "aggregate element not found").
 */
static __always_inline int64_t rstap_stat_read(struct rstap_context_base *c, const struct rstap_hist *h,
					       const struct rstap_stat *st, int op,
					       const char *missing, const char *loc)
{
	if (op == RSTAP_STAT_COUNT)
		return st ? st->count : 0;
	if (op == RSTAP_STAT_SUM)
		return st ? st->sum : 0;
	if (!st || !st->count) {
		rstap_error(c, missing, loc);
		return 0;
	}
	switch (op) {
	case RSTAP_STAT_MIN:
		return st->min;
	case RSTAP_STAT_MAX:
		return st->max;
	case RSTAP_STAT_AVG:
		return div64_s64(st->sum, st->count);
	default:
		return rstap_stat_variance(h, st);
	}
}

/* print(@hist_*(s)) and println: nothing once the handler has an error. */
static inline int64_t rstap_hist_print_expr(struct rstap_context_base *c, const struct rstap_hist *h,
					    const struct rstap_stat *st, int newline)
{
	if (unlikely(c->last_error))
		return 0;
	if (st)
		rstap_hist_print(c, h, st);
	if (newline)
		rstap_print_str(c, "\n");
	return 0;
}

/* printf: prints unless an argument (or anything before) failed. */
static inline int64_t rstap_printf_expr(struct rstap_context_base *c, const char *loc, const char *fmt,
					const union rstap_fmt_arg *args, int nargs)
{
	if (likely(!c->last_error))
		rstap_printf_args(c, loc, fmt, args, nargs);
	return 0;
}

/* sprintf into dst: "" when an argument failed. */
static inline char *rstap_sprintf_expr(struct rstap_context_base *c, const char *loc, char *dst,
				       const char *fmt, const union rstap_fmt_arg *args, int nargs)
{
	if (likely(!c->last_error))
		return rstap_sprintf_args(c, loc, dst, fmt, args, nargs);
	dst[0] = '\0';
	return dst;
}

#endif /* RSTAP_EXPR_H */
