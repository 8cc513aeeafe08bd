// SPDX-License-Identifier: GPL-2.0
/*
 * rstap_testmod: a small module for rstap's module("...") tests.
 *
 * Reading /proc/rstap_testmod calls each tm_* function once with fixed
 * values, so that probes on them see known arguments: nested structs, an
 * array member, bitfields, a union, an enum, a char array and a string.
 * The functions are global and noinline so that the compiler neither
 * inlines nor clones them.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

enum tm_colour { TM_RED = 1, TM_GREEN = 2, TM_BLUE = 4 };

struct tm_point {
	int x;
	int y;
};

struct tm_inner {
	struct tm_point at;
	long weight;
	char tag[8];
};

struct tm_outer {
	int id;
	struct tm_inner inner;
	struct tm_inner *next;
	int values[4];
	const char *name;
};

struct tm_flags {
	unsigned int ready:1;
	unsigned int mode:3;
	int level:5;
	unsigned int rest:23;
};

union tm_value {
	long as_long;
	unsigned char bytes[8];
	struct tm_point point;
};

noinline long tm_nested(struct tm_outer *o, int depth);
noinline int tm_sum(const int *arr, int n);
noinline unsigned int tm_bits(struct tm_flags *f);
noinline long tm_union(union tm_value *v, enum tm_colour c);
noinline int tm_bump(struct tm_point *p, int by);

noinline long tm_nested(struct tm_outer *o, int depth)
{
	long r = o->id + o->inner.at.x + o->inner.at.y + depth;

	if (o->next)
		r += o->next->weight;
	barrier();
	return r;
}

noinline int tm_sum(const int *arr, int n)
{
	int i, s = 0;

	for (i = 0; i < n; i++)
		s += arr[i];
	barrier();
	return s;
}

noinline unsigned int tm_bits(struct tm_flags *f)
{
	barrier();
	return f->ready + f->mode + f->level;
}

noinline long tm_union(union tm_value *v, enum tm_colour c)
{
	barrier();
	return v->point.x + c;
}

/* Changes its argument: @entry($p->x) and $p->x differ in .return. */
noinline int tm_bump(struct tm_point *p, int by)
{
	p->x += by;
	p->y *= 2;
	barrier();
	return p->x;
}

/* Module variables: in .bss and in .data. */
static int tm_calls;
int tm_limit = 7;

static int tm_show(struct seq_file *m, void *unused)
{
	static struct tm_inner second = { .at = { 7, 8 }, .weight = 1000, .tag = "second" };
	struct tm_outer o = {
		.id = 42,
		.inner = { .at = { 3, -4 }, .weight = 99, .tag = "inner" },
		.next = &second,
		.values = { 10, 20, 30, 40 },
		.name = "outer",
	};
	struct tm_flags f = { .ready = 1, .mode = 5, .level = -3, .rest = 12345 };
	union tm_value v = { .point = { 0x11223344, 0x55667788 } };

	seq_printf(m, "nested=%ld\n", tm_nested(&o, 2));
	seq_printf(m, "sum=%d\n", tm_sum(o.values, 4));
	seq_printf(m, "bits=%u\n", tm_bits(&f));
	seq_printf(m, "union=%ld\n", tm_union(&v, TM_BLUE));
	seq_printf(m, "bump=%d\n", tm_bump(&o.inner.at, 10));
	seq_printf(m, "calls=%d limit=%d\n", ++tm_calls, tm_limit);
	return 0;
}

static struct proc_dir_entry *tm_entry;

static int __init tm_init(void)
{
	tm_entry = proc_create_single("rstap_testmod", 0444, NULL, tm_show);
	return tm_entry ? 0 : -ENOMEM;
}

static void __exit tm_exit(void)
{
	proc_remove(tm_entry);
}

module_init(tm_init);
module_exit(tm_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("rstap test module: functions with known structured arguments");
