/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: statistics (the values behind `<<<`) and their histograms.
 *
 * Input: values added with rstap_stat_add(), per CPU. Output: merged
 * statistics (count, sum, min, max, the running mean and sum of squared
 * deviations of @variance, histogram buckets) and the ASCII-art histogram
 * of @hist_log / @hist_linear, printed with SystemTap's layout.
 * Invariants: a statistic is a fixed-size block (struct rstap_stat followed
 * by hist->nb int64_t buckets); nothing here allocates or sleeps; integer
 * arithmetic only (wrapping, never a signed overflow), and no division by
 * zero. @variance is SystemTap's: Welford's online algorithm on values
 * shifted left by the statistic's bit-shift, tracked only for statistics
 * that @variance reads (it costs a division per value).
 */
#ifndef RSTAP_STAT_H
#define RSTAP_STAT_H

#define RSTAP_HIST_NONE 0
#define RSTAP_HIST_LOG 1
#define RSTAP_HIST_LINEAR 2

/* Log buckets: 0, then +-1, +-2, +-4, ... +-2^62 (index 64 is zero). */
#define RSTAP_HIST_LOG_BUCKETS 128
#define RSTAP_HIST_WIDTH 50

/* Rows of zeros kept next to data; runs farther away print as one "~". */
#ifndef HIST_ELISION
#define HIST_ELISION 2
#endif

struct rstap_hist {
	int kind;
	int64_t start, stop, interval;
	/*
	 * Number of buckets. Linear: (stop - start) / interval + 1 natural
	 * buckets (start..stop inclusive), plus bucket 0 for values below
	 * start and bucket nb - 1 for values past the last natural bucket.
	 */
	int nb;
	int variance;	/* @variance reads this statistic */
	int shift;	/* its bit-shift, 0..62 */
};

struct rstap_stat {
	int64_t count, sum, min, max, sumsq;
	int64_t avg_s, m2;	/* Welford: mean and sum of squared deviations, << shift */
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

		u64 k;

		/* man stap: bucket N + 1 counts the samples above stop. */
		if (v < h->start) {
			i = 0;
		} else if (v > h->stop) {
			i = h->nb - 1;
		} else {
			k = div64_u64((u64)v - (u64)h->start, (u64)h->interval);
			i = k >= (u64)(h->nb - 2) ? h->nb - 1 : 1 + (int)k;
		}
		st->bucket[i]++;
	}
	if (h->variance) {
		int64_t x = (int64_t)((u64)v << h->shift), delta;

		if (st->count == 1) {
			st->avg_s = x;
			st->m2 = 0;
		} else {
			delta = (int64_t)((u64)x - (u64)st->avg_s);
			st->avg_s = (int64_t)((u64)st->avg_s + (u64)div64_s64(delta, st->count));
			st->m2 = (int64_t)((u64)st->m2 + (u64)delta * ((u64)x - (u64)st->avg_s));
		}
	}
}

