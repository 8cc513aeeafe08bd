/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: the one header a generated module includes.
 * Input: -D limits from the command line. Output: every runtime facility,
 * as static functions in the module's single translation unit.
 */
#ifndef RSTAP_RUNTIME_H
#define RSTAP_RUNTIME_H

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/types.h>
#include <linux/string.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/percpu.h>
#include <asm/local.h>
#include <linux/math64.h>
#include <linux/log2.h>
#include <linux/bitops.h>

/*
 * Allocations sized by the script's limits may not fit: their failure is
 * reported (the module does not load), never a kernel warning.
 */
#define rstap_vmalloc(size) __vmalloc((size), GFP_KERNEL | __GFP_NOWARN)
#define rstap_vzalloc(size) __vmalloc((size), GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN)

#include "rstap_config.h"
#include "rstap_transport.h"
#include "rstap_regex.h"
#include "rstap_context.h"
#include "rstap_ops.h"
#include "rstap_format.h"
#include "rstap_stat.h"
#include "rstap_map.h"
#include "rstap_deref.h"
#include "rstap_symbols.h"
#include "rstap_embedded.h"

#endif /* RSTAP_RUNTIME_H */
