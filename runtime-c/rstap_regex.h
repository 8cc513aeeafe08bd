/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: the matcher of `=~` and `!~` (man stap, "Regular
 * expression matching").
 * Input: a program compiled at translate time (translator/src/regex, its
 * tables written by templates/regex.c.tera): the instructions of an NFA
 * (byte, any byte, byte set, split, jump, save position, ^, $, match) and
 * a NUL-terminated string of at most MAXSTRINGLEN bytes.
 * Output: rstap_re_exec returns 1 when the regex matches somewhere in the
 * string, else 0; with `last`, a match records the string and its groups'
 * positions there for matched(), matched_str() and ngroups()
 * (tapsets/regex.stp), and a failed match marks `last` as failed.
 * Invariants: a Pike VM (Thompson's simulation with capture slots): each
 * instruction is entered at most once per string position, so the work is
 * O(length x instructions), with no recursion (an explicit stack of at
 * most ninst + 1 entries) and no allocation (the caller's scratch of
 * RSTAP_RE_SCRATCH(ninst, nslots) 16-bit words, a frame temporary).
 * With `longest` the match is POSIX's leftmost-longest one (the groups
 * inside it are the leftmost-first choice among equally long matches);
 * without, the first match found ends the search (only match/no match is
 * wanted). Positions fit int16_t (MAXSTRINGLEN <= 4096); -1 is unset.
 * The header needs only fixed-width integer types, memcpy and
 * MAXSTRINGLEN, so it also builds in userspace (translator/tests/regex_c.rs).
 */
#ifndef RSTAP_REGEX_H
#define RSTAP_REGEX_H

enum {
	RSTAP_RE_BYTE = 0,	/* x: the byte */
	RSTAP_RE_ANY = 1,	/* any byte */
	RSTAP_RE_SET = 2,	/* x: index of a 256-bit byte set */
	RSTAP_RE_SPLIT = 3,	/* try x first, then y */
	RSTAP_RE_JMP = 4,	/* x */
	RSTAP_RE_SAVE = 5,	/* x: capture slot */
	RSTAP_RE_BOL = 6,
	RSTAP_RE_EOL = 7,
	RSTAP_RE_MATCH = 8,
};

/* The most capture slots: group 0 and 9 groups, two positions each. */
#define RSTAP_RE_MAXSLOTS 20

struct rstap_re_inst {
	uint8_t op;
	uint16_t x;
	uint16_t y;
};

struct rstap_re_prog {
	uint16_t ninst;
	uint16_t nslots;	/* 2: group 0 only */
	uint16_t ngroups;	/* parenthesised groups */
	uint8_t longest;	/* leftmost-longest (captures wanted) */
	const struct rstap_re_inst *insts;
	const uint32_t (*sets)[8];
};

/* What matched() reads: the last =~ of this probe handler. */
struct rstap_regex_last {
	int state;		/* 0: no =~ yet, 1: matched, -1: failed */
	int ngroups;
	int16_t slots[RSTAP_RE_MAXSLOTS];
	char str[MAXSTRINGLEN];
};

/*
 * Scratch words: two thread lists (sparse set, dense set, slots per
 * thread), the stack (two words an entry) and the working slots.
 */
#define RSTAP_RE_SCRATCH(ninst, nslots)					\
	(2 * (2 * (ninst) + (ninst) * (nslots)) + 2 * ((ninst) + 1) + (nslots))

struct rstap_re_list {
	uint16_t *sparse;
	uint16_t *dense;
	int16_t *slots;
	unsigned int n;
};

static inline int rstap_re_has(const struct rstap_re_list *l, unsigned int pc)
{
	unsigned int i = l->sparse[pc];

	return i < l->n && l->dense[i] == pc;
}

/*
 * Adds the thread at `pc` (slots `caps`) and everything reachable from it
 * without consuming a byte at position `pos` of a string of `len` bytes,
 * in priority order. Threads that wait on a byte or match keep a copy of
 * the slots. `caps` is left as it was given.
 */
static void rstap_re_add(const struct rstap_re_prog *p, struct rstap_re_list *l,
			 uint16_t *stack, int16_t *caps, unsigned int pc,
			 int pos, int len)
{
	unsigned int sp = 0;
	unsigned int ns = p->nslots;

	stack[sp * 2] = pc;
	stack[sp * 2 + 1] = 0;
	sp++;
	while (sp) {
		sp--;
		pc = stack[sp * 2];
		if (pc & 0x8000) {
			/* Restore a slot a SAVE changed. */
			caps[pc & 0x7fff] = (int16_t)stack[sp * 2 + 1];
			continue;
		}
		for (;;) {
			const struct rstap_re_inst *in;
			unsigned int i;

			if (rstap_re_has(l, pc))
				break;
			i = l->n++;
			l->sparse[pc] = i;
			l->dense[i] = pc;
			in = &p->insts[pc];
			if (in->op == RSTAP_RE_JMP) {
				pc = in->x;
			} else if (in->op == RSTAP_RE_SPLIT) {
				stack[sp * 2] = in->y;
				stack[sp * 2 + 1] = 0;
				sp++;
				pc = in->x;
			} else if (in->op == RSTAP_RE_SAVE) {
				if (in->x < ns) {
					stack[sp * 2] = 0x8000 | in->x;
					stack[sp * 2 + 1] = (uint16_t)caps[in->x];
					sp++;
					caps[in->x] = (int16_t)pos;
				}
				pc++;
			} else if (in->op == RSTAP_RE_BOL) {
				if (pos != 0)
					break;
				pc++;
			} else if (in->op == RSTAP_RE_EOL) {
				if (pos != len)
					break;
				pc++;
			} else {
				memcpy(&l->slots[i * ns], caps, ns * sizeof(*caps));
				break;
			}
		}
	}
}

static inline int rstap_re_byte_ok(const struct rstap_re_prog *p,
				   const struct rstap_re_inst *in, int ch)
{
	if (ch < 0)
		return 0;
	switch (in->op) {
	case RSTAP_RE_BYTE:
		return ch == in->x;
	case RSTAP_RE_ANY:
		return 1;
	case RSTAP_RE_SET:
		return (p->sets[in->x][ch >> 5] >> (ch & 31)) & 1;
	default:
		return 0;
	}
}

/*
 * Matches `s` against `p`; `scratch` holds RSTAP_RE_SCRATCH(p->ninst,
 * p->nslots) words; `last` (may be NULL) gets the match for matched().
 */
static __maybe_unused int rstap_re_exec(const struct rstap_re_prog *p, const char *s,
					uint16_t *scratch, struct rstap_regex_last *last)
{
	unsigned int n = p->ninst, ns = p->nslots, k, j;
	struct rstap_re_list lists[2], *cl, *nl, *t;
	uint16_t *stack, *w = scratch;
	int16_t *caps, best[RSTAP_RE_MAXSLOTS];
	int len, pos, found = 0;

	len = (int)strnlen(s, MAXSTRINGLEN - 1);
	for (k = 0; k < 2; k++) {
		lists[k].sparse = w;
		lists[k].dense = w + n;
		lists[k].slots = (int16_t *)(w + 2 * n);
		lists[k].n = 0;
		w += 2 * n + n * ns;
	}
	stack = w;
	caps = (int16_t *)(w + 2 * (n + 1));
	/* Sparse sets read stale entries by design; give them defined values. */
	memset(lists[0].sparse, 0, n * sizeof(uint16_t));
	memset(lists[1].sparse, 0, n * sizeof(uint16_t));
	cl = &lists[0];
	nl = &lists[1];
	for (k = 0; k < RSTAP_RE_MAXSLOTS; k++)
		best[k] = -1;
	for (pos = 0; pos <= len; pos++) {
		int ch = pos < len ? (unsigned char)s[pos] : -1;

		if (!found) {
			/* A new start at pos, after every earlier-starting thread. */
			for (k = 0; k < ns; k++)
				caps[k] = -1;
			rstap_re_add(p, cl, stack, caps, 0, pos, len);
		}
		if (cl->n == 0)
			break;
		nl->n = 0;
		for (j = 0; j < cl->n; j++) {
			unsigned int pc = cl->dense[j];
			const struct rstap_re_inst *in = &p->insts[pc];
			int16_t *tc = &cl->slots[j * ns];

			if (in->op == RSTAP_RE_MATCH) {
				if (!found || tc[0] < best[0] ||
				    (tc[0] == best[0] && tc[1] > best[1])) {
					memcpy(best, tc, ns * sizeof(*tc));
					found = 1;
				}
				if (!p->longest)
					goto done;
				continue;
			}
			if (in->op > RSTAP_RE_SET)
				continue;	/* a dead end: failed ^ or $ */
			/* A thread that starts after the match found cannot win. */
			if (found && tc[0] > best[0])
				continue;
			if (rstap_re_byte_ok(p, in, ch)) {
				memcpy(caps, tc, ns * sizeof(*tc));
				rstap_re_add(p, nl, stack, caps, pc + 1, pos + 1, len);
			}
		}
		t = cl;
		cl = nl;
		nl = t;
	}
done:
	if (last) {
		if (!found) {
			last->state = -1;
		} else {
			last->state = 1;
			last->ngroups = p->ngroups;
			for (k = 0; k < RSTAP_RE_MAXSLOTS; k++)
				last->slots[k] = k < ns ? best[k] : -1;
			memcpy(last->str, s, len);
			last->str[len] = '\0';
		}
	}
	return found;
}

#endif /* RSTAP_REGEX_H */