/* dst += src */
static inline void rstap_stat_merge(const struct rstap_hist *h, struct rstap_stat *dst,
				    const struct rstap_stat *src)
{
	int i;

	if (src->count == 0)
		return;
	if (h->variance && dst->count == 0) {
		dst->avg_s = src->avg_s;
		dst->m2 = src->m2;
	} else if (h->variance) {
		/* Chan et al.: the two means and M2s of disjoint samples. */
		u64 n = (u64)dst->count + (u64)src->count;
		int64_t delta = (int64_t)((u64)src->avg_s - (u64)dst->avg_s);
		u64 d = delta < 0 ? 0 - (u64)delta : (u64)delta;
		u64 w = mul_u64_u64_div_u64(d, (u64)src->count, n);

		dst->avg_s = (int64_t)((u64)dst->avg_s + (delta < 0 ? 0 - w : w));
		dst->m2 = (int64_t)((u64)dst->m2 + (u64)src->m2 +
				    mul_u64_u64_div_u64(d * d, (u64)dst->count * (u64)src->count, n));
	}
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
 * @variance: the sum of squared deviations over count - 1, shifted back by
 * twice the bit-shift (so a larger shift keeps fractional bits of the mean
 * during the computation). 0 with fewer than two values; overflow of the
 * 64-bit arithmetic shows as a wrong (possibly negative) value, never a trap.
 */
static inline int64_t rstap_stat_variance(const struct rstap_hist *h, const struct rstap_stat *st)
{
	int64_t v;
	int s = 2 * h->shift;

	if (st->count < 2)
		return 0;
	v = div64_s64(st->m2, st->count - 1);
	return v >> (s > 63 ? 63 : s);
}

/* @avg: the sum over the count, in integers (rounded toward zero). */
static inline int64_t rstap_stat_avg(const struct rstap_stat *st)
{
	return st->count ? div64_s64(st->sum, st->count) : 0;
}

/*
 * @hist_linear(s, ...)[i] / @hist_log(s)[i]: bucket i's count (linear: 0
 * below start, 1..N, N + 1 above stop; log: 0..127 as rstap_hist_log_index);
 * 0 for a missing statistic or an index outside the buckets.
 */
static inline int64_t rstap_hist_bucket(const struct rstap_hist *h, const struct rstap_stat *st, int64_t i)
{
	if (!st || i < 0 || i >= h->nb)
		return 0;
	return st->bucket[i];
}

/* The value a histogram row is labelled with. */
static inline int64_t rstap_hist_label(const struct rstap_hist *h, int i)
{
	if (h->kind == RSTAP_HIST_LOG) {
		if (i == 64)
			return 0;
		if (i > 64)
			return (int64_t)(1ULL << (i - 65));
		return (int64_t)(0 - (1ULL << (63 - i)));
	}
	if (i == 0)
		return h->start;	/* "<start" */
	if (i == h->nb - 1)
		return h->stop;		/* ">stop" */
	return (int64_t)((u64)h->start + (u64)(i - 1) * (u64)h->interval);
}

/* The prefix of row i's label: "<" below start, ">" past stop, or "". */
static inline const char *rstap_hist_prefix(const struct rstap_hist *h, int i)
{
	if (h->kind != RSTAP_HIST_LINEAR)
		return "";
	return i == 0 ? "<" : i == h->nb - 1 ? ">" : "";
}

static inline int rstap_hist_label_width(const struct rstap_hist *h, int i)
{
	return (int)strlen(rstap_hist_prefix(h, i)) + rstap_long_width(rstap_hist_label(h, i));
}

/* Row i is an empty row inside a run of empty rows (HIST_ELISION). */
static inline int rstap_hist_elided(const struct rstap_hist *h, const struct rstap_stat *st, int i)
{
	int j;

	if ((long)HIST_ELISION < 0)
		return 0;
	for (j = i - (int)HIST_ELISION; j <= i + (int)HIST_ELISION; j++)
		if (j >= 0 && j < h->nb && st->bucket[j] != 0)
			return 0;
	return 1;
}

/*
 * Prints the histogram with SystemTap's layout. The rows run from
 * HIST_ELISION (2) empty rows before the first non-empty bucket to as many
 * after the last, clamped to the buckets that exist; a log histogram shows
 * negative rows only when it holds a negative value; the linear
 * underflow row "<start" and overflow row ">stop" only when non-empty. An
 * empty row with no data within HIST_ELISION rows is part of a run printed
 * as one "~" row. The header is "value |", 50 '-' and " count", "value"
 * right aligned to the widest label; each row is the label, " |", the bar
 * ('@' per value, or per ceil(max / 50) values when a bucket holds more
 * than 50) padded to 50 columns, a space and the count right aligned to the
 * largest count; a blank line ends it. An empty statistic prints nothing.
 */
static __maybe_unused void rstap_hist_print_out(struct rstap_out *o, const struct rstap_hist *h,
						const struct rstap_stat *st)
{
	int lo = -1, hi = -1, i, width = 5, cwidth, elided = 0;
	int margin = (long)HIST_ELISION < 0 ? 2 : (int)HIST_ELISION;
	int64_t maxcount = 0, scale;

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
	for (i = 0; i < margin; i++) {
		if (lo > 0 && !(h->kind == RSTAP_HIST_LOG && lo == 64))
			lo--;
		if (hi < h->nb - 1)
			hi++;
	}
	if (h->kind == RSTAP_HIST_LINEAR) {
		if (lo == 0 && st->bucket[0] == 0)
			lo = 1;
		if (hi == h->nb - 1 && st->bucket[hi] == 0)
			hi--;
	}
	for (i = lo; i <= hi; i++)
		width = max(width, rstap_hist_label_width(h, i));
	cwidth = rstap_long_width(maxcount);
	scale = maxcount <= RSTAP_HIST_WIDTH ? 1 : div64_s64(maxcount + RSTAP_HIST_WIDTH - 1, RSTAP_HIST_WIDTH);
	rstap_out_fill(o, ' ', width - 5);
	rstap_out_put(o, "value |", 7);
	rstap_out_fill(o, '-', RSTAP_HIST_WIDTH);
	rstap_out_put(o, " count\n", 7);
	for (i = lo; i <= hi; i++) {
		const char *prefix = rstap_hist_prefix(h, i);
		int bar;

		if (rstap_hist_elided(h, st, i)) {
			if (!elided) {
				rstap_out_fill(o, ' ', width);
				rstap_out_put(o, " ~\n", 3);
			}
			elided = 1;
			continue;
		}
		elided = 0;
		rstap_out_fill(o, ' ', width - rstap_hist_label_width(h, i));
		rstap_out_put(o, prefix, strlen(prefix));
		rstap_out_long(o, rstap_hist_label(h, i), 0);
		rstap_out_put(o, " |", 2);
		bar = (int)div64_s64(st->bucket[i], scale);
		rstap_out_fill(o, '@', bar);
		rstap_out_fill(o, ' ', RSTAP_HIST_WIDTH - bar + 1);
		rstap_out_long(o, st->bucket[i], cwidth);
		rstap_out_char(o, '\n');
	}
	rstap_out_char(o, '\n');
}

/* sprint(@hist_*(s)) (and sprintln): the histogram cut at MAXSTRINGLEN - 1 bytes. */
static __maybe_unused char *rstap_hist_sprint(char *dst, const struct rstap_hist *h,
					      const struct rstap_stat *st, int newline)
{
	struct rstap_out o;

	rstap_out_init(&o, dst, MAXSTRINGLEN - 1, NULL, NULL);
	if (st)
		rstap_hist_print_out(&o, h, st);
	if (newline)
		rstap_out_char(&o, '\n');
	dst[o.len] = '\0';
	return dst;
}

/* print(@hist_*(s)): into the handler's output. */
static __maybe_unused void rstap_hist_print(struct rstap_context_base *c, const struct rstap_hist *h,
					    const struct rstap_stat *st)
{
	char chunk[128];
	struct rstap_out o;

	rstap_out_init(&o, chunk, sizeof(chunk), rstap_out_to_print, c);
	rstap_hist_print_out(&o, h, st);
	rstap_out_to_print(&o);
}

#endif /* RSTAP_STAT_H */
