/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: statistics (the values behind `<<<`) and their histograms.
 *
 * Input: values added with rstap_stat_add(), per CPU. Output: merged
 * statistics (count, sum, min, max, sum of squares, histogram buckets) and
 * the ASCII-art histogram of @hist_log / @hist_linear in the print buffer.
 * Invariants: a statistic is a fixed-size block (struct rstap_stat followed
 * by hist->nb int64_t buckets); nothing here allocates or sleeps; integer
 * arithmetic only, and no division by zero.
 */
#ifndef RSTAP_STAT_H
#define RSTAP_STAT_H

#define RSTAP_HIST_NONE 0
#define RSTAP_HIST_LOG 1
#define RSTAP_HIST_LINEAR 2

/* Log buckets: 0, then +-1, +-2, +-4, ... +-2^62 (index 64 is zero). */
#define RSTAP_HIST_LOG_BUCKETS 128
#define RSTAP_HIST_WIDTH 50

struct rstap_hist {
	int kind;
	int64_t start, stop, interval;
	int nb;		/* number of buckets (linear: with under/overflow) */
};

struct rstap_stat {
	int64_t count, sum, min, max, sumsq;
	int64_t bucket[];
};

static inline size_t rstap_stat_size(const struct rstap_hist *h)
{
	return sizeof(struct rstap_stat) + sizeof(int64_t) * h->nb;
}

static inline int rstap_hist_log_index(int64_t v)
{
	u64 m;

	if (v == 0)
		return 64;
	m = v > 0 ? (u64)v : 0 - (u64)v;
	/* fls64(1) == 1: bucket of 2^k is 64 +- (k + 1). */
	if (fls64(m) > 63)
		return v > 0 ? 127 : 0;
	return v > 0 ? 64 + fls64(m) : 64 - fls64(m);
}

static inline void rstap_stat_add(const struct rstap_hist *h, struct rstap_stat *st, int64_t v)
{
	if (st->count == 0 || v < st->min)
		st->min = v;
	if (st->count == 0 || v > st->max)
		st->max = v;
	/* Wrapping arithmetic: no signed overflow in C. */
	st->count++;
	st->sum = (int64_t)((u64)st->sum + (u64)v);
	st->sumsq = (int64_t)((u64)st->sumsq + (u64)v * (u64)v);
	if (h->kind == RSTAP_HIST_LOG) {
		st->bucket[rstap_hist_log_index(v)]++;
	} else if (h->kind == RSTAP_HIST_LINEAR) {
		int i;

		if (v < h->start)
			i = 0;
		else if (v >= h->stop)
			i = h->nb - 1;
		else
			i = 1 + (int)div64_u64((u64)v - (u64)h->start, (u64)h->interval);
		if (i > h->nb - 1)
			i = h->nb - 1;
		st->bucket[i]++;
	}
}

