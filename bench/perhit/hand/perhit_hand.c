// SPDX-License-Identifier: GPL-2.0
/*
 * The per-hit bench's yardstick: the least a kprobe module can do per hit,
 * a kprobe on __x64_sys_getppid whose pre-handler bumps a per-CPU counter.
 * The sum is printed to the kernel log at unload.
 */
#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>

static DEFINE_PER_CPU(unsigned long, perhit_hits);

static int perhit_pre(struct kprobe *kp, struct pt_regs *regs)
{
	this_cpu_inc(perhit_hits);
	return 0;
}

static struct kprobe perhit_kp = {
	.symbol_name = "__x64_sys_getppid",
	.pre_handler = perhit_pre,
};

static int __init perhit_init(void)
{
	return register_kprobe(&perhit_kp);
}

static void __exit perhit_exit(void)
{
	unsigned long sum = 0;
	int cpu;

	unregister_kprobe(&perhit_kp);
	for_each_possible_cpu(cpu)
		sum += per_cpu(perhit_hits, cpu);
	pr_info("perhit_hand: %lu hits\n", sum);
}

module_init(perhit_init);
module_exit(perhit_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("rstap per-hit bench: a kprobe bumping a per-CPU counter");