/* dst += src */
static inline void rstap_stat_merge(const struct rstap_hist *h, struct rstap_stat *dst,
				    const struct rstap_stat *src)
{
	int i;

	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (dst->count == 0 || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum = (int64_t)((u64)dst->sum + (u64)src->sum);
	dst->sumsq = (int64_t)((u64)dst->sumsq + (u64)src->sumsq);
	for (i = 0; i < h->nb; i++)
		dst->bucket[i] += src->bucket[i];
}

/*
 * Sample variance, the sum of squared deviations over (count - 1), from
 * count, sum and sum of squares in 64-bit integers (values whose squares
 * or sums pass 2^63 give a wrong result, never a trap).
 */
static inline int64_t rstap_stat_variance(const struct rstap_stat *st)
{
	u64 n = st->count;
	int64_t num, den;

	if (st->count < 2)
		return 0;
	num = (int64_t)(n * (u64)st->sumsq - (u64)st->sum * (u64)st->sum);
	den = (int64_t)(n * (n - 1));
	if (den <= 0)
		return 0;
	return div64_s64(num, den);
}

/* The value a histogram row is labelled with. */
static inline int64_t rstap_hist_label(const struct rstap_hist *h, int i)
{
	if (h->kind == RSTAP_HIST_LOG) {
		if (i == 64)
			return 0;
		if (i > 64)
			return (int64_t)(1ULL << (i - 65));
		return -(int64_t)(1ULL << (63 - i));
	}
	return h->start + (int64_t)(i - 1) * h->interval;
}

static inline int rstap_num_width(int64_t v)
{
	char tmp[24];

	return scnprintf(tmp, sizeof(tmp), "%lld", (long long)v);
}

/* The text of row i's label: a number, or "<start" / ">stop". */
static inline void rstap_hist_label_text(const struct rstap_hist *h, int i, char *buf, size_t n)
{
	if (h->kind == RSTAP_HIST_LINEAR && i == 0)
		scnprintf(buf, n, "<%lld", (long long)h->start);
	else if (h->kind == RSTAP_HIST_LINEAR && i == h->nb - 1)
		scnprintf(buf, n, ">%lld", (long long)h->stop);
	else
		scnprintf(buf, n, "%lld", (long long)rstap_hist_label(h, i));
}

/*
 * Prints the histogram: a header, one row per bucket from two empty rows
 * before the first non-empty bucket to two after the last (clamped to the
 * buckets that exist; linear under/overflow rows only when non-empty; log
 * rows of the other sign only when a value has that sign), with
 * runs of empty rows farther than two from any non-empty bucket shown as
 * one "~" row, and a blank line at the end. Each row is the label right
 * aligned to the widest label (at least "value"), " |", a bar of '@' padded
 * to 50 columns, a space and the count right aligned to the largest count.
 */
static __maybe_unused void rstap_hist_print(struct rstap_context_base *c, const struct rstap_hist *h,
			     const struct rstap_stat *st)
{
	int lo = -1, hi = -1, first, last, i, j, width = 5, cwidth = 1, elided = 0;
	int64_t maxcount = 0, scale;
	char label[32];

	for (i = 0; i < h->nb; i++) {
		if (st->bucket[i] > 0) {
			if (lo < 0)
				lo = i;
			hi = i;
			if (st->bucket[i] > maxcount)
				maxcount = st->bucket[i];
		}
	}
	if (lo < 0)
		return;
	first = h->kind == RSTAP_HIST_LINEAR ? 1 : 0;
	last = h->kind == RSTAP_HIST_LINEAR ? h->nb - 2 : h->nb - 1;
	/* Log: no negative rows without negative values, and vice versa. */
	if (h->kind == RSTAP_HIST_LOG && lo >= 64)
		first = 64;
	if (h->kind == RSTAP_HIST_LOG && hi <= 64)
		last = 64;
	if (lo > first)
		lo = max(first, lo - 2);
	if (hi < last && hi >= first)
		hi = min(last, hi + 2);
	for (i = lo; i <= hi; i++) {
		rstap_hist_label_text(h, i, label, sizeof(label));
		width = max(width, (int)strlen(label));
	}
	cwidth = rstap_num_width(maxcount);
	/* One '@' per value up to 50; beyond, one per ceil(max / 50) values. */
	scale = div64_s64(maxcount + RSTAP_HIST_WIDTH - 1, RSTAP_HIST_WIDTH);
	rstap_printf(c, "%*s |", width, "value");
	for (j = 0; j < RSTAP_HIST_WIDTH; j++)
		rstap_print_bytes(c, "-", 1);
	rstap_printf(c, " count\n");
	for (i = lo; i <= hi; i++) {
		int near = 0, bar;

		for (j = max(lo, i - 2); j <= min(hi, i + 2); j++)
			if (st->bucket[j] > 0)
				near = 1;
		if (!near) {
			if (!elided)
				rstap_printf(c, "%*s ~\n", width, "");
			elided = 1;
			continue;
		}
		elided = 0;
		rstap_hist_label_text(h, i, label, sizeof(label));
		rstap_printf(c, "%*s |", width, label);
		bar = (int)div64_s64(st->bucket[i], scale);
		for (j = 0; j < RSTAP_HIST_WIDTH; j++)
			rstap_print_bytes(c, j < bar ? "@" : " ", 1);
		rstap_printf(c, " %*lld\n", cwidth, (long long)st->bucket[i]);
	}
	rstap_print_bytes(c, "\n", 1);
}

#endif /* RSTAP_STAT_H */
